"""Running one REST method: the part shared by direct calls and ``batch`` sub-calls.

Here live the rules every call obeys wherever it comes from: the operating-time check *before*
execution (429), one call at a time against the store (``call_lock``), timing, turning
:class:`RestError` and unexpected exceptions into error bodies, and handing the events a method
emitted to the sender only once it succeeded.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from ..latency import CostModel, metered
from .api import CallContext, MethodRegistry, MethodResult, RestError
from .events import OutgoingEvent
from .limits import OperatingSession
from .render import error_body

__all__ = [
    "CallOutcome",
    "Dispatcher",
    "ERROR_METHOD_NOT_FOUND",
    "INTERNAL_SERVER_ERROR",
    "OPERATION_TIME_LIMIT",
]

ERROR_METHOD_NOT_FOUND = ("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
OPERATION_TIME_LIMIT = ("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)
INTERNAL_SERVER_ERROR = ("INTERNAL_SERVER_ERROR", "Internal server error", 500)
INSUFFICIENT_SCOPE = ("insufficient_scope", "The request requires higher privileges than provided by the webhook token",
                      403)
# A method family needs one of these scopes (the user scope comes in three versions); ``profile``, ``scope``,
# ``server.time``, ``methods`` and ``batch`` are ``basic``, which every webhook has.
SCOPE_OF_PREFIX = (("crm.", frozenset({"crm"})), ("user.", frozenset({"user", "user_basic", "user_brief"})),
                   ("catalog.", frozenset({"catalog"})))


def scope_allows(scopes: frozenset[str], method: str) -> bool:
    """Whether a webhook with ``scopes`` may call ``method`` (lower-case)."""
    return all(scopes & needed for prefix, needed in SCOPE_OF_PREFIX if method.startswith(prefix))


@dataclass
class CallOutcome:
    """The result of one call: ``result`` on success, else ``error`` (a ready error body) and ``status``.

    ``start``/``finish`` are portal-clock timestamps of the method's run, ``processing`` its real
    duration plus ``modelled``, the server time the cost model adds (0 when it is off);
    ``executed`` tells whether the method function ran at all.
    """

    method: str
    result: MethodResult | None = None
    error: dict[str, Any] | None = None
    status: int = 200
    start: float = 0.0
    finish: float = 0.0
    processing: float = 0.0
    executed: bool = False
    modelled: float = 0.0


def _failure(method: str, spec: tuple[str, str, int]) -> CallOutcome:
    code, description, status = spec
    return CallOutcome(method, error=error_body(code, description), status=status)


class Dispatcher:
    """Runs registered methods for the protocol layer; ``costs`` (``None`` = off) adds modelled time."""

    def __init__(
        self,
        registry: MethodRegistry,
        *,
        call_lock: threading.RLock,
        clock: Callable[[], float],
        tz: tzinfo,
        user_id: int,
        scopes: frozenset[str] | None,
        deliver: Callable[[list[OutgoingEvent]], None],
        costs: CostModel | None = None,
    ) -> None:
        self.registry = registry
        self.call_lock = call_lock
        self.clock = clock
        self.tz = tz
        self.user_id = user_id
        self.scopes = scopes
        self.deliver = deliver
        self.costs = costs

    def exists(self, method: str) -> bool:
        return self.registry.get(method) is not None

    def _context(self, events: list[OutgoingEvent]) -> CallContext:
        def now() -> datetime:
            return datetime.fromtimestamp(self.clock(), self.tz).replace(microsecond=0)

        def emit(name: str, fields: dict[str, Any]) -> None:
            events.append(OutgoingEvent(name.upper(), {"FIELDS": dict(fields)}, int(self.clock())))

        if self.scopes is None:
            return CallContext(user_id=self.user_id, now=now, emit=emit)
        return CallContext(user_id=self.user_id, now=now, emit=emit, scopes=self.scopes)

    def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        session: OperatingSession | None,
        clock_at: Callable[[], float],
    ) -> CallOutcome:
        """Run ``method`` (lower-case) with ``params``; ``clock_at()`` gives the portal time now."""
        implementation = self.registry.get(method)
        if implementation is None:
            return _failure(method, ERROR_METHOD_NOT_FOUND)
        if self.scopes is not None and not scope_allows(self.scopes, method):
            return _failure(method, INSUFFICIENT_SCOPE)
        if session is not None and session.blocked(method):
            return _failure(method, OPERATION_TIME_LIMIT)
        events: list[OutgoingEvent] = []
        context = self._context(events)
        with self.call_lock:
            start = clock_at()
            began = time.perf_counter()
            try:
                with metered() as listing:
                    result = implementation(params, context)
                outcome = CallOutcome(method, result=result)
                if not isinstance(result, MethodResult):
                    raise TypeError(f"{method} returned {type(result).__name__}, not MethodResult")
            except RestError as exc:
                outcome = CallOutcome(
                    method, error=error_body(exc.code, exc.description, **exc.extra), status=exc.status
                )
            except Exception:
                print(f"b24 emulator: method {method} failed", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                outcome = _failure(method, INTERNAL_SERVER_ERROR)
            elapsed = time.perf_counter() - began
        costs = self.costs
        if costs is not None:  # a failed call costs too: the fixed part, plus pages it read before failing
            outcome.modelled = costs.b24_call(listing)
        outcome.executed = True
        outcome.start = start
        outcome.processing = elapsed + outcome.modelled
        outcome.finish = start + outcome.processing
        if session is not None:  # modelled time counts toward OPERATION_TIME_LIMIT like real time
            session.add(method, outcome.processing, start)
        if outcome.error is None and events:
            self.deliver(events)
        return outcome
