"""Chaos runs: kill -9 during apply, and writes whose answers are lost, repeated many times.

Each iteration starts a fresh sandbox, runs ``doctor --fix``, then ``reconcile`` as a child
process. ``kill``: the child is SIGKILLed after a random number of write requests, then
``reconcile`` runs again to completion. ``drop``: a share of the writes on both emulators commit
and then lose their answer (``drop_after_commit``) for the first run, then a clean run. Each
iteration is audited against a run without faults on the same seed: duplicates per ``ORIGIN_ID``
and per 1C INN, rows left ``sending``, the next plan (must be empty), ``PRAGMA integrity_check``,
and the record counts of both systems (must equal the clean run's).

Usage: ``python bench/chaos.py kill 100`` or ``python bench/chaos.py drop 50 [share]``.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from b24sync.config import load_config
from b24sync.doctor import run_doctor
from b24sync.reconcile import run_reconcile
from b24sync.sandbox.run import start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all

SIZE = 60


def _reconcile_child(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(cfg), "reconcile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"})


def _audit(sandbox, config) -> dict[str, int]:
    b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
    dup = 0
    counts = {}
    for entity in ("company", "contact"):
        rows = export_all(b24, entity, select=["ID", "ORIGIN_ID"])
        counts[entity] = len(rows)
        origins = Counter(r["ORIGIN_ID"] for r in rows if r["ORIGIN_ID"])
        dup += sum(v - 1 for v in origins.values() if v > 1)
    counterparties = sandbox.store.records("Catalog_Контрагенты")
    counts["counterparty"] = len(counterparties)
    counts["order"] = len(sandbox.store.records("Document_ЗаказКлиента"))
    db = sqlite3.connect(config.state_path)
    sending = db.execute("select count(*) from journal where status = 'sending'").fetchone()[0]
    integrity = db.execute("pragma integrity_check").fetchone()[0]
    db.close()
    left = len(run_reconcile(config, dry_run=True).plan.operations)
    return {"duplicates": dup, "sending": sending, "integrity_ok": int(integrity == "ok"), "left": left, **counts}


def _world(tmp: Path, seed: int):
    sandbox = start_sandbox(size=SIZE, seed=seed, limits=False)
    config = load_config(sandbox.write_config(tmp / f"chaos{seed}.toml"))
    run_doctor(config, fix=True)
    return sandbox, config


def iteration(mode: str, seed: int, share: float, tmp: Path) -> dict[str, int]:
    with start_sandbox(size=SIZE, seed=seed, limits=False) as clean:
        config = load_config(clean.write_config(tmp / f"clean{seed}.toml"))
        run_doctor(config, fix=True)
        run_reconcile(config)
        baseline = _audit(clean, config)
    sandbox, config = _world(tmp, seed)
    try:
        rng = random.Random(seed)
        if mode == "kill":
            sandbox.bitrix24.faults.add(None, "slow_after_commit", count=100_000, delay=0.05)
            at = rng.randint(1, 12)
            proc = _reconcile_child(config.path)
            deadline = time.monotonic() + 120
            while len(sandbox.bitrix24.request_log.writes) + sum(
                    1 for r in list(sandbox.onec.request_log) if r.method != "GET") < at and proc.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            sandbox.bitrix24.faults.clear()
        else:
            for faults in (sandbox.bitrix24.faults, sandbox.onec.faults):
                faults.probabilities = {"drop_after_commit": share}
                faults.rng = random.Random(seed)
            proc = _reconcile_child(config.path)
            proc.wait(300)
            sandbox.bitrix24.faults.clear()
            sandbox.onec.faults.clear()
        for _ in range(3):  # resume until a run has nothing failed
            proc = _reconcile_child(config.path)
            if proc.wait(300) == 0:
                break
        audit = _audit(sandbox, config)
    finally:
        sandbox.stop()
    audit["differs_from_clean"] = int(any(audit[k] != baseline[k] for k in ("company", "contact", "counterparty",
                                                                             "order")))
    return audit


def main(mode: str = "kill", n: int = 20, share: float = 0.1) -> None:
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(n):
            result = iteration(mode, seed, share, Path(tmp))
            bad = result["duplicates"] or result["sending"] or result["left"] or not result["integrity_ok"] \
                or result["differs_from_clean"]
            totals["iterations"] += 1
            totals["failed_iterations"] += int(bool(bad))
            for key in ("duplicates", "sending", "left", "differs_from_clean"):
                totals[key] += result[key]
            totals["integrity_ok"] += result["integrity_ok"]
            if bad:
                print(f"seed {seed}: {result}", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(f"{'mode':>6} {'iters':>6} {'failed':>7} {'dups':>6} {'sending':>8} {'plan left':>10} "
          f"{'≠ clean':>8} {'integrity ok':>13} {'seconds':>8}")
    print(f"{mode:>6} {totals['iterations']:>6} {totals['failed_iterations']:>7} {totals['duplicates']:>6} "
          f"{totals['sending']:>8} {totals['left']:>10} {totals['differs_from_clean']:>8} "
          f"{totals['integrity_ok']:>13} {seconds:>8.0f}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "kill"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    share = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
    main(mode, count, share)
