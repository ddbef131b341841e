"""The migration report's pure parts: outcomes, duplicate rules, CSV cells and HTML escaping, without I/O."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd

from b24sync.migrate.export import _cell, _Id, csv_tables
from b24sync.migrate.html import render_html
from b24sync.migrate.report import build_report, record_url
from b24sync.recon.model import Conflict, Issue, conform

PORTAL = "https://acme.bitrix24.ru"


def party(key: str, **values) -> dict:
    side = "onec" if key.startswith("counterparty:") else "bitrix24"
    entity = key.partition(":")[0]
    row = {"key": key, "side": side, "entity": entity, "kind": "individual" if entity == "contact" else "legal",
           "name": key, "inn_valid": True, "deleted": False, "emails": (), "phones": ()}
    row.update(values)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return conform(pd.DataFrame(list(rows)))


def report(b24, onec, pairs=(), conflicts=(), issues=()):
    pairs_frame = pd.DataFrame(list(pairs), columns=["b24_key", "onec_key", "matched_by"])
    return build_report(frame(*b24), frame(*onec), pairs_frame, conflicts, issues, portal=PORTAL)


def test_every_record_has_one_outcome_and_the_counts_add_up():
    rep = report(
        [party("company:1", inn="7707083893", kpp="770701001"), party("company:2", inn="7707083894", inn_valid=False),
         party("company:3", inn="7728168971"), party("contact:1", emails=("a@x.ru",)), party("contact:2")],
        [party("counterparty:a", inn="7707083893", kpp="770701001"), party("counterparty:b", deleted=True),
         party("counterparty:c", inn="7728168971"), party("counterparty:d", inn="7728168971")],
        pairs=[("company:1", "counterparty:a", "inn_kpp")],
        conflicts=[Conflict("invalid_inn", "company", ("company:2",), "bad_inn_checksum", {"inn": "7707083894"}),
                   Conflict("ambiguous_match", "company", ("company:3", "counterparty:c", "counterparty:d"),
                            "inn_on_both_sides", {"inn": "7728168971"}),
                   Conflict("field_undecided", "company", ("company:1", "counterparty:a"), "no_timestamps",
                            {"field": "name"})],
        issues=[Issue("contact:2", "emails", "", "not_created_no_email")])
    assert rep.outcomes["bitrix24"] == {"matched": 1, "conflict": 1, "invalid_inn": 1, "to_create": 1,
                                        "not_creatable": 1, "deletion_marked": 0}
    assert rep.outcomes["onec"] == {"matched": 1, "conflict": 2, "invalid_inn": 0, "to_create": 0,
                                    "not_creatable": 0, "deletion_marked": 1}
    assert [g.kind for g in rep.conflicts] == ["ambiguous_match"]  # values, not matching: left out
    assert [(i.record.key, i.problem) for i in rep.invalid_inns] == [("company:2", "bad_inn_checksum")]
    assert rep.method_counts["inn_kpp"] == 1 and sum(rep.method_counts.values()) == 1
    assert {u.record.key: u.creatable for u in rep.unmatched} == {"contact:1": True, "contact:2": False}


def test_duplicates_follow_the_kpp_class_and_deletion_rules():
    rep = report(
        [party("company:1", inn="7707083893", kpp="770701001", phones=("+74951234567",)),
         party("company:2", inn="7707083893", kpp="770702001"),  # a branch: not a duplicate
         party("company:3", inn="7728168971", kpp="772801001"), party("company:4", inn="7728168971", kpp=""),
         party("contact:1", phones=("+74951234567",))],  # an employee shares the firm's phone: not a duplicate
        [party("counterparty:a", inn="7707083893", kpp="770701001", emails=("x@y.ru",)),
         party("counterparty:b", inn="7707083893", kpp="770701001", emails=("x@y.ru",), deleted=True),
         party("counterparty:c", kind="individual", entity="counterparty", phones=("+79161234567",))],
        pairs=[("company:1", "counterparty:a", "inn_kpp")])
    groups = {(g.scope, g.basis, tuple(r.key for r in g.records)) for g in rep.duplicates}
    assert groups == {("bitrix24", "inn", ("company:3", "company:4"))}


def test_duplicates_across_both_systems_are_more_than_one_pair():
    rep = report([party("contact:1", emails=("a@x.ru",), phones=("+79161234567",)),
                  party("contact:2", phones=("+79990000000",))],
                 [party("counterparty:a", kind="individual", emails=("a@x.ru",), phones=("+79161234567",)),
                  party("counterparty:b", kind="individual", phones=("+79990000000",))],
                 pairs=[("contact:1", "counterparty:a", "email")])
    assert [(g.scope, g.basis, g.value) for g in rep.duplicates] == [("both", "phone", "+79990000000")]


def test_csv_cells_stay_text_in_excel():
    assert _cell(_Id("0105012345")) == '="0105012345"'
    assert _cell(_Id("+74951234567, +74997001122")) == '="+74951234567, +74997001122"'
    assert _cell(_Id("77O7083893")) == "77O7083893"  # a letter O: shown as typed, not as a formula
    assert _cell('=HYPERLINK("x")') == "'=HYPERLINK(\"x\")"
    assert _cell("-1") == "'-1" and _cell("@me") == "'@me" and _cell("ООО «Ромашка»") == "ООО «Ромашка»"
    rep = report([party("company:1", name="=1+1", inn="7707083893")], [])
    header, rows = csv_tables(rep)["unmatched_bitrix24"]
    assert rows[0][1] == "=1+1" and _cell(rows[0][1]) == "'=1+1" and len(header) == len(rows[0])


def test_html_escapes_every_value_and_stays_well_formed():
    evil = '<script>alert(1)</script>" onmouseover="x'
    rep = report([party("company:7", name=evil, inn="7707083893", emails=("<b>@x.ru",))],
                 [party("counterparty:<i>", name="ООО «Ёлка» & Co")])
    html = render_html(rep)
    assert "<script" not in html and "<b>@" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x" in html
    assert f'href="{PORTAL}/crm/company/details/7/"' in html and "ООО «Ёлка» &amp; Co" in html

    class Strict(HTMLParser):
        void = {"meta", "br"}

        def __init__(self):
            super().__init__()
            self.stack, self.bad = [], []

        def handle_starttag(self, tag, attrs):
            if tag not in self.void:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            if not self.stack or self.stack.pop() != tag:
                self.bad.append(tag)

    parser = Strict()
    parser.feed(html)
    assert parser.bad == [] and parser.stack == []


def test_record_links_only_for_bitrix24_cards():
    assert record_url(PORTAL, "company:42") == f"{PORTAL}/crm/company/details/42/"
    assert record_url(PORTAL + "/", "contact:7") == f"{PORTAL}/crm/contact/details/7/"
    assert record_url(PORTAL, "counterparty:abc") == "" and record_url("", "company:1") == ""
    assert record_url(PORTAL, "company:1/../../x") == ""
