"""Reliability of ``reconcile`` as a process: concurrent runs, signals, an unwritable state file.

Real ``python -m b24sync`` processes (and in-process CLI runs) against both emulators over loopback:

* R9  — ten runs started at once: one holds the lock and works, nine exit 75 without a single HTTP
  request (each process reaches the emulators through its own relay on its own loopback address, so
  the emulators' own logs say who asked what); kill -9 of the holder frees the lock at once.
* R20 — SIGTERM / SIGINT during apply: exit 143 / 130 at once, the operation in flight is left
  ``sending`` (or finished), the next run settles it: nothing in doubt, no duplicate, an empty plan.
* R21 — a read-only state file, a state directory that cannot exist, a journal write failing under
  the run: one line naming the state file, non-zero exit, no remote write after the failed write.
* R4-lite — ``PRAGMA integrity_check`` is "ok" after every kill and signal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b24sync.cli import app
from b24sync.config import Config, load_config
from b24sync.documents.model import INTERESTS
from b24sync.journal import DONE, SENDING, Journal
from b24sync.lock import RunLock
from b24sync.sandbox.bitrix24.requestlog import is_read_method
from b24sync.sandbox.run import Sandbox, start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State

CP = "Catalog_Контрагенты"
SIZE, SEED = 20, 5  # small world, yet every kind of operation: 1C creates/updates, Bitrix24 creates/links, a document
WIDE = {"COLUMNS": "250"}  # one-line messages stay on one line
runner = CliRunner()


# -- the world --------------------------------------------------------------------------------------


@dataclass
class World:
    sandbox: Sandbox
    cfg: Path
    config: Config
    b24: Bitrix24Client
    onec: OneCClient


def _world(tmp: Path) -> contextlib.AbstractContextManager[World]:
    @contextlib.contextmanager
    def make():
        with start_sandbox(size=SIZE, seed=SEED, limits=False) as sandbox:
            cfg = sandbox.write_config(tmp / "b24sync.toml")
            config = load_config(cfg)
            b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
            onec = OneCClient(sandbox.onec.odata_url, sandbox.onec.user, sandbox.onec.password,
                              server_tz=config.onec.tzinfo())
            assert cli(cfg, "doctor", "--fix").exit_code == 0
            yield World(sandbox, cfg, config, b24, onec)

    return make()


@pytest.fixture
def world(tmp_path):
    with _world(tmp_path) as w:
        yield w


@pytest.fixture(scope="module")
def clean_counts(tmp_path_factory):
    """Record counts on both sides after one uninterrupted run of the same seeded world: the yardstick."""
    with _world(tmp_path_factory.mktemp("clean")) as w:
        result = cli(w.cfg, "reconcile")
        assert result.exit_code == 0, result.output
        return counts(w)


def cli(cfg: Path, *args: str):
    return runner.invoke(app, ["--config", str(cfg), *args], env=WIDE)


# CLONE_NEWUSER without a uid map: root keeps its uid but loses CAP_DAC_OVERRIDE over every file outside the new
# namespace, so mode bits bind it like any owner (chmod 0400 is read-only); the child enters it, then execs b24sync
UNSHARE = "import ctypes, sys\nif ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0: sys.exit(70)\n"
WITHOUT_ROOT = UNSHARE + "import os\nos.execv(sys.executable, [sys.executable, '-m', 'b24sync', *sys.argv[1:]])\n"


def spawn(cfg: Path, *args: str, without_root: bool = False, **kwargs) -> subprocess.Popen:
    command = ["-c", WITHOUT_ROOT] if without_root else ["-m", "b24sync"]
    return subprocess.Popen([sys.executable, *command, "--config", str(cfg), "reconcile", *args],
                            env={**os.environ, **WIDE}, text=True, **kwargs)


def counts(w: World) -> dict[str, int]:
    return {"b24 companies": len(export_all(w.b24, "company", select=["ID"])),
            "b24 contacts": len(export_all(w.b24, "contact", select=["ID"])),
            "1C counterparties": len(w.onec.query(CP, select=["Ref_Key"])),
            "1C interests": len(w.onec.query(INTERESTS, select=["Ref_Key"]))}


def journal(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return dict(db.execute("select status, count(*) from journal group by status").fetchall())


def integrity(path: Path) -> str:
    """R4-lite: SQLite's own check of every page and index of the state file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return "; ".join(row[0] for row in db.execute("PRAGMA integrity_check").fetchall())


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
    return value


