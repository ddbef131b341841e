"""Product rows: replace-all semantics, discount validation, documented types, OPPORTUNITY upkeep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


def test_set_replaces_all_rows_and_recomputes_opportunity(b24: B24) -> None:
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Оснащение офиса"}})
    assert b24.ok("crm.deal.productrows.set", {"id": deal, "rows": [
        {"PRODUCT_ID": 1, "PRICE": 54990, "QUANTITY": 2},
        {"PRODUCT_NAME": "Монтаж сети", "PRICE": 899.1, "QUANTITY": 1, "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 10,
         "MEASURE_CODE": 796, "MEASURE_NAME": "шт", "TAX_INCLUDED": "Y", "SORT": 10}]}) is True
    rows = b24.ok("crm.deal.productrows.get", {"id": deal})
    assert len(rows) == 2
    laptop, service = rows
    assert laptop["ID"].isdigit() and laptop["OWNER_ID"] == str(deal) and laptop["OWNER_TYPE"] == "D"
    assert laptop["PRODUCT_ID"] == 1 and laptop["PRODUCT_NAME"] == "Ноутбук Irbis 15" and laptop["QUANTITY"] == 2
    assert laptop["PRICE_ACCOUNT"] == "54990.00" and laptop["MEASURE_CODE"] == 796
    assert service["PRICE"] == 899.1 and service["PRICE_NETTO"] == 999 and service["DISCOUNT_SUM"] == 99.9
    assert service["DISCOUNT_TYPE_ID"] == 2 and service["TAX_RATE"] is None and service["TAX_INCLUDED"] == "Y"
    assert b24.ok("crm.deal.get", {"id": deal})["OPPORTUNITY"] == "110879.10"
    b24.ok("crm.deal.productrows.set", {"id": deal, "rows": [{"PRODUCT_ID": 4, "PRICE": 890, "QUANTITY": 3}]},
           form=True)
    rows = b24.ok("crm.deal.productrows.get", {"id": deal})
    assert [r["PRODUCT_ID"] for r in rows] == [4]
    assert b24.ok("crm.deal.get", {"id": deal})["OPPORTUNITY"] == "2670.00"
    b24.ok("crm.deal.productrows.set", {"id": deal, "rows": []})
    assert b24.ok("crm.deal.productrows.get", {"id": deal}) == []
    assert b24.event_names().count("ONCRMDEALUPDATE") == 3


def test_manual_opportunity_is_kept(b24: B24) -> None:
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Ручная сумма", "OPPORTUNITY": 5000,
                                               "IS_MANUAL_OPPORTUNITY": "Y"}})
    b24.ok("crm.deal.productrows.set", {"id": deal, "rows": [{"PRODUCT_ID": 2, "PRICE": 100}]})
    assert b24.ok("crm.deal.get", {"id": deal})["OPPORTUNITY"] == "5000.00"


def test_discount_validation(b24: B24) -> None:
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Скидки"}})
    b24.ok("crm.deal.productrows.set", {"id": deal, "rows": [{"PRODUCT_ID": 3, "PRICE": 2490}]})
    cases = [
        ({"PRICE": 100, "DISCOUNT_TYPE_ID": 1},
         "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type (DISCOUNT_TYPE_ID) is defined<br>"),
        ({"PRICE": 100, "DISCOUNT_TYPE_ID": 2},
         "Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined<br>"),
        ({"PRICE": 0, "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 100},
         "Discount Sum (DISCOUNT_SUM) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined and "
         "Discount Rate (DISCOUNT_RATE) is 100%<br>"),
    ]
    for row, text in cases:
        reply = b24.call("crm.deal.productrows.set", {"id": deal, "rows": [row]})
        assert (reply.status, reply.error) == (400, ("ERROR_CORE", text))
    assert [r["PRODUCT_ID"] for r in b24.ok("crm.deal.productrows.get", {"id": deal})] == [3]


def test_productrows_errors(b24: B24) -> None:
    assert b24.call("crm.deal.productrows.get", {"id": 42}).error == ("", "Not found")
    assert b24.call("crm.deal.productrows.set", {"id": 42, "rows": []}).error == ("", "Not found")


def test_item_productrows_for_smart_invoice(b24: B24) -> None:
    invoice = b24.ok("crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт на оплату"}})["item"]
    result = b24.ok("crm.item.productrow.set", {"ownerType": "SI", "ownerId": invoice["id"], "productRows": [
        {"productId": 11, "price": 12700, "quantity": 2, "productName": "Лицензия 1С"}]})
    rows = result["productRows"]
    assert rows[0]["ownerType"] == "SI" and rows[0]["ownerId"] == invoice["id"] and rows[0]["productId"] == 11
    assert rows[0]["price"] == 12700 and rows[0]["productName"] == "Лицензия 1С"
    listed = b24.call("crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": invoice["id"]}})
    assert [r["id"] for r in listed.result["productRows"]] == [rows[0]["id"]]
    item = b24.ok("crm.item.get", {"entityTypeId": 31, "id": invoice["id"]})["item"]
    assert item["opportunity"] == 25400
