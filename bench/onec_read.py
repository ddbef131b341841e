"""Benchmark: full read of N 1C counterparties, then the incremental scan with 1 % changed.

The 1C emulator runs in a child process with seeded UT-shaped counterparties (contact information
included); the client reads through OData exactly as in production. Printed: requests, bytes,
seconds and the client's peak memory for the full keyset read, and for the incremental read
(``(Ref_Key, DataVersion)`` scan + fetch of the changed objects), with the byte ratio the
incremental strategy achieves. Usage: ``python bench/onec_read.py [N ...]`` (default 100000).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import resource
import sys
import time
from zoneinfo import ZoneInfo


def _serve(n: int, conn) -> None:
    from b24sync.sandbox.onec import OneCEmulator, OneCStore
    from b24sync.sandbox.onec.seed import load_onec
    from b24sync.sandbox.seed import SeedSpec, generate_parties

    spec = SeedSpec.from_size(n, anomalies=False).with_(deals=0, leads=0, only_b24_rate=0.0, only_onec_rate=0.0)
    store = OneCStore()
    load_onec(store, generate_parties(spec, 0), spec, 0)
    with OneCEmulator(store) as emulator:
        conn.send((emulator.odata_url, emulator.user, emulator.password))
        while True:
            command = conn.recv()
            if command == "stop":
                break
            refs = [row["Ref_Key"] for row in store.query("Catalog_Контрагенты")]
            changed = random.Random(1).sample(refs, max(1, len(refs) // 100))
            for ref in changed:
                store.update("Catalog_Контрагенты", ref, {"НаименованиеПолное": "изменено"}, load_mode=True)
            conn.send(len(changed))


def run(n: int) -> list[tuple[str, int, int, int, float, float]]:
    from b24sync.sources.onec.client import OneCClient

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_serve, args=(n, child), daemon=True)
    proc.start()
    url, user, password = parent.recv()
    client = OneCClient(url, user, password, server_tz=ZoneInfo("Europe/Moscow"), page_size=1000)
    client.metadata()
    rows = []

    def measure(label: str, fn) -> object:
        requests0, bytes0 = client.requests_made, client.transport.bytes_received
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((label, client.requests_made - requests0, client.transport.bytes_received - bytes0, 0,
                     seconds, rss))
        return result

    full = measure("full read", lambda: [r for page in client.iterate("Catalog_Контрагенты") for r in page])
    known = {row["Ref_Key"]: row["DataVersion"] for row in full}
    rows[-1] = (*rows[-1][:3], len(full), *rows[-1][4:])
    del full
    parent.send("change")
    parent.recv()
    changed, gone = measure("incremental, 1 % changed", lambda: client.changed("Catalog_Контрагенты", known))
    rows[-1] = (*rows[-1][:3], len(changed), *rows[-1][4:])
    parent.send("stop")
    proc.join(10)
    return rows


def main(argv: list[str]) -> None:
    for n in [int(a) for a in argv] or [100_000]:
        results = run(n)
        print(f"1C OData read of Catalog_Контрагенты, {n:,} parties seeded (keyset pages of 1,000)")
        header = f"{'read':<26} {'requests':>8} {'MB':>9} {'records':>9} {'seconds':>8} {'peak RSS MB':>11}"
        print(header)
        print("-" * len(header))
        for label, requests, nbytes, records, seconds, rss in results:
            print(f"{label:<26} {requests:>8} {nbytes / 1e6:>9.2f} {records:>9,} {seconds:>8.1f} {rss:>11.0f}")
        print(f"incremental bytes / full bytes = {results[1][2] / results[0][2]:.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