def b24_writes(records) -> list:
    return [r for r in records if r.executed and any(not is_read_method(c) for c in r.commands)]


def onec_writes(records) -> list:
    return [r for r in records if r.method != "GET"]


def assert_converged(w: World, clean: dict[str, int]) -> None:
    """Nothing in doubt, no duplicate on either side, and nothing left to do."""
    assert journal(w.config.state_path).get(SENDING, 0) == 0
    for entity in ("company", "contact"):
        origins = Counter(r["ORIGIN_ID"] for r in export_all(w.b24, entity, select=["ID", "ORIGIN_ID"])
                          if r["ORIGIN_ID"])
        assert origins and max(origins.values()) == 1, (entity, origins.most_common(3))
    assert counts(w) == clean  # exactly what one uninterrupted run creates, no more
    plan = cli(w.cfg, "reconcile", "--dry-run", "--format", "json")
    assert plan.exit_code == 0, plan.output
    leftover = json.loads(plan.stdout)["operations"]
    assert leftover == [], [(o["target"], o["key"], o["fields"]) for o in leftover]


# -- R9: one run at a time ---------------------------------------------------------------------------


class Relay:
    """TCP relay listening on its own loopback address and connecting to ``target`` *from* it.

    One process talks only to its relays, so the Bitrix24 emulator logs its requests under the
    relay's address (``remote_addr``) and the 1C emulator under the relay's ``Host`` header.
    """

    def __init__(self, ip: str, target: tuple[str, int]) -> None:
        self.ip, self.target = ip, target
        self.server = socket.create_server((ip, 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(self.target, source_address=(self.ip, 0)) as upstream:
            back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
            back.start()
            self._pump(client, upstream)
            back.join(30)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()


def _process_config(w: World, k: int, b24: Relay, onec: Relay) -> Path:
    """Config k: the shared state file, the emulators reached through relays on address k."""
    secrets = w.cfg.parent / f"p{k}.secrets"
    text = w.config.secrets_file.read_text(encoding="utf-8").replace(w.sandbox.bitrix24.origin, b24.origin)
    secrets.write_text(text, encoding="utf-8")
    secrets.chmod(0o600)
    text = w.cfg.read_text(encoding="utf-8").replace(w.sandbox.onec.origin, onec.origin)
    text = re.sub(r'(?m)^path = ".*"$', f"path = {json.dumps(str(w.config.state_path))}", text)
    text = re.sub(r'(?m)^file = ".*"$', f'file = "{secrets.name}"', text)
    path = w.cfg.parent / f"p{k}.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    assert load_config(path).state_path == w.config.state_path
    return path


def _host(record) -> str:
    """The address part of a 1C request's ``Host`` header: the relay (hence the process) it came through."""
    host = next((v for k, v in record.headers.items() if k.lower() == "host"), "")
    return host.rsplit(":", 1)[0]


def _holder(lock: Path) -> int | None:
    try:
        return int(json.loads(lock.read_text() or "{}").get("pid", 0)) or None
    except (OSError, ValueError):
        return None


def test_r9_ten_runs_at_once_one_works_nine_exit_75_without_a_request(world, clean_counts, tmp_path):
    """Ten ``reconcile`` processes on one state file, started together, each through its own relays.

    The holder is paused (SIGSTOP) the moment the lock file names it, so every other process meets a
    held lock however slowly this machine starts ten interpreters; it resumes once all nine are gone,
    applies (slowly: the 1C emulator holds back every create's answer), and is killed with -9 mid-apply.
    """
    w, n = world, 10
    ips = [f"127.77.0.{k + 2}" for k in range(n)]
    try:
        relays = [(Relay(ip, ("127.0.0.1", w.sandbox.bitrix24.port)), Relay(ip, ("127.0.0.1", w.sandbox.onec.port)))
                  for ip in ips]
    except OSError as exc:  # only 127.0.0.1 on this loopback (not Linux)
        pytest.skip(f"no extra loopback addresses: {exc}")
    procs: list[subprocess.Popen] = []
    outs: list = []
    try:
        configs = [_process_config(w, k, *relays[k]) for k in range(n)]
        # the apply is slow: each 1C create answers 0.5 s late, so the holder is still applying long after the start
        w.sandbox.onec.faults.add("slow", method="POST", count=1000, delay=0.5)
        b24_mark, onec_mark = len(w.sandbox.bitrix24.request_log), len(w.sandbox.onec.request_log)
        lock = Path(str(w.config.state_path) + ".lock")
        outs += [(tmp_path / f"p{k}.out").open("w+") for k in range(n)]
        started = time.monotonic()
        procs += [spawn(cfg, stdout=out, stderr=subprocess.STDOUT) for cfg, out in zip(configs, outs, strict=True)]
        pids = {p.pid: k for k, p in enumerate(procs)}
        winner_pid = wait_for(lambda: _holder(lock) if _holder(lock) in pids else None, what="a lock holder")
        # paused while it holds the lock, so all nine others meet it, however slow this machine starts them
        os.kill(winner_pid, signal.SIGSTOP)
        winner = pids[winner_pid]
        losers = [k for k in range(n) if k != winner]
        for k in losers:
            procs[k].wait(60)
        losers_done = time.monotonic() - started
        assert procs[winner].poll() is None  # the overlap is real: the holder outlived every loser
        os.kill(winner_pid, signal.SIGCONT)
        codes = {k: procs[k].returncode for k in losers}
        assert codes == dict.fromkeys(losers, 75), codes
        for k in losers:
            outs[k].seek(0)
            said = outs[k].read()
            # names the holder (``pid ?`` only if it met the lock in the instant before the holder wrote its name)
            assert re.search(rf"holds the lock .* \(pid ({winner_pid}|\?) ", said) and "Traceback" not in said, said

        # the holder works: it applies (its 1C writes show in the emulator under its address) ...
        wait_for(lambda: onec_writes(r for r in w.sandbox.onec.request_log.snapshot()[onec_mark:]
                                     if _host(r) == ips[winner]),
                 what="the holder's first 1C write")
        b24_log = w.sandbox.bitrix24.request_log.snapshot()[b24_mark:]
        onec_log = w.sandbox.onec.request_log.snapshot()[onec_mark:]
        by_addr = Counter(r.remote_addr for r in b24_log)
        by_host = Counter(_host(r) for r in onec_log)
        # ... and the nine others asked nothing: not one request in either emulator's log, not one connection
        assert set(by_addr) == {ips[winner]} and set(by_host) == {ips[winner]}, (by_addr, by_host)
        assert [sum(r.connections for r in relays[k]) for k in losers] == [0] * len(losers)
        assert relays[winner][0].connections and relays[winner][1].connections

        # kill -9 of the holder mid-apply: the kernel frees the lock at once, the next run takes it
        procs[winner].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert procs[winner].wait(10) == -signal.SIGKILL
        RunLock(w.config.state_path, "reconcile").acquire().release()  # first try, no waiting
        freed_after = time.monotonic() - killed
        assert integrity(w.config.state_path) == "ok"
        in_journal = journal(w.config.state_path)
        w.sandbox.onec.faults.clear()
        again = cli(w.cfg, "reconcile")
        assert again.exit_code == 0, again.output
        assert_converged(w, clean_counts)
        print(f"\nR9: {n} processes, holder #{winner} (pid {winner_pid}); loser exit codes {sorted(codes.values())} "
              f"within {losers_done:.1f}s; loser requests: b24 0, 1C 0 (holder: b24 {by_addr[ips[winner]]}, "
              f"1C {by_host[ips[winner]]}); lock free {freed_after * 1000:.0f} ms after kill -9; "
              f"journal at kill {in_journal}; integrity ok")
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait(10)
        for out in outs:
            out.close()
        for pair in relays:
            for relay in pair:
                relay.close()


# -- R20: SIGTERM and SIGINT during apply --------------------------------------------------------------


@pytest.mark.parametrize(("signame", "side", "code"), [("SIGTERM", "onec", 143), ("SIGINT", "bitrix24", 130)])
def test_r20_a_signal_during_apply_stops_at_once_and_the_next_run_resumes(world, clean_counts, signame, side,
                                                                          code):
    """The signal lands while a write is in flight (committed by the emulator, its answer held back)."""
    w, sig = world, getattr(signal, signame)
    # the write in flight is committed by the emulator, its answer held back 20 s: the signal lands mid-request
    if side == "onec":
        w.sandbox.onec.faults.add("slow", method="POST", count=1000, delay=20.0)
        in_flight = lambda: [r for r in w.sandbox.onec.request_log.snapshot() if r.fault == "slow"]  # noqa: E731
    else:
        w.sandbox.bitrix24.faults.add("crm.company.update", "slow_after_commit", count=1000, delay=20.0)
        in_flight = lambda: [r for r in w.sandbox.bitrix24.request_log.snapshot()  # noqa: E731
                             if r.fault == "slow_after_commit"]
    proc = spawn(w.cfg, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        request = wait_for(in_flight, what="a write in flight")[0]
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == code, (proc.returncode, err)
    assert took < 5.0  # did not wait for the held-back answer
    assert "Interrupted" in err and "Traceback" not in err, err
    assert integrity(w.config.state_path) == "ok"
    left = journal(w.config.state_path)
    ops_in_request = len(request.commands) if side == "bitrix24" else 1
    # the operation in flight is in doubt (or done); nothing was marked failed, nothing else is in doubt
    assert left.get("failed", 0) == 0 and left.get(SENDING, 0) <= ops_in_request, left
    w.sandbox.onec.faults.clear()
    w.sandbox.bitrix24.faults.clear()
    again = cli(w.cfg, "reconcile")
    assert again.exit_code == 0, again.output
    if left.get(SENDING):
        assert f"Settled {left[SENDING]} operation(s) left in doubt" in again.output
    assert_converged(w, clean_counts)
    print(f"\nR20 {signame} during a {side} write: exit {proc.returncode} in {took:.2f}s; journal after {left}; "
          f"integrity ok; resumed: 0 sending, 0 duplicates, 0 planned")


# -- R21: the state file cannot be written ---------------------------------------------------------------


def _userns_available() -> bool:
    return subprocess.run([sys.executable, "-c", UNSHARE], capture_output=True).returncode == 0


@pytest.mark.parametrize("how", ["files 0400", "directory 0500"])
def test_r21_a_read_only_state_file_stops_the_run_before_any_request(world, how):
    """The state file is opened right after the lock and before any client: a read-only one stops the run
    with one line naming it, and neither emulator hears a single request."""
    w, state = world, world.config.state_path
    existing = State(state)  # the state file and its lock exist, as after any earlier run
    existing.finish_run(existing.start_run("reconcile"), "ok", {})
    existing.db.conn.close()  # the last connection: SQLite checkpoints and removes -wal/-shm
    RunLock(state, "reconcile").acquire().release()
    as_root = os.geteuid() == 0  # chmod binds no root: the child then runs without root's override, if it can
    if as_root and not _userns_available():
        pytest.skip("running as root without user namespaces: chmod cannot make a file read-only for root "
                    "(test_r21_a_state_directory_that_is_a_file covers an unwritable state path)")
    files = [p for p in (state, Path(f"{state}-wal"), Path(f"{state}-shm")) if p.exists()]
    before = state.read_bytes()
    b24_mark, onec_mark = len(w.sandbox.bitrix24.request_log), len(w.sandbox.onec.request_log)
    try:
        if how.startswith("files"):
            for path in files:
                path.chmod(0o400)
        else:  # the files stay writable, but SQLite cannot create the -wal/-shm it needs beside them
            state.parent.chmod(0o500)
        proc = spawn(w.cfg, stdout=subprocess.PIPE, stderr=subprocess.PIPE, without_root=as_root)
        out, err = proc.communicate(timeout=60)
    finally:
        state.parent.chmod(0o700)
        for path in files:
            path.chmod(0o600)
    assert proc.returncode == 1, (proc.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"Cannot write the state file {state}" in lines[0], err
    assert len(w.sandbox.bitrix24.request_log) == b24_mark and len(w.sandbox.onec.request_log) == onec_mark
    assert state.read_bytes() == before and integrity(state) == "ok"
    print(f"\nR21 read-only state ({how}, {'root in a user namespace' if as_root else 'chmod'}): exit 1, "
          f"{lines[0]!r}; requests: b24 0, 1C 0; state file unchanged, integrity ok")


def test_r21_a_state_directory_that_is_a_file(world):
    """Works for root too: a regular file where the state directory should be — nothing can be created."""
    w = world
    blocker = w.cfg.parent / "state-dir"
    blocker.write_text("a file, not a directory")
    text = w.cfg.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^path = ".*"$', f"path = {json.dumps(str(blocker / 'b24sync-state.db'))}", text)
    w.cfg.write_text(text, encoding="utf-8")
    b24_mark, onec_mark = len(w.sandbox.bitrix24.request_log), len(w.sandbox.onec.request_log)
    proc = spawn(w.cfg, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (proc.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"Cannot write the state file {blocker / 'b24sync-state.db'}" in lines[0], err
    assert len(w.sandbox.bitrix24.request_log) == b24_mark and len(w.sandbox.onec.request_log) == onec_mark
    print(f"\nR21 state directory is a file: exit 1, {lines[0]!r}; requests: b24 0, 1C 0")


@pytest.mark.parametrize(("status", "nth"), [(SENDING, 3), (DONE, 2)])
def test_r21_a_failed_journal_write_stops_every_remote_write(world, clean_counts, monkeypatch, status, nth):
    """SQLite refuses the run's ``nth`` journal transition to ``status`` (that one write only, a passing fault).

    ``sending`` fails before the request (journal-before-send: it is never sent); ``done`` fails after
    it (the operation stays ``sending``, in doubt, and the next run settles it). Either way the run
    stops there, though later writes would succeed: not one more write request reaches either system.
    """
    w, seen, failed = world, Counter(), {}
    original = Journal._mark

    def mark(self, op_ids, new_status, **kwargs):
        op_ids = list(op_ids)
        if new_status != status or failed:
            return original(self, op_ids, new_status, **kwargs)
        seen[status] += 1
        if seen[status] != nth:
            return original(self, op_ids, new_status, **kwargs)
        failed.update(b24=len(w.sandbox.bitrix24.request_log), onec=len(w.sandbox.onec.request_log), ops=op_ids)
        conn = self.state.db.conn
        conn.execute("PRAGMA query_only = ON")  # SQLite refuses this write ...
        try:
            return original(self, op_ids, new_status, **kwargs)
        finally:  # ... and only this one: a passing fault must stop the run all the same
            conn.execute("PRAGMA query_only = OFF")

    monkeypatch.setattr(Journal, "_mark", mark)
    result = cli(w.cfg, "reconcile")
    assert failed, "the apply never reached the chosen journal write"
    assert result.exit_code == 1, result.output
    state = w.config.state_path
    assert f"Cannot write the state file {state}: attempt to write a readonly database" in result.output
    assert "Traceback" not in result.output
    b24_before = b24_writes(w.sandbox.bitrix24.request_log.snapshot()[:failed["b24"]])
    onec_before = onec_writes(w.sandbox.onec.request_log.snapshot()[:failed["onec"]])
    b24_after = w.sandbox.bitrix24.request_log.snapshot()[failed["b24"]:]
    onec_after = w.sandbox.onec.request_log.snapshot()[failed["onec"]:]
    assert b24_before or onec_before  # the failure came mid-apply, after real writes
    assert b24_writes(b24_after) == [] and onec_writes(onec_after) == []  # journal-before-send held
    assert integrity(state) == "ok"
    with contextlib.closing(sqlite3.connect(state)) as db:
        marks = ",".join("?" * len(failed["ops"]))
        rows = dict(db.execute(f"select op_id, status from journal where op_id in ({marks})", failed["ops"]).fetchall())
    # a refused `sending` leaves the op pending (never sent); a refused `done` leaves it sending (in doubt)
    assert set(rows.values()) == {"pending" if status == SENDING else SENDING}, rows
    monkeypatch.undo()
    again = cli(w.cfg, "reconcile")
    assert again.exit_code == 0, again.output
    assert_converged(w, clean_counts)
    print(f"\nR21 journal write to {status!r} #{nth} refused: exit 1; writes before: b24 {len(b24_before)} commands, "
          f"1C {len(onec_before)}; after: b24 {len(b24_writes(b24_after))}, 1C {len(onec_writes(onec_after))} "
          f"({len(b24_after) + len(onec_after)} requests of any kind); failed op(s) {set(rows.values())}; "
          f"integrity ok; resumed: 0 sending, 0 duplicates, 0 planned")
