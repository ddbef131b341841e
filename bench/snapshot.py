"""Benchmark: ``b24sync snapshot`` of the sandbox, in full and incremental after 1 % of edits.

The sandbox (both emulators, seeded with N counterparties, the Bitrix24 rate limits on unless
``--no-limits``) runs in a child process; the snapshot runs here through the library, exactly as
the command does. The state is then given what a finished reconciliation leaves (the portal's
clock as the watermark, every 1C DataVersion), 1 % of the contacts and counterparties are edited,
and the incremental snapshot is taken. Printed per side: mode, records read, requests, seconds;
and the files' size. Usage: ``python bench/snapshot.py [--no-limits] [N ...]`` (default 2000).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import sys
import tempfile
from pathlib import Path


def _serve(n: int, limits: bool, folder: str, conn) -> None:
    from b24sync.sandbox.run import start_sandbox

    with start_sandbox(size=n, seed=0, limits=limits) as sandbox:
        conn.send(str(sandbox.write_config(Path(folder) / "b24sync.toml")))
        conn.recv()


def _edit(config, share: float) -> tuple[int, int]:
    from b24sync.extract import COUNTERPARTIES
    from b24sync.reconcile import clients
    from b24sync.sources.bitrix24.read import export_all

    b24, onec, _ = clients(config)
    rng = random.Random(1)
    ids = [int(r["ID"]) for r in export_all(b24, "contact", select=["ID"])]
    picked = rng.sample(ids, max(1, int(len(ids) * share)))
    for start in range(0, len(picked), 50):
        b24.batch({f"c{i}": ("crm.contact.update", {"id": i, "fields": {"SECOND_NAME": "Изменённое"}})
                   for i in picked[start:start + 50]})
    refs = list(onec.scan_versions(COUNTERPARTIES))
    changed = rng.sample(refs, max(1, int(len(refs) * share)))
    for ref in changed:
        onec.update(COUNTERPARTIES, ref, {"НаименованиеПолное": "изменено"})
    return len(picked), len(changed)


def _seed_state(config) -> None:
    from b24sync.extract import COUNTERPARTIES
    from b24sync.pipeline import WATERMARK
    from b24sync.reconcile import clients
    from b24sync.sources.bitrix24.read import portal_now
    from b24sync.state import State

    b24, onec, _ = clients(config)
    state = State(config.state_path)
    state.set_watermark(WATERMARK, portal_now(b24).isoformat())
    state.set_onec_versions(COUNTERPARTIES, onec.scan_versions(COUNTERPARTIES))
    state.db.conn.close()


def run(n: int, limits: bool) -> None:
    from b24sync.config import load_config
    from b24sync.snapshot import parquet_available, take_snapshot

    with tempfile.TemporaryDirectory() as folder:
        parent, child = mp.Pipe()
        proc = mp.get_context("fork").Process(target=_serve, args=(n, limits, folder, child), daemon=True)
        proc.start()
        config = load_config(parent.recv())
        print(f"b24sync snapshot of the sandbox, size {n:,}, Bitrix24 limits {'on' if limits else 'off'}, "
              f"Parquet {'on' if parquet_available() else 'off (no pyarrow)'}")
        header = f"{'snapshot':<28} {'side':<9} {'mode':<12} {'records':>8} {'requests':>8} {'seconds':>8}"
        print(header)
        print("-" * len(header))

        def show(label: str, report) -> None:
            for side, read in report.reads.items():
                records = sum(f.rows for f in report.frames if f.side == side and f.kind == "raw")
                print(f"{label:<28} {side:<9} {read.mode:<12} {records:>8,} {read.requests:>8} {read.seconds:>8.2f}")
            size = sum(p.stat().st_size for f in report.frames for p in f.files.values())
            print(f"{label:<28} {'total':<9} {'':<12} {report.rows:>8,} {report.requests:>8} {report.seconds:>8.2f}"
                  f"   files {size / 1e6:.1f} MB")

        show("full", take_snapshot(config, Path(folder) / "full", full=True))
        _seed_state(config)
        contacts, counterparties = _edit(config, 0.01)
        show(f"incremental ({contacts}+{counterparties} edits)", take_snapshot(config, Path(folder) / "incremental"))
        parent.send("stop")
        proc.join(10)


def main(argv: list[str]) -> None:
    limits = "--no-limits" not in argv
    for n in [int(a) for a in argv if not a.startswith("--")] or [2000]:
        run(n, limits)


if __name__ == "__main__":
    main(sys.argv[1:])
