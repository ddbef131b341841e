"""Time handling (R22): the Bitrix24 watermark across summer time, a skewed portal clock, edits made
around the watermark and during a read; 1C's zone-less dates.

The portal runs on a clock of its own (:class:`PortalClock`), set by each test: ``DATE_MODIFY``,
``server.time`` and the envelopes' ``time`` all come from it, rendered in the portal's zone with
the offset of the moment (Europe/Berlin: ``+02:00`` in summer, ``+01:00`` in winter). b24sync's
own clock is never consulted for the watermark. Each scenario ends the same way: the incremental
runs made exactly the writes a ``--full`` plan showed for the same edits (none missed, none made
twice), a further run writes nothing, and a ``--full`` plan afterwards is empty. That the
normalized frames never mix naive and aware times is in ``tests/unit/test_time_values.py``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from b24sync.config import load_config
from b24sync.doctor import FAIL, run_doctor
from b24sync.pipeline import WATERMARK
from b24sync.recon.plan import Operation
from b24sync.reconcile import RunResult, run_reconcile
from b24sync.sandbox.bitrix24 import Limits, Portal
from b24sync.sandbox.bitrix24.api import MOSCOW, CallContext, MethodResult
from b24sync.sandbox.bitrix24.methods.reference import CUSTOM_STAGE_ID
from b24sync.sandbox.run import Sandbox, start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all, modified_since
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State
from tests.conftest import FakeClock, contacts_seed, make_client

BERLIN = ZoneInfo("Europe/Berlin")
OVERLAP = timedelta(seconds=300)  # [bitrix24] incremental_overlap_seconds, the default
INVOICES = "Document_СчетНаОплатуКлиенту"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class PortalClock:
    """The portal's (and the 1C server's) own clock: set and moved by the test, never by ours."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


def signature(op: Operation) -> tuple[str, ...]:
    """What a write does, whichever run planned it (op ids and ``before`` values aside)."""
    after = {name: change.get("after") for name, change in op.fields.items()}
    return (op.action, op.target, op.entity, str(op.key.get("b24_key")), str(op.key.get("onec_key")),
            json.dumps(after, sort_keys=True, ensure_ascii=False, default=str))


@dataclass
class Run:
    result: RunResult
    writes: int  # write commands the portal executed plus non-GET requests 1C answered

    @property
    def incremental(self) -> bool:
        return self.result.prepared is not None and not self.result.prepared.full

    @property
    def ops(self) -> list[tuple[str, ...]]:
        return sorted(signature(op) for op in self.result.report.done)

    @property
    def records(self) -> set[str]:
        return {str(op.key.get("b24_key")) for op in self.result.report.done}


