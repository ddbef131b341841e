"""Benchmark: a reconcile-size run against the portal's enforced rate limits (2 requests/s, burst 50).

The emulator runs in a child process with the real cloud limits and is seeded through its store
(``Portal.load``), not through REST, so seeding 200,000 records takes seconds. The parent drives
b24sync's own client, with its default pacing, through three phases:

* ``companies`` / ``contacts``: full export of N records each (keyset-chained ``batch`` lists);
* ``updates``: W ``crm.company.update`` calls sent by ``write_batch`` in batches of 50.

Printed per phase: requests made against the floor (⌈N/2,500⌉ list batches, ⌈W/50⌉ write
batches), 503 answers (count and share of requests), wall seconds against the seconds the leaky
bucket forces for that many requests (from the bucket's level when the phase starts), and
failures: exceptions, failed writes, records missing or duplicated in the export, and updates the
portal does not hold afterwards. Targets: 503 ≤ 1 %, requests ≤ 1.05 × floor, 0 failures.

Usage: ``python bench/ratelimit.py [N] [W]`` (default 100000 10000).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import sys
import time
from typing import Any

RATE, BURST = 2.0, 50
COMPANY_FIELDS = ["ID", "TITLE", "PHONE", "EMAIL", "ASSIGNED_BY_ID", "DATE_MODIFY", "ORIGINATOR_ID", "ORIGIN_ID"]
CONTACT_FIELDS = ["ID", "NAME", "LAST_NAME", "PHONE", "EMAIL", "ASSIGNED_BY_ID", "DATE_MODIFY", "COMPANY_ID"]


def seed(n: int) -> Any:
    """N companies and N contacts (contact i works at company i), each with a phone and an e-mail."""
    from b24sync.sandbox.bitrix24.api import PortalSeed

    companies = [{"TITLE": f"ООО «Ромашка-{i}»", "ASSIGNED_BY_ID": 1 + i % 5,
                  "PHONE": [{"VALUE": f"+7 495 {i:07d}", "VALUE_TYPE": "WORK"}],
                  "EMAIL": [{"VALUE": f"office{i}@romashka.example", "VALUE_TYPE": "WORK"}]}
                 for i in range(1, n + 1)]
    contacts = [{"NAME": "Анна", "LAST_NAME": f"Иванова-{i}", "COMPANY_ID": i, "ASSIGNED_BY_ID": 1 + i % 5,
                 "PHONE": [{"VALUE": f"+7 916 {i:07d}", "VALUE_TYPE": "MOBILE"}],
                 "EMAIL": [{"VALUE": f"anna{i}@mail.example", "VALUE_TYPE": "WORK"}]}
                for i in range(1, n + 1)]
    return PortalSeed(companies=companies, contacts=contacts)


def updated_title(record_id: int) -> str:
    return f"ООО «Ромашка-{record_id}» (обновлено)"


def _serve(n: int, conn: Any) -> None:
    from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal

    portal = Portal(seed(n))
    with Bitrix24Emulator(portal.registry, limits=Limits(bucket_size=BURST, drain_per_second=RATE)) as emulator:
        conn.send(emulator.webhook_url)
        while True:
            message = conn.recv()
            if message == "stop":
                break
            if message == "log":
                log = emulator.request_log.snapshot()
                conn.send({"requests": len(log), "503": sum(r.status == 503 for r in log),
                           "429": sum(r.status == 429 for r in log)})
            elif message[0] == "check":  # how many of the given IDs hold their updated title
                rows = portal.store.table("company").rows
                conn.send(sum(rows.get(i, {}).get("TITLE") == updated_title(i) for i in message[1]))


def run(n: int, writes: int) -> list[dict[str, Any]]:
    from b24sync.sources.bitrix24.client import Bitrix24Client
    from b24sync.sources.bitrix24.read import export
    from b24sync.sources.bitrix24.write import WriteOp, write_batch

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_serve, args=(n, child), daemon=True)
    proc.start()
    webhook = parent.recv()
    client = Bitrix24Client(webhook, rate=RATE, burst=BURST)
    rows: list[dict[str, Any]] = []

    def phase(name: str, floor: int, work: Any) -> None:
        parent.send("log")
        before = parent.recv()
        requests_before, level = client.requests_made, client.bucket.level()
        started = time.perf_counter()
        try:
            failures = work()
        except Exception as exc:  # a user-visible failure: counted, and the run goes on
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failures = 1
        seconds = time.perf_counter() - started
        parent.send("log")
        after = parent.recv()
        made = client.requests_made - requests_before
        rows.append({"phase": name, "records": n if name != "updates" else writes, "requests": made,
                     "floor": floor, "503": after["503"] - before["503"], "429": after["429"] - before["429"],
                     "served": after["requests"] - before["requests"], "seconds": seconds,
                     "bucket_s": max(0.0, level + made - BURST) / RATE, "failures": failures})

    def extract(entity: str, fields: list[str]) -> Any:
        def work() -> int:
            ids = [int(row["ID"]) for page in export(client, entity, select=fields) for row in page]
            return abs(n - len(ids)) + (len(ids) - len(set(ids)))
        return work

    targets = [1 + (i * n) // writes for i in range(writes)]

    def update() -> int:
        ops = [WriteOp(f"company {i}", "crm.company.update", {"id": i, "fields": {"TITLE": updated_title(i)}})
               for i in targets]
        failed = sum(not outcome.ok for outcome in write_batch(client, ops))
        parent.send(("check", targets))
        return failed + (len(targets) - parent.recv())

    phase("companies", math.ceil(n / 2500), extract("company", COMPANY_FIELDS))
    phase("contacts", math.ceil(n / 2500), extract("contact", CONTACT_FIELDS))
    phase("updates", math.ceil(writes / 50), update)
    parent.send("stop")
    proc.join(30)
    total = {"phase": "total", "records": sum(r["records"] for r in rows)}
    for key in ("requests", "floor", "503", "429", "served", "seconds", "bucket_s", "failures"):
        total[key] = sum(r[key] for r in rows)
    return [*rows, total]


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 100_000
    writes = int(argv[1]) if len(argv) > 1 else 10_000
    rows = run(n, writes)
    print(f"Bitrix24 under enforced limits ({RATE:g} req/s, burst {BURST}): {n:,} companies + {n:,} contacts "
          f"exported, {writes:,} company updates")
    header = (f"{'phase':<10} {'records':>8} {'requests':>8} {'floor':>6} {'×floor':>6} {'503':>5} {'503 %':>6} "
              f"{'429':>4} {'seconds':>8} {'bucket s':>8} {'failures':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        share = 100.0 * r["503"] / r["served"] if r["served"] else 0.0
        ratio = r["requests"] / r["floor"] if r["floor"] else float("nan")
        print(f"{r['phase']:<10} {r['records']:>8,} {r['requests']:>8} {r['floor']:>6} {ratio:>6.3f} {r['503']:>5} "
              f"{share:>6.2f} {r['429']:>4} {r['seconds']:>8.1f} {r['bucket_s']:>8.1f} {r['failures']:>8}")


if __name__ == "__main__":
    main(sys.argv[1:])
