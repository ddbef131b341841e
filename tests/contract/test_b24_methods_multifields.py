"""PHONE/EMAIL/WEB/IM: global value IDs and the documented update patch semantics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .b24_methods_support import B24, make_b24


@pytest.fixture
def b24() -> Iterator[B24]:
    """A brand-new portal (no seed) on loopback."""
    yield from make_b24(rng_seed=7)


def _add(b24: B24) -> tuple[int, list[dict]]:
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Иван", "PHONE": [
        {"VALUE": "+7 495 111-11-11", "VALUE_TYPE": "WORK"}, {"VALUE": "+7 916 222-22-22", "VALUE_TYPE": "MOBILE"},
        {"VALUE": "+7 495 333-33-33", "VALUE_TYPE": "HOME"}]}})
    return contact, b24.ok("crm.contact.get", {"id": contact})["PHONE"]


def test_value_ids_are_global_and_increasing(b24: B24) -> None:
    _first, phones = _add(b24)
    other = b24.ok("crm.company.add", {"fields": {"TITLE": "ООО «Сфера»", "EMAIL": [{"VALUE": "info@сфера.рф"}]}})
    email = b24.ok("crm.company.get", {"id": other})["EMAIL"][0]
    ids = [int(p["ID"]) for p in phones] + [int(email["ID"])]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert phones[0] == {"ID": phones[0]["ID"], "VALUE_TYPE": "WORK", "VALUE": "+7 495 111-11-11", "TYPE_ID": "PHONE"}
    assert email["TYPE_ID"] == "EMAIL"


def test_patch_semantics(b24: B24) -> None:
    contact, phones = _add(b24)
    work, mobile, home = (p["ID"] for p in phones)
    b24.ok("crm.contact.update", {"id": contact, "fields": {"PHONE": [
        {"ID": work, "DELETE": "Y"},
        {"ID": mobile, "VALUE": "+7 916 444-44-44", "VALUE_TYPE": "MOBILE"},
        {"VALUE": "+7 800 555-55-55", "VALUE_TYPE": "WORK"}]}})
    after = b24.ok("crm.contact.get", {"id": contact})["PHONE"]
    values = {p["ID"]: p["VALUE"] for p in after}
    assert work not in values
    assert values[mobile] == "+7 916 444-44-44"
    assert values[home] == "+7 495 333-33-33"
    assert len(after) == 3 and int(after[-1]["ID"]) > int(home)


def test_empty_or_missing_value_deletes(b24: B24) -> None:
    contact, phones = _add(b24)
    b24.ok("crm.contact.update", {"id": contact, "fields": {"PHONE": [{"ID": phones[0]["ID"], "VALUE": ""},
                                                                       {"ID": phones[1]["ID"]}]}}, form=True)
    left = b24.ok("crm.contact.get", {"id": contact})["PHONE"]
    assert [p["ID"] for p in left] == [phones[2]["ID"]]


def test_deleting_last_value_omits_key_and_clears_flag(b24: B24) -> None:
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Ольга", "EMAIL": [{"VALUE": "olga@почта.рф"}]}})
    email_id = b24.ok("crm.contact.get", {"id": contact})["EMAIL"][0]["ID"]
    before = b24.ok("crm.contact.get", {"id": contact})["DATE_MODIFY"]
    b24.portal.store.table("contact").rows[contact]["DATE_MODIFY"] -= 3600
    b24.ok("crm.contact.update", {"id": contact, "fields": {"EMAIL": [{"ID": email_id, "DELETE": "Y"}]}})
    got = b24.ok("crm.contact.get", {"id": contact})
    assert "EMAIL" not in got and got["HAS_EMAIL"] == "N"
    assert got["DATE_MODIFY"] >= before


def test_web_and_im_round_trip(b24: B24) -> None:
    contact = b24.ok("crm.contact.add", {"fields": {"NAME": "Пётр", "WEB": [{"VALUE": "https://пример.рф"}],
                                                     "IM": [{"VALUE": "petr_tg", "VALUE_TYPE": "TELEGRAM"}]}})
    got = b24.ok("crm.contact.get", {"id": contact})
    assert got["WEB"][0]["TYPE_ID"] == "WEB" and got["IM"][0]["VALUE_TYPE"] == "TELEGRAM"
    listed = b24.ok("crm.contact.list", {"filter": {"ID": contact}, "select": ["IM", "WEB", "NAME"]})[0]
    assert set(listed) == {"ID", "NAME", "WEB", "IM"}


def test_unknown_value_id_is_ignored(b24: B24) -> None:
    contact, phones = _add(b24)
    b24.ok("crm.contact.update", {"id": contact, "fields": {"PHONE": [{"ID": 99999, "VALUE": "+7 000"}]}})
    assert b24.ok("crm.contact.get", {"id": contact})["PHONE"] == phones
