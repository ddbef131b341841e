"""The plan: creates, links, grouped updates, exact multifield patches, stable ids, JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd

from b24sync.recon import model as md
from b24sync.recon.diff import diff
from b24sync.recon.match import match
from b24sync.recon.plan import Plan, b24_multifield_patch, build_plan, onec_contact_patch
from b24sync.recon.rules import FieldRules
from tests.unit.test_recon_support import (
    LUTIK_INN,
    PETROV_INN,
    ROMASHKA_INN,
    ROMASHKA_KPP,
    frame,
    links,
    party,
    ref,
)

WHEN = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
C1, C2, C3, C4 = (f"counterparty:{ref(n)}" for n in (1, 2, 3, 4))


def world():
    b24 = frame(
        party("company:1", name="ООО «Ромашка»", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP, link=C1,
              version="2024-05-01T09:00:00+00:00", phones=("+74951234567", "+79161234567"),
              raw_phones=((10, "+7 (495) 123-45-67"), (11, "8-916-123-45-67"), (12, "внутр. 204"))),
        party("company:2", name="ООО «Лютик»", inn=LUTIK_INN, kpp="772801001", version="2024-05-01T10:00:00+00:00"),
        party("company:3", name="Без ИНН"),
        party("contact:5", name="Иванова Анна", emails=("anna@mail.ru",), raw_emails=((50, "Anna@Mail.RU"),)),
    )
    onec = frame(
        party(C1, name="ООО «Ромашка»", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP, version="AAAAAAAETag=",
              full_name="Общество с ограниченной ответственностью «Ромашка»",
              phones=("+74951234567", "+74957654321"),
              raw_phones=((1, "+7 (495) 123-45-67"), (2, "+7 (495) 765-43-21"))),
        party(C2, name="ООО «Лютик»", inn=LUTIK_INN, kpp="772801001", version="AAAAAAAETah="),
        party(C3, kind=md.SOLE_PROPRIETOR, name="ИП Петров", inn=PETROV_INN, version="AAAAAAAETai=",
              phones=("+74951112233",)),
        party(C4, kind=md.INDIVIDUAL, name="Сидоров Пётр", version="AAAAAAAETaj="),
    )
    baseline = pd.DataFrame([
        {"b24_key": "company:1", "onec_key": C1, "field": "phones", "value": ["+74951234567", "+74957654321"]},
    ])
    return b24, onec, baseline


def make_plan():
    b24, onec, baseline = world()
    rules = FieldRules()
    matched = match(b24, onec, links(("company:1", C1)))
    decided = diff(matched.pairs, b24, onec, rules, baseline)
    return build_plan(matched, decided, b24, onec, rules, created_at=WHEN), b24, onec


def ops_by(plan, action, target):
    return [op for op in plan.operations if op.action == action and op.target == target]


def test_creates_for_valid_unmatched_records_only():
    plan, _, _ = make_plan()
    to_onec = ops_by(plan, "create", "onec")
    assert [op.key["b24_key"] for op in to_onec] == ["contact:5"]
    create = to_onec[0]
    assert create.target_id == md.deterministic_ref("contact:5")
    assert create.fields["ЮрФизЛицо"]["after"] == "ФизЛицо"
    assert create.fields["emails"] == {"before": None, "after": ["anna@mail.ru"], "reason": "new_in_bitrix24"}
    assert create.patch["КонтактнаяИнформация"]["add"][0]["АдресЭП"] == "anna@mail.ru"
    # and the contact gets the new counterparty's reference
    link = next(op for op in plan.operations if op.action == "link" and op.key["b24_key"] == "contact:5")
    assert link.fields["UF_CRM_1C_ID"]["after"] == create.target_id
    to_b24 = ops_by(plan, "create", "bitrix24")
    assert [(op.entity, op.key["onec_key"]) for op in to_b24] == [("company", C3)]
    petrov = to_b24[0]
    assert petrov.fields["PRESET_ID"]["after"] == 2 and petrov.fields["ORIGIN_ID"]["after"] == ref(3)
    assert petrov.patch["PHONE"] == [{"VALUE": "+7 495 111-22-33", "VALUE_TYPE": "WORK"}]
    # invalid ones are listed with the reason, not created
    assert {(i.record_key, i.reason) for i in plan.issues} == {
        ("company:3", "not_created_no_inn"), (C4, "not_created_no_email")}


def test_link_for_a_new_key_match_writes_uf_crm_1c_id():
    plan, _, _ = make_plan()
    link = next(op for op in plan.operations if op.action == "link" and op.key["b24_key"] == "company:2")
    assert link.reason == "matched_by_inn_kpp" and link.target_id == "2"
    assert link.fields["UF_CRM_1C_ID"] == {"before": "", "after": ref(2), "reason": "link_field"}
    assert link.precondition == {"DATE_MODIFY": "2024-05-01T10:00:00+00:00"}


def test_updates_are_grouped_per_record_with_preconditions():
    plan, _, _ = make_plan()
    updates = ops_by(plan, "update", "bitrix24")
    assert len(updates) == 1 and updates[0].key == {"b24_key": "company:1", "onec_key": C1}
    assert set(updates[0].fields) == {"full_name"}  # 1C owns it and the pair has no baseline for it
    onec_updates = ops_by(plan, "update", "onec")
    assert len(onec_updates) == 1
    op = onec_updates[0]
    assert op.precondition == {"DataVersion": "AAAAAAAETag="}
    assert op.fields["phones"]["after"] == ["+74951234567", "+79161234567"]
    rows = op.patch["КонтактнаяИнформация"]
    assert rows["remove"] == [{"LineNumber": 2, "Тип": "Телефон", "Представление": "+7 (495) 765-43-21"}]
    assert [r["Представление"] for r in rows["add"]] == ["+7 (916) 123-45-67"]


def test_multifield_patch_keeps_present_values_in_any_spelling_and_never_duplicates():
    raw = ((10, "+7 (495) 123-45-67"), (11, "84951234567"), (12, "8-916-000-00-00"), (13, "внутр. 204"))
    patch = b24_multifield_patch("phones", raw, ("+74951234567", "+79161234567"))
    assert patch == [{"ID": 12, "DELETE": "Y"}, {"VALUE": "+7 916 123-45-67", "VALUE_TYPE": "WORK"}]
    # nothing to do when the target is already there, whatever the spelling
    assert b24_multifield_patch("phones", raw[:2] + raw[3:], ("+74951234567",)) == []
    assert b24_multifield_patch("emails", ((1, "Ivan@Mail.RU"),), ("ivan@mail.ru",)) == []
    # applying the patch and patching again is a no-op
    after = ((10, "+7 (495) 123-45-67"), (11, "84951234567"), (13, "внутр. 204"), (14, "+7 916 123-45-67"))
    assert b24_multifield_patch("phones", after, ("+74951234567", "+79161234567")) == []


def test_onec_contact_patch_by_kind():
    rows = onec_contact_patch("emails", ((3, "Ivan@Mail.RU"), (4, "old@mail.ru")), ("ivan@mail.ru", "new@mail.ru"))
    assert rows["remove"] == [{"LineNumber": 4, "Тип": "АдресЭлектроннойПочты", "Представление": "old@mail.ru"}]
    assert rows["add"] == [{"Тип": "АдресЭлектроннойПочты", "Вид": "EmailКонтрагента", "value": "new@mail.ru",
                            "Представление": "new@mail.ru", "АдресЭП": "new@mail.ru"}]
    address = onec_contact_patch("legal_address", (), "125009, Москва, ул. Тверская, д. 1")
    assert address["remove"] == [{"Тип": "Адрес", "Вид": "ЮрАдресКонтрагента"}]


def test_ids_are_deterministic():
    first, _, _ = make_plan()
    second, _, _ = make_plan()
    assert [op.op_id for op in first.operations] == [op.op_id for op in second.operations]
    assert first.plan_id == second.plan_id
    assert len({op.op_id for op in first.operations}) == len(first.operations)
    b24, onec, baseline = world()
    b24.loc[b24["key"] == "company:2", "manager"] = "petrova@firma.ru"
    matched = match(b24, onec, links(("company:1", C1)))
    third = build_plan(matched, diff(matched.pairs, b24, onec, FieldRules(), baseline), b24, onec, created_at=WHEN)
    assert third.plan_id != first.plan_id


def test_summary_counts():
    plan, _, _ = make_plan()
    ops = plan.summary["operations"]
    assert ops["onec"]["counterparty"] == {"create": 1, "link": 0, "update": 1}
    assert ops["bitrix24"]["company"] == {"create": 1, "link": 1, "update": 1}
    assert ops["bitrix24"]["contact"] == {"create": 0, "link": 1, "update": 0}
    assert plan.summary["total_operations"] == len(plan.operations)
    assert plan.summary["rejected_edits"] == len(plan.rejected_edits) == 0
    assert plan.summary["issues"] == 2


def test_json_round_trip_and_shape():
    plan, _, _ = make_plan()
    text = plan.to_json()
    data = json.loads(text)
    assert list(data) == ["format_version", "plan_id", "created_at", "operations", "conflicts", "rejected_edits",
                          "issues", "summary"]
    assert data["format_version"] == 1 and data["created_at"] == "2024-05-02T10:00:00+00:00"
    assert "ООО «Ромашка»" in text or "Ромашка" in text  # Cyrillic kept readable
    assert set(data["operations"][0]) >= {"op_id", "action", "target", "entity", "target_id", "key", "fields",
                                          "reason"}
    again = Plan.from_json(text)
    assert again == plan
    assert again.to_json() == text


def test_conflicts_and_rejected_edits_travel_in_the_plan():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP, full_name="ООО «Лютик»"),
                party("company:2", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP, full_name="ООО «Ромашка»"))
    matched = match(b24, onec, links(("company:1", C1)))
    base = pd.DataFrame([{"b24_key": "company:1", "onec_key": C1, "field": "full_name", "value": "ООО «Ромашка»"}])
    plan = build_plan(matched, diff(matched.pairs, b24, onec, FieldRules(), base), b24, onec, created_at=WHEN)
    assert [c.kind for c in plan.conflicts] == ["duplicate_inn"]
    assert [(r.field, r.reason) for r in plan.rejected_edits] == [("full_name", "non_owner_edit")]
    again = Plan.from_json(plan.to_json())
    assert again.conflicts == plan.conflicts and again.rejected_edits == plan.rejected_edits
