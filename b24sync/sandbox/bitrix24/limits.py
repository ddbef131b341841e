"""The portal's two REST limits: the per-IP leaky bucket and the per-method operating time.

Both follow ``settings/performance/limits.md`` of the official docs and, where the docs are vague,
the server's ``LoadLimiter``. Time always comes from the injected ``clock`` so tests can reach
either limit, and its reset, without sleeping.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LeakyBucket", "Limits", "OperatingLimiter", "OperatingSession"]

BUCKET_SECONDS = 60
BUCKET_COUNT = 10


@dataclass
class Limits:
    """The leaky bucket and the per-method operating-time limit (``None`` instead of this = both off)."""

    bucket_size: int = 50  # X  (enterprise: 250)
    drain_per_second: float = 2.0  # Y  (enterprise: 5)
    operating_limit: float = 480.0  # seconds of execution per method per 10 x 60 s buckets
    min_fix_time: float = 0.1  # calls shorter than this are not recorded
    simulated_duration: dict[str, float] = field(default_factory=dict)  # method -> seconds to count


class LeakyBucket:
    """Request-rate limiter, one counter per source IP.

    Counter semantics, read literally from the docs: every incoming request adds 1 to the counter;
    the counter drains continuously at ``drain_per_second``; "as soon as the counter *exceeds* X,
    every *next* request is blocked". So a request is admitted while the drained counter is
    ``<= X`` (from idle, X + 1 back-to-back requests pass and the (X + 2)-th gets 503), and a
    blocked request does not raise the counter: in the leaky-bucket-as-meter algorithm the docs
    name, non-conforming requests leave the bucket unchanged, so a client that backs off is let
    through again after ``1 / Y`` seconds instead of being locked out by its own retries.
    """

    def __init__(self, size: int, drain_per_second: float, clock: Callable[[], float]) -> None:
        self.size = size
        self.drain = drain_per_second
        self.clock = clock
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def level(self, ip: str) -> float:
        """The drained counter for ``ip`` now (for tests and diagnostics)."""
        with self._lock:
            return self._drained(ip, self.clock())

    def _drained(self, ip: str, now: float) -> float:
        level, last = self._levels.get(ip, (0.0, now))
        return max(0.0, level - max(0.0, now - last) * self.drain)

    def admit(self, ip: str) -> bool:
        """Count one request from ``ip``; ``False`` means answer 503 without executing it."""
        with self._lock:
            now = self.clock()
            level = self._drained(ip, now)
            if level > self.size:
                self._levels[ip] = (level, now)
                return False
            self._levels[ip] = (level + 1.0, now)
            return True


class OperatingLimiter:
    """Execution seconds per (auth identity, method) in ten one-minute buckets.

    Mirrors ``LoadLimiter``: a bucket is indexed by ``floor(t / 60)`` and counts while it is one of
    the ten most recent; it remembers the first recording's start so that ``operating_reset_at``
    can report ``first start + 600`` for the oldest live bucket.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[str, str], dict[int, list[float]]] = {}
        self._lock = threading.Lock()

    def _live(self, key: tuple[str, str], now: float) -> dict[int, list[float]]:
        current = math.floor(now / BUCKET_SECONDS)
        buckets = self._buckets.get(key, {})
        for index in [i for i in buckets if current - i >= BUCKET_COUNT]:
            del buckets[index]
        return buckets

    def stored(self, key: tuple[str, str]) -> float:
        """Seconds recorded for ``key`` within the last ten buckets."""
        with self._lock:
            return sum(b[0] for b in self._live(key, self.clock()).values())

    def oldest_expiry(self, key: tuple[str, str]) -> float | None:
        with self._lock:
            live = self._live(key, self.clock())
            return min(live.values(), key=lambda b: b[1])[1] if live else None

    def record(self, key: tuple[str, str], seconds: float, first_start: float) -> None:
        with self._lock:
            now = self.clock()
            index = math.floor(now / BUCKET_SECONDS)
            buckets = self._buckets.setdefault(key, {})
            self._live(key, now)
            if index in buckets:
                buckets[index][0] += seconds
            else:
                buckets[index] = [seconds, first_start + BUCKET_SECONDS * BUCKET_COUNT]

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


class OperatingSession:
    """Per-HTTP-request view of the limiter, as the portal keeps it during one hit.

    Calls inside one request (a batch) are summed per method and written to the buckets once at
    the end, if the sum reaches ``min_fix_time``; meanwhile the check before each call and the
    reported ``operating`` already include this request's earlier calls that lasted at least
    ``min_fix_time``.
    """

    def __init__(self, limiter: OperatingLimiter, identity: str) -> None:
        self.limiter = limiter
        self.identity = identity
        self._pending: dict[str, list[float]] = {}
        self._first_start: dict[str, float] = {}

    def _key(self, method: str) -> tuple[str, str]:
        return (self.identity, method)

    def _pending_counted(self, method: str) -> float:
        floor = self.limiter.limits.min_fix_time
        return sum(d for d in self._pending.get(method, []) if d >= floor)

    def operating(self, method: str) -> float:
        """Accumulated seconds for ``method``: stored buckets plus this request's counted calls."""
        return self.limiter.stored(self._key(method)) + self._pending_counted(method)

    def blocked(self, method: str) -> bool:
        """True when ``method`` must be answered with 429 before it runs."""
        return self.operating(method) > self.limiter.limits.operating_limit

    def add(self, method: str, real_seconds: float, start: float) -> None:
        simulated = {k.lower(): v for k, v in self.limiter.limits.simulated_duration.items()}
        seconds = simulated.get(method, real_seconds)
        self._pending.setdefault(method, []).append(seconds)
        self._first_start.setdefault(method, start)

    def reset_at(self, method: str, fallback_start: float) -> int:
        expiry = self.limiter.oldest_expiry(self._key(method))
        if expiry is None:
            expiry = self._first_start.get(method, fallback_start) + BUCKET_SECONDS * BUCKET_COUNT
        return int(expiry)

    def commit(self) -> None:
        floor = self.limiter.limits.min_fix_time
        for method, durations in self._pending.items():
            total = sum(durations)
            if total >= floor:
                self.limiter.record(self._key(method), total, self._first_start[method])
        self._pending.clear()
