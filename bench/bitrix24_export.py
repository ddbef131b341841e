"""Benchmark: full export of N contacts (with PHONE and EMAIL) under the enforced rate limits.

The emulator runs in a child process with the real portal limits (2 requests/s, burst 50), so
the figures measure the client alone: requests made against the floor ceil(N / 2,500), requests
the portal rejected, wall seconds against what the leaky bucket forces, and the client's peak
memory. Usage: ``python bench/bitrix24_export.py [N ...]`` (default 100000).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import resource
import sys
import time


def _serve(n: int, conn) -> None:
    from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal
    from b24sync.sandbox.seed import SeedSpec, bitrix24_seed, generate_parties

    spec = SeedSpec.contacts_only(n)
    portal_seed, _ = bitrix24_seed(generate_parties(spec, 0), spec, 0)
    portal = Portal(portal_seed)
    with Bitrix24Emulator(portal.registry, limits=Limits()) as emulator:
        conn.send(emulator.webhook_url)
        conn.recv()  # wait for "stop"
        log = emulator.request_log.snapshot()
        conn.send({"requests": len(log), "rejected": sum(r.status in (429, 503) for r in log)})


def run(n: int) -> dict[str, float]:
    from b24sync.sources.bitrix24.client import Bitrix24Client
    from b24sync.sources.bitrix24.read import export

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_serve, args=(n, child), daemon=True)
    proc.start()
    webhook = parent.recv()
    client = Bitrix24Client(webhook)  # default pacing: 2 requests/s, burst 50
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    count = 0
    for page in export(client, "contact", select=["ID", "NAME", "LAST_NAME", "PHONE", "EMAIL", "DATE_MODIFY"]):
        count += len(page)
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parent.send("stop")
    server = parent.recv()
    proc.join(10)
    requests = client.requests_made
    return {
        "records": count,
        "requests": requests,
        "floor": math.ceil(n / 2500),
        "rejected": server["rejected"],
        "seconds": seconds,
        "bucket_floor_s": max(0, requests - 50) / 2.0,
        "peak_rss_mb": rss_after / 1024,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [100_000]
    header = (f"{'records':>9} {'requests':>8} {'floor':>6} {'rejected':>8} {'seconds':>8} {'bucket floor s':>14} "
              f"{'peak RSS MB':>11} {'RSS growth MB':>13}")
    print("Bitrix24 full export of contacts (PHONE, EMAIL), limits on: 2 req/s, burst 50")
    print(header)
    print("-" * len(header))
    for n in sizes:
        r = run(n)
        print(f"{r['records']:>9,} {r['requests']:>8} {r['floor']:>6} {r['rejected']:>8} {r['seconds']:>8.1f} "
              f"{r['bucket_floor_s']:>14.1f} {r['peak_rss_mb']:>11.0f} {r['rss_growth_mb']:>13.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
