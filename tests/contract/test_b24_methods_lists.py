"""Old-style list engine: paging arithmetic, filter prefixes, select rules, ordering, churn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from b24sync.sandbox.bitrix24.api import PortalSeed

from .b24_methods_support import B24, make_b24, people


@pytest.fixture
def crowd() -> Iterator[B24]:
    """120 contacts, 10 companies, some deals: enough for three pages."""
    companies = [{"TITLE": f"ООО «Ромашка {i}»", "REVENUE": 1000 * i} for i in range(1, 11)]
    contacts = people(120)
    for index, contact in enumerate(contacts, start=1):
        contact["COMPANY_ID"] = 1 + index % 10
        contact["DATE_CREATE"] = f"2024-01-{1 + index % 28:02d}T10:00:00+03:00"
        contact["DATE_MODIFY"] = f"2024-02-{1 + index % 28:02d}T12:30:00+03:00"
        if index % 4 == 0:
            contact["ORIGINATOR_ID"] = "1C"
            contact["ORIGIN_ID"] = f"ref-{index}"
    deals = [{"TITLE": f"Поставка №{i}", "OPPORTUNITY": str(i * 150), "COMPANY_ID": 1 + i % 10} for i in range(1, 31)]
    yield from make_b24(PortalSeed(companies=companies, contacts=contacts, deals=deals), rng_seed=3)


def ids(rows: list[dict]) -> list[int]:
    return [int(r["ID"]) for r in rows]


def test_first_page_total_and_next(crowd: B24) -> None:
    reply = crowd.call("crm.contact.list", {"order": {"ID": "ASC"}})
    assert reply.status == 200
    assert ids(reply.result) == list(range(1, 51))
    assert reply.body["total"] == 120
    assert reply.body["next"] == 50


@pytest.mark.parametrize(("start", "first", "nxt"), [(0, 1, 50), (49, 1, 50), (50, 51, 100), (75, 51, 100),
                                                     (99, 51, 100), (100, 101, None), (119, 101, None)])
def test_start_is_floored_to_a_page(crowd: B24, start: int, first: int, nxt: int | None) -> None:
    reply = crowd.call("crm.contact.list", {"order": {"ID": "ASC"}, "start": start}, form=True)
    assert ids(reply.result)[0] == first
    assert reply.body["total"] == 120
    assert reply.body.get("next") == nxt


def test_last_page_has_no_next_and_beyond_is_empty(crowd: B24) -> None:
    last = crowd.call("crm.contact.list", {"order": {"ID": "ASC"}, "start": 100})
    assert len(last.result) == 20 and "next" not in last.body
    beyond = crowd.call("crm.contact.list", {"order": {"ID": "ASC"}, "start": 500})
    assert beyond.result == [] and beyond.body["total"] == 120 and "next" not in beyond.body


def test_start_minus_one_skips_count(crowd: B24) -> None:
    reply = crowd.call("crm.contact.list", {"order": {"ID": "ASC"}, "filter": {">ID": 10}, "start": -1})
    assert ids(reply.result) == list(range(11, 61))
    assert reply.body["total"] == 0
    assert "next" not in reply.body


def test_keyset_export_returns_every_record_once(crowd: B24) -> None:
    seen: list[int] = []
    last = 0
    while True:
        page = crowd.ok("crm.contact.list", {"order": {"ID": "ASC"}, "filter": {">ID": last}, "select": ["ID"],
                                             "start": -1}, form=True)
        seen += ids(page)
        if len(page) < 50:
            break
        last = ids(page)[-1]
    assert seen == list(range(1, 121))


def test_keyset_export_descending(crowd: B24) -> None:
    page = crowd.ok("crm.contact.list", {"order": {"ID": "DESC"}, "filter": {"<ID": 100}, "start": -1})
    assert ids(page) == list(range(99, 49, -1))


def test_unordered_lists_are_not_stable(crowd: B24) -> None:
    first = ids(crowd.ok("crm.contact.list", {"select": ["ID"]}))
    second = ids(crowd.ok("crm.contact.list", {"select": ["ID"]}))
    assert first != second
    assert len(set(first)) == 50


def test_offset_paging_without_order_misses_or_repeats(crowd: B24) -> None:
    collected: list[int] = []
    for start in (0, 50, 100):
        collected += ids(crowd.ok("crm.contact.list", {"select": ["ID"], "start": start}))
    assert len(collected) == 120
    assert len(set(collected)) < 120


@pytest.mark.parametrize(("flt", "expected"), [
    ({">ID": "115"}, [116, 117, 118, 119, 120]),
    ({">=ID": 118}, [118, 119, 120]),
    ({"<ID": 3}, [1, 2]),
    ({"<=ID": "2"}, [1, 2]),
    ({"@ID": [5, 7, 999]}, [5, 7]),
    ({"ID": ["8", "9"]}, [8, 9]),
    ({"=ID": 4}, [4]),
    ({"!@ID": list(range(1, 119))}, [119, 120]),
    ({"!ID": 1, "<ID": 4}, [2, 3]),
    ({"!=ID": 2, "<ID": 4}, [1, 3]),
])
def test_id_prefixes(crowd: B24, flt: dict, expected: list[int]) -> None:
    assert ids(crowd.ok("crm.contact.list", {"filter": flt, "order": {"ID": "ASC"}})) == expected


def test_prefixes_over_form_encoding(crowd: B24) -> None:
    rows = crowd.ok("crm.contact.list", {"filter": {"@ID": ["3", "4"]}, "order": {"ID": "ASC"}}, form=True)
    assert ids(rows) == [3, 4]


def test_like_prefixes_on_strings(crowd: B24) -> None:
    pattern = crowd.ok("crm.company.list", {"filter": {"%TITLE": "ромашка 1"}, "order": {"ID": "ASC"}})
    assert ids(pattern) == [1, 10]
    explicit = crowd.ok("crm.company.list", {"filter": {"=%TITLE": "%ромашка 1»"}, "order": {"ID": "ASC"}})
    assert ids(explicit) == [1]
    alias = crowd.ok("crm.company.list", {"filter": {"%=TITLE": "ООО%2»"}, "order": {"ID": "ASC"}})
    assert ids(alias) == [2]


def test_numeric_comparison_is_numeric(crowd: B24) -> None:
    rows = crowd.ok("crm.deal.list", {"filter": {">OPPORTUNITY": "4000"}, "order": {"ID": "ASC"}}, form=True)
    assert ids(rows) == list(range(27, 31))
    assert rows[0]["OPPORTUNITY"] == "4050.00"


def test_datetime_filter_compares_instants(crowd: B24) -> None:
    since = crowd.ok("crm.contact.list", {"filter": {">=DATE_MODIFY": "2024-02-28T12:30:00+03:00"},
                                          "select": ["ID", "DATE_MODIFY"]})
    assert {r["DATE_MODIFY"] for r in since} == {"2024-02-28T12:30:00+03:00"}
    same_instant_utc = crowd.ok("crm.contact.list", {"filter": {">=DATE_MODIFY": "2024-02-28T09:30:00Z"},
                                                     "select": ["ID"]})
    assert sorted(ids(same_instant_utc)) == sorted(ids(since))
    none = crowd.call("crm.contact.list", {"filter": {"<DATE_CREATE": "2024-01-01"}, "select": ["ID"]})
    assert none.body["total"] == 0
    first_day = crowd.call("crm.contact.list", {"filter": {"<DATE_CREATE": "2024-01-02"}, "select": ["ID"]})
    assert first_day.body["total"] == 4
    russian = crowd.call("crm.contact.list", {"filter": {"<DATE_CREATE": "03.01.2024"}, "select": ["ID"]})
    assert russian.body["total"] == 9


def test_origin_fields_are_filterable(crowd: B24) -> None:
    rows = crowd.ok("crm.contact.list", {"filter": {"ORIGINATOR_ID": "1C", "ORIGIN_ID": "ref-8"},
                                         "select": ["ID", "ORIGIN_ID", "ORIGINATOR_ID"]})
    assert rows == [{"ID": "8", "ORIGINATOR_ID": "1C", "ORIGIN_ID": "ref-8"}]


def test_multifield_filter_is_exact_only(crowd: B24) -> None:
    exact = crowd.ok("crm.contact.list", {"filter": {"EMAIL": "klient7@почта.рф"}, "select": ["ID"]})
    assert ids(exact) == [7]
    partial = crowd.call("crm.contact.list", {"filter": {"EMAIL": "klient7"}, "select": ["ID"]})
    assert partial.body["total"] == 0


def test_unknown_filter_keys_are_ignored(crowd: B24) -> None:
    reply = crowd.call("crm.contact.list", {"filter": {"NO_SUCH_FIELD": "x", "UF_CRM_MISSING": 1}})
    assert reply.status == 200 and reply.body["total"] == 120


@pytest.mark.parametrize("name", ["order", "filter"])
def test_order_and_filter_must_be_arrays(crowd: B24, name: str) -> None:
    reply = crowd.call("crm.contact.list", {name: "ID"})
    assert reply.status == 400
    assert reply.error == ("", f"Parameter '{name}' must be array.")


@pytest.mark.parametrize("alias", ["filter", "FILTER", "Filter", "arFilter"])
def test_filter_aliases(crowd: B24, alias: str) -> None:
    assert crowd.call("crm.contact.list", {alias: {"<ID": 3}}).body["total"] == 2


def test_order_and_select_aliases(crowd: B24) -> None:
    rows = crowd.ok("crm.contact.list", {"ORDER": {"ID": "DESC"}, "SELECT": ["ID", "NAME"], "START": 0})
    assert ids(rows)[0] == 120 and set(rows[0]) == {"ID", "NAME"}


def test_order_by_other_field(crowd: B24) -> None:
    rows = crowd.ok("crm.company.list", {"order": {"REVENUE": "DESC"}, "select": ["ID", "REVENUE"]})
    assert ids(rows) == list(range(10, 0, -1))
    assert rows[0]["REVENUE"] == "10000"


def test_default_select_is_star_and_uf_without_multifields(crowd: B24) -> None:
    crowd.ok("crm.contact.userfield.add", {"fields": {"FIELD_NAME": "SEGMENT", "USER_TYPE_ID": "string"}})
    row = crowd.ok("crm.contact.list", {"filter": {"ID": 1}})[0]
    assert "PHONE" not in row and "EMAIL" not in row
    assert "UF_CRM_SEGMENT" in row and row["UF_CRM_SEGMENT"] is None
    assert row["NAME"] == "Иван" and row["COMPANY_ID"] == "2" and row["ASSIGNED_BY_ID"] == "2"
    assert row["DATE_CREATE"] == "2024-01-02T10:00:00+03:00"


def test_named_multifield_adds_id(crowd: B24) -> None:
    row = crowd.ok("crm.contact.list", {"filter": {"ID": 3}, "select": ["PHONE"]})[0]
    assert set(row) == {"ID", "PHONE"}
    assert row["PHONE"][0]["TYPE_ID"] == "PHONE" and row["PHONE"][0]["VALUE_TYPE"] == "WORK"


def test_select_with_numeric_keys_and_unknown_names(crowd: B24) -> None:
    rows = crowd.ok("crm.contact.list", {"filter": {"ID": 3}, "select": {"0": "ID", "1": "LAST_NAME", "2": "NOPE"}},
                    form=True)
    assert rows == [{"ID": "3", "LAST_NAME": "Кузнецова"}]


def test_churn_moves_the_set_between_pages() -> None:
    for b24 in make_b24(PortalSeed(contacts=people(200)), rng_seed=11, churn=1.0):
        totals = {b24.call("crm.contact.list", {"order": {"ID": "ASC"}, "start": s}).body["total"]
                  for s in (0, 50, 100, 150)}
        assert len(totals) > 1
        assert any(name in ("ONCRMCONTACTADD", "ONCRMCONTACTDELETE") for name in b24.event_names())
