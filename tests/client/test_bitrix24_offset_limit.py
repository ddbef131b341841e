"""An offset read (addresses: no ID to walk) that meets the operating-time limit waits and resumes.

Every page of an offset read counts ``total``, so on a big portal ``crm.address.list`` can spend
the method's 480 s of operating time within one export (``bench/perf.py`` met it at 100,000
parties). The portal then refuses the rest of the batch with 429 ``OPERATION_TIME_LIMIT``; the
export must pause that method until its reset and read the refused pages again, as the keyset
path does, not fail the run. The clock is fake and shared with the emulator, so the ten-minute
window costs no real waiting.
"""

from __future__ import annotations

from b24sync.http.ratelimit import LeakyBucket, MethodGate
from b24sync.sandbox.bitrix24 import Limits, Portal
from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from tests.conftest import FakeClock, fast_retry

METHOD = "crm.address.list"


def test_an_offset_read_blocked_by_the_operating_limit_resumes_and_reads_every_row(start_emulator):
    entities, types = 600, (1, 6)  # 1,200 addresses: 24 pages, one direct call and one batch of 23
    clock = FakeClock()
    limits = Limits(bucket_size=50, drain_per_second=2.0, operating_limit=10.0,
                    simulated_duration={METHOD: 1.0})  # 10 pages per ten-minute window
    seed = PortalSeed(
        companies=[{"TITLE": f"ООО «Фирма {i}»"} for i in range(1, entities + 1)],
        requisites=[{"ENTITY_TYPE_ID": 4, "ENTITY_ID": i, "PRESET_ID": 1, "NAME": "Организация",
                     "RQ_INN": "7707083893"} for i in range(1, entities + 1)],
        addresses=[{"TYPE_ID": t, "ENTITY_TYPE_ID": 8, "ENTITY_ID": i, "ADDRESS_1": f"ул. Мира, д. {i}",
                    "CITY": "Казань"} for i in range(1, entities + 1) for t in types],
    )
    emu = start_emulator(portal=Portal(seed, clock=clock.time), limits=limits, clock=clock.time)
    client = Bitrix24Client(emu.webhook_url, bucket=LeakyBucket(2.0, 50, clock=clock.time, sleep=clock.sleep),
                            gate=MethodGate(clock=clock.time, sleep=clock.sleep), retry=fast_retry(clock),
                            clock=clock.time)

    rows = export_all(client, "address", select=["TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ADDRESS_1"],
                      filters={"ENTITY_TYPE_ID": 8})

    keys = [(r["ENTITY_ID"], r["TYPE_ID"]) for r in rows]
    assert len(keys) == len(set(keys)) == entities * len(types)
    log = emu.request_log.snapshot()
    refusals = [r for r in log if METHOD in r.refused]
    assert len(refusals) >= 2  # the 24 pages needed three windows
    for refusal in refusals:  # the method was called again only after a pause, never straight away
        following = next((r for r in log if r.ts > refusal.ts and METHOD in r.commands), None)
        assert following is None or following.ts - refusal.ts >= 60
    assert all(r.status != 503 for r in log)
