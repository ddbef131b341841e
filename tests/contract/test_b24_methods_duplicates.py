"""crm.duplicate.findbycomm and the company ↔ contact binding methods."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


def test_find_by_phone_and_email(b24: B24) -> None:
    first = b24.ok("crm.contact.add", {"fields": {"NAME": "Иван", "PHONE": [{"VALUE": "+7 (999) 999-99-99"}]}})
    second = b24.ok("crm.contact.add", {"fields": {"NAME": "Пётр", "PHONE": [{"VALUE": "89999999999"}],
                                                    "EMAIL": [{"VALUE": "Petr@Почта.рф"}]}})
    company = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Ива»", "EMAIL": [{"VALUE": "petr@почта.рф"}]}})
    phones = b24.ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["79999999999"],
                                                 "entity_type": "CONTACT"})
    assert phones == {"CONTACT": [first, second]}
    emails = b24.ok("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["PETR@почта.рф"]}, form=True)
    assert emails == {"CONTACT": [second], "COMPANY": [company]}
    assert b24.ok("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["nobody@почта.рф"]}) == []


def test_find_by_comm_errors(b24: B24) -> None:
    assert b24.call("crm.duplicate.findbycomm", {"values": ["1"]}).error == \
        ("Communication type is not defined", "Parameter 'type' is required.")
    assert b24.call("crm.duplicate.findbycomm", {"type": "PHONE"}).error == ("", "Communication values is not defined")
    assert b24.call("crm.duplicate.findbycomm", {"type": "FAX", "values": ["1"]}).status == 400


def test_contact_company_items(b24: B24) -> None:
    companies = [b24.ok("crm.company.add", {"fields": {"TITLE": f"ООО «Фирма {n}»"}}) for n in range(3)]
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Мария"}})
    assert b24.ok("crm.contact.company.items.set", {"id": contact, "items": [
        {"COMPANY_ID": companies[1], "IS_PRIMARY": "N"}, {"COMPANY_ID": companies[2], "IS_PRIMARY": "Y"}]}) is True
    items = b24.ok("crm.contact.company.items.get", {"id": contact})
    assert [(i["COMPANY_ID"], i["IS_PRIMARY"]) for i in items] == [(companies[2], "Y"), (companies[1], "N")]
    assert b24.ok("crm.contact.get", {"id": contact})["COMPANY_ID"] == str(companies[2])
    contacts = b24.ok("crm.company.contact.items.get", {"id": companies[1]})
    assert [c["CONTACT_ID"] for c in contacts] == [contact]
    b24.ok("crm.company.contact.items.set", {"id": companies[2], "items": []})
    assert [i["COMPANY_ID"] for i in b24.ok("crm.contact.company.items.get", {"id": contact})] == [companies[1]]
    assert b24.ok("crm.contact.get", {"id": contact})["COMPANY_ID"] == str(companies[1])


def test_binding_errors(b24: B24) -> None:
    bad = b24.call("crm.contact.company.items.get", {"id": 0})
    assert bad.error == ("", "The parameter ownerEntityID is invalid or not defined.")
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Юлия"}})
    assert b24.call("crm.contact.company.items.set", {"id": contact, "items": "x"}).error == \
        ("", "The parameter items must be array.")
    assert b24.call("crm.company.contact.items.set", {"id": 404, "items": []}).error == ("", "Not found")
