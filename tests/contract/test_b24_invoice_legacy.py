"""Deprecated invoices: crm.invoice.{fields,add,get,update,delete,list}, crm.persontype.list, crm.paysystem.list.

Driven over loopback HTTP, as JSON and as PHP form bodies, and through the real client. The shapes
follow the ``crm/outdated/invoice`` pages of the REST documentation: upper-case old-style fields,
IDs and money as strings, ``PRODUCT_ROWS``/``INVOICE_PROPERTIES`` from ``get`` only, the payer
type ids of the ``add`` examples (2 — company, 1 — contact) and pay system 6.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from b24sync.sources.bitrix24.errors import InvalidRequest, NotFound
from tests.conftest import make_client

from .b24_methods_support import B24, make_b24

COMPANY_PAYER, CONTACT_PAYER, PAY_SYSTEM = 2, 1, 6
NOT_FILLED = 'Поле "{}" обязательно для заполнения.'


@pytest.fixture
def b24() -> Iterator[B24]:
    yield from make_b24(rng_seed=11)


def company_invoice(**overrides: Any) -> dict[str, Any]:
    """Fields in the shape of the documentation's first ``crm.invoice.add`` example, in Russian."""
    fields: dict[str, Any] = {
        "ORDER_TOPIC": "Счёт на поставку оборудования", "STATUS_ID": "N",
        "PERSON_TYPE_ID": COMPANY_PAYER, "PAY_SYSTEM_ID": PAY_SYSTEM,
        "UF_COMPANY_ID": 5, "UF_CONTACT_ID": 2, "UF_DEAL_ID": 10, "RESPONSIBLE_ID": 3,
        "COMMENTS": "Комментарий менеджера", "USER_DESCRIPTION": "Оплата в течение 5 рабочих дней",
        "DATE_BILL": "2024-08-15T10:00:00+03:00", "DATE_PAY_BEFORE": "2024-08-30",
        "INVOICE_PROPERTIES": {"COMPANY": "ООО «Ромашка»", "COMPANY_ADR": "Москва, ул. Песчаная, д. 15",
                               "INN": "7701234567", "KPP": "770101001", "CONTACT_PERSON": "Борис Соколов",
                               "FIO": "не для юрлица"},
        "PRODUCT_ROWS": [
            {"ID": 0, "PRODUCT_ID": 0, "PRODUCT_NAME": "Монтаж стойки", "QUANTITY": 2, "PRICE": 1500},
            {"ID": 0, "PRODUCT_ID": 0, "PRODUCT_NAME": "Кабель-канал", "QUANTITY": 2.5, "PRICE": 120.4,
             "MEASURE_CODE": 6, "MEASURE_NAME": "м"},
        ],
    }
    fields.update(overrides)
    return fields


def add(b24: B24, **overrides: Any) -> int:
    new_id = b24.ok("crm.invoice.add", {"fields": company_invoice(**overrides)})
    assert isinstance(new_id, int)
    return new_id


