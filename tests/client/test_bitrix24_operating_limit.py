"""One method blocked by the operating-time limit (429) while the rest of a run goes on (R6).

Two workers share one client's bucket and method gate, as the threads of one process would: one
exports contacts through ``crm.contact.list``, whose calls the portal counts as slow so the limit
blocks it twice during the export; the other exports companies and sends company updates. Time
is a fast-forward clock shared with the emulator: it runs in real time and jumps to the earliest
wake-up whenever every worker sleeps, so a ten-minute block costs no real waiting and the
portal's and the client's clocks agree. Asserted, from the portal's request log: after the
request that found the method blocked, no request calls it before the ``operating_reset_at`` the
portal reported; other methods are called during the block; both workers finish with every
record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from b24sync.http.ratelimit import LeakyBucket, MethodGate
from b24sync.sandbox.bitrix24 import Limits, Portal
from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.bitrix24.write import WriteOp, write_batch
from tests.conftest import fast_retry

pytestmark = pytest.mark.timeout(120)

BLOCKED = "crm.contact.list"


class FastForwardClock:
    """Real time plus jumps: when every registered worker sleeps, time leaps to the earliest wake-up.

    Unlike a frozen fake clock it keeps running while a request is served, so the portal's
    ``time.finish`` is never ahead of the client's clock.
    """

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._offset = start - time.monotonic()
        self._cond = threading.Condition()
        self._workers = 0
        self._wakes: list[float] = []

    def time(self) -> float:
        return time.monotonic() + self._offset

    def enrol(self) -> None:
        """One more worker whose sleeps count (enrol before the thread starts, so no jump is early)."""
        with self._cond:
            self._workers += 1

    def leave(self) -> None:
        with self._cond:
            self._workers -= 1
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        with self._cond:
            wake = self.time() + max(0.0, seconds)
            self._wakes.append(wake)
            try:
                while (left := wake - self.time()) > 0:
                    now = self.time()
                    asleep = [w for w in self._wakes if w > now]
                    if len(asleep) >= self._workers:  # nobody is working: jump to the first wake-up
                        self._offset += min(asleep) - now
                        self._cond.notify_all()
                    else:
                        self._cond.wait(min(left, 0.05))
            finally:
                self._wakes.remove(wake)


class ReportedResets(MethodGate):
    """The client's gate, also keeping every ``operating_reset_at`` the portal reported, as sent."""

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        super().__init__(clock=clock, sleep=sleep)
        self.reported: list[tuple[str, float, float]] = []  # (method, reset, when the answer arrived)
        self._lock = threading.Lock()

    def note(self, method: str, operating_reset_at: float | None, *args: Any) -> None:
        if operating_reset_at:
            with self._lock:
                self.reported.append((method, float(operating_reset_at), self.clock()))
        super().note(method, operating_reset_at, *args)


def seed(contacts: int, companies: int) -> PortalSeed:
    return PortalSeed(
        companies=[{"TITLE": f"ООО «Вектор-{i}»"} for i in range(1, companies + 1)],
        contacts=[{"NAME": "Олег", "LAST_NAME": f"Смирнов-{i}"} for i in range(1, contacts + 1)],
    )


def test_a_blocked_method_waits_for_its_reset_while_other_methods_go_on(start_emulator):
    contacts, companies, updates = 1_450, 300, 1_000
    clock = FastForwardClock()
    # 1 s counted per contact page and a 10 s limit: 11 pages pass per window, so the 30-page
    # export is blocked twice; companies are never limited.
    limits = Limits(bucket_size=5, drain_per_second=2.0, operating_limit=10.0,
                    simulated_duration={BLOCKED: 1.0})
    portal = Portal(seed(contacts, companies), clock=clock.time)
    emu = start_emulator(portal=portal, limits=limits, clock=clock.time)
    bucket = LeakyBucket(2.0, 5, clock=clock.time, sleep=clock.sleep)
    gate = ReportedResets(clock.time, clock.sleep)

    def client() -> Bitrix24Client:
        return Bitrix24Client(emu.webhook_url, bucket=bucket, gate=gate, retry=fast_retry(clock), clock=clock.time)

    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def contacts_worker() -> None:
        results["contacts"] = export_all(client(), "contact", select=["ID", "LAST_NAME"])

    def companies_worker() -> None:
        b24 = client()
        results["companies"] = export_all(b24, "company", select=["ID", "TITLE"])
        ops = [WriteOp(f"company {1 + i % companies}", "crm.company.update",
                       {"id": 1 + i % companies, "fields": {"COMMENTS": f"правка {i}"}}) for i in range(updates)]
        results["writes"] = write_batch(b24, ops)

    def run(target: Callable[[], None]) -> Callable[[], None]:
        def body() -> None:
            try:
                target()
            except BaseException as exc:  # collected, and asserted below
                errors.append(exc)
            finally:
                clock.leave()
        return body

    threads = [threading.Thread(target=run(t)) for t in (contacts_worker, companies_worker)]
    for _ in threads:
        clock.enrol()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(100)
    assert not errors, errors

    # the run completed, with every record exactly once and every write applied
    assert sorted(r["ID"] for r in results["contacts"]) == list(range(1, contacts + 1))
    assert sorted(r["ID"] for r in results["companies"]) == list(range(1, companies + 1))
    assert all(outcome.ok for outcome in results["writes"])

    log = emu.request_log.snapshot()
    calls = [r for r in log if BLOCKED in r.commands or BLOCKED in r.refused]
    refusals = [r for r in calls if BLOCKED in r.refused]
    # 29 pages (28 walked + the tail) in windows of 11: blocked twice mid-export; the last batch
    # holds only the 7 pages left, no command past the end of the data, so it is not refused
    assert len(refusals) == 2 and BLOCKED not in calls[-1].refused
    for refusal in refusals:
        following = next(r for r in calls if r.ts > refusal.ts)
        # the reset the portal had reported for the method before the client called it again
        reset = max(at for method, at, noted in gate.reported if method == BLOCKED and noted < following.ts)
        assert reset > refusal.ts
        assert following.ts >= reset  # 0 calls before the reset...
        assert BLOCKED in following.commands and following.commands[0] == BLOCKED  # ...and then it runs
    # while the method was paused, the other worker's methods were still being called
    paused = [r for r in log if refusals[0].ts < r.ts < refusals[1].ts and BLOCKED not in r.commands]
    assert any("crm.company.update" in r.commands for r in paused)
    assert not any(r.refused for r in log if r not in refusals)  # nothing else was ever blocked
    assert all(r.status != 503 for r in log)
