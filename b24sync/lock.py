"""The run lock: one b24sync run per state file, enforced by the kernel.

``fcntl.flock`` is released by the kernel when the holder dies, even on ``kill -9``, so a crashed
run never blocks the next timer run. The lock file records who holds it, so "already running"
can name the holder (pid, host, command, start time).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from b24sync import messages as m
from b24sync.errors import LockHeld
from b24sync.i18n import t
from b24sync.state import StateUnwritable


class RunLock:
    """``with RunLock(state_path, "reconcile"):`` — raises :class:`LockHeld` (exit 75) at once if taken."""

    def __init__(self, state_path: Path, command: str) -> None:
        self.path = Path(str(state_path) + ".lock")
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # an unwritable state directory: one clear line naming the file, not a traceback
            raise StateUnwritable(t(m.STATE_UNWRITABLE, path=self.path, reason=exc.strerror or exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeld(t(m.LOCK_HELD, path=self.path, pid=holder.get("pid", "?"), host=holder.get("host", "?"),
                             command=holder.get("command", "?"), since=holder.get("since", "?"))) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, object]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return {}
