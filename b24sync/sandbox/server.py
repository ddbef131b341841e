"""A generic threaded loopback HTTP server for the sandbox emulators.

The Bitrix24 and 1C emulators only decide *what* to answer; this module owns *how*: sockets,
HTTP/1.1 keep-alive, request bodies (``Content-Length`` or chunked), and the transport-level
misbehaviour fault injection needs (answer late, drop the connection without answering, cut the
body short). It knows nothing about either protocol: it runs an ``app`` callable that maps a
:class:`Request` to a :class:`Response`.

Why these settings: third-party clients keep up to 50 connections in flight, and the standard
library's default listen backlog of 5 makes the kernel drop connection attempts, which stalls
such clients for seconds; hence ``request_queue_size = 128``. Connection threads are daemons so
a test that forgets ``stop()`` cannot hang the interpreter at exit.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Generic, Self, TypeVar
from urllib.parse import urlsplit

__all__ = ["App", "LoopbackHTTPServer", "Request", "Response", "ServerHandle", "serve"]


@dataclass
class Request:
    """One HTTP request as the app sees it: the body is already fully read."""

    method: str
    path: str
    query: str
    headers: Message
    body: bytes
    client_addr: str
    host_header: str = ""


@dataclass
class Response:
    """What to send back, plus transport faults to apply while sending it.

    ``delay``: seconds to wait before answering (the work is already done: a client that times out
    and retries duplicates it). ``drop``: close the connection without any answer.
    ``truncate``: announce the full ``Content-Length`` but send only the first half of the body,
    then close, as a proxy reset mid-transfer looks to the client.
    """

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    drop: bool = False
    truncate: bool = False


App = Callable[[Request], Response]


class LoopbackHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` tuned for many concurrent keep-alive clients on loopback."""

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        with self._conns_lock:
            self._conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(request)

    def close_connections(self) -> None:
        """Shut down idle keep-alive connections so their threads end promptly after a stop."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections give their thread back eventually
    server: LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        return  # the apps keep their own request logs; stderr stays for real errors

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers=self.headers,
            body=body,
            client_addr=self.client_address[0],
            host_header=self.headers.get("Host", ""),
        )
        try:
            response = self.server.app(request)
        except Exception:  # the server must survive any app bug
            traceback.print_exc(file=sys.stderr)
            response = Response(500, b"Internal Server Error", [("Content-Type", "text/plain")])
        self._send(response)

    def _send(self, response: Response) -> None:
        if response.delay > 0:
            self.server.stopping.wait(response.delay)
        if response.drop:
            self.close_connection = True
            self._hard_close()
            return
        body = response.body
        try:
            if any(name.lower() == "date" for name, _ in response.headers):  # the app's own clock (maybe skewed)
                self.log_request(response.status)
                self.send_response_only(response.status)
                self.send_header("Server", self.version_string())
            else:
                self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if response.truncate or self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body[: len(body) // 2] if response.truncate else body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        if response.truncate:
            self.close_connection = True
            self._hard_close()

    def _hard_close(self) -> None:
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class ServerHandle:
    """A running server: ``.url``, ``.port``, ``.stop()``; usable as a context manager."""

    def __init__(self, server: LoopbackHTTPServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.host, self.port = server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.server.stopping.is_set():
            return
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.server.close_connections()
        self.thread.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(app: App, host: str = "127.0.0.1", port: int = 0, *, name: str = "sandbox-http") -> ServerHandle:
    """Start ``app`` on ``host:port`` (0 = any free port) in a daemon thread and return its handle."""
    server = LoopbackHTTPServer((host, port), app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, name=name, daemon=True
    )
    thread.start()
    return ServerHandle(server, thread)


class LoopbackService:
    """Lifecycle shared by the emulators: serve ``self.handle`` on loopback, stop, context manager.

    A subclass sets ``host``, ``requested_port`` and ``server_name`` and defines ``handle``;
    ``_on_stop`` releases anything else it runs (an event sender thread).
    """

    host: str = "127.0.0.1"
    requested_port: int = 0
    server_name: str = "sandbox-http"
    _handle: ServerHandle | None = None

    def handle(self, request: Request) -> Response:  # pragma: no cover - defined by subclasses
        raise RuntimeError("a LoopbackService subclass must define handle()")

    def start(self) -> Self:
        if self._handle is None:
            self._handle = serve(self.handle, self.host, self.requested_port, name=self.server_name)
        return self

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.stop()
        self._on_stop()

    def _on_stop(self) -> None:
        """Release resources besides the server; nothing by default."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._handle is None:
            raise RuntimeError("the emulator is not started")
        return int(self._handle.port)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"


T = TypeVar("T")


class ThreadSafeLog(list[T], Generic[T]):
    """A list the server threads append to while a test reads it: ``append``/``clear``/``snapshot`` locked."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def append(self, item: T) -> None:
        with self._lock:
            super().append(item)

    def clear(self) -> None:
        with self._lock:
            super().clear()

    def snapshot(self) -> list[T]:
        with self._lock:
            return list(self)
