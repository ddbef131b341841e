"""``b24sync serve`` under a flood: memory stays bounded, every valid event is queued exactly once.

The receiver runs as its own process (``serve --no-worker``, so the queue only grows) and is hit
by concurrent senders with 20,000 valid events plus duplicates, forged ones, bodies over the size
limit (announced by ``Content-Length``, streamed in chunks, or just one byte over), oversized
headers and idle half-open connections. Its resident memory is read from ``/proc/<pid>/status``
while the flood runs; the queue is checked in the state database afterwards. A quicker test checks
the size limits themselves: 413 for a body over ``max_body_bytes`` (never read), 431 for
oversized headers, and a body of exactly the limit accepted.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

pytestmark = pytest.mark.timeout(600)

TOKEN = "flood-test-application-token"
PATH = "/bitrix24/events"
MAX_BODY = 65536
RSS_GROWTH_LIMIT_MB = 10
"""Measured growth is about 1 MB: requests are bounded (8 threads, ≤ 500 connections, bodies ≤ 64 KB,
headers ≤ 16 KB) and the queue is on disk; parsed events kept in memory would be ~1.5 KB each."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.01)


def body(event: str, record: int, token: str = TOKEN) -> bytes:
    return urlencode({"event": event, "event_handler_id": "3", "data[FIELDS][ID]": str(record),
                      "ts": str(int(time.time())), "auth[domain]": "sandbox.bitrix24.ru",
                      "auth[application_token]": token}).encode()


