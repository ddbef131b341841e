"""A tiny method registry and clock for the Bitrix24 protocol-layer tests (no CRM involved)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from b24sync.sandbox.bitrix24.api import CallContext, MethodRegistry, MethodResult, RestError


class FakeClock:
    """A settable clock: the emulator's limits see only what the test advances."""

    def __init__(self, start: float = 1_724_916_859.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class FakeStore:
    items: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    active: int = 0
    max_active: int = 0


def fake_registry(store: FakeStore) -> MethodRegistry:
    """``test.*`` methods covering each protocol feature: echo, errors, paging, writes with events."""
    registry = MethodRegistry()

    def track(name: str) -> None:
        store.calls.append(name)

    @registry.register("test.echo")
    def echo(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.echo")
        return MethodResult(params)

    @registry.register("test.fail")
    def fail(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.fail")
        raise RestError("", "Not found")

    @registry.register("test.fail_int")
    def fail_int(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.fail_int")
        raise RestError(100, "Unknown field definition I_D", status=400)

    @registry.register("test.fail_extra")
    def fail_extra(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        raise RestError("INVALID_ARG_VALUE", "Invalid filter", status=400, argument="filter")

    @registry.register("test.crash")
    def crash(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.crash")
        return MethodResult(1 // 0)

    @registry.register("test.add")
    def add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.add")
        store.items.append(dict(params.get("fields") or {}))
        new_id = len(store.items)
        ctx.emit("onTestAdd", {"ID": str(new_id)})
        return MethodResult(new_id)

    @registry.register("test.list")
    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.list")
        start = int(params.get("start") or 0)
        page = [{"ID": str(i + 1), **item} for i, item in enumerate(store.items)][start : start + 50]
        more = start + 50 < len(store.items)
        return MethodResult(page, total=len(store.items), next=start + 50 if more else None)

    @registry.register("test.slow")
    def slow(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        track("test.slow")
        return MethodResult(True)

    @registry.register("test.shape")
    def shape(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(
            {"ID": 7, "NAME": "Иван/Ёж <b>&'", "NULL": None, "DEEP": {"A": {"B": "leaf"}}, "LIST": [10, 20]}
        )

    @registry.register("test.exclusive")
    def exclusive(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        store.active += 1
        store.max_active = max(store.max_active, store.active)
        time.sleep(0.001)  # widen the window in which an overlapping call would be seen
        store.active -= 1
        return MethodResult(True)

    @registry.register("test.now")
    def now(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult({"now": ctx.now().isoformat(), "user": ctx.user_id})

    return registry
