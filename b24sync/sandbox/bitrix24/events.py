"""Outgoing event delivery ("outgoing webhooks"), as the portal's event sender does it.

The portal POSTs each event once, form-encoded in PHP nested-key style, and never retries: if the
handler is down, slow or answers 5xx, the event is simply lost. A sync tool that relies on events
alone loses changes; the emulator must make that visible, so delivery here is one attempt with a
short timeout, from a background thread (events arrive after the call's answer, in order), and
failures are only counted.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .phpparams import http_build_query

__all__ = ["EventSender", "OutgoingEvent", "event_body"]

OAUTH_SERVER_ENDPOINT = "https://oauth.bitrix.info/rest/"


@dataclass
class OutgoingEvent:
    """One queued delivery: upper-case event name, ``data`` payload and the unix time it happened."""

    name: str
    data: dict[str, Any]
    ts: int


def event_body(
    event: OutgoingEvent, *, handler_id: int, domain: str, client_endpoint: str, application_token: str
) -> str:
    """The form body a handler receives, e.g. ``event=ONCRMCONTACTADD&data[FIELDS][ID]=82&…``."""
    return http_build_query(
        {
            "event": event.name,
            "event_handler_id": handler_id,
            "data": event.data,
            "ts": event.ts,
            "auth": {
                "domain": domain,
                "client_endpoint": client_endpoint,
                "server_endpoint": OAUTH_SERVER_ENDPOINT,
                "member_id": hashlib.md5(domain.encode()).hexdigest(),
                "application_token": application_token,
            },
        }
    )


class EventSender:
    """FIFO background sender: one POST per event, no retries, failures counted."""

    def __init__(self, url: str, render: Callable[[OutgoingEvent], str], timeout: float = 2.0) -> None:
        self.url = url
        self.render = render
        self.timeout = timeout
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[OutgoingEvent | None] = queue.Queue()
        self._idle = threading.Condition()
        self._unfinished = 0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # handlers are local: never route deliveries through a proxy from the environment
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def submit(self, event: OutgoingEvent) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="b24-events", daemon=True)
                self._thread.start()
        with self._idle:
            self._unfinished += 1
        self._queue.put(event)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every submitted event was attempted; ``False`` if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout=timeout)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 1)

    def _deliver(self, event: OutgoingEvent) -> bool:
        request = urllib.request.Request(
            self.url,
            data=self.render(event).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Bitrix24 Webhook"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            ok = self._deliver(event)
            with self._idle:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1
                self._unfinished -= 1
                self._idle.notify_all()
