"""Shared fixtures: emulators on loopback (real HTTP, port 0) and clients pointed at them."""

from __future__ import annotations

import random
import threading

import pytest

from b24sync.http.ratelimit import LeakyBucket
from b24sync.http.retry import RetryPolicy
from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal
from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sources.bitrix24.client import Bitrix24Client


class FakeClock:
    """One clock for the emulator's limits and the client's waits: sleeping advances time."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)


def contacts_seed(count: int, *, phones: bool = True) -> PortalSeed:
    """``count`` Cyrillic contacts with a phone in a messy format and a mixed-case e-mail."""
    names = ["Анна", "Иван", "Пётр", "Мария", "Ольга", "Сергей"]
    last = ["Иванова", "Петров", "Сидоров", "Кузнецова", "Смирнов", "Ёлкина"]
    contacts = []
    for i in range(1, count + 1):
        record = {"NAME": names[i % 6], "LAST_NAME": last[i % 6], "ASSIGNED_BY_ID": 1 + i % 5, "OPENED": "Y"}
        if phones:
            record["PHONE"] = [{"VALUE": f"+7 (495) {i % 1000:03d}-{i % 100:02d}-{(i * 7) % 100:02d}",
                                "VALUE_TYPE": "WORK"}]
            record["EMAIL"] = [{"VALUE": f"User.{i}@Почта.RU" if i % 3 == 0 else f"User.{i}@Mail.RU",
                                "VALUE_TYPE": "WORK"}]
        contacts.append(record)
    return PortalSeed(contacts=contacts)


def fast_retry(clock: FakeClock | None = None) -> RetryPolicy:
    """Real backoff figures on a fake clock; without one, tiny real delays (nothing waits on time)."""
    if clock is not None:
        return RetryPolicy(max_attempts=8, base=0.5, cap=8.0, jitter=0.5, budget=600, sleep=clock.sleep,
                           rng=random.Random(1))
    return RetryPolicy(max_attempts=6, base=0.01, cap=0.05, jitter=0.01, budget=600, sleep=lambda s: None,
                       rng=random.Random(1))


@pytest.fixture
def start_emulator():
    """Factory: ``start_emulator(seed=None, limits=None, **kw)`` → a started emulator, stopped after."""
    started: list[Bitrix24Emulator] = []

    def factory(seed: PortalSeed | None = None, *, limits: Limits | None = None, portal: Portal | None = None,
                **kwargs) -> Bitrix24Emulator:
        portal = portal or Portal(seed)
        emulator = Bitrix24Emulator(portal.registry, limits=limits, **kwargs).start()
        emulator.portal = portal  # for tests that need to look inside
        started.append(emulator)
        return emulator

    yield factory
    for emulator in started:
        emulator.stop()


def make_client(emulator: Bitrix24Emulator, *, rate: float = 1000.0, burst: int = 1000,
                clock: FakeClock | None = None, **kwargs) -> Bitrix24Client:
    """A client with its own bucket (tests must not share the process-wide one)."""
    if clock is not None:
        bucket = LeakyBucket(rate, burst, clock=clock.time, sleep=clock.sleep)
        kwargs.setdefault("clock", clock.time)
    else:
        bucket = LeakyBucket(rate, burst)
    return Bitrix24Client(emulator.webhook_url, bucket=bucket, retry=kwargs.pop("retry", fast_retry(clock)), **kwargs)
