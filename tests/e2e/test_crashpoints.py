"""R2: a run killed at every named crash point, at several passes, loses and duplicates nothing.

``B24SYNC_CRASHPOINT=<name>:<n>`` makes the ``reconcile`` child end with ``os._exit(137)`` at the
n-th pass of that point (b24sync/crashpoints.py) — what kill -9 leaves at an exact place: the
journal committed ``sending`` and the request not sent; the server executed a write and the answer
never recorded; an op ``done`` and the next not started; half a Bitrix24 batch recorded; the watermark
moved and the 1C versions not. Then a clean ``reconcile`` runs and the R1 invariants are checked
against one uninterrupted run of the same world: nothing in ``sending``, no duplicate ``ORIGIN_ID``,
the same record counts on both sides, ``PRAGMA integrity_check`` ok, and an empty next plan.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from b24sync.crashpoints import POINTS
from tests.e2e.test_concurrency import WIDE, _world, assert_converged, clean_counts, cli, integrity, journal

__all__ = ["clean_counts"]  # the module-scoped fixture, shared with test_concurrency

# every point at its first pass; the journal's and the write's also deeper into the apply (the 3rd op)
CASES = [(point, 1) for point in POINTS] + [("journal.after_sending_commit", 3), ("write.answered", 3)]


@pytest.mark.parametrize(("point", "nth"), CASES)
def test_r2_a_crash_at_a_named_point_loses_and_duplicates_nothing(tmp_path, clean_counts, point, nth):
    with _world(tmp_path) as w:
        env = {**os.environ, **WIDE, "B24SYNC_CRASHPOINT": f"{point}:{nth}"}
        child = subprocess.run([sys.executable, "-m", "b24sync", "--config", str(w.cfg), "reconcile"],
                               env=env, capture_output=True, text=True, timeout=300)
        assert child.returncode == 137, (point, nth, child.returncode, child.stderr[-2000:])
        assert integrity(w.config.state_path) == "ok"
        left = journal(w.config.state_path)
        again = cli(w.cfg, "reconcile")
        assert again.exit_code == 0, again.output
        assert "Traceback" not in again.output
        assert_converged(w, clean_counts)
        print(f"\nR2 {point}:{nth}: exit 137, journal after the crash {left}; resumed: 0 sending, "
              "0 duplicates, same counts, 0 planned")
