"""Full and incremental reads at the floor cost, with types normalized at the edge."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sources.bitrix24.read import export_all, export_frame, modified_since
from b24sync.sources.bitrix24.write import WriteOp, find_by_origin, write_batch
from tests.conftest import contacts_seed, make_client


def test_full_export_reads_every_record_once_at_the_floor(start_emulator):
    n = 5_123
    emu = start_emulator(contacts_seed(n))
    client = make_client(emu)
    emu.request_log.clear()
    rows = export_all(client, "contact", select=["ID", "NAME", "LAST_NAME", "PHONE", "EMAIL", "DATE_MODIFY"])
    assert sorted(r["ID"] for r in rows) == list(range(1, n + 1))
    requests_made = len(emu.request_log.snapshot())
    assert requests_made <= math.ceil(n / 2500) + 1
    assert all(r.status == 200 for r in emu.request_log.snapshot())
    first = rows[0]
    assert isinstance(first["ID"], int)
    assert first["DATE_MODIFY"].tzinfo is not None
    assert first["PHONE"][0]["VALUE"].startswith("+7 (495)") and isinstance(first["PHONE"][0]["ID"], int)
    assert "@" in first["EMAIL"][0]["VALUE"]


def test_exact_multiple_of_a_batch_costs_at_most_one_more_request(start_emulator):
    emu = start_emulator(contacts_seed(2_500, phones=False))
    client = make_client(emu)
    emu.request_log.clear()
    assert len(export_all(client, "contact", select=["ID"])) == 2_500
    assert len(emu.request_log.snapshot()) <= 2


def test_multifields_only_when_asked_and_missing_ones_are_empty(start_emulator):
    seed = contacts_seed(3)
    seed.contacts[1].pop("PHONE")
    emu = start_emulator(seed)
    client = make_client(emu)
    plain = export_all(client, "contact", select=["ID", "NAME"])
    assert all("PHONE" not in r for r in plain)
    rich = {r["ID"]: r for r in export_all(client, "contact", select=["ID", "PHONE"])}
    assert rich[2]["PHONE"] == [] and len(rich[1]["PHONE"]) == 1


def test_filters_apply_and_empty_results_cost_one_request(start_emulator):
    emu = start_emulator(contacts_seed(120, phones=False))
    client = make_client(emu)
    emu.request_log.clear()
    assert export_all(client, "contact", select=["ID"], filters={"NAME": "Нет такого"}) == []
    assert len(emu.request_log.snapshot()) == 1
    annas = export_all(client, "contact", select=["ID", "NAME"], filters={"NAME": "Анна"})
    assert annas and all(r["NAME"] == "Анна" for r in annas)


def test_types_of_deals_companies_and_users(start_emulator):
    seed = PortalSeed(
        companies=[{"TITLE": "ООО «Ромашка»", "REVENUE": "1500000.50", "OPENED": "N"}],
        deals=[{"TITLE": "Поставка", "COMPANY_ID": 1, "OPPORTUNITY": "1234.56", "CURRENCY_ID": "RUB"}],
    )
    emu = start_emulator(seed)
    client = make_client(emu)
    (deal,) = export_all(client, "deal", select=["ID", "TITLE", "OPPORTUNITY", "COMPANY_ID", "CLOSED",
                                                 "CATEGORY_ID", "BEGINDATE"])
    assert deal["OPPORTUNITY"] == Decimal("1234.56") and deal["COMPANY_ID"] == 1
    assert deal["CLOSED"] is False and deal["CATEGORY_ID"] == 0
    (company,) = export_all(client, "company", select=["ID", "TITLE", "OPENED"])
    assert company["OPENED"] is False and company["TITLE"] == "ООО «Ромашка»"
    users = export_all(client, "user")
    assert len(users) >= 5 and all(isinstance(u["ID"], int) and isinstance(u["ACTIVE"], bool) for u in users)
    frame = export_frame(client, "deal", select=["ID", "OPPORTUNITY"])
    assert list(frame.columns) == ["ID", "OPPORTUNITY"] and frame.loc[0, "OPPORTUNITY"] == Decimal("1234.56")


def test_smart_invoices_through_crm_item(start_emulator):
    emu = start_emulator(PortalSeed(companies=[{"TITLE": "АО «Вектор»"}]))
    client = make_client(emu)
    created = [client.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": f"Счёт №{i}", "companyId": 1,
                                                                             "opportunity": 100.5 + i}})
               for i in range(60)]
    assert all(c["item"]["id"] for c in created)
    rows = export_all(client, "smart_invoice", select=["id", "title", "opportunity", "updatedTime"])
    assert len(rows) == 60 and rows[0]["opportunity"] == Decimal("100.5")
    assert rows[0]["updatedTime"].tzinfo is not None


def test_addresses_are_read_by_offset_in_a_stable_order(start_emulator):
    seed = PortalSeed(
        companies=[{"TITLE": f"ООО «Фирма {i}»"} for i in range(1, 61)],
        requisites=[{"ENTITY_TYPE_ID": 4, "ENTITY_ID": i, "PRESET_ID": 1, "NAME": "Организация",
                     "RQ_INN": "7707083893"} for i in range(1, 61)],
        addresses=[{"TYPE_ID": t, "ENTITY_TYPE_ID": 8, "ENTITY_ID": i, "ADDRESS_1": f"ул. Ленина, д. {i}",
                    "CITY": "Москва"} for i in range(1, 61) for t in (1, 6)],
    )
    emu = start_emulator(seed)
    client = make_client(emu)
    rows = export_all(client, "address", select=["TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ADDRESS_1"])
    keys = [(r["ENTITY_ID"], r["TYPE_ID"]) for r in rows]
    assert len(keys) == 120 and len(set(keys)) == 120


def test_incremental_read_uses_the_overlap_and_deduplicates(start_emulator):
    emu = start_emulator(contacts_seed(30, phones=False))
    client = make_client(emu)
    everything = export_all(client, "contact", select=["ID", "DATE_MODIFY"])
    watermark = max(r["DATE_MODIFY"] for r in everything) + timedelta(seconds=10)
    assert modified_since(client, "contact", watermark, overlap=timedelta(0), select=["ID"]) == []
    client.call("crm.contact.update", {"id": 7, "fields": {"NAME": "Изменённый"}})
    changed = modified_since(client, "contact", watermark, overlap=timedelta(seconds=5), select=["ID", "NAME"])
    assert [r["ID"] for r in changed] == [7] and changed[0]["NAME"] == "Изменённый"
    # an overlap reaching back before the last seeded change re-reads it too, each record once
    newest = max(everything, key=lambda r: r["DATE_MODIFY"])
    wider = modified_since(client, "contact", watermark, overlap=timedelta(seconds=11), select=["ID"])
    assert sorted(r["ID"] for r in wider) == sorted({7, newest["ID"]})
    wide = modified_since(client, "contact", datetime.now().astimezone() + timedelta(days=1),
                          overlap=timedelta(days=3650), select=["ID"])
    assert sorted(r["ID"] for r in wide) == list(range(1, 31))


def test_batch_writes_report_each_failure_with_its_record(start_emulator):
    emu = start_emulator()
    client = make_client(emu)
    ops = [WriteOp(f"1С контрагент {i}", "crm.contact.add",
                   {"fields": {"NAME": f"Имя {i}", "ORIGINATOR_ID": "b24sync", "ORIGIN_ID": f"ref-{i}",
                               "EMAIL": [{"VALUE": "не-почта" if i == 57 else f"u{i}@example.ru",
                                          "VALUE_TYPE": "WORK"}]}})
           for i in range(120)]
    emu.request_log.clear()
    outcomes = write_batch(client, ops)
    assert len(emu.request_log.snapshot()) == 3
    failed = [o for o in outcomes if not o.ok]
    assert [o.op.key for o in failed] == ["1С контрагент 57"]
    assert "1С контрагент 57" in str(failed[0].error) and "crm.contact.add" in str(failed[0].error)
    assert all(isinstance(o.result, int) for o in outcomes if o.ok)
    found = find_by_origin(client, "contact", "b24sync", [f"ref-{i}" for i in range(120)])
    assert len(found) == 119 and "ref-57" not in found