def post_all(port: int, bodies: list[bytes], senders: int = 8) -> list[int]:
    """POST every body on persistent connections (one per sender); the statuses, in order."""
    local = threading.local()

    def send(data: bytes) -> int:
        for _ in range(3):
            conn = getattr(local, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            local.conn = conn
            try:
                conn.request("POST", PATH, body=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
                response = conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    local.conn = None
                return response.status
            except (http.client.HTTPException, OSError):
                conn.close()
                local.conn = None
        raise AssertionError("the receiver stopped answering")

    with ThreadPoolExecutor(senders) as pool:
        return list(pool.map(send, bodies))


def raw_exchange(port: int, head: bytes, stream: bytes = b"", limit: int = 4 << 20) -> int:
    """Send ``head`` then ``stream`` repeatedly (up to ``limit`` bytes) until the server answers; its status."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sent = 0
        sock.setblocking(False)
        answer = b""
        while sent < limit and stream:
            try:
                answer += sock.recv(4096)
                break  # the server answered before the body was complete
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


def oversized(port: int) -> list[tuple[str, int]]:
    """One of each oversized request; (kind, status)."""
    host = f"Host: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n".encode()
    announced = raw_exchange(port, b"POST " + PATH.encode() + b" HTTP/1.1\r\n" + host
                             + b"Content-Length: 500000000\r\n\r\n")  # never sent: refused on the header
    chunked = raw_exchange(port, b"POST " + PATH.encode() + b" HTTP/1.1\r\n" + host
                           + b"Transfer-Encoding: chunked\r\n\r\n", b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
    just_over = requests.post(f"http://127.0.0.1:{port}{PATH}", data=padded(MAX_BODY + 1), timeout=30).status_code
    headers = raw_exchange(port, b"POST " + PATH.encode() + b" HTTP/1.1\r\n" + host
                           + b"X-Padding: " + b"y" * 100_000 + b"\r\nContent-Length: 5\r\n\r\nevent")
    return [("announced", announced), ("chunked", chunked), ("just over", just_over), ("headers", headers)]


def start_serve(tmp_path: Path) -> tuple[subprocess.Popen, int]:
    config = tmp_path / "b24sync.toml"
    config.write_text('instance = "flood"\n\n[state]\npath = "state.db"\n', encoding="utf-8")
    config.chmod(0o600)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(config), "serve", "--port", str(port),
                             "--no-worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "B24SYNC_APP_TOKEN": TOKEN, "COLUMNS": "200"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc, port
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not start")


def padded(size: int) -> bytes:
    """A valid event body of exactly ``size`` bytes."""
    data = body("ONCRMCONTACTUPDATE", 77) + b"&p="
    return data + b"x" * (size - len(data))


def test_size_limits_are_enforced_before_bodies_are_read(tmp_path):
    from b24sync.config import load_config
    from b24sync.events.queue import EventQueue
    from b24sync.events.receiver import Receiver
    from b24sync.events.serve import start_service

    class Unreadable:
        def read(self, *args: object) -> bytes:
            raise AssertionError("an oversized body was read")

    receiver = Receiver(EventQueue(tmp_path / "direct.db"), TOKEN, max_body=MAX_BODY)
    answers: list[str] = []
    receiver({"REQUEST_METHOD": "POST", "PATH_INFO": PATH, "CONTENT_LENGTH": str(10**9),
              "wsgi.input": Unreadable()}, lambda status, headers: answers.append(status))
    assert answers == ["413 Payload Too Large"]

    config = tmp_path / "b24sync.toml"
    config.write_text('instance = "limits"\n\n[state]\npath = "state.db"\n', encoding="utf-8")
    config.chmod(0o600)
    service = start_service(load_config(config), TOKEN, port=0, worker=False)
    try:
        port = service.server.effective_port
        url = service.url
        assert requests.post(url, data=padded(MAX_BODY), timeout=30).status_code == 200  # the limit itself passes
        assert {kind: status for kind, status in oversized(port)} == {
            "announced": 413, "chunked": 413, "just over": 413, "headers": 431}
        assert service.receiver.queue.counts() == {"queued": 1}
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_a_flood_of_events_keeps_the_receiver_bounded_and_loses_nothing(tmp_path):
    n = int(os.environ.get("B24SYNC_FLOOD_EVENTS", "5000"))  # 20,000 in bench/events.py flood
    duplicates, forged, idle = n // 10, n // 20, 200
    names = ["ONCRMCONTACTUPDATE", "ONCRMCOMPANYUPDATE", "ONCRMDEALUPDATE", "ONCRMLEADADD"]
    valid = [(names[i % len(names)], 1 + i) for i in range(n)]
    rng = random.Random(11)
    repeats = rng.sample(valid, duplicates)
    bodies = [body(e, i) for e, i in valid + repeats] + [body(e, 10**7 + i, "forged") for e, i in valid[:forged]]
    rng.shuffle(bodies)
    proc, port = start_serve(tmp_path)
    try:
        post_all(port, [body("ONCRMLEADUPDATE", 10**8 + i) for i in range(500)])  # warm up threads and caches
        baseline = rss_kb(proc.pid)
        sampler = PeakRss(proc.pid)
        sampler.start()
        half_open = []
        for _ in range(idle):  # connections that never finish their headers
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Len")
            half_open.append(sock)
        with ThreadPoolExecutor(2) as pool:
            flood = pool.submit(post_all, port, bodies)
            rejected = [pool.submit(oversized, port) for _ in range(10)]
            statuses = flood.result()
            refusals = [kind_status for future in rejected for kind_status in future.result()]
        sampler.stop.set()
        sampler.join()
        for sock in half_open:
            sock.close()
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
    finally:
        proc.terminate()
        proc.wait(30)
    growth_mb = (sampler.peak - baseline) / 1024
    print(f"\nRSS baseline {baseline / 1024:.1f} MB, peak {sampler.peak / 1024:.1f} MB, growth {growth_mb:.1f} MB")

    assert Counter(statuses) == {200: n + duplicates, 401: forged}
    assert {(kind, status) for kind, status in refusals} == {
        ("announced", 413), ("chunked", 413), ("just over", 413), ("headers", 431)}
    assert growth_mb < RSS_GROWTH_LIMIT_MB
    db = sqlite3.connect(tmp_path / "state.db")
    rows = db.execute("select event, entity_id, duplicates from events where entity_id < ?", [10**8]).fetchall()
    db.close()
    assert not [r for r in rows if r[1] >= 10**7]  # nothing forged was stored
    stored = Counter((event, record) for event, record, _ in rows)
    assert set(stored) == set(valid) and set(stored.values()) == {1}  # each valid event exactly once
    assert sum(dups for *_, dups in rows) == duplicates  # repeats collapsed into the waiting event
