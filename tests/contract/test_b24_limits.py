"""Bitrix24 emulator limits: the per-IP leaky bucket (503) and per-method operating time (429).

Time is a fake clock shared with the emulator: no test sleeps or asserts on the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits
from tests.contract.b24_fakes import FakeClock, FakeStore, fake_registry

pytestmark = pytest.mark.timeout(30)

QUERY_LIMIT = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
TIME_LIMIT = {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make(store: FakeStore, clock: FakeClock) -> Iterator[Any]:
    started: list[Bitrix24Emulator] = []

    def factory(limits: Limits | None) -> Bitrix24Emulator:
        emulator = Bitrix24Emulator(fake_registry(store), limits=limits, clock=clock).start()
        started.append(emulator)
        return emulator

    yield factory
    for emulator in started:
        emulator.stop()


def call(session: requests.Session, emu: Bitrix24Emulator, method: str, **params: Any) -> requests.Response:
    return session.post(emu.webhook_url + method, json=params, timeout=5)


# --- leaky bucket ------------------------------------------------------------------------------


def test_default_bucket_admits_x_plus_one_then_503(make: Any, store: FakeStore) -> None:
    emu = make(Limits())
    with requests.Session() as s:
        statuses = [call(s, emu, "test.add").status_code for _ in range(52)]
        assert statuses == [200] * 51 + [503]
        rejected = call(s, emu, "test.add")
    assert rejected.status_code == 503
    assert rejected.headers["Content-Type"] == "application/json; charset=utf-8"
    assert rejected.json() == QUERY_LIMIT
    assert len(store.items) == 51  # rejected requests never execute
    assert [r.executed for r in emu.request_log[-2:]] == [False, False]


def test_bucket_drains_at_y_per_second_and_rejections_do_not_count(make: Any, clock: FakeClock) -> None:
    emu = make(Limits(bucket_size=5, drain_per_second=2.0))
    with requests.Session() as s:
        assert [call(s, emu, "test.echo").status_code for _ in range(7)] == [200] * 6 + [503]
        for _ in range(10):
            assert call(s, emu, "test.echo").status_code == 503  # hammering does not deepen the hole
        clock.advance(0.5)  # drains exactly one request
        assert [call(s, emu, "test.echo").status_code for _ in range(2)] == [200, 503]
        clock.advance(3.0)  # six more
        assert [call(s, emu, "test.echo").status_code for _ in range(7)] == [200] * 6 + [503]


def test_bucket_counts_every_http_request_even_unknown_methods(make: Any) -> None:
    emu = make(Limits(bucket_size=2))
    with requests.Session() as s:
        assert call(s, emu, "no.such").status_code == 404
        assert s.post(f"{emu.base_url}/rest/1/wrong/test.echo", json={}, timeout=5).status_code == 401
        assert call(s, emu, "test.echo").status_code == 200
        assert call(s, emu, "test.echo").status_code == 503


def test_batch_costs_one_request_however_many_commands(make: Any, store: FakeStore) -> None:
    emu = make(Limits(bucket_size=1))
    cmd = {f"c{i}": "test.add" for i in range(50)}
    with requests.Session() as s:
        assert call(s, emu, "batch", cmd=cmd).status_code == 200
        assert call(s, emu, "batch", cmd=cmd).status_code == 200
        assert call(s, emu, "batch", cmd=cmd).status_code == 503
    assert len(store.items) == 100


def test_limits_off_never_rejects(make: Any, store: FakeStore) -> None:
    emu = make(None)
    emu.faults  # noqa: B018 - the attribute exists with limits off too
    with requests.Session() as s:
        assert {call(s, emu, "test.add").status_code for _ in range(80)} == {200}
    assert len(store.items) == 80


def test_bucket_is_per_source_ip(clock: FakeClock) -> None:
    from b24sync.sandbox.bitrix24.limits import LeakyBucket

    bucket = LeakyBucket(1, 2.0, clock)
    assert [bucket.admit("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert bucket.admit("10.0.0.2") is True
    clock.advance(0.5)
    assert bucket.admit("10.0.0.1") is True
    assert bucket.level("10.0.0.1") == pytest.approx(2.0)


# --- operating time ----------------------------------------------------------------------------


def test_operating_time_429_and_reset(make: Any, clock: FakeClock, store: FakeStore) -> None:
    emu = make(Limits(operating_limit=10.0, simulated_duration={"test.slow": 4.0}))
    t0 = clock.now
    with requests.Session() as s:
        times = []
        for _ in range(3):
            response = call(s, emu, "test.slow")
            assert response.status_code == 200
            times.append(response.json()["time"])
            clock.advance(30)
        assert [t["operating"] for t in times] == [4.0, 8.0, 12.0]
        assert {t["operating_reset_at"] for t in times} == {int(t0) + 600}
        blocked = call(s, emu, "test.slow")
        assert blocked.status_code == 429
        assert blocked.json() == TIME_LIMIT
        assert store.calls.count("test.slow") == 3  # checked before execution
        other = call(s, emu, "test.echo")  # other methods keep working
        assert other.status_code == 200 and other.json()["time"]["operating"] == 0.0
        clock.advance(600)  # every bucket of the first minutes has left the 10-minute window
        again = call(s, emu, "test.slow")
        assert again.status_code == 200 and again.json()["time"]["operating"] == 4.0
        assert again.json()["time"]["operating_reset_at"] == int(clock.now) + 600


def test_operating_reset_at_tracks_oldest_live_bucket(make: Any, clock: FakeClock) -> None:
    emu = make(Limits(simulated_duration={"test.slow": 1.0}))
    with requests.Session() as s:
        first = call(s, emu, "test.slow").json()["time"]
        clock.advance(120)
        second = call(s, emu, "test.slow").json()["time"]
    assert first["operating_reset_at"] == second["operating_reset_at"] == int(first["start"]) + 600
    assert second["operating"] == 2.0


def test_short_calls_are_not_recorded(make: Any) -> None:
    emu = make(Limits(operating_limit=0.0, simulated_duration={"test.slow": 0.05}))
    with requests.Session() as s:
        for _ in range(5):
            response = call(s, emu, "test.slow")
            assert response.status_code == 200 and response.json()["time"]["operating"] == 0.0
        # real execution of test.echo takes far less than 0.1 s: never recorded either
        assert {call(s, emu, "test.echo").status_code for _ in range(5)} == {200}


def test_operating_is_per_webhook_method_and_checked_inside_batch(make: Any, store: FakeStore) -> None:
    emu = make(Limits(operating_limit=10.0, simulated_duration={"test.slow": 4.0}))
    cmd = {f"s{i}": "test.slow" for i in range(5)} | {"e": "test.echo"}
    with requests.Session() as s:
        response = call(s, emu, "batch", cmd=cmd)
    assert response.status_code == 200
    result = response.json()["result"]
    assert list(result["result"]) == ["s0", "s1", "s2", "e"]  # 0, 4, 8 pass; 12 > 10 blocks s3
    assert result["result_error"] == {"s3": TIME_LIMIT, "s4": TIME_LIMIT}
    assert store.calls.count("test.slow") == 3
    assert response.json()["time"]["operating"] == 0.0  # batch itself is not counted
    with requests.Session() as s:
        assert call(s, emu, "test.slow").status_code == 429  # the batch's time was stored


def test_batch_commands_report_their_own_operating_time_and_refusals_are_logged(make: Any, clock: FakeClock) -> None:
    # Each command runs as its own CRestServerBatchItem, whose processCall appends the debug info
    # (operating and operating_reset_at of the command's method) to its result_time.
    emu = make(Limits(operating_limit=10.0, simulated_duration={"test.slow": 4.0}))
    t0 = clock.now
    cmd = {"a": "test.slow", "b": "test.slow", "e": "test.echo", "c": "test.slow", "d": "test.slow"}
    with requests.Session() as s:
        result = call(s, emu, "batch", cmd=cmd).json()["result"]
        times = result["result_time"]
        assert [times[k]["operating"] for k in ("a", "b", "c")] == [4.0, 8.0, 12.0]
        assert {times[k]["operating_reset_at"] for k in ("a", "b", "c")} == {int(t0) + 600}
        assert times["e"]["operating"] == 0.0
        assert result["result_error"] == {"d": TIME_LIMIT}
        batch = emu.request_log[-1]
        assert batch.commands == ["test.slow", "test.slow", "test.echo", "test.slow"]
        assert batch.refused == ["test.slow"]  # asked for, refused before it ran
        assert call(s, emu, "test.slow").status_code == 429
        assert emu.request_log[-1].refused == ["test.slow"]


def test_simulated_durations_can_change_at_runtime(make: Any) -> None:
    emu = make(Limits(operating_limit=5.0))
    with requests.Session() as s:
        assert call(s, emu, "test.slow").json()["time"]["operating"] == 0.0
        emu.limits.simulated_duration["test.slow"] = 6.0
        assert call(s, emu, "test.slow").status_code == 200
        assert call(s, emu, "test.slow").status_code == 429
        emu.reset_limits()
        assert call(s, emu, "test.slow").status_code == 200
