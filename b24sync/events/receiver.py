"""The HTTP side of ``b24sync serve``: a small WSGI application, served by waitress.

Bitrix24 posts outgoing-webhook events as form bodies (``event=ONCRMCONTACTADD``,
``data[FIELDS][ID]=82``, ``ts``, ``auth[application_token]``) once, with no retry. The receiver
checks the application token in constant time, commits the event to the durable queue and only
then answers 200; the work happens in the worker, so an acknowledgement costs one SQLite commit.
A wrong or missing token is 401 and nothing is stored; an event b24sync does not handle is 202 and
a log line; a malformed body is 400 and one over ``max_body`` bytes is 413: waitress refuses it on
its ``Content-Length`` before reading it (and stops a chunked one at the limit), and the
application checks the length again before reading ``wsgi.input``.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from b24sync.events.queue import EventQueue

log = logging.getLogger("b24sync.serve")

HANDLED = {
    "ONCRMCONTACTADD": "contact", "ONCRMCONTACTUPDATE": "contact",
    "ONCRMCOMPANYADD": "company", "ONCRMCOMPANYUPDATE": "company",
    "ONCRMDEALADD": "deal", "ONCRMDEALUPDATE": "deal",
    "ONCRMLEADADD": "lead", "ONCRMLEADUPDATE": "lead",
}
"""Events that start work, and the entity whose ``data[FIELDS][ID]`` they name. Deletions are not
propagated (by design), so ``…DELETE`` events are acknowledged and ignored like unknown ones."""

StartResponse = Callable[..., Any]


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


class Receiver:
    """``POST <path>`` for events, ``GET /healthz`` for probes."""

    def __init__(self, queue: EventQueue, token: str, *, path: str = "/bitrix24/events",
                 max_body: int = 65536, health: Callable[[], dict[str, Any]] | None = None) -> None:
        if not token:
            raise ValueError("an application token is required")
        self.queue, self.path, self.max_body = queue, path, max_body
        self._token = token.encode("utf-8")
        self.health = health or (lambda: {})
        self.stats = {"accepted": 0, "duplicates": 0, "ignored": 0, "unauthorized": 0, "malformed": 0}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _answer(start_response, "200 OK", {"ok": True, "queue": self.queue.counts(), **self.health()})
        if path != self.path:
            return _answer(start_response, "404 Not Found", {"error": "not_found"})
        if method != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"error": "method_not_allowed"})
        return self._event(environ, start_response)

    def _bad(self, start_response: StartResponse, reason: str, status: str = "400 Bad Request") -> list[bytes]:
        self.stats["malformed"] += 1
        log.warning("event refused: %s", reason)
        return _answer(start_response, status, {"error": "bad_request", "reason": reason})

    def _event(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self._bad(start_response, "bad Content-Length")
        if length <= 0 or length > self.max_body:
            return self._bad(start_response, f"body of {length} bytes (1..{self.max_body} accepted)",
                             "400 Bad Request" if length <= 0 else "413 Payload Too Large")
        raw = environ["wsgi.input"].read(length)
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                            max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            return self._bad(start_response, "not a form body")
        given = (form.get("auth[application_token]") or [""])[0].encode("utf-8")
        if not hmac.compare_digest(given, self._token):
            self.stats["unauthorized"] += 1
            log.warning("event refused: wrong or missing application token")
            return _answer(start_response, "401 Unauthorized", {"error": "unauthorized"})
        name = (form.get("event") or [""])[0].upper()
        entity = HANDLED.get(name)
        if entity is None:
            self.stats["ignored"] += 1
            log.info("event %s ignored: b24sync does not act on it", name or "(none)")
            return _answer(start_response, "202 Accepted", {"ok": True, "ignored": name})
        record = (form.get("data[FIELDS][ID]") or [""])[0]
        ts = (form.get("ts") or ["0"])[0]
        if not record.isdigit() or not ts.isdigit():
            return self._bad(start_response, "data[FIELDS][ID] and ts must be numbers")
        row, new = self.queue.put(name, entity, int(record), int(ts))
        self.stats["accepted" if new else "duplicates"] += 1
        return _answer(start_response, "200 OK", {"ok": True, "queued": row, "duplicate": not new})