def test_add_then_get_in_old_style_shapes(b24: B24) -> None:
    new_id = add(b24)
    got = b24.ok("crm.invoice.get", {"id": new_id})
    assert got["ID"] == str(new_id) and got["ACCOUNT_NUMBER"] == str(new_id)
    assert got["ORDER_TOPIC"] == "Счёт на поставку оборудования"
    assert (got["STATUS_ID"], got["PAYED"], got["DATE_PAYED"]) == ("N", "N", None)
    assert (got["PERSON_TYPE_ID"], got["PAY_SYSTEM_ID"]) == ("2", "6")
    assert (got["UF_COMPANY_ID"], got["UF_CONTACT_ID"], got["UF_DEAL_ID"], got["UF_MYCOMPANY_ID"]) == \
        ("5", "2", "10", None)
    assert got["PRICE"] == "3301.00" and got["TAX_VALUE"] == "0.00" and got["CURRENCY"] == "RUB"
    assert got["DATE_BILL"] == "2024-08-15T00:00:00+03:00" and got["DATE_PAY_BEFORE"] == "2024-08-30T00:00:00+03:00"
    assert got["DATE_INSERT"] == got["DATE_UPDATE"] == got["DATE_STATUS"] and got["DATE_INSERT"].endswith("+03:00")
    assert (got["CREATED_BY"], got["RESPONSIBLE_ID"], got["EMP_STATUS_ID"]) == ("1", "3", "1")
    assert (got["RESPONSIBLE_NAME"], got["RESPONSIBLE_LAST_NAME"]) == ("Дмитрий", "Попов")
    assert got["COMMENTS"] == "Комментарий менеджера"
    props = got["INVOICE_PROPERTIES"]
    assert props["COMPANY"] == "ООО «Ромашка»" and props["INN"] == "7701234567" and props["EMAIL"] == ""
    assert "FIO" not in props
    rows = got["PRODUCT_ROWS"]
    assert [r["PRODUCT_NAME"] for r in rows] == ["Монтаж стойки", "Кабель-канал"]
    assert all(isinstance(r["ID"], str) and int(r["ID"]) > 0 for r in rows)
    assert (rows[0]["QUANTITY"], rows[0]["PRICE"], rows[0]["MEASURE_CODE"], rows[0]["MEASURE_NAME"]) == \
        (2, 1500, 796, "шт")
    assert (rows[1]["QUANTITY"], rows[1]["PRICE"], rows[1]["MEASURE_NAME"]) == (2.5, 120.4, "м")


def test_given_account_number_and_contact_payer(b24: B24) -> None:
    new_id = add(b24, ACCOUNT_NUMBER="СЧ-2024/017", PERSON_TYPE_ID=CONTACT_PAYER, UF_COMPANY_ID=0,
                 INVOICE_PROPERTIES={"FIO": "Глеб Титов", "EMAIL": "gleb@почта.рф", "COMPANY": "лишнее"})
    got = b24.ok("crm.invoice.get", {"id": new_id})
    assert got["ACCOUNT_NUMBER"] == "СЧ-2024/017"
    assert got["INVOICE_PROPERTIES"] == {"FIO": "Глеб Титов", "EMAIL": "gleb@почта.рф", "PHONE": "", "ZIP": "",
                                         "CITY": "", "LOCATION": "", "ADDRESS": ""}


def test_paid_status_sets_payed_and_payment_dates(b24: B24) -> None:
    new_id = add(b24, STATUS_ID="P", PAY_VOUCHER_NUM="876", PAY_VOUCHER_DATE="2024-08-16",
                 REASON_MARKED="Оплачен сразу")
    got = b24.ok("crm.invoice.get", {"id": new_id})
    assert (got["PAYED"], got["EMP_PAYED_ID"], got["PAY_VOUCHER_NUM"]) == ("Y", "1", "876")
    assert got["DATE_PAYED"] is not None and got["PAY_VOUCHER_DATE"] == "2024-08-16T00:00:00+03:00"
    b24.ok("crm.invoice.update", {"id": new_id, "fields": {"STATUS_ID": "D"}})
    declined = b24.ok("crm.invoice.get", {"id": new_id})
    assert (declined["STATUS_ID"], declined["PAYED"]) == ("D", "N")


def test_read_only_fields_are_ignored_and_price_comes_from_rows(b24: B24) -> None:
    new_id = add(b24, PRICE=1, TAX_VALUE=99, PAYED="Y", CURRENCY="USD", ID=999, CREATED_BY=4)
    got = b24.ok("crm.invoice.get", {"id": new_id})
    assert (got["ID"], got["PRICE"], got["TAX_VALUE"]) == (str(new_id), "3301.00", "0.00")
    assert (got["PAYED"], got["CURRENCY"], got["CREATED_BY"]) == ("N", "RUB", "1")


def test_vat_rate_is_a_fraction_added_when_not_included(b24: B24) -> None:
    rows = [{"PRODUCT_NAME": "Лицензия", "QUANTITY": 1, "PRICE": 1200, "VAT_RATE": 0.2, "VAT_INCLUDED": "Y"},
            {"PRODUCT_NAME": "Поддержка", "QUANTITY": 2, "PRICE": 500, "VAT_RATE": 0.2, "VAT_INCLUDED": "N"}]
    got = b24.ok("crm.invoice.get", {"id": add(b24, PRODUCT_ROWS=rows)})
    assert got["PRICE"] == "2400.00" and got["TAX_VALUE"] == "400.00"
    assert [(r["VAT_RATE"], r["VAT_INCLUDED"]) for r in got["PRODUCT_ROWS"]] == [(0.2, "Y"), (0.2, "N")]


