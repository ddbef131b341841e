"""The Bitrix24 REST emulator's HTTP protocol layer: :class:`Bitrix24Emulator`.

One request goes through the same gates, in the same order, as on a real cloud portal:
injected proxy faults (before the portal sees the request) -> the per-IP leaky bucket (503) ->
method lookup (404, *before* auth) -> webhook/OAuth auth (401) -> the per-method operating-time
check (429) -> execution -> envelope. The CRM methods themselves come from a
:class:`~b24sync.sandbox.bitrix24.api.MethodRegistry`; nothing here knows about entities.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import tzinfo
from secrets import token_hex
from typing import Any
from urllib.parse import unquote

from ..latency import CostModel
from ..server import LoopbackService, Request, Response
from .api import MOSCOW, MethodRegistry
from .batch import command_methods, run_batch
from .dispatch import ERROR_METHOD_NOT_FOUND, CallOutcome, Dispatcher
from .events import EventSender, OutgoingEvent, event_body
from .faults import BEFORE_EXECUTION, Fault, Faults
from .limits import LeakyBucket, Limits, OperatingLimiter, OperatingSession
from .phpparams import parse_request_params
from .render import JSON_TYPE, XML_TYPE, error_body, time_object, to_json, to_xml
from .requestlog import RequestLog, RequestRecord
from .routes import Route

__all__ = ["Bitrix24Emulator"]

_DEFAULT_LIMITS = Limits()  # marker only: each emulator gets its own fresh Limits()

QUERY_LIMIT_EXCEEDED = ("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)
INVALID_CREDENTIALS = ("INVALID_CREDENTIALS", "Invalid request credentials", 401)
NO_AUTH_FOUND = ("NO_AUTH_FOUND", "Wrong authorization data", 401)
INVALID_TOKEN = ("invalid_token", "Unable to get application by token", 401)
EXPIRED_TOKEN = ("expired_token", "The access token provided has expired.", 401)
OVERLOAD_LIMIT = ("OVERLOAD_LIMIT", "REST API is blocked due to overload.", 503)
INTERNAL_ERROR = ("INTERNAL_SERVER_ERROR", "Internal server error", 500)
OPERATION_TIME_LIMIT = ("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)

_HTML_PAGES = {
    "html502": (502, "502 Bad Gateway"),
    "html504": (504, "504 Gateway Time-out"),
}


def _html(title: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class Bitrix24Emulator(LoopbackService):
    """A local Bitrix24 REST endpoint serving ``registry``'s methods over real HTTP on loopback.

    ``limits=None`` switches off both the leaky bucket and the operating-time limit (and, as on an
    on-premise portal, the ``operating*`` keys of ``time``). ``clock`` drives the limits, the
    envelope timestamps, ``ctx.now()`` and event ``ts``, so a fake clock makes them deterministic.
    ``oauth_token`` enables ``/rest/{method}`` calls with ``auth=<token>``; ``scopes`` is passed to
    methods in their :class:`CallContext`. Outgoing events go to ``events_url`` with
    ``event_handler_id`` and ``events_timeout`` per attempt; ``fault_seed`` seeds
    :attr:`faults`' random faults. ``costs`` (see :mod:`b24sync.sandbox.latency`; ``None``, the
    default, = off) models the portal's server time: answers come that much later (scaled), the
    ``time`` object reports it and the operating-time limit is charged with it.
    """

    def __init__(
        self,
        registry: MethodRegistry,
        *,
        limits: Limits | None = _DEFAULT_LIMITS,
        events_url: str | None = None,
        user_id: int = 1,
        webhook_code: str | None = None,
        app_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        tz: tzinfo = MOSCOW,
        domain: str = "sandbox.bitrix24.local",
        call_lock: threading.RLock | None = None,
        oauth_token: str | None = None,
        scopes: frozenset[str] | None = None,
        event_handler_id: int = 1,
        events_timeout: float = 2.0,
        fault_seed: int = 0,
        costs: CostModel | None = None,
    ) -> None:
        self.registry = registry
        self.limits = Limits() if limits is _DEFAULT_LIMITS else limits
        self.events_url = events_url
        self.user_id = user_id
        self.webhook_code = webhook_code or token_hex(8)
        self.app_token = app_token or token_hex(16)
        self.oauth_token = oauth_token
        self.expired_oauth_tokens: set[str] = set()
        self.host, self.requested_port = host, port
        self.server_name = "b24-emulator"
        self.clock = clock
        self.tz = tz
        self.domain = domain
        self.call_lock = call_lock or threading.RLock()
        self.event_handler_id = event_handler_id
        self.events_timeout = events_timeout
        self.request_log = RequestLog()
        self.faults = Faults(seed=fault_seed)
        self.emitted_events: list[OutgoingEvent] = []
        self._bucket: LeakyBucket | None = None
        self._operating: OperatingLimiter | None = None
        self.reset_limits()
        self._dispatcher = Dispatcher(
            registry,
            call_lock=self.call_lock,
            clock=clock,
            tz=tz,
            user_id=user_id,
            scopes=scopes,
            deliver=self._deliver_events,
            costs=costs,
        )
        self._sender: EventSender | None = None

    # lifecycle (start/stop/context manager/port come from LoopbackService) ---------------------

    def _on_stop(self) -> None:
        if self._sender is not None:
            self._sender.close()

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/rest/{self.user_id}/{self.webhook_code}/"

    @property
    def oauth_url(self) -> str:
        """The OAuth-style endpoint prefix, ``http://127.0.0.1:PORT/rest/``; pass ``auth`` per call."""
        return f"{self.base_url}/rest/"

    @property
    def costs(self) -> CostModel | None:
        """The cost model of realistic latency (``None`` = off); may be swapped between requests."""
        return self._dispatcher.costs

    @costs.setter
    def costs(self, model: CostModel | None) -> None:
        self._dispatcher.costs = model

    def reset_limits(self) -> None:
        """Forget all leaky-bucket and operating-time history (the configured limits stay)."""
        if self.limits is None:
            self._bucket = self._operating = None
            return
        self._bucket = LeakyBucket(self.limits.bucket_size, self.limits.drain_per_second, self.clock)
        self._operating = OperatingLimiter(self.limits, self.clock)

    def expire_oauth_token(self, new_token: str) -> None:
        """Make the current OAuth token answer ``expired_token`` and accept ``new_token`` instead."""
        if self.oauth_token:
            self.expired_oauth_tokens.add(self.oauth_token)
        self.oauth_token = new_token

    # events ------------------------------------------------------------------------------------

    def _deliver_events(self, events: list[OutgoingEvent]) -> None:
        self.emitted_events.extend(events)
        if not self.events_url:
            return
        if self._sender is None:
            self._sender = EventSender(self.events_url, self._render_event, timeout=self.events_timeout)
        for event in events:
            self._sender.submit(event)

    def _render_event(self, event: OutgoingEvent) -> str:
        return event_body(
            event,
            handler_id=self.event_handler_id,
            domain=self.domain,
            client_endpoint=self.oauth_url,
            application_token=self.app_token,
        )

    def flush_events(self, timeout: float = 5.0) -> bool:
        """Wait until every emitted event had its one delivery attempt; ``False`` on timeout."""
        return True if self._sender is None else self._sender.flush(timeout)

    @property
    def events_sent(self) -> int:
        return 0 if self._sender is None else self._sender.sent

    @property
    def events_failed(self) -> int:
        return 0 if self._sender is None else self._sender.failed

    # request handling ------------------------------------------------------------------------

    def _answer(
        self, route: Route, status: int, payload: dict[str, Any], started: tuple[float, os.times_result] | None = None
    ) -> Response:
        headers = [
            ("Content-Type", XML_TYPE if route.transport == "xml" else JSON_TYPE),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Headers", "origin, content-type, accept"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if started is not None:
            perf0, cpu0 = started
            cpu = os.times()
            headers += [
                ("X-Bitrix-Rest-Time", f"{time.perf_counter() - perf0:.6f}"),
                ("X-Bitrix-Rest-User-Time", f"{cpu.user - cpu0.user:.6f}"),
                ("X-Bitrix-Rest-System-Time", f"{cpu.system - cpu0.system:.6f}"),
            ]
        body = to_xml(payload) if route.transport == "xml" else to_json(payload)
        return Response(status, body, headers)

    def _error(self, route: Route, spec: tuple[str, str, int]) -> Response:
        code, description, status = spec
        return self._answer(route, status, error_body(code, description))

    def _fault_response(self, fault: Fault, route: Route, request: Request) -> Response:
        if fault.kind == "reset":  # the connection closes before the portal sees the call
            return Response(0, drop=True)
        if fault.kind in _HTML_PAGES:
            status, title = _HTML_PAGES[fault.kind]
            return Response(status, _html(title), [("Content-Type", "text/html")])
        if fault.kind == "internal500":
            return self._error(route, INTERNAL_ERROR)
        if fault.kind == "overload503":
            return self._error(route, OVERLOAD_LIMIT)
        if fault.kind == "query_limit503":  # a burst of the bucket's own refusal: not executed, safe to re-send
            return self._error(route, QUERY_LIMIT_EXCEEDED)
        if fault.kind == "operating429":  # the method's operating time is used up (aim it with add(method, …))
            return self._error(route, OPERATION_TIME_LIMIT)
        # redirect302: the portal "moved" to another host name for the same server
        host = request.host_header or f"{self.host}:{self.port}"
        name, _, port = host.partition(":")
        other = "127.0.0.1" if name == "localhost" else "localhost"
        location = f"http://{other}:{port or self.port}{request.path}"
        if request.query:
            location += "?" + request.query
        return Response(302, _html("302 Found"), [("Location", location), ("Content-Type", "text/html")])

    def _authenticate(self, route: Route, params: dict[str, Any]) -> tuple[str, tuple[str, str, int] | None]:
        """``(operating-limit identity, None)`` or ``("", error spec)``; strips the OAuth ``auth`` param."""
        if route.kind == "webhook":
            if route.user == str(self.user_id) and route.code == self.webhook_code:
                return "webhook:" + route.code, None
            return "", INVALID_CREDENTIALS
        token = params.pop("auth", None)
        if not token or not isinstance(token, str) or not self.oauth_token:
            return "", NO_AUTH_FOUND
        if token in self.expired_oauth_tokens:
            return "", EXPIRED_TOKEN
        if token != self.oauth_token:
            return "", INVALID_TOKEN
        return "oauth:app", None

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request (the ``app`` run by the loopback server)."""
        arrival = self.clock()
        perf0 = time.perf_counter()
        cpu0 = os.times()
        route = Route(unquote(request.path))
        record = RequestRecord(
            ts=arrival,
            http_method=request.method,
            path=request.path.replace(self.webhook_code, "***"),
            api_method=route.method,
            status=0,
            commands=[route.method] if route.method and route.method != "batch" else [],
            remote_addr=request.client_addr,
            executed=False,
        )
        try:
            response = self._process(request, route, record, arrival, perf0, cpu0)
        finally:
            self.request_log.append(record)
        return response

    def _process(
        self,
        request: Request,
        route: Route,
        record: RequestRecord,
        arrival: float,
        perf0: float,
        cpu0: os.times_result,
    ) -> Response:
        if route.kind == "other":
            record.status = 404
            return Response(404, _html("404 Not Found"), [("Content-Type", "text/html")])
        params = parse_request_params(request.query, request.body, request.headers.get("Content-Type"))
        is_batch = route.method == "batch" and route.kind != "invalid"
        touched = [route.method, *(command_methods(params) if is_batch else [])]
        fault = self.faults.take(touched)
        record.fault = fault.kind if fault else None
        if fault is not None and fault.kind in BEFORE_EXECUTION:
            response = self._fault_response(fault, route, request)
            record.status = response.status
            return response
        response = self._gated_call(request, route, params, record, arrival, perf0, cpu0)
        record.status = response.status
        if fault is not None:
            if fault.kind == "drop_after_commit":
                response.drop = True
                record.status = 0
            elif fault.kind == "slow_after_commit":
                response.delay = fault.delay
            elif fault.kind == "timeout":  # no answer until the client gives up, then the connection closes
                response.delay = fault.delay
                response.drop = True
                record.status = 0
            elif fault.kind == "truncated":
                response.truncate = True
        return response

    def _gated_call(
        self,
        request: Request,
        route: Route,
        params: dict[str, Any],
        record: RequestRecord,
        arrival: float,
        perf0: float,
        cpu0: os.times_result,
    ) -> Response:
        if self._bucket is not None and not self._bucket.admit(request.client_addr):
            return self._error(route, QUERY_LIMIT_EXCEEDED)
        is_batch = route.method == "batch" and route.kind != "invalid"
        if route.kind == "invalid" or not (is_batch or self._dispatcher.exists(route.method)):
            return self._error(route, ERROR_METHOD_NOT_FOUND)
        identity, auth_error = self._authenticate(route, params)
        if auth_error is not None:
            return self._error(route, auth_error)
        session = OperatingSession(self._operating, identity) if self._operating else None
        costs = self.costs
        overhead = costs.b24_request() if costs is not None else 0.0
        spent: list[float] = []  # modelled seconds of this request's calls: portal time moves on by them

        def clock_at() -> float:
            return arrival + (time.perf_counter() - perf0) + sum(spent)

        def sub_call(method: str, sub_params: dict[str, Any]) -> CallOutcome:
            outcome = self._dispatcher.call(method, sub_params, session=session, clock_at=clock_at)
            spent.append(outcome.modelled)
            return outcome

        def paced(response: Response) -> Response:
            # the modelled server time is waited out in the server thread before the answer is sent
            if costs is not None:
                response.delay += costs.wall(overhead + sum(spent))
            return response

        def sub_time(outcome: CallOutcome) -> dict[str, Any]:
            # Each command is a CRestServerBatchItem whose processCall appends its own debug info,
            # operating-time keys included, for the command's method.
            if session is None:
                return time_object(outcome.start, outcome.finish, outcome.processing, self.tz)
            return time_object(outcome.start, outcome.finish, outcome.processing, self.tz,
                               operating=session.operating(outcome.method),
                               operating_reset_at=session.reset_at(outcome.method, outcome.start))

        try:
            if is_batch:
                run = run_batch(params, sub_call, sub_time)
                record.commands, record.executed = run.dispatched, True
                record.refused = run.refused
                payload: dict[str, Any] = {"result": run.payload()}
                processing = time.perf_counter() - perf0 + sum(spent)
                status = 200
            else:
                outcome = sub_call(route.method, params)
                record.executed = outcome.executed
                if outcome.status == 429:
                    record.refused = [route.method]
                if outcome.error is not None or outcome.result is None:
                    return paced(self._answer(route, outcome.status, outcome.error or {}))
                payload = {"result": outcome.result.result}
                if outcome.result.total is not None:
                    payload["total"] = int(outcome.result.total)
                if outcome.result.next is not None:
                    payload["next"] = int(outcome.result.next)
                processing, status = outcome.processing, 200
            finish = clock_at() + overhead
            operating = reset_at = None
            if session is not None:
                operating = session.operating(route.method)
                reset_at = session.reset_at(route.method, arrival)
            payload["time"] = time_object(
                arrival, finish, processing, self.tz, operating=operating, operating_reset_at=reset_at
            )
            return paced(self._answer(route, status, payload, (perf0, cpu0)))
        finally:
            if session is not None:
                session.commit()
