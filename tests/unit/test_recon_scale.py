"""Scale smoke: a synthetic world normalized, matched, diffed and planned in one go.

:func:`synthetic_world` builds both sides' extracted frames the way the clients return them, for
``n`` parties a side: 70 % legal entities, 10 % sole proprietors, 20 % people; phones typed in
three spellings on Bitrix24 and BSP's on 1C; mixed-case e-mails. 90 % of the pairs are linked in the
state with their agreed baseline, the rest are matched by INN+KPP, INN or e-mail. 5 % of the
parties differ: a phone edited in 1C (Bitrix24 owns it: reverted), a name edited in Bitrix24
(newest: propagated), an e-mail changed in Bitrix24 (owner: propagated). ``bench/recon_plan.py``
runs the same world at 1,000,000 a side and prints time and memory per stage.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from b24sync.recon import build_plan, diff, match, normalize_bitrix24, normalize_onec
from b24sync.recon.rules import FieldRules

LEGAL_KIND_REF = "a0000000-0000-4000-8000-00000000000a"
PHONE_KIND_REF = "a0000000-0000-4000-8000-00000000000b"
EMAIL_KIND_REF = "a0000000-0000-4000-8000-00000000000c"
MANAGERS = 50


def _digits(strings: np.ndarray, width: int) -> np.ndarray:
    return (np.frombuffer("".join(strings).encode(), dtype=np.uint8).reshape(-1, width) - 48).astype(np.int64)


def _inn10(i: np.ndarray) -> np.ndarray:
    body = _strs("{:09d}", (770000000 + i).tolist())
    d = _digits(body, 9)
    check = (d @ np.array([2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    return body + check.astype(str).astype(object)


def _inn12(i: np.ndarray) -> np.ndarray:
    body = _strs("{:010d}", (5000000000 + i).tolist())
    d = _digits(body, 10)
    c11 = (d @ np.array([7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    d11 = np.c_[d, c11]
    c12 = (d11 @ np.array([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])) % 11 % 10
    return body + c11.astype(str).astype(object) + c12.astype(str).astype(object)


def synthetic_world(n: int, *, diff_every: int = 20) -> dict[str, object]:
    """Both sides' raw frames, stored links and baseline for ``n`` parties (see the module doc)."""
    i = np.arange(n)
    kind = np.where(i % 10 < 7, "legal", np.where(i % 10 == 7, "sole", "person"))
    company = kind != "person"
    inn = np.where(kind == "legal", _inn10(i), np.where(kind == "sole", _inn12(i), ""))
    kpp = np.where(kind == "legal", _strs("{}01001", (7700 + i % 90).tolist()), "")
    ii = i.tolist()
    e164 = _strs("+7495{:07d}", ii)
    bsp = np.array([f"+7 (495) {k // 10_000 % 1000:03d}-{k // 100 % 100:02d}-{k % 100:02d}" for k in ii], dtype=object)
    plain8 = _strs("8495{:07d}", ii)
    dashed = np.array([f"8-495-{k // 10_000 % 1000:03d}-{k // 100 % 100:02d}-{k % 100:02d}" for k in ii], dtype=object)
    b24_phone = np.where(i % 3 == 0, bsp, np.where(i % 3 == 1, plain8, dashed))
    email = np.array([f"user{k}@firma{k % 100}.ru" for k in ii], dtype=object)
    upper = np.array([f"User{k}@Firma{k % 100}.RU" for k in ii], dtype=object)
    b24_email = np.where(i % 2 == 0, upper, email)
    name = np.where(kind == "legal", _strs("ООО «Ромашка {}»", ii),
                    np.where(kind == "sole", _strs("ИП Петров П.П. {}", ii), _strs("Иванов Иван {}", ii)))
    full = np.where(kind == "legal", _strs("Общество с ограниченной ответственностью «Ромашка {}»", ii), name)
    address = np.where(company, _strs("125009, Москва, ул. Тверская, д. {}", ii), "")
    ref = np.array([f"{k:08x}-0000-4000-8000-{k:012x}" for k in ii], dtype=object)
    manager = i % MANAGERS
    linked = (i // 10) % 10 != 9
    changed_phone = i % (3 * diff_every) == 0
    changed_name = i % (3 * diff_every) == diff_every
    changed_email = i % (3 * diff_every) == 2 * diff_every

    # --- Bitrix24 ---
    b24_id = i + 1
    b24_name = np.where(changed_name, name + " (новое)", name)
    b24_mail = np.where(changed_email, _strs("new{}@firma.ru", ii), b24_email)
    ids = b24_id.tolist()
    phone_lists = [[{"ID": 10 * k + 1, "VALUE": p, "VALUE_TYPE": "WORK"}]
                   for k, p in zip(ids, b24_phone.tolist(), strict=True)]
    email_lists = [[{"ID": 10 * k + 2, "VALUE": e, "VALUE_TYPE": "WORK"}]
                   for k, e in zip(ids, b24_mail.tolist(), strict=True)]
    modified = pd.Series(pd.Timestamp("2024-05-01T12:00:00+03:00") + pd.to_timedelta(i, unit="s"))
    uf = np.where(linked, ref, "")
    common = pd.DataFrame({"ID": b24_id, "PHONE": phone_lists, "EMAIL": email_lists, "ASSIGNED_BY_ID": manager + 1,
                           "DATE_MODIFY": modified, "ORIGINATOR_ID": "", "ORIGIN_ID": "", "UF_CRM_1C_ID": uf})
    companies = common[company].assign(TITLE=b24_name[company]).reset_index(drop=True)
    person = ~company
    split = [n.split(" ", 2) for n in b24_name[person].tolist()]
    last, first, middle = ([p[j] for p in split] for j in range(3))
    contacts = common[person].assign(LAST_NAME=last, NAME=first, SECOND_NAME=middle).reset_index(drop=True)
    requisites = pd.DataFrame({"ID": b24_id[company] + 5_000_000, "ENTITY_TYPE_ID": 4, "ENTITY_ID": b24_id[company],
                               "PRESET_ID": np.where(kind[company] == "legal", 1, 2), "RQ_INN": inn[company],
                               "RQ_KPP": kpp[company], "RQ_COMPANY_NAME": name[company],
                               "RQ_COMPANY_FULL_NAME": full[company]})
    addresses = pd.DataFrame({"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": b24_id[company] + 5_000_000,
                              "ADDRESS_1": address[company], "ADDRESS_2": "", "CITY": "", "POSTAL_CODE": "",
                              "REGION": "", "PROVINCE": "", "COUNTRY": ""})
    users = pd.DataFrame({"ID": np.arange(1, MANAGERS + 1), "EMAIL": np.char.mod("Manager%d@Firma.RU",
                                                                                np.arange(MANAGERS))})
    # --- 1C ---
    onec_phone = np.where(changed_phone, _strs("+7 (495) 999-{:02d}-00", (i % 100).tolist()), bsp)
    ci = [
        [{"LineNumber": 1, "Тип": "Телефон", "Вид_Key": PHONE_KIND_REF, "Представление": p, "НомерТелефона": "",
          "АдресЭП": ""},
         {"LineNumber": 2, "Тип": "АдресЭлектроннойПочты", "Вид_Key": EMAIL_KIND_REF, "Представление": e,
          "НомерТелефона": "", "АдресЭП": e},
         {"LineNumber": 3, "Тип": "Адрес", "Вид_Key": LEGAL_KIND_REF, "Представление": a, "НомерТелефона": "",
          "АдресЭП": ""}]
        for p, e, a in zip(onec_phone.tolist(), email.tolist(), address.tolist(), strict=True)
    ]
    counterparties = pd.DataFrame({
        "Ref_Key": ref, "DataVersion": _strs("AAAAAAA{:05d}=", (i % 100000).tolist()), "DeletionMark": False,
        "Description": name, "НаименованиеПолное": full, "ИНН": inn, "КПП": kpp,
        "ЮрФизЛицо": np.where(kind == "legal", "ЮрЛицо", np.where(kind == "sole", "ИндивидуальныйПредприниматель",
                                                                 "ФизЛицо")),
        "КонтактнаяИнформация": ci,
    })
    user_refs = np.char.mod("b0000000-0000-4000-8000-%012x", np.arange(MANAGERS))
    onec_users = pd.DataFrame({"Ref_Key": user_refs, "email": np.char.mod("manager%d@firma.ru", np.arange(MANAGERS))})
    manager_by_ref = pd.Series(user_refs[manager], index=ref)
    # --- state ---
    b24_key = np.where(company, _strs("company:{}", b24_id.tolist()), _strs("contact:{}", b24_id.tolist()))
    onec_key = "counterparty:" + ref
    links = pd.DataFrame({"b24_key": b24_key[linked], "onec_key": onec_key[linked]})
    values = {
        "name": name, "full_name": np.where(company, full, ""), "inn": inn, "kpp": kpp,
        "phones": _tuples(e164), "emails": _tuples(email), "legal_address": address,
        "manager": _strs("manager{}@firma.ru", manager.tolist()),
    }
    parts = []
    for field, vals in values.items():
        keep = linked & (company | (field in ("name", "phones", "emails", "manager")))
        parts.append(pd.DataFrame({"b24_key": b24_key[keep], "onec_key": onec_key[keep], "field": field,
                                   "value": np.asarray(vals, dtype=object)[keep]}))
    baseline = pd.concat(parts, ignore_index=True)
    return {
        "b24": {"companies": companies, "requisites": requisites, "addresses": addresses, "contacts": contacts,
                "users": users},
        "onec": {"counterparties": counterparties, "users": onec_users, "manager_by_ref": manager_by_ref,
                 "legal_address_kind": LEGAL_KIND_REF},
        "links": links,
        "baseline": baseline,
        "expected": {"phones": int(changed_phone.sum()), "name": int(changed_name.sum()),
                     "emails": int(changed_email.sum())},
    }


def _strs(template: str, values: list) -> np.ndarray:
    return np.array([template.format(v) for v in values], dtype=object)


def _tuples(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [(v,) for v in values.tolist()]
    return out


def run_pipeline(world: dict[str, object], clock=None):
    """Normalize → match → diff → plan, returning each stage's result (``clock(stage)`` after each)."""
    tick = clock or (lambda stage: None)
    b24, b_issues = normalize_bitrix24(**world["b24"])
    tick("normalize_bitrix24")
    onec, o_issues = normalize_onec(**world["onec"])
    tick("normalize_onec")
    matched = match(b24, onec, world["links"])
    tick("match")
    rules = FieldRules({"name": "newest"})
    decided = diff(matched.pairs, b24, onec, rules, world["baseline"])
    tick("diff")
    plan = build_plan(matched, decided, b24, onec, rules, issues=[*b_issues, *o_issues],
                      created_at=datetime(2024, 5, 2, tzinfo=UTC))
    tick("plan")
    return b24, onec, matched, decided, plan


def _check(world, n):
    b24, onec, matched, decided, plan = run_pipeline(world)
    assert len(b24) == len(onec) == n
    assert len(matched.pairs) == n and not matched.conflicts
    assert matched.pairs["matched_by"].value_counts().to_dict() == {
        "stored_link": int(len(world["links"])), **{k: v for k, v in matched.new_pairs["matched_by"].value_counts()
                                                     .to_dict().items()}}
    counts = decided.decisions.groupby(["field", "target", "reason"]).size().to_dict()
    expected = world["expected"]
    linked_share = matched.pairs["matched_by"] == "stored_link"
    assert linked_share.sum() == len(world["links"])
    # edits on records linked in the state (90 %): decided three-way
    assert counts[("phones", "onec", "non_owner_reverted")] <= expected["phones"]
    assert counts[("name", "onec", "changed")] <= expected["name"]
    assert counts[("emails", "onec", "owner_changed")] <= expected["emails"]
    assert len(decided.rejected_edits) == counts[("phones", "onec", "non_owner_reverted")]
    assert not any(i.reason == "invalid_phone" for i in plan.issues)
    assert plan.summary["total_operations"] == len(plan.operations)


def test_small_world_end_to_end():
    world = synthetic_world(2_000)
    _check(world, 2_000)


@pytest.mark.slow
def test_scale_smoke_200k():
    world = synthetic_world(200_000)
    _check(world, 200_000)