def test_catalog_product_fills_row_defaults(b24: B24) -> None:
    rows = [{"ID": 0, "PRODUCT_ID": 5, "QUANTITY": 10}]
    got = b24.ok("crm.invoice.get", {"id": add(b24, PRODUCT_ROWS=rows)})
    row = got["PRODUCT_ROWS"][0]
    assert (row["PRODUCT_ID"], row["PRODUCT_NAME"], row["PRICE"]) == (5, "Кабель UTP 5e", 32.5)
    assert (row["MEASURE_CODE"], row["MEASURE_NAME"], row["PRODUCT_XML_ID"]) == (6, "м", "product-5")
    assert got["PRICE"] == "325.00"


def test_form_encoded_add_with_rows(b24: B24) -> None:
    new_id = b24.ok("crm.invoice.add", {"fields": company_invoice()}, form=True)
    got = b24.ok("crm.invoice.get", {"ID": str(new_id)}, form=True)
    assert got["PRICE"] == "3301.00" and len(got["PRODUCT_ROWS"]) == 2
    assert got["INVOICE_PROPERTIES"]["CONTACT_PERSON"] == "Борис Соколов"


def test_update_replaces_product_rows_and_recomputes_price(b24: B24) -> None:
    new_id = add(b24)
    first, second = b24.ok("crm.invoice.get", {"id": new_id})["PRODUCT_ROWS"]
    rows = [{"ID": second["ID"], "PRODUCT_ID": 0, "QUANTITY": 4, "PRICE": 779.60},
            {"ID": 0, "PRODUCT_ID": 0, "PRODUCT_NAME": "Выезд инженера", "QUANTITY": 1, "PRICE": 2000}]
    result = b24.ok("crm.invoice.update", {"id": new_id, "fields": {
        "USER_DESCRIPTION": "Комментарий для клиента (обновлённый)", "PRODUCT_ROWS": rows}})
    assert result == new_id
    got = b24.ok("crm.invoice.get", {"id": new_id})
    kept, added = got["PRODUCT_ROWS"]
    assert kept["ID"] == second["ID"] and kept["PRODUCT_NAME"] == "Кабель-канал" and kept["QUANTITY"] == 4
    assert kept["MEASURE_NAME"] == "м"
    assert added["ID"] not in (first["ID"], second["ID"]) and added["PRODUCT_NAME"] == "Выезд инженера"
    assert got["PRICE"] == "5118.40"
    assert got["USER_DESCRIPTION"] == "Комментарий для клиента (обновлённый)"
    assert got["ORDER_TOPIC"] == "Счёт на поставку оборудования"


def test_update_without_rows_keeps_rows_and_empty_rows_clear_them(b24: B24) -> None:
    new_id = add(b24)
    before = b24.ok("crm.invoice.get", {"id": new_id})
    b24.ok("crm.invoice.update", {"id": new_id, "fields": {"ORDER_TOPIC": "Счёт №2 (исправленный)"}})
    after = b24.ok("crm.invoice.get", {"id": new_id})
    assert after["PRODUCT_ROWS"] == before["PRODUCT_ROWS"] and after["PRICE"] == "3301.00"
    assert after["ORDER_TOPIC"] == "Счёт №2 (исправленный)" and after["ACCOUNT_NUMBER"] == before["ACCOUNT_NUMBER"]
    b24.ok("crm.invoice.update", {"id": new_id, "fields": {"PRODUCT_ROWS": []}})
    emptied = b24.ok("crm.invoice.get", {"id": new_id})
    assert emptied["PRODUCT_ROWS"] == [] and emptied["PRICE"] == "0.00"


