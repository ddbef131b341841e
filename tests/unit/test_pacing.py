"""Leaky bucket, per-method gate and retry timing, on an injected clock (no real waiting)."""

import random

from b24sync.http.ratelimit import LeakyBucket, MethodGate
from b24sync.http.retry import RetryPolicy, RetryState


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_the_burst_then_paces_at_the_rate():
    ft = FakeTime()
    bucket = LeakyBucket(2.0, 50, clock=ft.clock, sleep=ft.sleep)
    for _ in range(50):
        assert bucket.acquire() == 0
    waits = [bucket.acquire() for _ in range(10)]
    assert all(abs(w - 0.5) < 1e-9 for w in waits)
    assert abs(ft.now - 1005.0) < 1e-9  # 10 extra requests at 2/s


def test_bucket_drains_while_idle_and_saturate_forces_a_wait():
    ft = FakeTime()
    bucket = LeakyBucket(2.0, 50, clock=ft.clock, sleep=ft.sleep)
    for _ in range(50):
        bucket.acquire()
    ft.now += 10  # 20 slots drained
    assert [bucket.acquire() for _ in range(20)] == [0] * 20
    bucket.saturate()
    assert bucket.acquire() == 0.5


def test_gate_blocks_only_the_limited_method():
    ft = FakeTime()
    gate = MethodGate(clock=ft.clock, sleep=ft.sleep)
    gate.note("crm.contact.list", ft.now + 120)
    gate.block("crm.contact.list")
    assert gate.wait(["crm.company.list"]) == 0
    assert gate.wait(["crm.company.list", "crm.contact.list"]) == 120
    gate.block("crm.deal.list")  # no reset time known: a fallback pause
    assert gate.wait(["crm.deal.list"]) == 60


def test_backoff_is_capped_exponential_with_bounded_jitter_and_budget():
    ft = FakeTime()
    policy = RetryPolicy(max_attempts=10, base=0.5, cap=4.0, jitter=1.0, budget=1000, sleep=ft.sleep,
                         rng=random.Random(7))
    state = RetryState(policy)
    delays = []
    while state.can_retry():
        delays.append(state.backoff())
    assert len(delays) == 9
    for n, d in enumerate(delays):
        floor = min(4.0, 0.5 * 2**n)
        assert floor <= d <= floor + 1.0
    tight = RetryState(RetryPolicy(max_attempts=100, base=1, cap=1, jitter=0, budget=3, sleep=ft.sleep))
    count = 0
    while tight.can_retry():
        tight.backoff()
        count += 1
    assert count == 3
    hint = RetryState(RetryPolicy(jitter=0, sleep=ft.sleep))
    assert hint.backoff(at_least=42.0) == 42.0
