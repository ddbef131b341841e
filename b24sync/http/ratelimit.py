"""Client-side pacing that mirrors Bitrix24's server-side limits.

Bitrix24 counts every HTTP request into a leaky bucket that drains at ``rate`` per second and
rejects a request (503 ``QUERY_LIMIT_EXCEEDED``) when the bucket would overflow ``burst``. Pacing
ourselves with the same model means the server never has to reject us; a 503 then only happens
when another client on our IP shares the bucket, and :meth:`LeakyBucket.saturate` re-syncs.

The per-method operating-time limit (429 ``OPERATION_TIME_LIMIT``) is tracked by
:class:`MethodGate`: only the blocked method waits until the portal's ``operating_reset_at``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleeper = Callable[[float], None]


class LeakyBucket:
    """A thread-safe leaky bucket: ``acquire()`` blocks until one more request fits."""

    def __init__(self, rate: float, burst: int, *, clock: Clock = time.monotonic,
                 sleep: Sleeper = time.sleep) -> None:
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._level = 0.0
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def _drain(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one slot, sleeping first if the bucket is full; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._drain(now)
            wait = max(0.0, (self._level + 1 - self.burst) / self.rate)
            # Reserve the slot now so concurrent callers queue behind us.
            self._level += 1
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        return wait

    def level(self) -> float:
        """Requests counted in the bucket now (slots reserved, less what has drained)."""
        with self._lock:
            self._drain(self._clock())
            return self._level

    def saturate(self) -> None:
        """The server said the bucket is full: assume so, so the next acquire waits a drain step."""
        with self._lock:
            self._drain(self._clock())
            self._level = max(self._level, float(self.burst))


_buckets: dict[str, LeakyBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(key: str, rate: float, burst: int) -> LeakyBucket:
    """One bucket per portal for the whole process: the server counts per portal and IP."""
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
            bucket = _buckets[key] = LeakyBucket(rate, burst)
        return bucket


@dataclass
class MethodGate:
    """Per-method pauses after ``OPERATION_TIME_LIMIT``; other methods are not slowed."""

    clock: Clock = time.time
    sleep: Sleeper = time.sleep
    blocked_until: dict[str, float] = field(default_factory=dict)
    reset_at: dict[str, float] = field(default_factory=dict)

    def note(self, method: str, operating_reset_at: float | None, server_now: float | None = None) -> None:
        """Remember the reset time the portal reported for a method's last good call.

        ``operating_reset_at`` is on the portal's clock; with ``server_now`` (the same answer's
        ``time.finish``) it is moved onto this machine's clock, so a portal whose clock is ahead
        or behind ours makes the method wait as long as the portal means, not that much longer
        or shorter.
        """
        if operating_reset_at:
            reset = float(operating_reset_at)
            if server_now:
                reset = self.clock() + (reset - float(server_now))
            self.reset_at[method] = reset

    def block(self, method: str, fallback_seconds: float = 60.0) -> float:
        """The method hit the limit: block it until its reset time; returns that time."""
        now = self.clock()
        until = self.reset_at.get(method, 0.0)
        if until <= now:
            until = now + fallback_seconds
        self.blocked_until[method] = until
        return until

    def wait(self, methods: list[str]) -> float:
        """Sleep until none of the given methods is blocked; returns the seconds slept."""
        now = self.clock()
        until = max((self.blocked_until.get(name, 0.0) for name in methods), default=0.0)
        if until <= now:
            return 0.0
        self.sleep(until - now)
        return until - now
