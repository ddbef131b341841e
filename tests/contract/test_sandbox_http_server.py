"""The generic loopback HTTP runner under the emulators: ports, keep-alive, concurrency, faults."""

from __future__ import annotations

import http.client
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from b24sync.sandbox.server import LoopbackHTTPServer, Request, Response, serve

pytestmark = pytest.mark.timeout(30)


def echo_app(request: Request) -> Response:
    body = f"{request.method} {request.path}?{request.query} {len(request.body)} {request.client_addr}"
    return Response(200, body.encode(), [("Content-Type", "text/plain")])


def test_port_zero_picks_a_free_port_and_stop_closes_it() -> None:
    handle = serve(echo_app)
    assert handle.port > 0
    assert handle.url == f"http://127.0.0.1:{handle.port}"
    assert requests.get(handle.url + "/x?y=1", timeout=5).text == "GET /x?y=1 0 127.0.0.1"
    handle.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(handle.url + "/x", timeout=2)


def test_context_manager_and_backlog() -> None:
    assert LoopbackHTTPServer.request_queue_size == 128
    assert LoopbackHTTPServer.daemon_threads is True
    with serve(echo_app) as handle:
        assert handle.thread.daemon
        assert handle.server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert requests.post(handle.url + "/p", data=b"abc", timeout=5).text == "POST /p? 3 127.0.0.1"


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with serve(echo_app) as handle:
        conn = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=5)
        for i in range(3):
            conn.request("POST", f"/k{i}", body=b"12345")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == f"POST /k{i}? 5 127.0.0.1".encode()
            assert response.getheader("Connection", "").lower() != "close"
        conn.close()


def test_chunked_request_body_is_read() -> None:
    with serve(echo_app) as handle:
        conn = http.client.HTTPConnection("127.0.0.1", handle.port, timeout=5)
        conn.request("POST", "/c", body=iter([b"ab", b"cde"]), encode_chunked=True)
        assert conn.getresponse().read() == b"POST /c? 5 127.0.0.1"
        conn.close()


def test_sixty_concurrent_connections_all_succeed() -> None:
    gate = threading.Barrier(60, timeout=10)

    def slow_app(request: Request) -> Response:
        gate.wait()  # all 60 requests are in flight at once before any is answered
        return echo_app(request)

    with serve(slow_app) as handle:
        with ThreadPoolExecutor(max_workers=60) as pool:
            results = list(pool.map(lambda i: requests.get(f"{handle.url}/n{i}", timeout=10), range(60)))
        assert [r.status_code for r in results] == [200] * 60


def test_app_exception_becomes_500_and_server_survives() -> None:
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(request.path)
        if request.path == "/boom":
            raise RuntimeError("bug")
        return echo_app(request)

    with serve(flaky) as handle:
        assert requests.get(handle.url + "/boom", timeout=5).status_code == 500
        assert requests.get(handle.url + "/ok", timeout=5).status_code == 200
    assert calls == ["/boom", "/ok"]


def test_transport_faults_drop_truncate_delay() -> None:
    def faulty(request: Request) -> Response:
        body = b'{"result": "' + b"x" * 200 + b'"}'
        if request.path == "/drop":
            return Response(200, body, drop=True)
        if request.path == "/truncate":
            return Response(200, body, [("Content-Type", "application/json")], truncate=True)
        return Response(200, body, delay=0.5)

    with serve(faulty) as handle:
        with pytest.raises(requests.ConnectionError):
            requests.get(handle.url + "/drop", timeout=5)
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            requests.get(handle.url + "/truncate", timeout=5)
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(handle.url + "/slow", timeout=0.2)
        assert requests.get(handle.url + "/slow", timeout=5).status_code == 200