def test_required_fields_on_add(b24: B24) -> None:
    cases = [({"ORDER_TOPIC": ""}, "Тема"), ({"PERSON_TYPE_ID": None}, "Тип плательщика"),
             ({"PAY_SYSTEM_ID": None}, "Печатная форма"), ({"PERSON_TYPE_ID": 77}, "Тип плательщика"),
             ({"PAY_SYSTEM_ID": 404}, "Печатная форма")]
    for overrides, title in cases:
        fields = {k: v for k, v in company_invoice(**overrides).items() if v is not None}
        reply = b24.call("crm.invoice.add", {"fields": fields})
        assert (reply.status, reply.error) == (400, ("ERROR_CORE", NOT_FILLED.format(title))), overrides
    assert b24.call("crm.invoice.list", {}).body["total"] == 0
    not_array = b24.call("crm.invoice.add", {"fields": "ORDER_TOPIC"})
    assert (not_array.status, not_array.error) == (400, ("", "Parameter 'fields' must be array."))


def test_status_is_optional_and_defaults_to_new(b24: B24) -> None:
    fields = company_invoice()
    del fields["STATUS_ID"]
    got = b24.ok("crm.invoice.get", {"id": b24.ok("crm.invoice.add", {"fields": fields})})
    assert (got["STATUS_ID"], got["PAYED"]) == ("N", "N")


def test_rejected_update_changes_nothing(b24: B24) -> None:
    new_id = add(b24)
    before = b24.ok("crm.invoice.get", {"id": new_id})
    for fields, title in (({"ORDER_TOPIC": "", "COMMENTS": "не сохранится"}, "Тема"),
                          ({"ACCOUNT_NUMBER": "", "PRODUCT_ROWS": []}, "Номер")):
        reply = b24.call("crm.invoice.update", {"id": new_id, "fields": fields})
        assert (reply.status, reply.error) == (400, ("ERROR_CORE", NOT_FILLED.format(title)))
    assert b24.ok("crm.invoice.get", {"id": new_id}) == before


def test_missing_and_invalid_ids(b24: B24) -> None:
    for method in ("crm.invoice.get", "crm.invoice.update", "crm.invoice.delete"):
        reply = b24.call(method, {"id": 4242, "fields": {"ORDER_TOPIC": "x"}})
        assert (reply.status, reply.error) == (400, ("", "Not found")), method
        for bad in ({}, {"id": 0}, {"id": "абв"}, {"id": -3}):
            reply = b24.call(method, {**bad, "fields": {}})
            assert (reply.status, reply.error) == (400, ("", "ID is not defined or invalid.")), (method, bad)


def test_delete_answers_true_and_the_invoice_is_gone(b24: B24) -> None:
    keep, gone = add(b24), add(b24, ORDER_TOPIC="Ошибочный счёт")
    assert b24.ok("crm.invoice.delete", {"id": gone}) is True
    assert b24.call("crm.invoice.get", {"id": gone}).error == ("", "Not found")
    assert b24.call("crm.invoice.delete", {"id": gone}).error == ("", "Not found")
    listed = b24.call("crm.invoice.list", {"order": {"ID": "ASC"}, "select": ["ID"]})
    assert listed.result == [{"ID": str(keep)}] and listed.body["total"] == 1


def test_events_add_update_status_delete(b24: B24) -> None:
    new_id = add(b24)
    b24.ok("crm.invoice.update", {"id": new_id, "fields": {"COMMENTS": "без смены статуса"}})
    b24.ok("crm.invoice.update", {"id": new_id, "fields": {"STATUS_ID": "S"}})
    b24.ok("crm.invoice.delete", {"id": new_id})
    fields = {"FIELDS": {"ID": str(new_id)}}
    assert [(e.name, e.data) for e in b24.emulator.emitted_events] == [
        ("ONCRMINVOICEADD", fields), ("ONCRMINVOICEUPDATE", fields), ("ONCRMINVOICESETSTATUS", fields),
        ("ONCRMINVOICEUPDATE", fields), ("ONCRMINVOICEDELETE", fields)]
    assert b24.call("crm.invoice.add", {"fields": {"ORDER_TOPIC": "без плательщика"}}).status == 400
    assert len(b24.emulator.emitted_events) == 5


