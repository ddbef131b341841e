"""Pipelines, stages, presets, user fields and product rows read through the client."""

from __future__ import annotations

from decimal import Decimal

from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sources.bitrix24.reference import (
    deal_categories,
    deal_product_rows,
    deal_stages,
    invoice_product_rows,
    requisite_presets,
    stages,
    userfields,
)
from tests.conftest import make_client


def test_fresh_portal_reference_data(start_emulator):
    client = make_client(start_emulator())
    categories = deal_categories(client)
    assert any(c["id"] == 0 and c["isDefault"] for c in categories)
    general = deal_stages(client, 0)
    names = {s["NAME"] for s in general}
    assert "Договор подписан" in names
    assert {"NEW", "WON", "LOSE"} <= {s["STATUS_ID"] for s in general}
    assert all(s["STATUS_ID"].startswith("C1:") for s in deal_stages(client, 1))
    assert {"NEW", "CONVERTED", "JUNK"} <= {s["STATUS_ID"] for s in stages(client, "STATUS")}
    presets = {p["NAME"]: p["ID"] for p in requisite_presets(client)}
    assert presets["Организация"] == 1 and "ИП" in presets
    assert userfields(client, "company") == []  # a fresh portal has no b24sync fields


def test_userfields_after_creation(start_emulator):
    client = make_client(start_emulator())
    client.call("crm.company.userfield.add", {"fields": {"FIELD_NAME": "1C_ID", "USER_TYPE_ID": "string",
                                                         "EDIT_FORM_LABEL": "Ссылка 1С"}})
    (field,) = userfields(client, "company")
    assert field["FIELD_NAME"] == "UF_CRM_1C_ID" and field["MULTIPLE"] is False


def test_product_rows_of_deals_and_invoices(start_emulator):
    seed = PortalSeed(companies=[{"TITLE": "ООО «Ромашка»"}],
                      deals=[{"TITLE": f"Сделка {i}", "COMPANY_ID": 1,
                              "PRODUCT_ROWS": [{"PRODUCT_ID": 1, "PRODUCT_NAME": "Бумага А4", "PRICE": "350.50",
                                                "QUANTITY": i}]} for i in range(1, 61)])
    client = make_client(start_emulator(seed))
    rows = deal_product_rows(client, range(1, 61))
    assert len(rows) == 60 and rows[3][0]["QUANTITY"] == Decimal(3) and rows[3][0]["PRICE"] == Decimal("350.5")
    assert rows[3][0]["PRODUCT_NAME"] == "Бумага А4"
    invoice = client.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт", "companyId": 1}})
    invoice_id = invoice["item"]["id"]
    client.call("crm.item.productrow.set", {"ownerType": "SI", "ownerId": invoice_id,
                                            "productRows": [{"productId": 2, "productName": "Скрепки",
                                                             "price": 99.9, "quantity": 2}]})
    (row,) = invoice_product_rows(client, [invoice_id])[invoice_id]
    assert row["price"] == Decimal("99.9") and row["productName"] == "Скрепки"
