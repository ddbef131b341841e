"""Three-way decisions: baseline vs Bitrix24 vs 1C, per field policy (from the rules in design.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from b24sync.recon import model as md
from b24sync.recon.diff import diff
from b24sync.recon.rules import FieldRules
from tests.unit.test_recon_support import BAD_INN, ROMASHKA_INN, frame, party, ref

B, OK1 = "company:1", f"counterparty:{ref(1)}"
PAIRS = pd.DataFrame({"b24_key": [B], "onec_key": [OK1], "matched_by": ["stored_link"]})
EARLY, LATE = pd.Timestamp("2024-05-01T09:00Z"), pd.Timestamp("2024-05-02T09:00Z")


NEWEST_NAMES = FieldRules({"name": "newest"})  # the newest policy is exercised on names


def run(b: dict, o: dict, base: dict | None = None, rules: FieldRules | None = None, pairs=PAIRS):
    b24 = frame(party(B, **{"inn": ROMASHKA_INN, **b}))
    onec = frame(party(OK1, **{"inn": ROMASHKA_INN, **o}))
    baseline = None
    if base is not None:
        baseline = pd.DataFrame([{"b24_key": B, "onec_key": OK1, "field": k, "value": v} for k, v in base.items()])
    return diff(pairs, b24, onec, rules or NEWEST_NAMES, baseline)


def decisions(result, field: str):
    d = result.decisions[result.decisions["field"] == field]
    return [(r.target, r.before, r.after, r.reason) for r in d.itertuples()]


def rejected(result):
    return [(r.field, r.edited_on, r.edited_value, r.kept_value, r.reason) for r in result.rejected_edits]


def test_owner_changed_propagates():
    r = run({"phones": ("+74951234567",)}, {"phones": ("+74950000000",)}, {"phones": ["+74950000000"]})
    assert decisions(r, "phones") == [("onec", ("+74950000000",), ("+74951234567",), "owner_changed")]
    assert rejected(r) == []
    assert r.baseline[r.baseline["field"] == "phones"]["value"].tolist() == [("+74951234567",)]


def test_non_owner_changed_is_reverted_and_reported():
    r = run({"full_name": "ООО «Ромашка»"}, {"full_name": "ООО «Ромашка»"}, {"full_name": "ООО «Ромашка»"})
    assert r.decisions.empty
    r = run({"full_name": "ООО «Лютик»"}, {"full_name": "ООО «Ромашка»"}, {"full_name": "ООО «Ромашка»"})
    assert decisions(r, "full_name") == [("bitrix24", "ООО «Лютик»", "ООО «Ромашка»", "non_owner_reverted")]
    assert rejected(r) == [("full_name", "bitrix24", "ООО «Лютик»", "ООО «Ромашка»", "non_owner_edit")]
    assert "ООО «Лютик»" in r.rejected_edits[0].message()


def test_both_changed_owner_wins_and_the_other_edit_is_reported():
    r = run({"emails": ("ivan@mail.ru",)}, {"emails": ("ivan@yandex.ru",)}, {"emails": ["ivan@old.ru"]})
    assert decisions(r, "emails") == [("onec", ("ivan@yandex.ru",), ("ivan@mail.ru",), "owner_wins")]
    assert rejected(r) == [("emails", "onec", ["ivan@yandex.ru"], ["ivan@mail.ru"], "both_changed")]


def test_formatting_only_is_no_change():
    # the frames hold normalized values: +7 (495) 123-45-67 and 84951234567 are both +74951234567
    r = run({"phones": ("+74951234567",), "emails": ("ivan@mail.ru",), "name": "ООО «Ромашка»"},
            {"phones": ("+74951234567",), "emails": ("ivan@mail.ru",), "name": "ООО «Ромашка»"},
            {"phones": ["+74951234567"], "emails": ["ivan@mail.ru"], "name": "ООО «Ромашка»"})
    assert r.decisions.empty and r.rejected_edits == []


def test_owner_empty_never_erases():
    # owner cleared its value: not propagated without allow_clear, and the clearing is reported
    r = run({"phones": ()}, {"phones": ("+74951234567",)}, {"phones": ["+74951234567"]})
    assert decisions(r, "phones") == []
    assert rejected(r) == [("phones", "bitrix24", [], ["+74951234567"], "clear_not_allowed")]
    # with allow_clear the owner's empty value is written
    r = run({"phones": ()}, {"phones": ("+74951234567",)}, {"phones": ["+74951234567"]},
            FieldRules.from_dict({"allow_clear": ["phones"]}))
    assert decisions(r, "phones") == [("onec", ("+74951234567",), (), "owner_cleared")]
    # the owner was empty all along and the other side filled it in: kept, nothing written
    r = run({"legal_address": "Москва"}, {"legal_address": ""}, {"legal_address": ""})
    assert r.decisions.empty and r.rejected_edits == []


def test_no_baseline_owner_wins_or_is_filled_from_the_other_side():
    r = run({"phones": ("+74951234567",)}, {"phones": ("+74950000000",)})
    assert decisions(r, "phones") == [("onec", ("+74950000000",), ("+74951234567",), "owner_value")]
    r = run({"phones": ()}, {"phones": ("+74950000000",)})
    assert decisions(r, "phones") == [("bitrix24", (), ("+74950000000",), "owner_filled")]
    assert r.baseline[r.baseline["field"] == "phones"]["value"].tolist() == [("+74950000000",)]
    assert r.rejected_edits == []


def test_newest_with_baseline_one_side_changed():
    r = run({"name": "ООО «Ромашка+»"}, {"name": "ООО «Ромашка»"}, {"name": "ООО «Ромашка»"})
    assert decisions(r, "name") == [("onec", "ООО «Ромашка»", "ООО «Ромашка+»", "changed")]


def test_newest_both_changed_latest_wins():
    r = run({"name": "Ромашка-Б24", "modified_at": LATE}, {"name": "Ромашка-1С", "modified_at": EARLY},
            {"name": "Ромашка"})
    assert decisions(r, "name") == [("onec", "Ромашка-1С", "Ромашка-Б24", "newest_wins")]
    assert rejected(r) == [("name", "onec", "Ромашка-1С", "Ромашка-Б24", "older_edit")]
    r = run({"name": "Ромашка-Б24", "modified_at": EARLY}, {"name": "Ромашка-1С", "modified_at": LATE},
            {"name": "Ромашка"})
    assert decisions(r, "name") == [("bitrix24", "Ромашка-Б24", "Ромашка-1С", "newest_wins")]


def test_newest_without_times_is_undecided():
    r = run({"name": "Ромашка-Б24", "modified_at": LATE}, {"name": "Ромашка-1С"}, {"name": "Ромашка"})
    assert r.decisions.empty
    assert [(c.kind, c.reason, c.detail) for c in r.conflicts] == [
        ("field_undecided", "no_timestamps", {"field": "name"})]


def test_newest_without_baseline_fills_an_empty_side():
    r = run({"name": ""}, {"name": "Ромашка"})
    assert decisions(r, "name") == [("bitrix24", "", "Ромашка", "filled_from_other")]


def test_none_policy_skips_the_field():
    r = run({"phones": ("+74951234567",)}, {"phones": ("+74950000000",)}, rules=FieldRules.from_dict(
        {"phones": "none"}))
    assert decisions(r, "phones") == [] and "phones" not in set(r.baseline["field"])


def test_contacts_skip_fields_they_do_not_have():
    pairs = pd.DataFrame({"b24_key": ["contact:1"], "onec_key": [OK1]})
    b24 = frame(party("contact:1", name="Иванов Иван"))
    onec = frame(party(OK1, kind=md.INDIVIDUAL, name="Иванов Иван", full_name="Иванов Иван Иванович",
                       inn=ROMASHKA_INN))
    r = diff(pairs, b24, onec, FieldRules())
    assert r.decisions.empty


def test_an_invalid_inn_is_never_written():
    r = run({"inn": ROMASHKA_INN}, {"inn": BAD_INN, "inn_valid": False}, {"inn": ROMASHKA_INN})
    assert decisions(r, "inn") == []
    assert [(c.kind, c.reason) for c in r.conflicts] == [("field_undecided", "invalid_value")]


@pytest.mark.parametrize("n", [3])
def test_vectorized_over_many_pairs(n):
    b24 = frame(*[party(f"company:{i}", inn=ROMASHKA_INN, phones=(f"+7495000000{i}",)) for i in range(n)])
    onec = frame(*[party(f"counterparty:{ref(i)}", inn=ROMASHKA_INN, phones=("+74951111111",)) for i in range(n)])
    pairs = pd.DataFrame({"b24_key": [f"company:{i}" for i in range(n)],
                          "onec_key": [f"counterparty:{ref(i)}" for i in range(n)]})
    base = pd.DataFrame({"b24_key": pairs["b24_key"], "onec_key": pairs["onec_key"], "field": "phones",
                         "value": [[f"+7495000000{i}"] for i in range(n)]})
    r = diff(pairs, b24, onec, FieldRules(), base)
    assert r.decisions["reason"].tolist() == ["non_owner_reverted"] * n
    assert len(r.rejected_edits) == n


def test_newest_clearing_is_reported_for_its_own_pair_only():
    # three pairs, the last one's name cleared in Bitrix24 since the baseline: the empty winner is not
    # written (no allow_clear) and exactly that pair's clearing is reported, not rows of other pairs
    names = {1: "ООО «Ромашка»", 2: "ООО «Лютик»", 3: "ООО «Василёк»"}
    keys = {k: (f"company:{k}", f"counterparty:{ref(k)}") for k in names}
    pairs = pd.DataFrame({"b24_key": [b for b, _ in keys.values()], "onec_key": [o for _, o in keys.values()],
                          "matched_by": "stored_link"})
    b24 = frame(*(party(keys[k][0], name="" if k == 3 else name, modified_at=LATE) for k, name in names.items()))
    onec = frame(*(party(keys[k][1], name=name, modified_at=EARLY) for k, name in names.items()))
    baseline = pd.DataFrame([{"b24_key": keys[k][0], "onec_key": keys[k][1], "field": "name", "value": name}
                             for k, name in names.items()])
    r = diff(pairs, b24, onec, NEWEST_NAMES, baseline)
    assert r.decisions.empty
    assert [(e.b24_key, e.onec_key, e.field, e.edited_on, e.edited_value, e.kept_value, e.owner, e.reason)
            for e in r.rejected_edits] == [
        ("company:3", f"counterparty:{ref(3)}", "name", "bitrix24", "", "ООО «Василёк»", "newest", "clear_not_allowed")]