def test_fields_describes_the_documented_catalogue(b24: B24) -> None:
    described = b24.ok("crm.invoice.fields")
    required = {name for name, spec in described.items() if spec["isRequired"]}
    assert required == {"ACCOUNT_NUMBER", "ORDER_TOPIC", "PAY_SYSTEM_ID", "PERSON_TYPE_ID"}
    for name in ("ID", "PRICE", "TAX_VALUE", "PAYED", "CURRENCY", "DATE_UPDATE", "DATE_STATUS", "CREATED_BY"):
        assert described[name]["isReadOnly"] is True, name
    assert described["PRICE"]["type"] == "double" and described["DATE_BILL"]["type"] == "date"
    assert described["STATUS_ID"]["statusType"] == "INVOICE_STATUS"
    assert list(described)[-3:] == ["PR_LOCATION", "INVOICE_PROPERTIES", "PRODUCT_ROWS"]
    assert described["ORDER_TOPIC"]["title"] == "Тема"


@pytest.fixture
def many(b24: B24) -> B24:
    """120 invoices: prices 100, 200, …; statuses cycle N, S, P, D."""
    statuses = "NSPD"
    for i in range(1, 121):
        add(b24, ORDER_TOPIC=f"Счёт №{i} «Ромашка»" if i % 10 == 0 else f"Счёт №{i}", STATUS_ID=statuses[i % 4],
            PRODUCT_ROWS=[{"PRODUCT_NAME": "Услуга", "QUANTITY": 1, "PRICE": 100 * i}])
    return b24


def test_list_pages_of_fifty_with_next_and_total(many: B24) -> None:
    seen: list[int] = []
    start: int | None = 0
    while start is not None:
        reply = many.call("crm.invoice.list", {"order": {"ID": "ASC"}, "select": ["ID"], "start": start})
        assert reply.body["total"] == 120 and len(reply.result) <= 50
        seen += [int(r["ID"]) for r in reply.result]
        start = reply.body.get("next")
    assert seen == list(range(1, 121))
    middle = many.call("crm.invoice.list", {"order": {"ID": "ASC"}, "select": ["ID"], "start": 75}, form=True)
    assert (int(middle.result[0]["ID"]), middle.body["next"]) == (51, 100)


def test_list_filter_order_and_select(many: B24) -> None:
    def ids(params: dict[str, Any]) -> list[int]:
        reply = many.call("crm.invoice.list", {"select": ["ID"], **params})
        assert reply.status == 200, reply.body
        return [int(r["ID"]) for r in reply.result]

    assert ids({"order": {"ID": "ASC"}, "filter": {">ID": 115}}) == [116, 117, 118, 119, 120]
    assert ids({"order": {"ID": "DESC"}, "filter": {"@ID": [3, 7, 500]}}) == [7, 3]
    assert ids({"order": {"PRICE": "DESC"}, "filter": {">=PRICE": 11800}}) == [120, 119, 118]
    assert ids({"order": {"ID": "ASC"}, "filter": {"=STATUS_ID": "P", "<ID": 12}}) == [2, 6, 10]
    assert ids({"order": {"ID": "ASC"}, "filter": {"!STATUS_ID": "N", "<ID": 6}}) == [1, 2, 3, 5]
    assert ids({"order": {"ID": "ASC"}, "filter": {"%ORDER_TOPIC": "ромашка", "<ID": 40}}) == [10, 20, 30]
    assert ids({"order": {"ID": "ASC"}, "filter": {"PAYED": "Y", "<ID": 8}}) == [2, 6]
    row = many.call("crm.invoice.list", {"order": {"ID": "ASC"}, "filter": {"ID": 10},
                                         "select": ["ID", "ACCOUNT_NUMBER", "ORDER_TOPIC", "PRICE", "CURRENCY_ID",
                                                    "PRODUCT_ROWS", "INVOICE_PROPERTIES"]}).result
    assert row == [{"ID": "10", "ACCOUNT_NUMBER": "10", "ORDER_TOPIC": "Счёт №10 «Ромашка»", "PRICE": "1000.00"}]


