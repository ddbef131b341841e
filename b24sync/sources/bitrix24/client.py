"""The Bitrix24 REST client: one call, one batch, with pacing, retries and error mapping.

Every request is a JSON POST to ``{webhook}{method}.json``. Before sending, the process-wide
leaky bucket is asked for a slot and the method's operating-time gate is respected; after, the
envelope is parsed and errors are mapped to exception classes (``errors.py``).

Retries follow one rule: re-send only what the portal certainly did not execute, or what is
harmless to execute twice. Rate-limit rejections (503 ``QUERY_LIMIT_EXCEEDED``, 429
``OPERATION_TIME_LIMIT``, ``OVERLOAD_LIMIT``) are refused before execution, so any call is
re-sent after waiting. Server errors, timeouts, dropped connections and unreadable bodies are
retried for reads only; for a write they raise :class:`~.errors.InDoubt`, because the portal may
have applied it and a blind re-send of ``*.add`` would create a duplicate.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import RemoteUnavailable, TransportError
from b24sync.http.jsonbody import response_json
from b24sync.http.ratelimit import LeakyBucket, MethodGate, shared_bucket
from b24sync.http.retry import RetryPolicy, RetryState
from b24sync.http.transport import Timeouts, Transport
from b24sync.i18n import t
from b24sync.redact import redact
from b24sync.secrets import Secret
from b24sync.sources.bitrix24.errors import (
    Bitrix24Error,
    InDoubt,
    OperationTimeLimit,
    Overloaded,
    QueryLimitExceeded,
    ServerError,
    make_error,
)
from b24sync.sources.bitrix24.phpquery import build_query

log = logging.getLogger("b24sync.bitrix24")

MAX_BATCH = 50
READ_SUFFIXES = (".get", ".list", ".fields", ".search", ".types", ".findbycomm", ".current")
READ_METHODS = frozenset({"profile", "scope", "methods", "user.get", "app.info", "server.time"})


def is_read(method: str) -> bool:
    """Whether a method only reads (and so may be retried after an ambiguous failure)."""
    name = method.lower()
    return name in READ_METHODS or name.endswith(READ_SUFFIXES)


@dataclass
class Envelope:
    """A successful answer: ``result`` plus the list keys and the ``time`` object."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    """Per-command results and errors of one ``batch`` request, keyed by command key."""

    result: dict[str, Any]
    errors: dict[str, Bitrix24Error]
    total: dict[str, int]
    next: dict[str, int]
    time: dict[str, Any]


Command = tuple[str, Mapping[str, Any]]


def _section(value: Any) -> dict[str, Any]:
    """Batch sections come as objects, or as ``[]`` when empty or list-keyed (PHP arrays)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return {}


