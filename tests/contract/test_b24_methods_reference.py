"""Fresh-portal reference data: stages (incl. «Договор подписан»), categories, users, products."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from b24sync.sandbox.bitrix24.methods.reference import CUSTOM_STAGE_ID

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


def test_general_pipeline_stages(b24: B24) -> None:
    stages = b24.ok("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE"}})
    ids = [s["STATUS_ID"] for s in stages]
    assert ids == ["NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", CUSTOM_STAGE_ID, "FINAL_INVOICE",
                   "WON", "LOSE", "APOLOGY"]
    signed = next(s for s in stages if s["NAME"] == "Договор подписан")
    assert signed["STATUS_ID"].startswith("UC_") and len(signed["STATUS_ID"]) == 9 and signed["SYSTEM"] == "N"
    won = next(s for s in stages if s["STATUS_ID"] == "WON")
    assert won["SEMANTICS"] == "S" and won["EXTRA"]["SEMANTICS"] == "success"
    new = stages[0]
    assert new["SEMANTICS"] is None and new["SORT"] == "10" and new["CATEGORY_ID"] is None
    assert {s["SEMANTICS"] for s in stages if s["STATUS_ID"] in ("LOSE", "APOLOGY")} == {"F"}


def test_second_pipeline_lead_statuses_and_invoice_stages(b24: B24) -> None:
    c1 = b24.ok("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE_1"}})
    assert all(s["STATUS_ID"].startswith("C1:") and s["CATEGORY_ID"] == "1" for s in c1)
    leads = [s["STATUS_ID"] for s in b24.ok("crm.status.list", {"filter": {"ENTITY_ID": "STATUS"}})]
    assert set(leads) == {"NEW", "IN_PROCESS", "PROCESSED", "JUNK", "CONVERTED"}
    types = b24.ok("crm.status.entity.types")
    invoice = next(t for t in types if t["ID"].startswith("SMART_INVOICE_STAGE_"))
    assert invoice["ENTITY_TYPE_ID"] == 31 and invoice["PREFIX"] == f"DT31_{invoice['CATEGORY_ID']}"
    stages = b24.ok("crm.status.list", {"filter": {"ENTITY_ID": invoice["ID"]}})
    assert all(s["STATUS_ID"].startswith(invoice["PREFIX"] + ":") for s in stages)
    lead_type = next(t for t in types if t["ID"] == "STATUS")
    assert lead_type["SEMANTIC_INFO"]["FINAL_SUCCESS_FIELD"] == "CONVERTED"
    deal_1 = next(t for t in types if t["ID"] == "DEAL_STAGE_1")
    assert deal_1["PREFIX"] == "C1" and deal_1["SEMANTIC_INFO"]["START_FIELD"] == "C1:NEW"


def test_dictionaries(b24: B24) -> None:
    sources = {s["STATUS_ID"] for s in b24.ok("crm.status.list", {"filter": {"ENTITY_ID": "SOURCE"}})}
    assert {"CALL", "WEB", "OTHER"} <= sources
    assert b24.ok("crm.status.list", {"filter": {"ENTITY_ID": "CONTACT_TYPE", "STATUS_ID": "CLIENT"}})[0]["NAME"] == \
        "Клиенты"


def test_categories(b24: B24) -> None:
    deals = b24.call("crm.category.list", {"entityTypeId": 2})
    cats = deals.result["categories"]
    assert cats[0] == {"id": 0, "name": "Общая", "sort": 300, "entityTypeId": 2, "isDefault": "Y"}
    assert [c["id"] for c in cats] == [0, 1] and deals.body["total"] == 2
    invoices = b24.ok("crm.category.list", {"entityTypeId": 31})["categories"]
    assert invoices[0]["entityTypeId"] == 31 and invoices[0]["isDefault"] == "Y"


def test_users(b24: B24) -> None:
    reply = b24.call("user.get", {"FILTER": {"ACTIVE": True}})
    users = reply.result
    assert [u["ID"] for u in users] == ["1", "2", "3", "4", "5"] and reply.body["total"] == 5
    admin = users[0]
    assert admin["ACTIVE"] is True and isinstance(admin["UF_DEPARTMENT"], list)
    assert all(isinstance(d, int) for u in users for d in u["UF_DEPARTMENT"])
    assert all(u["NAME"] and u["LAST_NAME"] and "@" in u["EMAIL"] for u in users)
    assert [u["ID"] for u in b24.ok("user.get", {"FILTER": {">ID": "3"}}, form=True)] == ["4", "5"]
    assert [u["ID"] for u in b24.ok("user.get", {"ID": 2})] == ["2"]
    assert b24.call("user.get", {"FILTER": {"ACTIVE": "Y"}}, form=True).body["total"] == 5
    unbounded = b24.call("user.get", {"start": -1, "sort": "ID", "order": "DESC"})
    assert unbounded.body["total"] == 0 and unbounded.result[0]["ID"] == "5"


def test_user_search_current_and_profile(b24: B24) -> None:
    found = b24.ok("user.search", {"FILTER": {"FIND": "кузнец"}})
    assert [u["LAST_NAME"] for u in found] == ["Кузнецова"]
    assert b24.ok("user.current")["ID"] == "1"
    profile = b24.ok("profile")
    assert profile["ADMIN"] is True and profile["ID"] == "1"


def test_products(b24: B24) -> None:
    reply = b24.call("crm.product.list", {"order": {"ID": "ASC"}, "select": ["ID", "NAME", "PRICE", "CURRENCY_ID"]})
    assert reply.body["total"] == 12 and [p["ID"] for p in reply.result] == [str(i) for i in range(1, 13)]
    assert reply.result[0]["PRICE"].endswith(".00") and reply.result[0]["CURRENCY_ID"] == "RUB"
    one = b24.ok("crm.product.get", {"id": 3})
    assert one["NAME"] and one["ACTIVE"] == "Y"
    assert b24.call("crm.product.get", {"id": 99}).error == ("", "Not found")
    assert b24.ok("crm.product.fields")["PRICE"]["type"] == "double"
