"""``b24sync serve``: the receiver on waitress, and the worker in a thread of the same process.

Why waitress: a maintained, pure-Python, multi-threaded WSGI server with request-size limits and
channel timeouts, and no event loop to bridge — b24sync's clients (requests, SQLite) are blocking,
so a WSGI server with a thread pool fits them as they are. Acknowledgements never wait for work:
the request threads only commit to the queue, the worker thread does the rest.

SIGTERM / SIGINT stop accepting, let the worker finish the round it is in (or release the events
it claimed), and exit; anything acknowledged and not yet done is still queued for the next start.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import B24SyncError
from b24sync.events.queue import EventQueue
from b24sync.events.receiver import Receiver
from b24sync.events.worker import Worker
from b24sync.i18n import t

log = logging.getLogger("b24sync.serve")


@dataclass
class Service:
    """A running receiver (and worker): ``url`` to post to, ``stop()`` to shut down cleanly."""

    server: Any
    receiver: Receiver
    worker: Worker | None
    threads: list[threading.Thread]
    sockets: dict[int, Any] = field(default_factory=dict)  # the server's socket map

    @property
    def url(self) -> str:
        host, port = self.server.effective_host, self.server.effective_port
        return f"http://{host}:{port}{self.receiver.path}"

    def stop(self, timeout: float = 30.0) -> None:
        if self.worker is not None:
            self.worker.stop()
        # The sockets are closed by the server's own loop thread: closed from this one, a descriptor
        # could vanish under its select() (EBADF in that thread). An empty map ends the loop.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.sockets))
        for thread in self.threads:
            thread.join(timeout)
        wasyncore.close_all(self.sockets)  # in case the loop had already ended
        self.server.task_dispatcher.shutdown()  # requests in progress finish their commit


def start_service(config: Config, token: str, *, host: str | None = None, port: int | None = None,
                  worker: bool = True, run: Callable[..., object] | None = None) -> Service:
    """Bind and start serving in background threads (the CLI then waits for a signal)."""
    settings = config.serve
    queue = EventQueue(config.state_path, dedupe_seconds=settings.dedupe_seconds, max_attempts=settings.max_attempts)
    the_worker = Worker(config, queue, batch_size=settings.batch_size, run=run) if worker else None
    receiver = Receiver(queue, token, path=settings.path, max_body=settings.max_body_bytes,
                        health=lambda: {"worker": bool(the_worker and not the_worker.stopping.is_set()),
                                        "processed": the_worker.processed if the_worker else 0})
    bind_host, bind_port = host or settings.host, settings.port if port is None else port
    sockets: dict[int, Any] = {}
    try:
        # Memory stays bounded under a flood: at most 500 connections, each holding at most one
        # request of ≤ 16 KB of headers and ≤ max_body_bytes of body (waitress refuses a body whose
        # size reaches its limit, hence the + 1), served by a fixed pool of threads; the queue
        # itself lives in SQLite.
        server = create_server(receiver, map=sockets, host=bind_host, port=bind_port, threads=settings.threads,
                               max_request_body_size=settings.max_body_bytes + 1, max_request_header_size=16384,
                               connection_limit=500, channel_timeout=30, ident="b24sync",
                               clear_untrusted_proxy_headers=True)
    except OSError as exc:
        raise B24SyncError(t(m.SERVE_CANNOT_LISTEN, host=bind_host, port=bind_port,
                             reason=exc.strerror or exc)) from None
    threads = [threading.Thread(target=server.run, name="b24sync-http", daemon=True)]
    if the_worker is not None:
        threads.append(threading.Thread(target=the_worker.run_forever, name="b24sync-worker", daemon=True))
    for thread in threads:
        thread.start()
    service = Service(server, receiver, the_worker, threads, sockets)
    log.info("listening on %s", service.url)
    return service


def serve_until_signal(service: Service, on_ready: Callable[[Service], None] | None = None) -> None:
    """Block until SIGTERM or SIGINT, then stop cleanly."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready:
            on_ready(service)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        service.stop()
