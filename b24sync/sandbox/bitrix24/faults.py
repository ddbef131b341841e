"""Deterministic (and optionally random) transport faults for the emulator.

A real portal sits behind proxies that sometimes answer with HTML error pages, time out after the
write was already committed, or redirect to a renamed domain. A sync client has to survive all of
these without losing or duplicating data, so tests queue them here: ``faults.add(method, kind)``
makes the next matching request misbehave, ``faults.probabilities`` sprinkles them over a soak run
with a seeded RNG so a failing run can be replayed.

Besides the portal's own answers there are the network's toxics: ``reset`` (the connection is
closed before the call runs), ``timeout`` (the call runs, then no answer comes for
:attr:`Faults.timeout_seconds` and the connection is closed) and latency (``slow_after_commit``,
whose random occurrences wait a seeded draw from :attr:`Faults.slow_range` when it is set).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["AFTER_EXECUTION", "BEFORE_EXECUTION", "FAULT_KINDS", "Fault", "Faults"]

BEFORE_EXECUTION = frozenset({"html502", "html504", "internal500", "overload503", "query_limit503", "operating429",
                              "redirect302", "reset"})
"""Faults raised in front of the portal: the call is never executed."""

AFTER_EXECUTION = frozenset({"drop_after_commit", "slow_after_commit", "timeout", "truncated"})
"""Faults applied to the answer: the call *was* executed (and its writes committed)."""

FAULT_KINDS = BEFORE_EXECUTION | AFTER_EXECUTION


@dataclass
class Fault:
    """One fault to apply: ``kind`` and, for ``slow_after_commit`` and ``timeout``, the delay in seconds."""

    kind: str
    delay: float = 0.0


@dataclass
class _Queued:
    method: str | None
    kind: str
    count: int
    delay: float | None


class Faults:
    """Queue of faults for upcoming requests, matched by REST method name (``None`` = any)."""

    def __init__(self, seed: int = 0, slow_seconds: float = 5.0, timeout_seconds: float = 65.0) -> None:
        self.slow_seconds = slow_seconds
        self.slow_range: tuple[float, float] | None = None  # (low, high) seconds of a random slow fault
        self.timeout_seconds = timeout_seconds  # how long a ``timeout`` holds the connection before closing it
        self.probabilities: dict[str, float] = {}
        self.rng = random.Random(seed)
        self.fired: list[tuple[str, str]] = []  # (method, kind) of every fault applied
        self._queue: list[_Queued] = []
        self._lock = threading.Lock()

    def add(self, method: str | None, kind: str, count: int = 1, *, delay: float | None = None) -> None:
        """Make the next ``count`` requests for ``method`` fail with ``kind``.

        ``method`` matches the URL's method or any command of a ``batch`` (case-insensitive).
        ``delay`` overrides :attr:`slow_seconds` for ``slow_after_commit`` (:attr:`timeout_seconds` for ``timeout``).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.append(_Queued(method.lower() if method else None, kind, count, delay))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.probabilities = {}

    @property
    def pending(self) -> int:
        """How many queued fault applications are still to come."""
        with self._lock:
            return sum(q.count for q in self._queue)

    def take(self, methods: Iterable[str]) -> Fault | None:
        """The fault for a request touching ``methods``, consuming it; ``None`` if none applies."""
        names = [m.lower() for m in methods]
        with self._lock:
            for queued in self._queue:
                if queued.method is None or queued.method in names:
                    queued.count -= 1
                    if queued.count == 0:
                        self._queue.remove(queued)
                    fault = Fault(queued.kind, self._delay(queued.kind) if queued.delay is None else queued.delay)
                    break
            else:
                fault = None
                for kind, probability in sorted(self.probabilities.items()):
                    if kind not in FAULT_KINDS:
                        raise ValueError(f"unknown fault kind {kind!r}")
                    if self.rng.random() < probability:
                        fault = Fault(kind, self._delay(kind, drawn=True))
                        break
            if fault is not None:
                self.fired.append((names[0] if names else "", fault.kind))
            return fault

    def _delay(self, kind: str, *, drawn: bool = False) -> float:
        if kind == "timeout":
            return self.timeout_seconds
        if drawn and self.slow_range is not None:
            return self.rng.uniform(*self.slow_range)
        return self.slow_seconds
