"""Retry timing: capped exponential backoff with jitter, and an overall budget.

Which failures are retried is the client's decision (it knows reads from writes); this module
only says how long to wait and when to give up, with an injectable sleeper and RNG so tests
check delays without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RetryPolicy:
    """Delay for attempt ``n`` (0-based) = ``min(cap, base * 2**n) + uniform(0, jitter)``."""

    max_attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    jitter: float = 1.0
    budget: float = 900.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2**attempt) + self.rng.uniform(0, self.jitter)


class RetryState:
    """Counts attempts and waited seconds for one logical call."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.attempt = 0
        self.waited = 0.0
        self._next: float | None = None

    def _next_delay(self, at_least: float) -> float:
        if self._next is None:
            self._next = self.policy.delay(self.attempt)
        return max(at_least, self._next)

    def can_retry(self, at_least: float = 0.0) -> bool:
        """Whether one more attempt fits both the attempt cap and the waiting budget."""
        nxt = self._next_delay(at_least)
        return self.attempt + 1 < self.policy.max_attempts and self.waited + nxt <= self.policy.budget

    def backoff(self, at_least: float = 0.0) -> float:
        """Sleep before the next attempt (never less than a server hint); returns the delay."""
        delay = self._next_delay(at_least)
        self._next = None
        self.attempt += 1
        self.waited += delay
        self.policy.sleep(delay)
        return delay

    def count(self) -> None:
        """Count an attempt whose wait happens elsewhere (a per-method pause)."""
        self.attempt += 1
        self._next = None
