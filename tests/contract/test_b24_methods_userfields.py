"""crm.*.userfield.*: name normalisation, errors, and the round trip through old and new methods."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


@pytest.mark.parametrize(("given", "stored"), [
    ("MANAGER_NOTE", "UF_CRM_MANAGER_NOTE"), ("UF_MANAGER_NOTE", "UF_CRM_MANAGER_NOTE"),
    ("UF_CRM_MANAGER_NOTE", "UF_CRM_MANAGER_NOTE"), ("manager_note", "UF_CRM_MANAGER_NOTE"),
])
def test_field_name_normalisation(b24: B24, given: str, stored: str) -> None:
    uf_id = b24.ok("crm.contact.userfield.add", {"fields": {"FIELD_NAME": given, "USER_TYPE_ID": "string"}})
    assert isinstance(uf_id, int)
    assert b24.ok("crm.contact.userfield.get", {"id": uf_id})["FIELD_NAME"] == stored


def test_userfield_errors(b24: B24) -> None:
    no_type = b24.call("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "X"}})
    assert no_type.error == ("", "The 'USER_TYPE_ID' field is not found.")
    no_name = b24.call("crm.contact.userfield.add", {"fields": {"USER_TYPE_ID": "string"}})
    assert no_name.error == ("", "The 'FIELD_NAME' field is not found.")
    too_long = b24.call("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "A" * 44, "USER_TYPE_ID": "string"}})
    assert too_long.status == 400 and too_long.error[0] == "ERROR_CORE"
    assert b24.call("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "A" * 43,
                                                             "USER_TYPE_ID": "string"}}).status == 200
    cyrillic = b24.call("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "ПОЛЕ", "USER_TYPE_ID": "string"}})
    assert cyrillic.status == 400 and cyrillic.error[0] == "ERROR_CORE"
    b24.ok("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "DUP", "USER_TYPE_ID": "string"}})
    duplicate = b24.call("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "UF_DUP", "USER_TYPE_ID": "string"}})
    assert duplicate.status == 400 and duplicate.error[0] == "ERROR_CORE"
    missing = b24.call("crm.contact.userfield.get", {"id": 9999})
    assert missing.error == ("ERROR_NOT_FOUND", "The entity with ID '9999' is not found.")


def test_round_trip_with_cyrillic_labels_and_values(b24: B24) -> None:
    uf_id = b24.ok("crm.contact.userfield.add", {"fields": {
        "FIELD_NAME": "1C_ID", "USER_TYPE_ID": "string", "LABEL": "Код в 1С",
        "EDIT_FORM_LABEL": {"ru": "Код контрагента 1С", "en": "1C code"}}})
    fields = b24.ok("crm.contact.fields")
    described = fields["UF_CRM_1C_ID"]
    assert described["isDynamic"] is True and described["type"] == "string"
    assert described["formLabel"] == "Код контрагента 1С" and described["listLabel"] == "Код в 1С"
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Иван", "UF_CRM_1C_ID": "Контрагент-001"}})
    assert b24.ok("crm.contact.get", {"id": contact})["UF_CRM_1C_ID"] == "Контрагент-001"
    listed = b24.ok("crm.contact.list", {"filter": {"UF_CRM_1C_ID": "Контрагент-001"}, "select": ["ID", "UF_*"]})
    assert listed == [{"ID": str(contact), "UF_CRM_1C_ID": "Контрагент-001"}]
    item = b24.ok("crm.item.get", {"entityTypeId": 3, "id": contact})["item"]
    assert item["ufCrm_1C_ID"] == "Контрагент-001"
    original = b24.ok("crm.item.get", {"entityTypeId": 3, "id": contact, "useOriginalUfNames": "Y"})["item"]
    assert original["UF_CRM_1C_ID"] == "Контрагент-001"
    b24.ok("crm.item.update", {"entityTypeId": 3, "id": contact, "fields": {"ufCrm_1C_ID": "Контрагент-002"}})
    assert b24.ok("crm.contact.get", {"id": contact})["UF_CRM_1C_ID"] == "Контрагент-002"
    got = b24.ok("crm.contact.userfield.get", {"id": uf_id})
    assert got["EDIT_FORM_LABEL"]["ru"] == "Код контрагента 1С" and got["LIST_COLUMN_LABEL"]["ru"] == "Код в 1С"
    by_lang = b24.ok("crm.contact.userfield.list", {"filter": {"LANG": "ru"}})
    assert by_lang[0]["EDIT_FORM_LABEL"] == "Код контрагента 1С" and by_lang[0]["ID"] == str(uf_id)


def test_typed_user_fields_and_camel_rules(b24: B24) -> None:
    for name, kind in (("AMOUNT", "double"), ("10_DIGIT", "integer"), ("1747309879", "boolean")):
        b24.ok("crm.deal.userfield.add", {"fields": {"FIELD_NAME": name, "USER_TYPE_ID": kind}})
    deal = b24.ok("crm.deal.add", {"fields": {"TITLE": "Сделка", "UF_CRM_AMOUNT": "12.5", "UF_CRM_10_DIGIT": "7",
                                               "UF_CRM_1747309879": "Y"}})
    item = b24.ok("crm.item.get", {"entityTypeId": 2, "id": deal})["item"]
    assert item["ufCrmAmount"] == 12.5 and item["ufCrm10Digit"] == 7 and item["ufCrm_1747309879"] == "Y"
    old = b24.ok("crm.deal.get", {"id": deal})
    assert old["UF_CRM_AMOUNT"] == "12.5" and old["UF_CRM_10_DIGIT"] == "7" and old["UF_CRM_1747309879"] == "1"
    rows = b24.ok("crm.deal.list", {"filter": {">UF_CRM_10_DIGIT": 5}, "select": ["ID"]})
    assert rows == [{"ID": str(deal)}]


def test_update_and_delete_userfield(b24: B24) -> None:
    uf_id = b24.ok("crm.company.userfield.add", {"fields": {"FIELD_NAME": "INN_CHECK", "USER_TYPE_ID": "string"}})
    company = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Заря»", "UF_CRM_INN_CHECK": "ok"}})
    assert b24.ok("crm.company.userfield.update", {"id": uf_id, "fields": {"LABEL": "Проверка ИНН"}}) is True
    assert b24.ok("crm.company.fields")["UF_CRM_INN_CHECK"]["listLabel"] == "Проверка ИНН"
    assert b24.ok("crm.company.userfield.delete", {"id": uf_id}) is True
    assert "UF_CRM_INN_CHECK" not in b24.ok("crm.company.get", {"id": company})
    b24.ok("crm.company.update", {"id": company, "fields": {"UF_CRM_INN_CHECK": "again"}})
    assert "UF_CRM_INN_CHECK" not in b24.ok("crm.company.get", {"id": company})
    other = b24.call("crm.contact.userfield.get", {"id": uf_id})
    assert other.status == 400


def test_enumeration_user_field(b24: B24) -> None:
    uf_id = b24.ok("crm.lead.userfield.add", {"fields": {
        "FIELD_NAME": "CHANNEL", "USER_TYPE_ID": "enumeration",
        "LIST": [{"VALUE": "Сайт", "XML_ID": "SITE"}, {"VALUE": "Телефон", "XML_ID": "PHONE"}]}})
    items = b24.ok("crm.lead.userfield.get", {"id": uf_id})["LIST"]
    assert [i["VALUE"] for i in items] == ["Сайт", "Телефон"]
    described = b24.ok("crm.lead.fields")["UF_CRM_CHANNEL"]
    assert [i["VALUE"] for i in described["items"]] == ["Сайт", "Телефон"]