@dataclass
class World:
    sandbox: Sandbox
    config: Any
    clock: PortalClock
    b24: Bitrix24Client  # a manager at the portal
    onec: OneCClient  # an accountant at 1C

    def writes(self) -> int:
        onec = sum(1 for r in self.sandbox.onec.request_log.snapshot() if r.method != "GET")
        return len(self.sandbox.bitrix24.request_log.writes) + onec

    def run(self) -> Run:
        before = self.writes()
        result = run_reconcile(self.config)
        assert result.report is not None and result.report.ok, result.report
        return Run(result, self.writes() - before)

    def full_plan(self) -> list[tuple[str, ...]]:
        """The writes one ``--full`` run would make now (planned only: nothing is written)."""
        before = self.writes()
        plan = run_reconcile(self.config, dry_run=True, full=True).plan
        assert self.writes() == before
        return sorted(signature(op) for op in plan.operations)

    def watermark(self) -> str:
        return str(State(self.config.state_path).watermark(WATERMARK))

    def converged(self, runs: list[Run], ops: int, writes: int | None = None) -> None:
        """The ``runs`` made ``ops`` operations in ``writes`` requests (one each unless said), a
        further run writes nothing and a full run would write nothing either."""
        quiet = self.run()
        assert quiet.incremental and quiet.writes == 0 and quiet.ops == []
        assert sum(len(r.ops) for r in runs) == ops
        assert sum(r.writes for r in runs) == (ops if writes is None else writes)
        assert self.full_plan() == []

    # -- what people do in the two systems --

    def linked(self, entity: str) -> list[int]:
        """Linked records with a phone whose 1C counterparty has a partner of its own (1C keeps the
        manager on the partner: records sharing one are held back from manager writes as a group)."""
        rows = [r for page in self.onec.iterate("Catalog_Контрагенты", select=["Ref_Key", "Партнер_Key"])
                for r in page]
        partners = Counter(r["Партнер_Key"] for r in rows)
        alone = {r["Ref_Key"] for r in rows if partners[r["Партнер_Key"]] == 1}
        records = export_all(self.b24, entity, select=["ID", "PHONE", "UF_CRM_1C_ID"])
        return [int(r["ID"]) for r in records if r["UF_CRM_1C_ID"] in alone and r["PHONE"]]

    def set_phone(self, entity: str, record: int, value: str, *, stamped: datetime | None = None) -> None:
        """A manager edits the first phone; ``stamped``: the change carries that ``DATE_MODIFY``
        (a long transaction that commits late, an import keeping its dates: ``IMPORT=Y``)."""
        phone = self.b24.call(f"crm.{entity}.get", {"id": record})["PHONE"][0]
        fields: dict[str, Any] = {"PHONE": [{"ID": phone["ID"], "VALUE": value}]}
        params: dict[str, Any] = {"id": record, "fields": fields}
        if stamped is not None:
            fields["DATE_MODIFY"] = stamped.isoformat()
            params["params"] = {"IMPORT": "Y"}
        self.b24.call(f"crm.{entity}.update", params)

    def date_modify(self, entity: str, record: int) -> str:
        """``DATE_MODIFY`` exactly as the portal renders it."""
        return self.b24.call_envelope(f"crm.{entity}.get", {"id": record}).result["DATE_MODIFY"]

    def during_first(self, method: str, action: Callable[[Callable[..., Any]], None]) -> None:
        """Run ``action`` inside the portal the first time ``method`` is served, before it reads:
        ``action(call)`` gets ``call(method, params)`` executing portal methods right there."""
        registry = self.sandbox.portal.registry
        original = registry.methods[method]
        fired = []

        def wrapped(params: dict[str, Any], ctx: CallContext) -> MethodResult:
            if not fired:
                fired.append(True)
                action(lambda name, p: registry.methods[name](p, ctx).result)
            return original(params, ctx)

        registry.methods[method] = wrapped


@contextmanager
def portal_world(tmp_path, start: datetime, *, tz=BERLIN, onec_tz=None, documents: bool = False,
                 size: int = 10) -> Iterator[World]:
    """A seeded portal in ``tz`` and a 1C base, both on one clock starting at ``start``; the first
    sync is done and a run has found nothing left to write (the next one is incremental).
    Counterparties only, unless ``documents`` (then deals → orders and 1C invoices as well)."""
    clock = PortalClock(start)
    with start_sandbox(size=size, seed=7, limits=False, tz=tz, clock=clock, onec_tz=onec_tz,
                       onec_clock=clock) as sandbox:
        path = sandbox.write_config(tmp_path / "b24sync.toml")
        text = path.read_text(encoding="utf-8")  # the emulator has no limits: do not pace the client either
        text = text.replace("requests_per_second = 2.0", "requests_per_second = 1000.0").replace("burst = 50",
                                                                                              "burst = 1000")
        off = ("leads", "statuses") if documents else ("leads", "statuses", "invoices")
        if not documents:
            text = text.replace("[deals]\n", "[deals]\nenabled = false\n")
        path.write_text(text + "".join(f"\n[{flow}]\nenabled = false\n" for flow in off), encoding="utf-8")
        config = load_config(path)
        assert not [check for check in run_doctor(config, fix=True) if check.status == FAIL]
        world = World(sandbox, config, clock, Bitrix24Client(sandbox.bitrix24.webhook_url, rate=1000, burst=1000),
                      OneCClient(sandbox.onec.odata_url, sandbox.onec.user, sandbox.onec.password,
                                 server_tz=config.onec.tzinfo()))
        for _ in range(3):  # the first sync, then full runs until nothing is left to write
            if world.run().writes == 0:
                break
        else:
            raise AssertionError("the first runs did not settle")
        yield world


