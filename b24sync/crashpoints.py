"""Named crash points: ``B24SYNC_CRASHPOINT=<name>:<n>`` ends the process at the n-th pass of ``name``.

The reliability tests kill a run at exact places — after the journal commits ``sending`` and before
the request, after a write was answered and before anything was recorded, between a batch's
results, between the watermark commits — and then check that the next run loses and duplicates
nothing. ``os._exit(137)`` is what a ``kill -9`` leaves behind: no ``finally``, no flush, no
rollback other than SQLite's own. The variable is read once at import; unset, a pass costs one
comparison. The names are listed in :data:`POINTS` (and in docs/guarantees.md).
"""

from __future__ import annotations

import os
import threading

POINTS = (
    "journal.after_sending_commit",  # the op is `sending` on disk; its request is not sent yet
    "write.answered",  # the server executed a write and answered; nothing of it is recorded yet
    "apply.after_done",  # an op is `done` with its links and baselines; the next one has not started
    "batch.mid_results",  # half of a Bitrix24 batch's results are recorded as done
    "reconcile.after_watermark",  # the Bitrix24 watermark moved; the 1C versions have not yet
)

_SPEC = os.environ.get("B24SYNC_CRASHPOINT", "")
_NAME, _, _NTH = _SPEC.partition(":")
_TARGET = int(_NTH) if _NTH.isdigit() else 1
_passes = 0
_lock = threading.Lock()


def crashpoint(name: str) -> None:
    """End the process with status 137 at the configured pass of ``name`` (a test hook; off by default)."""
    global _passes
    if not _NAME or name != _NAME:
        return
    with _lock:
        _passes += 1
        if _passes >= _TARGET:
            os._exit(137)


__all__ = ["POINTS", "crashpoint"]
