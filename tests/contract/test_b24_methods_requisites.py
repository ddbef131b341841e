"""crm.requisite.* and crm.address.*: owner checks, documented errors, address keys and anchors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


@pytest.fixture
def owned(b24: B24) -> tuple[B24, int, int]:
    company = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Гранит»"}})
    requisite = b24.ok("crm.requisite.add", {"fields": {
        "ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Организация",
        "RQ_INN": "7707083893", "RQ_KPP": "773601001", "RQ_COMPANY_NAME": "ООО «Гранит»"}})
    return b24, company, requisite


def test_requisite_round_trip(owned: tuple[B24, int, int]) -> None:
    b24, company, requisite = owned
    assert isinstance(requisite, int)
    got = b24.ok("crm.requisite.get", {"id": requisite})
    assert got["ENTITY_TYPE_ID"] == "4" and got["ENTITY_ID"] == str(company) and got["PRESET_ID"] == "1"
    assert got["RQ_INN"] == "7707083893" and got["ACTIVE"] == "Y"
    listed = b24.call("crm.requisite.list", {"filter": {"RQ_INN": "7707083893"},
                                             "select": ["ID", "ENTITY_ID", "ENTITY_TYPE_ID", "NAME"]})
    assert listed.result == [{"ID": str(requisite), "ENTITY_TYPE_ID": "4", "ENTITY_ID": str(company),
                              "NAME": "Организация"}]
    assert listed.body["total"] == 1
    b24.ok("crm.requisite.update", {"id": requisite, "fields": {"RQ_KPP": "773601002", "ENTITY_ID": 999,
                                                                "PRESET_ID": 2}})
    updated = b24.ok("crm.requisite.get", {"id": requisite})
    assert (updated["RQ_KPP"], updated["ENTITY_ID"], updated["PRESET_ID"]) == ("773601002", str(company), "1")
    names = b24.event_names()
    assert "ONCRMREQUISITEADD" in names and "ONCRMREQUISITEUPDATE" in names


@pytest.mark.parametrize(("fields", "text"), [
    ({"ENTITY_TYPE_ID": 2, "ENTITY_ID": 1, "PRESET_ID": 1, "NAME": "x"}, "ENTITY_TYPE_ID is not defined or invalid."),
    ({"ENTITY_TYPE_ID": 4, "PRESET_ID": 1, "NAME": "x"}, "ENTITY_ID is not defined or invalid."),
    ({"ENTITY_TYPE_ID": 4, "ENTITY_ID": 1, "PRESET_ID": 99, "NAME": "x"}, "PRESET_ID is not defined or invalid."),
    ({"ENTITY_TYPE_ID": 3, "ENTITY_ID": 555, "PRESET_ID": 3, "NAME": "x"}, "Entity not found."),
])
def test_requisite_add_errors(owned: tuple[B24, int, int], fields: dict, text: str) -> None:
    b24 = owned[0]
    reply = b24.call("crm.requisite.add", {"fields": fields})
    assert (reply.status, reply.error) == (400, ("", text))


def test_requisite_missing(b24: B24) -> None:
    for method in ("crm.requisite.get", "crm.requisite.delete"):
        reply = b24.call(method, {"id": 57})
        assert reply.error == ("", "The Requisite with ID '57' is not found")
    assert b24.call("crm.requisite.update", {"id": "x", "fields": {}}).error == ("", "ID is not defined or invalid.")


def test_presets(b24: B24) -> None:
    presets = b24.call("crm.requisite.preset.list")
    assert presets.result[:3] == [{"ID": "1", "NAME": "Организация"}, {"ID": "2", "NAME": "ИП"},
                                  {"ID": "3", "NAME": "Физ. лицо"}]
    assert presets.body["total"] == len(presets.result)


def test_address_keys_anchor_and_errors(owned: tuple[B24, int, int]) -> None:
    b24, company, requisite = owned
    key = {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite}
    assert b24.ok("crm.address.add", {"fields": {**key, "ADDRESS_1": "ул. Ленина, д. 2", "CITY": "Тюмень",
                                                 "POSTAL_CODE": "625003", "COUNTRY": "Россия"}}) is True
    again = b24.call("crm.address.add", {"fields": {**key, "CITY": "Омск"}})
    assert (again.status, again.error) == (400, ("", "TypeAddress exists"))
    rows = b24.ok("crm.address.list", {"filter": {"ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite}})
    assert rows == [{"TYPE_ID": "6", "ENTITY_TYPE_ID": "8", "ENTITY_ID": str(requisite),
                     "ADDRESS_1": "ул. Ленина, д. 2", "ADDRESS_2": None, "CITY": "Тюмень", "POSTAL_CODE": "625003",
                     "REGION": None, "PROVINCE": None,
                     "COUNTRY": "Россия", "COUNTRY_CODE": None, "LOC_ADDR_ID": None, "ANCHOR_TYPE_ID": "4",
                     "ANCHOR_ID": str(company)}]
    assert b24.ok("crm.address.update", {"fields": {**key, "ADDRESS_2": "офис 701"}}) is True
    ordered = b24.call("crm.address.list", {"order": {"ID": "ASC"}, "select": ["TYPE_ID", "ADDRESS_2"]})
    assert ordered.status == 200 and ordered.result == [{"TYPE_ID": "6", "ADDRESS_2": "офис 701"}]
    absent = b24.call("crm.address.update", {"fields": {**key, "TYPE_ID": 1}})
    assert absent.error == ("", "TypeAddress not found")
    assert b24.call("crm.address.add", {"fields": {**key, "TYPE_ID": 5}}).error == \
        ("", "TYPE_ID is not defined or invalid.")
    assert b24.call("crm.address.add", {"fields": {**key, "ENTITY_ID": 999}}).error == \
        ("", "ENTITY_ID is not defined or invalid.")
    assert b24.ok("crm.address.delete", {"fields": key}) is True
    assert b24.call("crm.address.delete", {"fields": key}).error == ("", "TypeAddress not found.")
    names = b24.event_names()
    assert names.count("ONCRMADDRESSREGISTER") == 2 and names[-1] == "ONCRMADDRESSUNREGISTER"


def test_address_types_enum(b24: B24) -> None:
    types = {t["ID"]: t["NAME"] for t in b24.ok("crm.enum.addresstype")}
    assert set(types) >= {1, 4, 6, 8, 9, 11} and types[6] == "Юридический адрес"


def test_deleting_company_removes_requisites_and_addresses(owned: tuple[B24, int, int]) -> None:
    b24, company, requisite = owned
    b24.ok("crm.address.add", {"fields": {"TYPE_ID": 1, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite, "CITY": "Омск"}})
    b24.ok("crm.company.delete", {"id": company})
    assert b24.call("crm.requisite.get", {"id": requisite}).status == 400
    assert b24.call("crm.address.list").body["total"] == 0


def test_requisite_userfields(owned: tuple[B24, int, int]) -> None:
    b24, _company, requisite = owned
    b24.ok("crm.requisite.userfield.add", {"fields": {"FIELD_NAME": "BANK_NOTE", "USER_TYPE_ID": "string"}})
    b24.ok("crm.requisite.update", {"id": requisite, "fields": {"UF_CRM_BANK_NOTE": "Сбербанк"}})
    assert b24.ok("crm.requisite.get", {"id": requisite})["UF_CRM_BANK_NOTE"] == "Сбербанк"