# --- (a) the portal's zone switches to and from summer time -------------------------------------------


def test_the_repeated_hour_when_clocks_go_back(tmp_path):
    """Berlin, 2027-10-31: 03:00 CEST becomes 02:00 CET, so 02:00–03:00 happens twice. A change at
    02:10+01:00 is fifty minutes *later* than the watermark 02:40+02:00 though its wall clock is earlier."""
    with portal_world(tmp_path, utc(2027, 10, 31, 0, 30)) as w:  # 02:30+02:00
        a, b = w.linked("company")[:2]
        c = w.linked("contact")[0]
        w.clock.set(utc(2027, 10, 31, 0, 40))  # 02:40:00+02:00, the first time round
        w.set_phone("company", a, "+7 (495) 700-10-01")
        assert w.date_modify("company", a) == "2027-10-31T02:40:00+02:00"
        expected = w.full_plan()
        first = w.run()
        assert first.incremental and first.ops == expected and len(expected) == 1
        assert w.watermark() == "2027-10-31T02:40:00+02:00"  # the portal's clock, with its offset

        w.set_phone("company", b, "+7 (495) 700-10-02")  # the watermark's own second, after that run's read
        w.clock.set(utc(2027, 10, 31, 1, 10))  # 02:10:00+01:00, the second time round
        w.set_phone("contact", c, "+7 (495) 700-10-03")
        ref = State(w.config.state_path).db.execute(
            "select onec_key from links where b24_key = ?", [f"company:{a}"]).fetchone()[0].split(":", 1)[1]
        w.onec.update("Catalog_Контрагенты", ref, {"НаименованиеПолное": "ООО «Часовой пояс»"})  # 1C's side
        assert w.date_modify("company", b) == "2027-10-31T02:40:00+02:00"
        assert w.date_modify("contact", c) == "2027-10-31T02:10:00+01:00"
        expected = w.full_plan()
        second = w.run()
        assert second.incremental and second.ops == expected and len(expected) == 3
        assert second.records == {f"company:{a}", f"company:{b}", f"contact:{c}"}
        assert w.watermark() == "2027-10-31T02:10:00+01:00"
        w.converged([first, second], 4)


def test_the_skipped_hour_when_clocks_go_forward(tmp_path):
    """Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST. The watermark minus the overlap falls
    into the hour the portal's wall clock never shows; with its offset it is an exact moment."""
    with portal_world(tmp_path, utc(2027, 3, 28, 0, 30)) as w:  # 01:30+01:00
        a, b, c = w.linked("company")[:3]
        d = w.linked("contact")[0]
        w.clock.set(utc(2027, 3, 28, 0, 59, 59))  # 01:59:59+01:00, the last second before the switch
        w.set_phone("company", a, "+7 (495) 700-20-01")
        expected = w.full_plan()
        first = w.run()
        assert first.incremental and first.ops == expected and len(expected) == 1
        assert w.watermark() == "2027-03-28T01:59:59+01:00"

        w.clock.advance(1)  # 03:00:00+02:00, one second later
        w.set_phone("company", b, "+7 (495) 700-20-02")
        assert w.date_modify("company", b) == "2027-03-28T03:00:00+02:00"
        w.clock.set(utc(2027, 3, 28, 1, 3))  # 03:03+02:00
        w.set_phone("company", c, "+7 (495) 700-20-03")
        expected = w.full_plan()
        second = w.run()
        assert second.incremental and second.ops == expected and len(expected) == 2
        assert w.watermark() == "2027-03-28T03:03:00+02:00"  # reads next from 02:58+02:00 = 01:58+01:00

        w.clock.advance(60)
        w.set_phone("contact", d, "+7 (495) 700-20-04")
        expected = w.full_plan()
        third = w.run()
        assert third.incremental and third.ops == expected and len(expected) == 1
        w.converged([first, second, third], 4)


