"""Benchmark: how fast ``b24sync serve`` acknowledges Bitrix24 events, and drains them.

A sandbox (portal + 1C base) is started and reconciled once; the receiver runs on waitress with
its worker. N outgoing-webhook bodies (20 % duplicates, on the portal's own contacts and
companies) are posted by C concurrent senders, each on a new connection as Bitrix24 does. Printed:
acknowledgement latency (p50 / p95 / p99 / max), acknowledgements per second, and the seconds
until the worker has processed the queue (targeted reconciles against both emulators).
Usage: ``python bench/events.py [N] [C]`` (default 2000 events, 8 senders).

``python bench/events.py flood [N] [C]`` (default 20000 events, 8 senders) floods a
``b24sync serve --no-worker`` process instead: N distinct valid events, 10 % repeats, 5 % forged
tokens, and meanwhile 200 half-open connections and rounds of oversized requests (a huge announced
``Content-Length``, an endless chunked body, a body one byte over ``max_body_bytes``, 100 KB of
headers). Printed: events/s, the process's resident memory (baseline after a warm-up, peak read
from ``/proc/<pid>/status`` during the flood), rejections by status, and the queue's rows.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
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


TOKEN = "bench-flood-application-token"
EVENTS_PATH = "/bitrix24/events"
MAX_BODY = 65536


def _flood_body(event: str, record: int, token: str = TOKEN, pad: int = 0) -> bytes:
    data = urlencode({"event": event, "data[FIELDS][ID]": record, "ts": int(time.time()),
                      "auth[application_token]": token}).encode()
    return data + b"&p=" + b"x" * max(0, pad - len(data) - 3) if pad else data


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _raw_status(port: int, head: bytes, stream: bytes = b"", limit: int = 4 << 20) -> int:
    """Send ``head``, then ``stream`` until the server answers (at most ``limit`` bytes); its status."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer, sent = b"", 0
        while stream and sent < limit:
            try:
                answer += sock.recv(4096)
                break
            except BlockingIOError:
                pass
            try:
                sent += sock.send(stream)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def _oversized(port: int) -> list[int]:
    head = (f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n").encode()
    return [
        _raw_status(port, head + b"Content-Length: 500000000\r\n\r\n"),
        _raw_status(port, head + b"Transfer-Encoding: chunked\r\n\r\n", b"4000\r\n" + b"x" * 0x4000 + b"\r\n"),
        requests.post(f"http://127.0.0.1:{port}{EVENTS_PATH}", data=_flood_body("ONCRMCONTACTADD", 1, pad=MAX_BODY + 1),
                      timeout=30).status_code,
        _raw_status(port, head + b"X-Padding: " + b"y" * 100_000 + b"\r\nContent-Length: 5\r\n\r\nevent"),
    ]


def _post_all(port: int, bodies: list[bytes], senders: int) -> list[int]:
    local = threading.local()

    def send(data: bytes) -> int:
        for _ in range(3):
            conn = getattr(local, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            local.conn = conn
            try:
                conn.request("POST", EVENTS_PATH, body=data,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                response = conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    local.conn = None
                return response.status
            except (http.client.HTTPException, OSError):
                conn.close()
                local.conn = None
        return 0

    with ThreadPoolExecutor(senders) as pool:
        return list(pool.map(send, bodies))


def flood(n: int = 20_000, senders: int = 8) -> None:
    names = ["ONCRMCONTACTUPDATE", "ONCRMCOMPANYUPDATE", "ONCRMDEALUPDATE", "ONCRMLEADADD"]
    valid = [(names[i % len(names)], 1 + i) for i in range(n)]
    rng = random.Random(5)
    repeats = rng.sample(valid, n // 10)
    bodies = [_flood_body(e, i) for e, i in valid + repeats]
    bodies += [_flood_body(e, 10**7 + i, token="forged") for e, i in valid[: n // 20]]
    rng.shuffle(bodies)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "flood.toml"
        config.write_text('instance = "flood"\n\n[state]\npath = "state.db"\n', encoding="utf-8")
        config.chmod(0o600)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(config), "serve", "--port",
                                 str(port), "--no-worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "B24SYNC_APP_TOKEN": TOKEN})
        try:
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            _post_all(port, [_flood_body("ONCRMLEADUPDATE", 10**8 + i) for i in range(500)], senders)
            baseline = peak = _rss_kb(proc.pid)
            done = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, _rss_kb(proc.pid))
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            half_open = []
            for _ in range(200):
                sock = socket.create_connection(("127.0.0.1", port))
                sock.sendall(f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Len".encode())
                half_open.append(sock)
            started = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                flooding = pool.submit(_post_all, port, bodies, senders)
                refused = []
                while not flooding.done():
                    refused += _oversized(port)
                statuses = flooding.result()
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
            for sock in half_open:
                sock.close()
            db = sqlite3.connect(Path(tmp) / "state.db")
            rows, collapsed = db.execute("select count(*), coalesce(sum(duplicates), 0) from events "
                                         "where entity_id < ?", [10**7]).fetchone()
            forged_rows = db.execute("select count(*) from events where entity_id between ? and ?",
                                     [10**7, 10**8 - 1]).fetchone()[0]
            db.close()
        finally:
            proc.terminate()
            proc.wait(30)
    codes = Counter(statuses) + Counter(refused)
    print(f"b24sync serve --no-worker flooded by {senders} senders: {len(statuses):,} events "
          f"({n:,} valid, {len(repeats):,} repeats, {n // 20:,} forged), {len(refused):,} oversized requests, "
          "200 half-open connections")
    print(f"{'events/s':>9} {'RSS base MB':>11} {'RSS peak MB':>11} {'growth MB':>9} {'200':>7} {'401':>6} "
          f"{'413':>5} {'431':>5} {'other':>5} {'stored':>7} {'collapsed':>9} {'forged stored':>13}")
    other = sum(v for k, v in codes.items() if k not in (200, 401, 413, 431))
    print(f"{len(statuses) / seconds:>9.0f} {baseline / 1024:>11.1f} {peak / 1024:>11.1f} "
          f"{(peak - baseline) / 1024:>9.1f} {codes[200]:>7} {codes[401]:>6} {codes[413]:>5} {codes[431]:>5} "
          f"{other:>5} {rows:>7} {collapsed:>9} {forged_rows:>13}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["flood"]:
        flood(*[int(a) for a in sys.argv[2:]])
    else:
        main(*[int(a) for a in sys.argv[1:]])
