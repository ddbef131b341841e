"""crm.{contact,company,deal,lead}.{fields,add,get,update,delete}: shapes, errors, maintained fields, events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from b24sync.sandbox.bitrix24.methods.reference import CUSTOM_STAGE_ID

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


def test_contact_round_trip_in_old_shapes(b24: B24) -> None:
    new_id = b24.ok("crm.contact.add", {"fields": {
        "NAME": "Иван", "SECOND_NAME": "Иванович", "LAST_NAME": "Иванов", "TYPE_ID": "PARTNER", "SOURCE_ID": "WEB",
        "BIRTHDATE": "2001-11-11", "ASSIGNED_BY_ID": 3,
        "ORIGINATOR_ID": "1C", "ORIGIN_ID": "a7f1", "ORIGIN_VERSION": "5",
        "PHONE": [{"VALUE": "+7333333555", "VALUE_TYPE": "WORK"}]}, "params": {"REGISTER_SONET_EVENT": "N"}})
    assert isinstance(new_id, int)
    got = b24.ok("crm.contact.get", {"id": new_id})
    assert got["ID"] == str(new_id) and got["NAME"] == "Иван" and got["ASSIGNED_BY_ID"] == "3"
    assert got["BIRTHDATE"] == "2001-11-11T00:00:00+03:00"
    assert got["HAS_PHONE"] == "Y" and got["HAS_EMAIL"] == "N" and got["EXPORT"] == "Y" and got["OPENED"] == "Y"
    assert got["PHOTO"] is None and got["COMPANY_ID"] is None
    assert "EMAIL" not in got and got["PHONE"][0]["VALUE"] == "+7333333555"
    assert (got["ORIGINATOR_ID"], got["ORIGIN_ID"], got["ORIGIN_VERSION"]) == ("1C", "a7f1", "5")
    assert got["CREATED_BY_ID"] == "1" and got["MODIFY_BY_ID"] == "1"
    assert got["DATE_CREATE"].endswith("+03:00") and len(got["DATE_CREATE"]) == 25


def test_form_encoded_add(b24: B24) -> None:
    fields = {"NAME": "Ёжик", "PHONE": [{"VALUE": "8 (916) 000-00-01"}]}
    new_id = b24.ok("crm.contact.add", {"fields": fields}, form=True)
    got = b24.ok("crm.contact.get", {"ID": str(new_id)}, form=True)
    assert got["NAME"] == "Ёжик" and got["PHONE"][0]["VALUE_TYPE"] == "WORK"


def test_unknown_and_read_only_fields_are_ignored(b24: B24) -> None:
    new_id = b24.ok("crm.contact.add", {"fields": {"NAME": "Анна", "NO_SUCH": "x", "ID": 999, "HAS_PHONE": "Y",
                                                    "DATE_CREATE": "2001-01-01T00:00:00+03:00", "UF_CRM_NOPE": "1"}})
    got = b24.ok("crm.contact.get", {"id": new_id})
    assert got["ID"] == str(new_id) != "999"
    assert got["HAS_PHONE"] == "N" and not got["DATE_CREATE"].startswith("2001")
    assert "UF_CRM_NOPE" not in got and "NO_SUCH" not in got


def test_import_lets_timestamps_be_set(b24: B24) -> None:
    new_id = b24.ok("crm.contact.add", {"fields": {"NAME": "Пётр", "DATE_CREATE": "2020-05-01T09:00:00+03:00",
                                                    "DATE_MODIFY": "2021-06-01T10:00:00+03:00"},
                                         "params": {"IMPORT": "Y"}})
    got = b24.ok("crm.contact.get", {"id": new_id})
    assert got["DATE_CREATE"] == "2020-05-01T09:00:00+03:00" and got["DATE_MODIFY"] == "2021-06-01T10:00:00+03:00"


def test_date_modify_bumped_on_every_update(b24: B24) -> None:
    new_id = b24.ok("crm.contact.add", {"fields": {"NAME": "Ольга", "DATE_MODIFY": "2020-01-01T00:00:00+03:00"},
                                         "params": {"IMPORT": "Y"}})
    b24.ok("crm.contact.update", {"id": new_id, "fields": {"EMAIL": [{"VALUE": "olga@пример.рф"}]}})
    got = b24.ok("crm.contact.get", {"id": new_id})
    assert not got["DATE_MODIFY"].startswith("2020") and got["HAS_EMAIL"] == "Y"
    b24.portal.store.table("contact").rows[new_id]["DATE_MODIFY"] = 0
    b24.ok("crm.contact.update", {"id": new_id, "fields": {}})
    assert b24.ok("crm.contact.get", {"id": new_id})["DATE_MODIFY"] != "1970-01-01T03:00:00+03:00"


def test_update_and_delete_answer_true_and_emit_events(b24: B24) -> None:
    new_id = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Вектор»"}})
    assert b24.ok("crm.company.update", {"id": new_id, "fields": {"TITLE": "АО «Вектор»"}}) is True
    assert b24.ok("crm.company.get", {"id": new_id})["TITLE"] == "АО «Вектор»"
    assert b24.ok("crm.company.delete", {"id": new_id}) is True
    events = [(e.name, e.data) for e in b24.emulator.emitted_events]
    assert events == [("ONCRMCOMPANYADD", {"FIELDS": {"ID": str(new_id)}}),
                      ("ONCRMCOMPANYUPDATE", {"FIELDS": {"ID": str(new_id)}}),
                      ("ONCRMCOMPANYDELETE", {"FIELDS": {"ID": str(new_id)}})]


@pytest.mark.parametrize("entity", ["contact", "company", "deal", "lead"])
def test_get_missing_and_bad_id(b24: B24, entity: str) -> None:
    missing = b24.call(f"crm.{entity}.get", {"id": 4242})
    assert (missing.status, missing.error) == (400, ("", "Not found"))
    for bad in ({}, {"id": 0}, {"id": "abc"}, {"id": -5}):
        reply = b24.call(f"crm.{entity}.get", bad)
        assert (reply.status, reply.error) == (400, ("", "ID is not defined or invalid."))


@pytest.mark.parametrize(("entity", "update_text", "delete_error"), [
    ("contact", "Contact is not found", ("ERROR_CORE", "Элемент не найден")),
    ("company", "Company is not found", ("", "Company is not found")),
    ("deal", "Not found", ("", "Not found")),
    ("lead", "Not found", ("", "Not found")),
])
def test_update_delete_missing(b24: B24, entity: str, update_text: str, delete_error: tuple[str, str]) -> None:
    update = b24.call(f"crm.{entity}.update", {"id": 777, "fields": {"TITLE": "x"}})
    assert (update.status, update.error) == (400, ("", update_text))
    delete = b24.call(f"crm.{entity}.delete", {"id": 777})
    assert (delete.status, delete.error) == (400, delete_error)


def test_validation_errors(b24: B24) -> None:
    nameless = b24.call("crm.contact.add", {"fields": {"POST": "Бухгалтер"}})
    assert nameless.status == 400 and nameless.error[0] == "ERROR_CORE"
    assert b24.call("crm.contact.add", {"fields": {"SECOND_NAME": "Петрович"}}).status == 200
    untitled = b24.call("crm.company.add", {"fields": {"COMPANY_TYPE": "CUSTOMER"}})
    assert untitled.status == 400 and untitled.error[0] == "ERROR_CORE"
    bad_mail = b24.call("crm.contact.add", {"fields": {"NAME": "Иван", "EMAIL": [{"VALUE": "не-почта"}]}})
    assert bad_mail.status == 400
    assert bad_mail.error == ("ERROR_CORE", 'Поле "Рабочий e-mail" содержит некорректный адрес')
    not_array = b24.call("crm.contact.add", {"fields": "NAME"})
    assert not_array.error == ("", "Parameter 'fields' must be array.")
    assert b24.call("crm.contact.list", {"filter": {"NAME": "Иван"}}).body["total"] == 0


def test_rejected_update_changes_nothing(b24: B24) -> None:
    new_id = b24.ok("crm.contact.add", {"fields": {"NAME": "Мария", "POST": "Директор"}})
    reply = b24.call("crm.contact.update", {"id": new_id, "fields": {"POST": "Менеджер",
                                                                      "EMAIL": [{"VALUE": "@@"}]}})
    assert reply.status == 400
    assert b24.ok("crm.contact.get", {"id": new_id})["POST"] == "Директор"


def test_deal_defaults_money_and_stage_semantics(b24: B24) -> None:
    new_id = b24.ok("crm.deal.add", {"fields": {"TITLE": "Поставка бумаги", "OPPORTUNITY": 1000}})
    deal = b24.ok("crm.deal.get", {"id": new_id})
    assert deal["OPPORTUNITY"] == "1000.00" and deal["CURRENCY_ID"] == "RUB" and deal["CATEGORY_ID"] == "0"
    assert (deal["STAGE_ID"], deal["STAGE_SEMANTIC_ID"], deal["CLOSED"]) == ("NEW", "P", "N")
    b24.ok("crm.deal.update", {"id": new_id, "fields": {"STAGE_ID": CUSTOM_STAGE_ID}})
    assert b24.ok("crm.deal.get", {"id": new_id})["STAGE_SEMANTIC_ID"] == "P"
    b24.ok("crm.deal.update", {"id": new_id, "fields": {"STAGE_ID": "WON"}})
    won = b24.ok("crm.deal.get", {"id": new_id})
    assert (won["STAGE_SEMANTIC_ID"], won["CLOSED"]) == ("S", "Y")
    b24.ok("crm.deal.update", {"id": new_id, "fields": {"STAGE_ID": "APOLOGY"}})
    assert b24.ok("crm.deal.get", {"id": new_id})["STAGE_SEMANTIC_ID"] == "F"


def test_deal_category_is_immutable_and_stages_follow_it(b24: B24) -> None:
    new_id = b24.ok("crm.deal.add", {"fields": {"TITLE": "Повтор", "CATEGORY_ID": 1}})
    deal = b24.ok("crm.deal.get", {"id": new_id})
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"]) == ("1", "C1:NEW")
    b24.ok("crm.deal.update", {"id": new_id, "fields": {"CATEGORY_ID": 0, "STAGE_ID": "C1:WON"}})
    deal = b24.ok("crm.deal.get", {"id": new_id})
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"], deal["CLOSED"]) == ("1", "C1:WON", "Y")
    b24.ok("crm.deal.update", {"id": new_id, "fields": {"STAGE_ID": "NEW"}})
    assert b24.ok("crm.deal.get", {"id": new_id})["STAGE_ID"] == "C1:WON"


def test_lead_status_semantics_and_default_title(b24: B24) -> None:
    new_id = b24.ok("crm.lead.add", {"fields": {"NAME": "Сергей", "STATUS_ID": "IN_PROCESS"}})
    lead = b24.ok("crm.lead.get", {"id": new_id})
    assert lead["TITLE"] == f"Лид #{new_id}" and lead["STATUS_SEMANTIC_ID"] == "P"
    b24.ok("crm.lead.update", {"id": new_id, "fields": {"STATUS_ID": "JUNK"}})
    junk = b24.ok("crm.lead.get", {"id": new_id})
    assert junk["STATUS_SEMANTIC_ID"] == "F" and junk["DATE_CLOSED"] is not None


def test_contact_company_link_via_fields(b24: B24) -> None:
    first = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Альфа»"}})
    second = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Бета»"}})
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Юлия", "COMPANY_IDS": [first, second]}})
    assert b24.ok("crm.contact.get", {"id": contact})["COMPANY_ID"] == str(first)
    b24.ok("crm.company.delete", {"id": first})
    assert b24.ok("crm.contact.get", {"id": contact})["COMPANY_ID"] == str(second)


@pytest.mark.parametrize("entity", ["contact", "company", "deal", "lead"])
def test_fields_describe_standard_fields(b24: B24, entity: str) -> None:
    fields = b24.ok(f"crm.{entity}.fields")
    assert fields["ID"] == {"type": "integer", "isRequired": False, "isReadOnly": True, "isImmutable": False,
                            "isMultiple": False, "isDynamic": False, "title": "ID"}
    assert fields["DATE_MODIFY"]["type"] == "datetime" and fields["DATE_MODIFY"]["isReadOnly"]
    assert fields["ORIGIN_ID"]["type"] == "string"
    if entity == "deal":
        assert fields["CATEGORY_ID"]["isImmutable"] and fields["STAGE_ID"]["statusType"] == "DEAL_STAGE"
    if entity in ("contact", "company", "lead"):
        assert fields["PHONE"]["type"] == "crm_multifield" and fields["PHONE"]["isMultiple"]