def test_a_zone_aware_watermark_is_moved_back_by_real_time(start_emulator):
    """``modified_since`` subtracts the overlap from the moment, not from the wall clock: a Berlin
    watermark of 03:02+02:00 on the spring switch day reads from 01:57+01:00, five minutes before
    (wall-clock arithmetic gives 02:57, an hour Berlin skips, taken as 02:57+01:00: an hour late)."""
    clock = FakeClock(utc(2027, 3, 28, 0, 50).timestamp())
    portal = Portal(tz=BERLIN, clock=clock.time)
    emu = start_emulator(portal=portal, clock=clock.time, tz=BERLIN, limits=None)
    client = make_client(emu)
    made = {}
    for minute in (55, 58, 62):  # 01:55+01:00, 01:58+01:00, 03:02+02:00
        clock.now = (utc(2027, 3, 28, 0, 0) + timedelta(minutes=minute)).timestamp()
        made[minute] = client.call("crm.contact.add", {"fields": {"NAME": f"Контакт {minute}"}})
    watermark = datetime(2027, 3, 28, 3, 2, tzinfo=BERLIN)
    found = modified_since(client, "contact", watermark, overlap=timedelta(minutes=5), select=["ID"])
    assert sorted(int(r["ID"]) for r in found) == [made[58], made[62]]


# --- edits during a read, at the watermark and at the overlap boundary ---------------------------------


def test_edits_during_a_read_and_at_the_overlap_boundary(tmp_path):
    """A read that begins at 02:59:30+02:00 and, slowed down (a big portal, a method paused by
    the operating-time limit), reads contacts only after the clocks went back. A company edited
    after the companies were read is stamped earlier than a contact edited later and read: the
    watermark must be where the read began, not the newest ``DATE_MODIFY`` it saw."""
    with portal_world(tmp_path, utc(2027, 10, 31, 0, 50)) as w:
        d, f = w.linked("company")[:2]
        e = w.linked("contact")[0]

        def meanwhile(call: Callable[..., Any]) -> None:  # the companies have been read already
            w.clock.advance(10)  # 02:59:40+02:00
            phone = call("crm.company.get", {"id": d})["PHONE"][0]
            call("crm.company.update", {"id": d, "fields": {"PHONE": [{"ID": phone["ID"],
                                                                       "VALUE": "+7 (495) 700-30-01"}]}})
            w.clock.advance(OVERLAP.total_seconds() + 30)  # 02:05:10+01:00
            phone = call("crm.contact.get", {"id": e})["PHONE"][0]
            call("crm.contact.update", {"id": e, "fields": {"PHONE": [{"ID": phone["ID"],
                                                                       "VALUE": "+7 (495) 700-30-02"}]}})

        w.clock.set(utc(2027, 10, 31, 0, 59, 30))
        w.during_first("crm.contact.list", meanwhile)
        first = w.run()
        assert first.incremental and first.records == {f"contact:{e}"}  # the company changed after it was read
        assert w.date_modify("company", d) == "2027-10-31T02:59:40+02:00"
        assert w.date_modify("contact", e) == "2027-10-31T02:05:10+01:00"
        assert w.watermark() == "2027-10-31T02:59:30+02:00"  # when the read began
        expected = w.full_plan()
        second = w.run()
        assert second.incremental and second.ops == expected and second.records == {f"company:{d}"}

        # a change stamped exactly watermark − overlap that became visible only after the last read
        # (a transaction that committed late): `>=` takes the boundary second in
        mark = datetime.fromisoformat(w.watermark())
        w.set_phone("company", f, "+7 (495) 700-30-03", stamped=mark - OVERLAP)
        expected = w.full_plan()
        third = w.run()
        assert third.incremental and third.ops == expected and third.records == {f"company:{f}"}
        w.converged([first, second, third], 3)


# --- (b) the portal's clock is not ours -----------------------------------------------------------------


