"""The 1C projection of the seeded world: deterministic, overlapping Bitrix24 exactly as planned,
valid INN/KPP, contact information consistent across its representations, every difference recorded."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd
import pytest
from stdnum.ru import inn as stdnum_inn

from b24sync.sandbox.bitrix24.methods.reference import PRODUCTS, USERS
from b24sync.sandbox.onec import OneCStore
from b24sync.sandbox.onec.contactinfo import parse_phone, row_problems
from b24sync.sandbox.onec.seed import load_onec, onec_seed, seed_ref
from b24sync.sandbox.onec.ut115 import CI_KIND_SET
from b24sync.sandbox.overlap import ONEC_KINDS, OverlapRates, assign_sides, overlap_figures
from b24sync.sandbox.ru_ids import is_valid_kpp
from b24sync.sandbox.seed import SeedSpec, generate_parties

SEED = 7
SPEC = SeedSpec.from_size(200)
CP = "Catalog_Контрагенты"


@pytest.fixture(scope="module")
def sides() -> pd.DataFrame:
    return assign_sides(generate_parties(SPEC, SEED), SPEC, SEED)


@pytest.fixture(scope="module")
def seeded(sides: pd.DataFrame) -> tuple[OneCStore, list[Any]]:
    store = OneCStore()
    planted = load_onec(store, sides, SPEC, SEED)
    return store, planted


def counterparties(store: OneCStore) -> list[dict[str, Any]]:
    return store.query(CP)


def test_same_inputs_same_records_and_refs(sides: pd.DataFrame) -> None:
    first = onec_seed(sides, SPEC, SEED)
    assert onec_seed(sides, SPEC, SEED) == first
    assert onec_seed(generate_parties(SPEC, SEED), SPEC, SEED) == first  # sides are derived the same way
    other, _ = onec_seed(assign_sides(generate_parties(SPEC, SEED + 1), SPEC, SEED + 1), SPEC, SEED + 1)
    assert {v["Ref_Key"] for _, v in other}.isdisjoint({v["Ref_Key"] for _, v in first[0]})


def test_sides_follow_the_world_and_variants_match_the_spec(sides: pd.DataFrame) -> None:
    world = generate_parties(SPEC, SEED)
    assert sides["in_bitrix24"].tolist() == world["in_b24"].tolist()  # one decision, not two draws
    assert sides["in_onec"].tolist() == world["in_onec"].tolist()
    figures = overlap_figures(sides)
    assert figures["both"] + figures["only_bitrix24"] + figures["only_onec"] + figures["neither"] == 200
    assert abs(figures["only_onec"] - SPEC.only_onec_rate * 200) < 4 * (200 * 0.15 * 0.85) ** 0.5
    rates = OverlapRates()
    onec = int(sides["in_onec"].sum())
    both = sides["in_bitrix24"] & sides["in_onec"] & sides["head_party_id"].isna() & \
        ~sides["party_id"].isin(sides["head_party_id"].dropna())
    legal_both = int((both & (sides["kind"] == "legal")).sum())
    firms_both = int((both & (sides["kind"] != "individual")).sum())
    assert figures["deletion_marked"] == SPEC.planted_count(rates.deletion_marked, onec)
    assert figures["duplicate_inn"] == SPEC.planted_count(rates.duplicate_inn, onec)
    assert figures["kpp_differs"] == SPEC.planted_count(rates.kpp_differs, legal_both)
    assert figures["address_differs"] == SPEC.planted_count(rates.address_differs, firms_both)
    assert figures["phone_differs"] == SPEC.planted_count(rates.phone_differs, int(both.sum()))
    assert sides.loc[~sides["in_onec"], "onec_variant"].isna().all()
    branches = sides["head_party_id"].notna()
    assert (sides.loc[branches, "onec_variant"] == "same").all()
    clean = overlap_figures(assign_sides(generate_parties(SPEC.with_(anomalies=False), 1),
                                         SPEC.with_(anomalies=False), 1))
    assert clean["same"] == clean["both"] + clean["only_onec"]


def test_one_counterparty_per_party_known_to_1c(seeded: tuple[OneCStore, list[Any]], sides: pd.DataFrame) -> None:
    store, planted = seeded
    refs = {r["Ref_Key"] for r in counterparties(store)}
    for row in sides.itertuples():
        assert (seed_ref(SEED, "counterparty", row.party_id) in refs) == bool(row.in_onec)
    duplicates = sum(1 for p in planted if p.kind == ONEC_KINDS["duplicate_inn"])
    assert len(refs) == int(sides["in_onec"].sum()) + duplicates
    assert store.diagnostics == []  # the seed writes no property the model does not have
    for record in counterparties(store):
        partner = store.get("Catalog_Партнеры", record["Партнер_Key"])
        assert partner is not None and partner["Клиент"]
        assert partner["ЮрФизЛицо"] == ("ЧастноеЛицо" if record["ЮрФизЛицо"] == "ФизЛицо" else "Компания")
    branch = sides[sides["head_party_id"].notna() & sides["in_onec"]].iloc[0]
    branch_cp = store.get(CP, seed_ref(SEED, "counterparty", branch.party_id))
    head_cp = store.get(CP, seed_ref(SEED, "counterparty", int(branch.head_party_id)))
    assert branch_cp["ОбособленноеПодразделение"] and branch_cp["ГоловнойКонтрагент_Key"] == head_cp["Ref_Key"]
    assert branch_cp["Партнер_Key"] == head_cp["Партнер_Key"]  # one business, two taxpayers


def test_inn_and_kpp_are_valid_and_consistent_with_the_kind(seeded: tuple[OneCStore, list[Any]]) -> None:
    store, _ = seeded
    kinds = Counter()
    for record in counterparties(store):
        kind, inn, kpp = record["ЮрФизЛицо"], record["ИНН"], record["КПП"]
        kinds[kind] += 1
        assert record["ЮридическоеФизическоеЛицо"] == ("ЮридическоеЛицо" if kind == "ЮрЛицо" else "ФизическоеЛицо")
        if kind == "ЮрЛицо":
            assert len(inn) == 10 and stdnum_inn.is_valid(inn) and is_valid_kpp(kpp)
        else:
            assert kpp == "" and (inn == "" or (len(inn) == 12 and stdnum_inn.is_valid(inn)))
            assert inn or kind == "ФизЛицо"
    assert set(kinds) == {"ЮрЛицо", "ИндивидуальныйПредприниматель", "ФизЛицо"}
    for org in store.query("Catalog_Организации"):
        assert stdnum_inn.is_valid(org["ИНН"]) and is_valid_kpp(org["КПП"])


def test_contact_information_rows_are_consistent(seeded: tuple[OneCStore, list[Any]]) -> None:
    store, _ = seeded
    names = {r["Ref_Key"]: r["PredefinedDataName"] or r["Description"] for r in store.query(CI_KIND_SET)}
    kinds, legacy = Counter(), 0
    for entity_set, suffix in ((CP, "Контрагента"), ("Catalog_Партнеры", "Партнера")):
        for record in store.query(entity_set):
            for row in record["КонтактнаяИнформация"]:
                assert row_problems(row) == [], (record["Description"], row)
                kind = names[row["Вид_Key"]]
                assert kind.endswith(suffix), kind
                assert row["ВидДляСписка_Key"] == row["Вид_Key"]
                kinds[row["Тип"]] += 1
                if row["Тип"] == "Телефон":
                    parts = parse_phone(row["Представление"])
                    assert parts is not None and json.loads(row["Значение"])["number"] == parts.number
                    legacy += row["Представление"] != parts.presentation
    assert kinds["Телефон"] and kinds["АдресЭлектроннойПочты"] and kinds["Адрес"]
    assert 0 < legacy < kinds["Телефон"] / 2  # a share typed before BSP 3 keeps its own format


def test_every_planted_difference_is_in_the_base(seeded: tuple[OneCStore, list[Any]], sides: pd.DataFrame) -> None:
    store, planted = seeded
    by_party = sides.set_index("party_id")
    assert Counter(p.kind for p in planted) == Counter(
        {ONEC_KINDS[v]: n for v, n in sides["onec_variant"].value_counts().items() if v in ONEC_KINDS})
    order = [r["Ref_Key"] for r in counterparties(store)]
    for p in planted:
        record = store.get(CP, p.detail["ref"])
        party = by_party.loc[p.detail["party_id"]]
        assert order.index(record["Ref_Key"]) + 1 == p.ids[0]
        assert p.detail["in_bitrix24"] == bool(party["in_bitrix24"])
        phones = [r["НомерТелефона"] for r in record["КонтактнаяИнформация"] if r["Тип"] == "Телефон"]
        if p.kind == "onec_phone_differs":
            assert p.detail["onec"] in phones and p.detail["bitrix24"] not in phones
            assert p.detail["bitrix24"] == party["phones"][0] and party["in_bitrix24"]
        elif p.kind == "onec_address_differs":
            address = next(r for r in record["КонтактнаяИнформация"] if r["Тип"] == "Адрес")
            assert address["Представление"] == p.detail["onec"] and party["address"] not in address["Представление"]
        elif p.kind == "onec_kpp_differs":
            assert record["КПП"] == p.detail["onec"] != party["kpp"] and is_valid_kpp(record["КПП"])
            assert [h["КПП"] for h in record["ИсторияКПП"]] == [party["kpp"], p.detail["onec"]]
        elif p.kind == "onec_deletion_marked":
            assert record["DeletionMark"] is True
        elif p.kind == "onec_duplicate_inn":
            twins = store.query(CP, lambda r, inn=p.detail["inn"]: r["ИНН"] == inn and not r["DeletionMark"])
            assert {t["Ref_Key"] for t in twins} == set(p.detail["refs"]) and len(p.ids) == 2
            assert twins[0]["Партнер_Key"] != twins[1]["Партнер_Key"]
    marked = [r for r in counterparties(store) if r["DeletionMark"]]
    assert len(marked) == sum(p.kind == "onec_deletion_marked" for p in planted)


def test_reference_data_matches_the_bitrix24_portal(seeded: tuple[OneCStore, list[Any]]) -> None:
    store, _ = seeded
    users = {u["Description"]: u for u in store.query("Catalog_Пользователи")}
    for user in USERS:
        record = users[f"{user['LAST_NAME']} {user['NAME']} {user['SECOND_NAME']}"]
        assert [r["АдресЭП"] for r in record["КонтактнаяИнформация"]] == [user["EMAIL"]]
    items = store.query("Catalog_Номенклатура")
    assert [i["Description"] for i in items] == [name for name, _, _ in PRODUCTS]
    assert [i["Артикул"] for i in items] == [f"product-{n}" for n in range(1, len(PRODUCTS) + 1)]
    assert {c["Code"] for c in store.query("Catalog_Валюты")} >= {"643", "840", "978"}
    managers = {r["ОсновнойМенеджер_Key"] for r in store.query("Catalog_Партнеры")}
    assert managers <= {u["Ref_Key"] for u in users.values()}
    assert store.predefined(CI_KIND_SET, "ТелефонКонтрагента")  # predefined kinds come with the model
