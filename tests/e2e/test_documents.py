"""Deals → customer orders and leads → interests, end to end through the CLI over loopback.

Each test drives the portal the way a sales manager would (product rows, stage moves, lead
statuses through the REST API) and looks at the result the way a 1C user would (OData).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from b24sync.cli import app
from b24sync.sandbox.bitrix24.methods.reference import CUSTOM_STAGE_ID
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State
from tests.e2e.conftest import sandbox_world

ORDERS = "Document_ЗаказКлиента"
INTERESTS = "Document_CRM_Интерес"
WIDE = {"COLUMNS": "250"}
runner = CliRunner()


@pytest.fixture
def world(tmp_path):
    with sandbox_world(tmp_path, seed=5) as world:
        cfg_path = world[1]
        assert cli(cfg_path, "doctor", "--fix").exit_code == 0
        assert cli(cfg_path, "reconcile", "--only", "companies,contacts").exit_code == 0
        yield world


def cli(cfg_path, *args: str):
    return runner.invoke(app, ["--config", str(cfg_path), *args], env=WIDE)


def plan_of(cfg_path, *extra: str) -> dict:
    result = cli(cfg_path, "reconcile", "--dry-run", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ops_for(plan: dict, key: str) -> list[dict]:
    return [op for op in plan["operations"] if op["key"].get("b24_key") == key]


def linked_company(b24: Bitrix24Client, skip: int = 0) -> dict:
    """A company already linked to a 1C counterparty (by the counterparty run of the fixture)."""
    companies = [c for c in export_all(b24, "company", select=["ID", "UF_CRM_1C_ID", "ASSIGNED_BY_ID"])
                 if c["UF_CRM_1C_ID"]]
    return companies[skip]


def new_deal(b24: Bitrix24Client, company: dict, rows: list[dict], title: str = "Поставка оборудования") -> int:
    deal = b24.call("crm.deal.add", {"fields": {"TITLE": title, "COMPANY_ID": company["ID"], "STAGE_ID": "NEW",
                                                "CURRENCY_ID": "RUB", "ASSIGNED_BY_ID": 2}})
    b24.call("crm.deal.productrows.set", {"id": deal, "rows": rows})
    return int(deal)


def move(b24: Bitrix24Client, deal: int, stage: str) -> None:
    b24.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": stage}})


def orders_of(onec: OneCClient, deal: int) -> list[dict]:
    return [o for o in onec.query(ORDERS) if f"Битрикс24 №{deal}" in (o.get("Комментарий") or "")]


ROWS = [{"PRODUCT_ID": 1, "PRICE": 52990, "QUANTITY": 2},
        {"PRODUCT_ID": 3, "PRICE": 2241, "QUANTITY": 5, "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 10},
        {"PRODUCT_ID": 12, "PRICE": 700, "QUANTITY": 1}]


def test_a_deal_moved_into_the_stage_becomes_exactly_one_order(world):
    sandbox, cfg_path, config, b24, onec = world
    company = linked_company(b24)
    deal = new_deal(b24, company, ROWS)
    assert ops_for(plan_of(cfg_path), f"deal:{deal}") == []  # not at the stage yet
    stage = next(s for s in export_all(b24, "status", filters={"ENTITY_ID": "DEAL_STAGE"})
                 if s["NAME"] == "Договор подписан")
    move(b24, deal, stage["STATUS_ID"])
    sandbox.bitrix24.request_log.clear()
    plan = plan_of(cfg_path, "--only", "deals")
    assert sandbox.bitrix24.request_log.writes == []
    [op] = ops_for(plan, f"deal:{deal}")
    assert op["action"] == "create" and op["entity"] == "order"
    result = cli(cfg_path, "reconcile")
    assert result.exit_code == 0, result.output

    [order] = orders_of(onec, deal)
    record = b24.call("crm.deal.get", {"id": deal})
    assert record["UF_CRM_1C_ORDER_ID"] == order["Ref_Key"]
    assert order["Контрагент_Key"] == company["UF_CRM_1C_ID"] and order["Статус"] == "НеСогласован"
    assert abs(order["СуммаДокумента"] - Decimal(record["OPPORTUNITY"])) <= Decimal("0.01")
    names = {r["Ref_Key"]: r["Description"] for r in onec.query("Catalog_Номенклатура")}
    assert [(names[r["Номенклатура_Key"]], r["Количество"]) for r in order["Товары"]] == [
        ("Ноутбук Irbis 15", 2), ("Клавиатура беспроводная", 5), ("Доставка по Москве", 1)]
    manager = onec.get("Catalog_Пользователи", order["Менеджер_Key"])
    assert manager["Description"] == "Кузнецова Ольга Игоревна"  # user 2 of the portal, matched by e-mail
    assert State(config.state_path).db.execute(
        "select count(*) from links where b24_key = ?", [f"deal:{deal}"]).fetchone()[0] == 1

    assert plan_of(cfg_path)["operations"] == []
    move(b24, deal, "EXECUTING")
    move(b24, deal, CUSTOM_STAGE_ID)
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert len(orders_of(onec, deal)) == 1
    assert plan_of(cfg_path)["operations"] == []


def test_changes_update_an_unapproved_order_and_are_reported_after_approval(world):
    sandbox, cfg_path, config, b24, onec = world
    deal = new_deal(b24, linked_company(b24), ROWS[:1])
    move(b24, deal, CUSTOM_STAGE_ID)
    assert cli(cfg_path, "reconcile").exit_code == 0
    b24.call("crm.deal.productrows.set", {"id": deal, "rows": ROWS})
    [op] = ops_for(plan_of(cfg_path), f"deal:{deal}")
    assert op["action"] == "update" and op["fields"]["order"]["before"]["rows"] == 1
    assert cli(cfg_path, "reconcile").exit_code == 0
    [order] = orders_of(onec, deal)
    assert len(order["Товары"]) == 3
    assert abs(order["СуммаДокумента"] - Decimal(b24.call("crm.deal.get", {"id": deal})["OPPORTUNITY"])) <= Decimal(
        "0.01")
    assert plan_of(cfg_path)["operations"] == []

    onec.update(ORDERS, order["Ref_Key"], {"Статус": "КОбеспечению", "Согласован": True})
    b24.call("crm.deal.productrows.set", {"id": deal, "rows": ROWS[:2]})
    plan = plan_of(cfg_path)
    assert ops_for(plan, f"deal:{deal}") == []
    reasons = {i["reason"] for i in plan["issues"] if i["record_key"] == f"deal:{deal}"}
    assert reasons == {"order_locked", "status_unmapped"}  # and «КОбеспечению» has no stage in the map
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert len(orders_of(onec, deal)[0]["Товары"]) == 3  # what 1C approved is kept


def test_an_unknown_product_blocks_only_its_deal(world):
    sandbox, cfg_path, config, b24, onec = world
    good = new_deal(b24, linked_company(b24), ROWS)
    bad = new_deal(b24, linked_company(b24, 1), [*ROWS, {"PRODUCT_ID": 0, "PRODUCT_NAME": "Пусконаладка на объекте",
                                                         "PRICE": 9000, "QUANTITY": 1}])
    for deal in (good, bad):
        move(b24, deal, CUSTOM_STAGE_ID)
    plan = plan_of(cfg_path)
    assert ops_for(plan, f"deal:{good}") and not ops_for(plan, f"deal:{bad}")
    [issue] = [i for i in plan["issues"] if i["record_key"] == f"deal:{bad}"]
    assert issue["reason"] == "product_not_in_onec" and issue["value"] == "Пусконаладка на объекте"
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert len(orders_of(onec, good)) == 1 and orders_of(onec, bad) == []
    assert not b24.call("crm.deal.get", {"id": bad})["UF_CRM_1C_ORDER_ID"]

    # once 1C has the item (or deals.product_map names it), the deal goes through
    onec.create("Catalog_Номенклатура", {"Description": "Пусконаладка на объекте", "Артикул": "PN-1"})
    assert ops_for(plan_of(cfg_path), f"deal:{bad}")


def test_totals_that_would_differ_in_1c_block_the_deal(world):
    sandbox, cfg_path, config, b24, onec = world
    deal = new_deal(b24, linked_company(b24), ROWS[:1])
    b24.call("crm.deal.update", {"id": deal, "fields": {"IS_MANUAL_OPPORTUNITY": "Y", "OPPORTUNITY": "100000.00",
                                                        "STAGE_ID": CUSTOM_STAGE_ID}})
    plan = plan_of(cfg_path)
    assert not ops_for(plan, f"deal:{deal}")
    assert [i["reason"] for i in plan["issues"] if i["record_key"] == f"deal:{deal}"] == ["amount_mismatch"]


def test_a_kill_during_apply_then_a_rerun_makes_one_order_per_deal(world):
    sandbox, cfg_path, config, b24, onec = world
    deals = [new_deal(b24, linked_company(b24, i), ROWS) for i in range(4)]
    for deal in deals:
        move(b24, deal, CUSTOM_STAGE_ID)
    sandbox.onec.faults.add("slow", entity_set=ORDERS, method="POST", count=100, delay=0.3)
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(cfg_path), "reconcile"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **WIDE})
    deadline = time.monotonic() + 60
    while len([o for d in deals for o in orders_of(onec, d)]) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    sandbox.onec.faults.clear()
    sending = State(config.state_path).db.execute(
        "select count(*) from journal where status = 'sending' and entity = 'order'").fetchone()[0]
    assert sending >= 2  # written to 1C or being written, not yet linked: in doubt
    again = cli(cfg_path, "reconcile")
    assert again.exit_code == 0, again.output
    for deal in deals:
        [order] = orders_of(onec, deal)
        assert b24.call("crm.deal.get", {"id": deal})["UF_CRM_1C_ORDER_ID"] == order["Ref_Key"]
    assert plan_of(cfg_path)["operations"] == []


def test_a_qualified_lead_becomes_exactly_one_interest(world):
    sandbox, cfg_path, config, b24, onec = world
    lead = b24.call("crm.lead.add", {"fields": {
        "TITLE": "Запрос КП на серверы", "NAME": "Ярослава", "LAST_NAME": "Ёлкина", "STATUS_ID": "IN_PROCESS",
        "COMPANY_TITLE": "ООО «Северный ветер»", "SOURCE_ID": "WEB", "ASSIGNED_BY_ID": 3, "OPPORTUNITY": 250000,
        "CURRENCY_ID": "RUB", "PHONE": [{"VALUE": "+7 (912) 345-67-89", "VALUE_TYPE": "WORK"}],
        "EMAIL": [{"VALUE": "yaroslava@severny-veter.ru", "VALUE_TYPE": "WORK"}]}})
    assert ops_for(plan_of(cfg_path), f"lead:{lead}") == []
    b24.call("crm.lead.update", {"id": lead, "fields": {"STATUS_ID": "CONVERTED"}})
    [op] = ops_for(plan_of(cfg_path, "--only", "leads"), f"lead:{lead}")
    assert op["entity"] == "interest"
    assert cli(cfg_path, "reconcile", "--only", "leads").exit_code == 0
    ref = b24.call("crm.lead.get", {"id": lead})["UF_CRM_1C_LEAD_ID"]
    interest = onec.get(INTERESTS, ref)
    assert interest["Содержание"].startswith("Запрос КП на серверы")
    assert "Ёлкина Ярослава" in interest["Содержание"] and "+7 (912) 345-67-89" in interest["Содержание"]
    assert "Веб-сайт" in interest["Содержание"] and interest["ПотенциальнаяСумма"] == 250000
    assert onec.get("Catalog_Пользователи", interest["Ответственный_Key"])["Description"].startswith("Попов")
    b24.call("crm.lead.update", {"id": lead, "fields": {"STATUS_ID": "IN_PROCESS"}})
    b24.call("crm.lead.update", {"id": lead, "fields": {"STATUS_ID": "CONVERTED"}})
    assert cli(cfg_path, "reconcile").exit_code == 0
    made = [i for i in onec.query(INTERESTS) if f"Лид Битрикс24 №{lead}" in i["Содержание"]]
    assert len(made) == 1
    assert plan_of(cfg_path)["operations"] == []


def test_orders_and_interests_through_the_http_service(world):
    sandbox, cfg_path, config, b24, onec = world
    text = cfg_path.read_text(encoding="utf-8") + '\n[onec.write_via]\norder = "http_service"\nlead = "http_service"\n'
    cfg_path.write_text(text, encoding="utf-8")
    deal = new_deal(b24, linked_company(b24), ROWS)
    move(b24, deal, CUSTOM_STAGE_ID)
    lead = b24.call("crm.lead.add", {"fields": {"TITLE": "Заявка с сайта", "NAME": "Олег", "STATUS_ID": "CONVERTED"}})
    before = len(sandbox.onec.request_log)
    result = cli(cfg_path, "reconcile")
    assert result.exit_code == 0, result.output
    puts = {r.path.rsplit("/", 2)[-2] for r in list(sandbox.onec.request_log)[before:] if r.method == "PUT"}
    assert puts == {"orders", "leads"}
    [order] = orders_of(onec, deal)
    assert b24.call("crm.deal.get", {"id": deal})["UF_CRM_1C_ORDER_ID"] == order["Ref_Key"]
    assert onec.get(INTERESTS, b24.call("crm.lead.get", {"id": lead})["UF_CRM_1C_LEAD_ID"]) is not None
    assert plan_of(cfg_path)["operations"] == []


def test_an_unknown_trigger_stage_is_a_config_error(world):
    sandbox, cfg_path, *_ = world
    text = cfg_path.read_text(encoding="utf-8").replace('trigger_stages = ["Договор подписан"]',
                                                        'trigger_stages = ["Договор подписн"]')
    cfg_path.write_text(text, encoding="utf-8")
    result = cli(cfg_path, "reconcile", "--dry-run")
    assert result.exit_code == 78 and "Договор подписн" in result.output and "UC_K7M2QD" in result.output


# --- 1C → Bitrix24: invoices and deal statuses ---------------------------------------------------------

INVOICES = "Document_СчетНаОплатуКлиенту"


def synced_order(cfg_path, b24, onec, rows=ROWS) -> tuple[int, dict]:
    deal = new_deal(b24, linked_company(b24), rows)
    move(b24, deal, CUSTOM_STAGE_ID)
    assert cli(cfg_path, "reconcile").exit_code == 0
    [order] = orders_of(onec, deal)
    return deal, order


def issue_invoice(onec: OneCClient, order: dict, amount=None) -> dict:
    """What an accountant does: an invoice based on the order, written and posted through OData."""
    invoice = onec.create(INVOICES, {
        "Date": order["Date"], "Организация_Key": order["Организация_Key"], "Контрагент_Key": order["Контрагент_Key"],
        "Партнер_Key": order["Партнер_Key"], "Валюта_Key": order["Валюта_Key"],
        "СуммаДокумента": order["СуммаДокумента"] if amount is None else amount,
        "ДокументОснование": order["Ref_Key"], "ДокументОснование_Type": "StandardODATA.Document_ЗаказКлиента"})
    onec.post(INVOICES, invoice["Ref_Key"])
    return invoice


def smart_invoices(b24: Bitrix24Client, deal: int) -> list[dict]:
    return b24.call("crm.item.list", {"entityTypeId": 31, "filter": {"parentId2": deal}})["items"]


def test_an_invoice_issued_in_1c_appears_once_on_the_deal(world):
    sandbox, cfg_path, config, b24, onec = world
    deal, order = synced_order(cfg_path, b24, onec)
    invoice = issue_invoice(onec, order)
    [op] = [o for o in plan_of(cfg_path)["operations"] if o["entity"] == "smart_invoice"]
    assert op["action"] == "create" and op["fields"]["parentId2"]["after"] == deal
    assert cli(cfg_path, "reconcile").exit_code == 0
    [item] = smart_invoices(b24, deal)
    number = invoice["Number"]
    assert item["xmlId"] == invoice["Ref_Key"] and item["title"].startswith(f"Счёт {number} от ")
    assert abs(Decimal(str(item["opportunity"])) - order["СуммаДокумента"]) <= Decimal("0.01")
    assert item["companyId"] == int(b24.call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    assert item["stageId"].endswith(":N")
    rows = b24.call("crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": item["id"]}})
    assert [r["productName"] for r in rows["productRows"]] == [
        "Ноутбук Irbis 15", "Клавиатура беспроводная", "Доставка по Москве"]
    assert plan_of(cfg_path)["operations"] == []
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert len(smart_invoices(b24, deal)) == 1

    onec.unpost(INVOICES, invoice["Ref_Key"])
    onec.update(INVOICES, invoice["Ref_Key"], {"СуммаДокумента": 50000})
    onec.post(INVOICES, invoice["Ref_Key"])
    [op] = plan_of(cfg_path)["operations"]
    assert op["action"] == "update" and op["fields"]["opportunity"]["after"] == 50000
    assert cli(cfg_path, "reconcile").exit_code == 0
    [item] = smart_invoices(b24, deal)
    assert item["opportunity"] == 50000
    rows = b24.call("crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": item["id"]}})
    assert [(r["productName"], r["price"]) for r in rows["productRows"]] == [(f"Оплата по заказу {order['Number']}",
                                                                              50000)]

    onec.update(INVOICES, invoice["Ref_Key"], {"Аннулирован": True})
    assert cli(cfg_path, "reconcile").exit_code == 0
    [item] = smart_invoices(b24, deal)
    assert item["stageId"].endswith(":D")  # the failure stage of the invoice pipeline
    assert plan_of(cfg_path)["operations"] == []


def test_an_invoice_left_in_doubt_is_found_again_not_made_twice(world):
    sandbox, cfg_path, config, b24, onec = world
    deal, order = synced_order(cfg_path, b24, onec)
    issue_invoice(onec, order)
    state = State(config.state_path)
    assert cli(cfg_path, "reconcile").exit_code == 0
    # as if the run died after Bitrix24 made the invoice but before the journal said so
    state.db.execute("delete from links where entity = 'invoice'")
    state.db.execute("update journal set status = 'sending' where entity = 'smart_invoice'")
    state.db.conn.commit()
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert len(smart_invoices(b24, deal)) == 1
    assert state.db.execute("select count(*) from links where entity = 'invoice'").fetchone()[0] == 1


def test_a_1c_status_change_moves_the_deal_exactly_once(world):
    sandbox, cfg_path, config, b24, onec = world
    deal, order = synced_order(cfg_path, b24, onec)
    onec.update(ORDERS, order["Ref_Key"], {"Статус": "КОтгрузке"})
    [op] = [o for o in plan_of(cfg_path)["operations"] if o["entity"] == "deal"]
    assert op["fields"]["STAGE_ID"] == {"before": CUSTOM_STAGE_ID, "after": "FINAL_INVOICE", "reason": "order_status"}
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert b24.call("crm.deal.get", {"id": deal})["STAGE_ID"] == "FINAL_INVOICE"
    assert plan_of(cfg_path)["operations"] == []
    move(b24, deal, "EXECUTING")  # a manager's own move is not fought back
    assert plan_of(cfg_path)["operations"] == []

    onec.update(ORDERS, order["Ref_Key"], {"Статус": "КОбеспечению"})  # not in the sandbox's map
    plan = plan_of(cfg_path)
    assert plan["operations"] == []
    assert [(i["reason"], i["value"]) for i in plan["issues"] if i["record_key"] == f"deal:{deal}"] == [
        ("status_unmapped", "КОбеспечению")]
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert b24.call("crm.deal.get", {"id": deal})["STAGE_ID"] == "EXECUTING"

    onec.update(ORDERS, order["Ref_Key"], {"Статус": "Закрыт"})
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert b24.call("crm.deal.get", {"id": deal})["STAGE_ID"] == "WON"
    assert plan_of(cfg_path)["operations"] == []


def test_a_won_1c_crm_deal_moves_the_bitrix24_deal(world):
    sandbox, cfg_path, config, b24, onec = world
    cfg_path.write_text(cfg_path.read_text(encoding="utf-8") + '"Выиграна" = "WON"\n', encoding="utf-8")
    deal, order = synced_order(cfg_path, b24, onec)
    crm_deal = onec.create("Catalog_СделкиСКлиентами", {"Description": "Поставка ноутбуков", "Статус": "ВРаботе",
                                                         "Партнер_Key": order["Партнер_Key"]})
    onec.update(ORDERS, order["Ref_Key"], {"Сделка_Key": crm_deal["Ref_Key"]})
    assert plan_of(cfg_path)["operations"] == []
    onec.update("Catalog_СделкиСКлиентами", crm_deal["Ref_Key"], {"Статус": "Выиграна", "Закрыта": True})
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert b24.call("crm.deal.get", {"id": deal})["STAGE_ID"] == "WON"


def test_legacy_invoices_for_old_portals(world):
    sandbox, cfg_path, config, b24, onec = world
    cfg_path.write_text(cfg_path.read_text(encoding="utf-8") + '\n[invoices]\ntarget = "legacy"\n', encoding="utf-8")
    deal, order = synced_order(cfg_path, b24, onec)
    invoice = issue_invoice(onec, order)
    assert cli(cfg_path, "reconcile").exit_code == 0
    made = b24.call("crm.invoice.list", {"filter": {"UF_DEAL_ID": deal}, "select": ["ID", "XML_ID", "PRICE",
                                                                                     "STATUS_ID", "ORDER_TOPIC"]})
    [item] = made
    assert item["XML_ID"] == invoice["Ref_Key"] and item["STATUS_ID"] == "N"
    assert abs(Decimal(str(item["PRICE"])) - order["СуммаДокумента"]) <= Decimal("0.05")
    rows = b24.call("crm.invoice.get", {"id": item["ID"]})["PRODUCT_ROWS"]
    assert [r["PRODUCT_NAME"] for r in rows] == ["Ноутбук Irbis 15", "Клавиатура беспроводная", "Доставка по Москве"]
    assert plan_of(cfg_path)["operations"] == []
    onec.update(INVOICES, invoice["Ref_Key"], {"Аннулирован": True})
    assert cli(cfg_path, "reconcile").exit_code == 0
    assert b24.call("crm.invoice.get", {"id": item["ID"]})["STATUS_ID"] == "D"
    assert len(b24.call("crm.invoice.list", {"filter": {"UF_DEAL_ID": deal}})) == 1
    assert plan_of(cfg_path)["operations"] == []