@pytest.mark.parametrize("skew", [-600, 600], ids=["portal-10-min-behind", "portal-10-min-ahead"])
def test_a_portal_clock_skewed_from_ours(tmp_path, skew):
    """The watermark is the portal's time, not this machine's: 10 minutes apart, twice the overlap.
    A watermark from our clock would, with the portal behind, skip its next five minutes of edits."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=skew)
    with portal_world(tmp_path, start, tz=MOSCOW) as w:
        a, b = w.linked("company")[:2]
        w.clock.advance(60)
        w.set_phone("company", a, "+7 (495) 700-40-01")
        expected = w.full_plan()
        first = w.run()
        assert first.incremental and first.ops == expected and len(expected) == 1
        mark = datetime.fromisoformat(w.watermark())
        assert mark == w.clock.moment and mark.utcoffset() == timedelta(hours=3)  # the portal's clock, not ours

        w.clock.advance(60)
        w.set_phone("company", b, "+7 (495) 700-40-02")
        expected = w.full_plan()
        second = w.run()
        assert second.incremental and second.ops == expected and len(expected) == 1
        w.converged([first, second], 2)


def test_a_record_stamped_ahead_of_the_portal_clock_does_not_carry_the_watermark(tmp_path):
    """A change stamped an hour ahead (by a node whose clock ran fast, or an import that kept its
    dates) is read, but the watermark stays on the portal's clock: the next edits are not hidden."""
    with portal_world(tmp_path, utc(2027, 6, 1, 9, 0)) as w:
        a, b = w.linked("company")[:2]
        w.set_phone("company", a, "+7 (495) 700-50-01", stamped=w.clock.moment + timedelta(hours=1))
        first = w.run()
        assert first.incremental and first.records == {f"company:{a}"}
        assert w.watermark() == "2027-06-01T11:00:00+02:00"  # now, not 12:00 from the record
        w.clock.advance(120)
        w.set_phone("company", b, "+7 (495) 700-50-02")
        expected = w.full_plan()
        second = w.run()
        assert second.incremental and second.ops == expected and second.records == {f"company:{b}"}
        w.converged([first, second], 2)


@pytest.mark.parametrize("skew", [-3600, 3600])
def test_the_operating_time_pause_is_measured_on_the_portal_clock(start_emulator, skew):
    """``operating_reset_at`` is a moment on the portal's clock: an hour of skew must not make a
    paused method wait an hour longer, nor retry at once into the same limit."""
    clock = FakeClock()
    limits = Limits(operating_limit=10.0, simulated_duration={"crm.contact.list": 4.0})
    emu = start_emulator(contacts_seed(5), limits=limits, clock=lambda: clock.time() + skew)
    client = make_client(emu, clock=clock)
    start = clock.time()
    for _ in range(6):
        client.call("crm.contact.list", {"select": ["ID"]})
        client.call("crm.company.list", {"select": ["ID"]})
    blocked = [r for r in emu.request_log.snapshot() if r.status == 429]
    assert blocked and all(r.api_method == "crm.contact.list" for r in blocked)
    assert 60 <= clock.time() - start <= 660  # waited for the reset (≤ 10 one-minute buckets), no longer
    assert len(blocked) <= 3


# --- (c) 1C's dates carry no zone ------------------------------------------------------------------------


