"""R15, small: a network chaos soak, then the Jepsen-style audit.

Random toxics on both emulators (HTML 5xx pages, connections reset before execution or dropped
after the commit, truncated bodies, timeouts, latency; seeded) over several ``reconcile`` runs with
hand edits on both sides between them; then the toxics stop. The plan must be empty within two
clean runs, and nothing may be lost, duplicated, written without an operation, or overwritten on
its owner's side; runs may fail under faults, never with a traceback. The machinery is
``bench/chaos.py``'s ``soak`` (the large N runs there); here the world is small, the timings short,
and the clients' backoff is shortened so the test waits on the toxics only.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b24sync.cli import app
from b24sync.http.retry import RetryPolicy

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"
runner = CliRunner()


def _chaos():
    spec = importlib.util.spec_from_file_location("bench_chaos", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def in_process(config_path: Path) -> tuple[int, str]:
    """``b24sync reconcile`` in this process; an exception that escapes the CLI reads as a traceback."""
    result = runner.invoke(app, ["--config", str(config_path), "reconcile"], env={"COLUMNS": "200"})
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "".join(traceback.format_exception(result.exception))
    return result.exit_code, output


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3])
def test_after_a_chaos_soak_nothing_is_lost_duplicated_unexpected_or_reverted(tmp_path, monkeypatch, seed):
    chaos = _chaos()
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt: min(0.2, 0.02 * 2 ** attempt))
    # in-process the emulators share the interpreter with the client: a full batch read can take a second
    toxics = chaos.Toxics(bitrix24=dict(chaos.SOAK_TOXICS.bitrix24), onec=dict(chaos.SOAK_TOXICS.onec),
                          latency=(0.0, 0.2), read_timeout=3.0, timeout=3.5)
    log: list[str] = []
    result = chaos.soak(seed, 6, tmp_path, size=30, toxics=toxics, run=in_process, edits_per_round=(2, 3),
                        log=log.append)
    assert result["faults"] >= 20 and len(result["fired"]) >= 5 and result["edits"] >= 8, result
    assert result["tracebacks"] == 0, log
    assert result["converge"] <= 2 and result["left"] == 0 and result["left_full"] == 0, result
    assert (result["lost"], result["duplicated"], result["unexpected"], result["reverted"]) == (0, 0, 0, 0), log
    assert result["sending"] == 0 and result["integrity_ok"], result
