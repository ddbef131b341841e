"""Benchmark: how fast ``b24sync serve`` acknowledges Bitrix24 events, and drains them.

A sandbox (portal + 1C base) is started and reconciled once; the receiver runs on waitress with
its worker. N outgoing-webhook bodies (20 % duplicates, on the portal's own contacts and
companies) are posted by C concurrent senders, each on a new connection as Bitrix24 does. Printed:
acknowledgement latency (p50 / p95 / p99 / max), acknowledgements per second, and the seconds
until the worker has processed the queue (targeted reconciles against both emulators).
Usage: ``python bench/events.py [N] [C]`` (default 2000 events, 8 senders).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import requests

from b24sync.config import load_config
from b24sync.doctor import run_doctor
from b24sync.events.serve import start_service
from b24sync.reconcile import run_reconcile
from b24sync.sandbox.run import start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(n: int = 2000, senders: int = 8) -> None:
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(size=500, limits=False) as sandbox:
        config = load_config(sandbox.write_config(Path(tmp) / "bench.toml"))
        run_doctor(config, fix=True)
        run_reconcile(config)
        token = config.require_app_token().reveal()
        b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
        records = ([("ONCRMCONTACTUPDATE", int(r["ID"])) for r in export_all(b24, "contact", select=["ID"])]
                   + [("ONCRMCOMPANYUPDATE", int(r["ID"])) for r in export_all(b24, "company", select=["ID"])])
        rng = random.Random(1)
        events = [rng.choice(records) for _ in range(int(n * 0.8))]
        events += rng.sample(events, n - len(events))
        rng.shuffle(events)
        service = start_service(config, token, port=0)
        url = service.url

        def send(event: tuple[str, int]) -> float:
            body = urlencode({"event": event[0], "data[FIELDS][ID]": event[1], "ts": int(time.time()),
                              "auth[application_token]": token})
            started = time.perf_counter()
            answer = requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                                   timeout=60)
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            return elapsed

        started = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            latencies = list(pool.map(send, events))
        posting = time.perf_counter() - started
        queue = service.receiver.queue
        while queue.pending():
            time.sleep(0.05)
        drained = time.perf_counter() - started
        counts = queue.counts()
        service.stop()
    ms = [v * 1000 for v in latencies]
    print(f"{'events':>8} {'senders':>8} {'acks/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'stored':>8} {'drained s':>10} {'rounds':>7}")
    print(f"{n:>8} {senders:>8} {n / posting:>8.0f} {_percentile(ms, 0.5):>8.1f} {_percentile(ms, 0.95):>8.1f} "
          f"{_percentile(ms, 0.99):>8.1f} {max(ms):>8.1f} {sum(counts.values()):>8} {drained:>10.1f} "
          f"{service.worker.rounds if service.worker else 0:>7}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