def test_1c_dates_are_the_bases_wall_clock_whatever_our_zone(tmp_path, monkeypatch):
    """1C writes its wall clock without a zone; the base here is in Berlin, this machine in New York.
    On the night clocks go back, a deal changed at 02:10+01:00 (after the deals watermark 02:30+02:00,
    though earlier on the wall clock) updates its order once; an invoice dated in the repeated hour
    and one dated just past midnight (the day before in UTC) get the base's own dates in their titles,
    once: later runs rewrite nothing."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        with portal_world(tmp_path, utc(2027, 10, 31, 0, 30), onec_tz=BERLIN, documents=True) as w:
            assert w.config.onec.timezone == "Europe/Berlin"
            company = next(c for c in export_all(w.b24, "company", select=["ID", "UF_CRM_1C_ID"])
                           if c["UF_CRM_1C_ID"])
            deal = int(w.b24.call("crm.deal.add", {"fields": {
                "TITLE": "Поставка", "COMPANY_ID": company["ID"], "STAGE_ID": "NEW", "CURRENCY_ID": "RUB",
                "ASSIGNED_BY_ID": 2}}))
            w.b24.call("crm.deal.productrows.set", {"id": deal, "rows": [{"PRODUCT_ID": 1, "PRICE": 52990,
                                                                             "QUANTITY": 2}]})
            w.b24.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": CUSTOM_STAGE_ID}})
            ordered = w.run()
            assert [op[2] for op in ordered.ops] == ["order"]
            assert State(w.config.state_path).watermark("bitrix24.deals") == "2027-10-31T02:30:00+02:00"
            order_ref = w.b24.call("crm.deal.get", {"id": deal})["UF_CRM_1C_ORDER_ID"]

            w.clock.set(utc(2027, 10, 31, 1, 10))  # 02:10+01:00
            w.b24.call("crm.deal.productrows.set", {"id": deal, "rows": [{"PRODUCT_ID": 1, "PRICE": 52990,
                                                                             "QUANTITY": 3}]})
            assert w.date_modify("deal", deal) == "2027-10-31T02:10:00+01:00"
            order = w.onec.get("Document_ЗаказКлиента", order_ref)
            issued = {}
            for stamp in ("2027-10-31T02:30:00", "2027-11-01T00:30:00"):  # the repeated hour; past midnight
                invoice = w.onec.create(INVOICES, {
                    "Date": datetime.fromisoformat(stamp), "Организация_Key": order["Организация_Key"],
                    "Контрагент_Key": order["Контрагент_Key"], "Партнер_Key": order["Партнер_Key"],
                    "Валюта_Key": order["Валюта_Key"], "СуммаДокумента": Decimal("1000.00"),
                    "ДокументОснование": order_ref,
                    "ДокументОснование_Type": "StandardODATA.Document_ЗаказКлиента"})
                w.onec.post(INVOICES, invoice["Ref_Key"])
                assert w.sandbox.store.get(INVOICES, invoice["Ref_Key"])["Date"] == stamp  # no zone, as 1C keeps it
                read = w.onec.get(INVOICES, invoice["Ref_Key"])["Date"]
                assert read.tzinfo is not None and read.replace(tzinfo=None) == datetime.fromisoformat(stamp)
                issued[invoice["Ref_Key"]] = invoice["Number"]
            expected = w.full_plan()
            made = w.run()
            assert made.incremental and made.ops == expected
            assert sorted(op[2] for op in expected) == ["order", "smart_invoice", "smart_invoice"]
            items = w.b24.call("crm.item.list", {"entityTypeId": 31, "filter": {"parentId2": deal}})["items"]
            dates = dict(zip(issued, ("31.10.2027", "01.11.2027"), strict=True))
            assert {item["xmlId"]: item["title"] for item in items} == {
                ref: f"Счёт {number} от {dates[ref]}" for ref, number in issued.items()}
            assert w.onec.get("Document_ЗаказКлиента", order_ref)["Товары"][0]["Количество"] == 3
            w.converged([made], 3, made.writes)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_shared_partner_is_planned_alike_in_both_modes(tmp_path):
    """1C keeps the manager on the partner branches share: an incremental run that read one branch must not
    write its manager over the others' (a full run holds it back as ``shared_partner``); it plans in full."""
    with portal_world(tmp_path, utc(2027, 6, 1, 9, 0), size=16) as w:
        rows = [r for page in w.onec.iterate("Catalog_Контрагенты", select=["Ref_Key", "Партнер_Key"]) for r in page]
        partner = {r["Ref_Key"]: r["Партнер_Key"] for r in rows}
        companies = [c for c in export_all(w.b24, "company", select=["ID", "UF_CRM_1C_ID", "ASSIGNED_BY_ID", "PHONE"])
                     if c["UF_CRM_1C_ID"] in partner and c["PHONE"]]
        group = next(g for g in ([o for o in companies if partner[o["UF_CRM_1C_ID"]] == partner[c["UF_CRM_1C_ID"]]]
                                 for c in companies) if len({o["ASSIGNED_BY_ID"] for o in g}) > 1)
        differ = []
        for n, company in enumerate(group, start=1):
            w.clock.advance(3600)
            w.run()  # moves the watermark past every earlier write
            w.set_phone("company", company["ID"], f"+7 (495) 700-60-0{n}")
            expected = w.full_plan()
            run = w.run()
            differ += [(company["ID"], run.ops, expected)] if run.ops != expected else []
        assert differ == []
