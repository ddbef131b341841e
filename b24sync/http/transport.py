"""The one HTTP seam under every API client.

All requests of b24sync go through :class:`Transport`: it sets connect/read timeouts on every
call (``requests`` has none by default), a User-Agent, counts requests, and turns ``requests``
exceptions into :class:`~b24sync.errors.TransportError` whose text has passed through the
redactor (their default text quotes the URL, and a Bitrix24 webhook URL carries its token).
It never retries and never rate-limits: those are policies of the clients above it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from b24sync import __version__
from b24sync.errors import TransportError
from b24sync.redact import redact

log = logging.getLogger("b24sync.http")

USER_AGENT = f"b24sync/{__version__} (+https://github.com/b24sync/b24sync)"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 60.0


@dataclass
class Exchange:
    """One finished HTTP exchange, as the request hooks see it (URL already redacted)."""

    method: str
    url: str
    status: int
    elapsed: float
    bytes_in: int = 0


class Transport:
    """A ``requests.Session`` with timeouts, a User-Agent, redaction and a request counter."""

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
        user_agent: str = USER_AGENT,
        verify: bool = True,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.verify = verify
        self.requests_made = 0
        self.bytes_received = 0
        self.hooks: list[Callable[[Exchange], None]] = []
        self._lock = threading.Lock()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request; any failure below HTTP becomes a redacted ``TransportError``."""
        kwargs.setdefault("timeout", (self.timeouts.connect, self.timeouts.read))
        kwargs.setdefault("allow_redirects", False)
        with self._lock:
            self.requests_made += 1
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.ConnectTimeout as exc:
            raise TransportError(redact(f"connect timeout: {exc}"), sent=False) from None
        except requests.exceptions.ConnectionError as exc:
            raise TransportError(redact(f"connection failed: {exc}"), sent=_maybe_sent(exc)) from None
        except requests.exceptions.Timeout as exc:
            raise TransportError(redact(f"read timeout: {exc}"), sent=True) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(redact(f"{type(exc).__name__}: {exc}"), sent=True) from None
        exchange = Exchange(method, redact(url), response.status_code, response.elapsed.total_seconds(),
                            len(response.content))
        with self._lock:
            self.bytes_received += exchange.bytes_in
        log.debug("%s %s -> %s in %.3fs", exchange.method, exchange.url, exchange.status, exchange.elapsed)
        for hook in self.hooks:
            hook(exchange)
        return response

    def close(self) -> None:
        self.session.close()


def _maybe_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether a failed request may have reached the server.

    A refused or unresolvable connection never sent a byte; a reset or a dropped connection after
    the request was written may have been processed.
    """
    text = str(exc)
    never_sent = ("NewConnectionError", "Connection refused", "Name or service not known",
                  "Failed to resolve", "No route to host")
    return not any(marker in text for marker in never_sent)
