"""crm.item.*: camelCase over the same store, native types, ORM paging, smart invoices, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


def test_item_views_old_records_in_camel_case(b24: B24) -> None:
    company = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Луч»"}})
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Монтаж", "OPPORTUNITY": "999.90", "COMPANY_ID": company,
                                               "CONTACT_IDS": [4, 5]}})
    item = b24.ok("crm.item.get", {"entityTypeId": 2, "id": deal})["item"]
    assert item["id"] == deal and item["entityTypeId"] == 2
    assert item["title"] == "Монтаж" and item["opportunity"] == 999.9 and item["companyId"] == company
    assert item["stageId"] == "NEW" and item["stageSemanticId"] == "P" and item["categoryId"] == 0
    assert item["assignedById"] == 1 and item["contactIds"] == [4, 5]
    assert item["createdTime"].endswith("+03:00") and item["updatedTime"] == item["createdTime"]


def test_item_add_update_visible_to_old_methods(b24: B24) -> None:
    added = b24.ok("crm.item.add", {"entityTypeId": 3, "fields": {
        "name": "Анна", "lastName": "Соколова", "assignedById": 2,
        "fm": [{"typeId": "PHONE", "valueType": "WORK", "value": "+7 912 000-11-22"}]}})["item"]
    assert added["name"] == "Анна" and added["fm"][0]["typeId"] == "PHONE" and added["hasPhone"] == "Y"
    old = b24.ok("crm.contact.get", {"id": added["id"]})
    assert old["LAST_NAME"] == "Соколова" and old["ASSIGNED_BY_ID"] == "2" and old["PHONE"][0]["VALUE"]
    updated = b24.ok("crm.item.update", {"entityTypeId": 3, "id": added["id"], "fields": {
        "post": "Бухгалтер", "fm": {"n0": {"typeId": "EMAIL", "valueType": "WORK", "value": "anna@почта.рф"},
                                     str(added["fm"][0]["id"]): {"typeId": "PHONE", "value": ""}}}})["item"]
    assert updated["post"] == "Бухгалтер"
    assert [f["typeId"] for f in updated["fm"]] == ["EMAIL"]
    assert b24.ok("crm.contact.get", {"id": added["id"]})["HAS_PHONE"] == "N"
    names = [e.name for e in b24.emulator.emitted_events]
    assert names == ["ONCRMCONTACTADD", "ONCRMCONTACTUPDATE"]


def test_fm_only_with_star(b24: B24) -> None:
    b24.ok("crm.contact.add", {"fields": {"NAME": "Иван", "EMAIL": [{"VALUE": "ivan@почта.рф"}]}})
    star = b24.ok("crm.item.list", {"entityTypeId": 3, "select": ["*"]})["items"][0]
    assert star["fm"][0]["value"] == "ivan@почта.рф"
    named = b24.ok("crm.item.list", {"entityTypeId": 3, "select": ["id", "name", "fm"]})["items"][0]
    assert "fm" not in named and named["name"] == "Иван" and named["id"] == 1


def test_orm_paging_is_a_true_offset(b24: B24) -> None:
    for n in range(1, 121):
        b24.direct("crm.lead.add", {"fields": {"TITLE": f"Заявка {n}", "OPPORTUNITY": n}})
    reply = b24.call("crm.item.list", {"entityTypeId": 1, "order": {"id": "ASC"}, "start": 75, "select": ["id"]})
    assert [i["id"] for i in reply.result["items"]] == list(range(76, 121))
    assert reply.body["total"] == 120 and "next" not in reply.body
    first = b24.call("crm.item.list", {"entityTypeId": 1, "order": {"id": "ASC"}, "start": 10})
    assert first.body["next"] == 60 and first.result["items"][0]["id"] == 11
    unbounded = b24.call("crm.item.list", {"entityTypeId": 1, "order": {"id": "ASC"}, "start": -1,
                                           "filter": {">id": 100}})
    assert unbounded.body["total"] == 0 and "next" not in unbounded.body
    assert len(unbounded.result["items"]) == 20


def test_item_filters_logic_or_and_prefixes(b24: B24) -> None:
    for n in range(1, 11):
        b24.direct("crm.deal.add", {"fields": {"TITLE": f"Сделка {n}", "OPPORTUNITY": n * 100}})
    rows = b24.ok("crm.item.list", {"entityTypeId": 2, "order": {"id": "ASC"}, "filter": {
        "logic": "OR", "0": {"<opportunity": 200}, "1": {">=opportunity": 900}}})["items"]
    assert [r["id"] for r in rows] == [1, 9, 10]
    not_like = b24.ok("crm.item.list", {"entityTypeId": 2, "filter": {"!%title": "1"}, "order": {"id": "ASC"}})
    assert [r["id"] for r in not_like["items"]] == list(range(2, 10))


@pytest.mark.parametrize(("params", "text"), [
    ({"filter": {"I_D": 1}}, "Invalid filter: field 'I_D' is not allowed in filter"),
    ({"order": {"ID_X": "ASC"}}, "Invalid order: field 'ID_X' is not allowed in order"),
    ({"order": {"id": "UP"}}, "Invalid order: allowed sort directions are ASC, DESC. But got 'UP' for field 'id'"),
])
def test_invalid_arg_value(b24: B24, params: dict, text: str) -> None:
    reply = b24.call("crm.item.list", {"entityTypeId": 2, **params})
    assert (reply.status, reply.error) == (400, ("INVALID_ARG_VALUE", text))


def test_not_found_and_unsupported_types(b24: B24) -> None:
    missing = b24.call("crm.item.get", {"entityTypeId": 2, "id": 404})
    assert (missing.status, missing.error) == (400, ("NOT_FOUND", "Элемент не найден"))
    unknown = b24.call("crm.item.list", {"entityTypeId": 777})
    assert unknown.error == ("NOT_FOUND", "Смарт-процесс не найден")
    old_invoice = b24.call("crm.item.list", {"entityTypeId": 5})
    assert old_invoice.status == 400 and old_invoice.error[0] == "ENTITY_TYPE_NOT_SUPPORTED"


def test_item_delete_returns_empty_list(b24: B24) -> None:
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Удаляемая"}})
    assert b24.ok("crm.item.delete", {"entityTypeId": 2, "id": deal}) == []
    assert b24.call("crm.deal.get", {"id": deal}).error == ("", "Not found")
    assert b24.event_names()[-1] == "ONCRMDEALDELETE"


def test_smart_invoice_defaults_and_events(b24: B24) -> None:
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Заказ"}})
    item = b24.ok("crm.item.add", {"entityTypeId": 31, "fields": {
        "parentId2": deal, "opportunity": 12500.5, "companyId": 0, "contactId": 0}})["item"]
    assert item["title"] == f"Счет #{item['id']}" and item["entityTypeId"] == 31
    assert item["stageId"].startswith("DT31_") and item["stageId"].endswith(":N")
    assert item["parentId2"] == deal and item["opportunity"] == 12500.5 and item["currencyId"] == "RUB"
    assert item["accountNumber"] and item["begindate"] and item["closedate"] > item["begindate"]
    category = item["categoryId"]
    updated = b24.ok("crm.item.update", {"entityTypeId": 31, "id": item["id"],
                                         "fields": {"stageId": f"DT31_{category}:P"}})["item"]
    assert updated["stageId"] == f"DT31_{category}:P"
    listed = b24.ok("crm.item.list", {"entityTypeId": 31, "filter": {"parentId2": deal}})["items"]
    assert [i["id"] for i in listed] == [item["id"]]
    b24.ok("crm.item.delete", {"entityTypeId": 31, "id": item["id"]})
    events = [(e.name, e.data["FIELDS"]) for e in b24.emulator.emitted_events if "DYNAMIC" in e.name]
    assert [n for n, _ in events] == ["ONCRMDYNAMICITEMADD", "ONCRMDYNAMICITEMUPDATE", "ONCRMDYNAMICITEMDELETE"]
    assert events[0][1] == {"ID": str(item["id"]), "ENTITY_TYPE_ID": "31"}


def test_item_fields_describe_camel_names(b24: B24) -> None:
    fields = b24.ok("crm.item.fields", {"entityTypeId": 2})["fields"]
    assert fields["stageId"]["upperName"] == "STAGE_ID" and fields["updatedTime"]["upperName"] == "DATE_MODIFY"
    assert fields["opportunity"]["type"] == "double"
