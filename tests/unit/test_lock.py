"""The run lock: a second holder is refused with exit 75 and told who holds it; death frees it."""

import os
import signal
import subprocess
import sys
import time

import pytest

from b24sync.errors import LockHeld
from b24sync.lock import RunLock


def test_second_lock_is_refused_and_names_the_holder(tmp_path):
    state = tmp_path / "state.db"
    with RunLock(state, "reconcile"):
        with pytest.raises(LockHeld) as err:
            RunLock(state, "apply").acquire()
        assert err.value.exit_code == 75
        assert str(os.getpid()) in str(err.value) and "reconcile" in str(err.value)
    with RunLock(state, "apply"):  # released on exit
        pass


def test_kill_9_of_the_holder_frees_the_lock(tmp_path):
    state = tmp_path / "state.db"
    code = (f"from b24sync.lock import RunLock; import time; RunLock({str(state)!r}, 'reconcile').acquire(); "
            "print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(LockHeld):
        RunLock(state, "apply").acquire()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 5
    while True:
        try:
            RunLock(state, "apply").acquire().release()
            break
        except LockHeld:
            assert time.monotonic() < deadline
            time.sleep(0.05)
