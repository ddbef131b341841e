"""Transport faults of a 1C publication, queued per entity set and HTTP method.

What a sync client meets in the field: Apache/IIS answering an HTML 500 page, a 503 while the 1C
server restarts, a connection dropped *after* the write committed (the object exists, the client
saw an error: a retried POST duplicates it), slow answers and bodies cut short. Network toxics too:
``reset`` closes the connection before the request runs; ``timeout`` runs it, then answers nothing
for :attr:`Faults.timeout_seconds` and closes; random ``slow`` faults wait a seeded draw from
:attr:`Faults.slow_range` when it is set.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

__all__ = ["AFTER_EXECUTION", "BEFORE_EXECUTION", "FAULT_KINDS", "Fault", "Faults"]

BEFORE_EXECUTION = frozenset({"html500", "reset", "web503"})
AFTER_EXECUTION = frozenset({"drop_after_commit", "slow", "timeout", "truncated"})
FAULT_KINDS = BEFORE_EXECUTION | AFTER_EXECUTION


@dataclass
class Fault:
    kind: str
    delay: float = 0.0


@dataclass
class _Queued:
    entity_set: str | None
    method: str | None
    kind: str
    count: int
    delay: float


class Faults:
    """``add(kind, entity_set=…, method=…)`` makes the next matching request misbehave."""

    def __init__(self, slow_seconds: float = 3.0, seed: int = 0, timeout_seconds: float = 65.0) -> None:
        self.slow_seconds = slow_seconds
        self.slow_range: tuple[float, float] | None = None  # (low, high) seconds of a random slow fault
        self.timeout_seconds = timeout_seconds  # how long a ``timeout`` holds the connection before closing it
        self.probabilities: dict[str, float] = {}  # kind → share of requests it hits (a seeded soak)
        self.rng = random.Random(seed)
        self.fired: list[tuple[str, str, str]] = []  # (method, entity set, kind)
        self._queue: list[_Queued] = []
        self._lock = threading.Lock()

    def add(self, kind: str, *, entity_set: str | None = None, method: str | None = None, count: int = 1,
            delay: float | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.append(_Queued(entity_set, method.upper() if method else None, kind, count,
                                       self._delay(kind) if delay is None else delay))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.probabilities = {}

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(q.count for q in self._queue)

    def take(self, method: str, entity_set: str) -> Fault | None:
        with self._lock:
            for queued in self._queue:
                if queued.entity_set not in (None, entity_set) or queued.method not in (None, method.upper()):
                    continue
                queued.count -= 1
                if queued.count == 0:
                    self._queue.remove(queued)
                self.fired.append((method, entity_set, queued.kind))
                return Fault(queued.kind, queued.delay)
            for kind, probability in sorted(self.probabilities.items()):
                if kind not in FAULT_KINDS:
                    raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
                if self.rng.random() < probability:
                    self.fired.append((method, entity_set, kind))
                    return Fault(kind, self._delay(kind, drawn=True))
        return None

    def _delay(self, kind: str, *, drawn: bool = False) -> float:
        if kind == "timeout":
            return self.timeout_seconds
        if drawn and self.slow_range is not None:
            return self.rng.uniform(*self.slow_range)
        return self.slow_seconds