def test_list_without_select_returns_columns_but_no_rows_or_properties(many: B24) -> None:
    first = many.call("crm.invoice.list", {"order": {"ID": "ASC"}, "filter": {"ID": 1}}).result[0]
    assert first["ORDER_TOPIC"] == "Счёт №1" and first["STATUS_ID"] == "S" and first["PRICE"] == "100.00"
    assert {"UF_DEAL_ID", "UF_QUOTE_ID", "IS_RECURRING", "RESPONSIBLE_NAME", "DATE_INSERT"} <= set(first)
    assert not {"PRODUCT_ROWS", "INVOICE_PROPERTIES", "PR_LOCATION"} & set(first)


def test_person_types_and_pay_systems(b24: B24) -> None:
    types = b24.ok("crm.persontype.list", {"order": {"ID": "ASC"}})
    assert types == [{"ID": "1", "NAME": "CRM_CONTACT"}, {"ID": "2", "NAME": "CRM_COMPANY"}]
    assert b24.ok("crm.persontype.list", {"filter": {"NAME": "CRM_COMPANY"}}) == [{"ID": "2", "NAME": "CRM_COMPANY"}]
    systems = b24.ok("crm.paysystem.list", {"order": {"SORT": "ASC"}})
    assert str(PAY_SYSTEM) in [s["ID"] for s in systems]
    assert {"ID", "NAME", "ACTIVE", "SORT", "PERSON_TYPE_ID"} <= set(systems[0])
    quotes = b24.ok("crm.paysystem.list", {"order": {"SORT": "ASC"}, "filter": {"%NAME": "Предложение"}})
    assert quotes and all("Предложение" in s["NAME"] for s in quotes)
    assert {s["PERSON_TYPE_ID"] for s in quotes} == {"1", "2"}


def test_smart_invoices_are_a_separate_table(b24: B24) -> None:
    legacy_id = add(b24)
    smart = b24.ok("crm.item.add", {"entityTypeId": 31, "fields": {"title": "Смарт-счёт"}})["item"]
    items = b24.ok("crm.item.list", {"entityTypeId": 31, "select": ["id", "title"]})["items"]
    assert [(i["id"], i["title"]) for i in items] == [(smart["id"], "Смарт-счёт")]
    assert b24.ok("crm.item.get", {"entityTypeId": 31, "id": smart["id"]})["item"]["accountNumber"] == str(smart["id"])
    assert b24.call("crm.invoice.list", {"select": ["ID"]}).result == [{"ID": str(legacy_id)}]
    old_type = b24.call("crm.item.list", {"entityTypeId": 5})
    assert (old_type.status, old_type.error[0]) == (400, "ENTITY_TYPE_NOT_SUPPORTED")


def test_through_the_real_client(start_emulator) -> None:
    client = make_client(start_emulator())
    new_id = client.call("crm.invoice.add", {"fields": company_invoice()})
    assert client.call("crm.invoice.get", {"id": new_id})["PRICE"] == "3301.00"
    for chunk in (range(1, 50), range(50, 60)):
        commands = {f"i{i}": ("crm.invoice.add", {"fields": company_invoice(ORDER_TOPIC=f"Пакетный счёт {i}")})
                    for i in chunk}
        batch = client.batch(commands)
        assert not batch.errors and len(batch.result) == len(chunk)
    assert client.call("crm.invoice.get", {"id": batch.result["i59"]})["PRICE"] == "3301.00"
    page = client.call_envelope("crm.invoice.list", {"order": {"ID": "ASC"}, "select": ["ID", "ORDER_TOPIC"]})
    assert (len(page.result), page.total, page.next) == (50, 60, 50)
    rest = client.call_envelope("crm.invoice.list", {"order": {"ID": "ASC"}, "select": ["ID"], "start": page.next})
    assert (len(rest.result), rest.next) == (10, None)
    with pytest.raises(NotFound):
        client.call("crm.invoice.get", {"id": 9999})
    with pytest.raises(InvalidRequest) as caught:
        client.call("crm.invoice.add", {"fields": company_invoice(ORDER_TOPIC="")})
    assert caught.value.code == "ERROR_CORE" and caught.value.description == NOT_FILLED.format("Тема")