class Bitrix24Client:
    """Talks to one portal through an inbound webhook.

    :param webhook: the webhook URL ``https://PORTAL/rest/USER/TOKEN/`` (a :class:`Secret`).
    :param bucket: the leaky bucket; by default one shared by the process per portal.
    """

    def __init__(
        self,
        webhook: Secret | str,
        *,
        transport: Transport | None = None,
        bucket: LeakyBucket | None = None,
        rate: float = 2.0,
        burst: int = 50,
        gate: MethodGate | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = webhook if isinstance(webhook, Secret) else Secret(webhook, "argument")
        url = secret.reveal()
        self._url = url if url.endswith("/") else url + "/"
        self._webhook = secret
        self.transport = transport or Transport(timeouts=timeouts)
        parts = urlsplit(self._url)
        self.bucket = bucket or shared_bucket(f"{parts.scheme}://{parts.netloc}", rate, burst)
        self.gate = gate or MethodGate(clock=clock, sleep=(retry.sleep if retry else time.sleep))
        self.retry = retry or RetryPolicy()
        self.portal = parts.netloc

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> Bitrix24Client:
        """A client for the configured portal, with its pacing, timeouts and retry budget."""
        b24 = config.bitrix24
        kwargs.setdefault("timeouts", Timeouts(b24.connect_timeout, b24.read_timeout))
        kwargs.setdefault("retry", RetryPolicy(max_attempts=b24.max_retries, budget=b24.retry_budget_seconds))
        return cls(config.require_webhook(), rate=b24.requests_per_second, burst=b24.burst, **kwargs)

    def __repr__(self) -> str:
        return f"Bitrix24Client(portal={self.portal!r})"

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    # -- single calls -----------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call one method and return its ``result``."""
        return self.call_envelope(method, params).result

    def call_envelope(self, method: str, params: Mapping[str, Any] | None = None) -> Envelope:
        """Call one method and return the whole envelope (``total``, ``next``, ``time``)."""
        body = self._send(method, dict(params or {}), methods=[method], write=not is_read(method))
        return Envelope(body.get("result"), _opt_int(body.get("total")), _opt_int(body.get("next")),
                        body.get("time") or {})

    # -- batch ------------------------------------------------------------------------------------

    def batch(self, commands: Mapping[str, Command | str], *, halt: bool = False) -> BatchResult:
        """Run up to 50 commands in one request; per-command errors come back, not raised.

        A command is ``(method, params)`` or a ready ``"method?query"`` string. References such as
        ``$result[prev][49][ID]`` are resolved by the portal.
        """
        if len(commands) > MAX_BATCH:
            raise ValueError(t(m.B24_BATCH_TOO_LONG, count=len(commands)))
        cmd: dict[str, str] = {}
        methods: list[str] = []
        for key, command in commands.items():
            if isinstance(command, str):
                method, _, query = command.partition("?")
            else:
                method, query = command[0], build_query(dict(command[1]))
            methods.append(method)
            cmd[key] = f"{method}?{query}" if query else method
        write = not all(is_read(name) for name in methods)
        body = self._send("batch", {"halt": 1 if halt else 0, "cmd": cmd}, methods=methods, write=write)
        outer = body.get("result") or {}
        for key, result_time in _section(outer.get("result_time")).items():
            if isinstance(result_time, dict) and key in cmd:
                self.gate.note(cmd[key].partition("?")[0], result_time.get("operating_reset_at"),
                               result_time.get("finish"))
        method_of = {key: value.partition("?")[0] for key, value in cmd.items()}
        errors = {
            key: make_error(err.get("error"), err.get("error_description"), status=400,
                            method=method_of.get(key, "batch"), record=key)
            for key, err in _section(outer.get("result_error")).items()
            if isinstance(err, dict)
        }
        return BatchResult(
            result=_section(outer.get("result")),
            errors=errors,
            total={k: int(v) for k, v in _section(outer.get("result_total")).items()},
            next={k: int(v) for k, v in _section(outer.get("result_next")).items()},
            time=_section(outer.get("result_time")),
        )

    # -- the exchange ------------------------------------------------------------------------------

    def _send(self, method: str, payload: dict[str, Any], *, methods: list[str], write: bool) -> dict[str, Any]:
        state = RetryState(self.retry)
        url = f"{self._url}{method}.json"
        while True:
            self.gate.wait(methods)
            self.bucket.acquire()
            try:
                body, status = self._exchange(url, method, payload)
            except TransportError as exc:
                if write and exc.sent:
                    raise InDoubt(method, str(exc), list(payload.get("cmd", {}) or [method])) from None
                self._retry_or_raise(state, method, str(exc))
                continue
            except ServerError as exc:
                if write:
                    raise InDoubt(method, str(exc), list(payload.get("cmd", {}) or [method])) from None
                self._retry_or_raise(state, method, str(exc))
                continue
            error = body.get("error")
            if error is None or (error == "" and "error_description" not in body):
                timing = body.get("time") or {}
                self.gate.note(method, timing.get("operating_reset_at"), timing.get("finish"))
                return body
            exc = make_error(error, body.get("error_description"), status=status, method=method)
            if isinstance(exc, QueryLimitExceeded):
                self.bucket.saturate()
                self._retry_or_raise(state, method, str(exc))
            elif isinstance(exc, OperationTimeLimit):
                until = self.gate.block(method)
                log.warning("%s is paused until %s by the portal's operating-time limit", method, until)
                self._retry_or_raise(state, method, str(exc), wait=False)
            elif isinstance(exc, Overloaded):
                self._retry_or_raise(state, method, str(exc), at_least=60.0)
            elif isinstance(exc, ServerError) and not write:
                self._retry_or_raise(state, method, str(exc))
            elif isinstance(exc, ServerError):
                raise InDoubt(method, str(exc), list(payload.get("cmd", {}) or [method]))
            else:
                raise exc

    def _exchange(self, url: str, method: str, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
        response = self.transport.request(
            "POST", url, data=json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if response.status_code in (301, 302, 307, 308):
            location = response.headers.get("Location", "")
            raise make_error("REDIRECT", t(m.B24_REDIRECT, method=method, location=redact(location)),
                             status=400, method=method)
        try:
            body = response_json(response)
        except ValueError:
            excerpt = redact(response.text[:120].replace("\n", " "))
            raise ServerError("NOT_JSON", t(m.B24_NOT_JSON, method=method, status=response.status_code,
                                            excerpt=excerpt), status=response.status_code, method=method) from None
        if not isinstance(body, dict):
            raise ServerError("NOT_JSON", t(m.B24_NOT_JSON, method=method, status=response.status_code,
                                            excerpt=str(body)[:120]), status=response.status_code, method=method)
        return body, response.status_code

    def _retry_or_raise(self, state: RetryState, method: str, last: str, *, wait: bool = True,
                        at_least: float = 0.0) -> None:
        if not state.can_retry(at_least):
            raise RemoteUnavailable(redact(t(m.B24_UNAVAILABLE, method=method, attempts=state.attempt + 1,
                                             seconds=state.waited, last=last)))
        if wait:
            delay = state.backoff(at_least)
            log.info("retrying %s in %.1fs after: %s", method, delay, last)
        else:
            state.count()


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
