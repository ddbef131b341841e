"""The sandbox's seeded data: valid where it must be, messy where real data is, anomalies exactly as recorded."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

from b24sync.sandbox import noise
from b24sync.sandbox.bitrix24.api import BUILTIN_PRODUCT_IDS, BUILTIN_USER_IDS
from b24sync.sandbox.ru_ids import is_valid_kpp
from b24sync.sandbox.seed import (
    ANOMALY_KINDS,
    BAD_INN_CHECKSUM,
    BRANCH_PAIR,
    DUPLICATE_INN,
    INDIVIDUAL,
    LEGAL,
    MISSING_REQUISITE,
    PRODUCTS,
    SHARED_EMAIL,
    SOLE_PROPRIETOR,
    UNKNOWN_PRODUCT,
    WRONG_INN_LENGTH,
    SeedSpec,
    bitrix24_portal,
    bitrix24_seed,
    generate_parties,
    project_bitrix24,
)

SEED = 11
CUSTOM_STAGE = "UC_SIGNED"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+03:00")
STANDARD_STAGES = {"NEW", "PREPARATION", "EXECUTING", "WON", "LOSE"}


@pytest.fixture(scope="module")
def spec() -> SeedSpec:
    return SeedSpec()


@pytest.fixture(scope="module")
def parties(spec: SeedSpec) -> pd.DataFrame:
    return generate_parties(spec, SEED)


@pytest.fixture(scope="module")
def projection(parties: pd.DataFrame, spec: SeedSpec):
    return project_bitrix24(parties, spec, SEED, custom_stage=CUSTOM_STAGE)


@pytest.fixture(scope="module")
def by_id(parties: pd.DataFrame) -> pd.DataFrame:
    return parties.set_index("party_id")


def planted_ids(projection, kind: str) -> list[tuple[int, ...]]:
    return [p.ids for p in projection.planted if p.kind == kind]


def e164(value: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(value, "RU"), phonenumbers.PhoneNumberFormat.E164)


# --- determinism ---------------------------------------------------------------------------------------


def test_same_spec_and_seed_give_identical_output() -> None:
    spec = SeedSpec.from_size(400)
    a, b = generate_parties(spec, 5), generate_parties(spec, 5)
    pd.testing.assert_frame_equal(a, b)
    assert bitrix24_seed(a, spec, 5, custom_stage="X") == bitrix24_seed(b, spec, 5, custom_stage="X")


def test_different_seeds_differ() -> None:
    spec = SeedSpec.from_size(400)
    a, b = generate_parties(spec, 1), generate_parties(spec, 2)
    assert (a["inn"].fillna("") != b["inn"].fillna("")).mean() > 0.9
    assert (a["name"] != b["name"]).mean() > 0.5
    assert bitrix24_seed(a, spec, 1)[0] != bitrix24_seed(b, spec, 2)[0]


def test_counts_follow_the_spec(spec: SeedSpec, parties: pd.DataFrame) -> None:
    counts = parties["kind"].value_counts()
    assert counts[LEGAL] == spec.legal_entities
    assert counts[SOLE_PROPRIETOR] == spec.sole_proprietors
    assert counts[INDIVIDUAL] == spec.individuals
    assert parties["party_id"].tolist() == list(range(1, spec.parties + 1))
    assert parties["created_at"].is_monotonic_increasing  # IDs grow with creation time, as in a CRM
    sized = SeedSpec.from_size(1000)
    assert sized.parties == 1000 and sized.deals == 250 and sized.leads == 100


# --- the world: valid identifiers, canonical contacts ---------------------------------------------------


def test_world_registration_numbers_are_valid_and_match_kind(parties: pd.DataFrame) -> None:
    for row in parties.itertuples():
        if row.kind == LEGAL:
            assert len(row.inn) == 10 and stdnum_inn.is_valid(row.inn)
            assert is_valid_kpp(row.kpp)
            if pd.isna(row.head_party_id):  # registered where the INN was issued; branches elsewhere
                assert row.kpp[:4] == row.inn[:4] and row.ogrn[3:7] == row.inn[:4]
            assert len(row.ogrn) == 13 and stdnum_ogrn.is_valid(row.ogrn)
            assert pd.isna(row.ogrnip)
        elif row.kind == SOLE_PROPRIETOR:
            assert len(row.inn) == 12 and stdnum_inn.is_valid(row.inn)
            assert len(row.ogrnip) == 15 and stdnum_ogrn.is_valid(row.ogrnip)
            assert pd.isna(row.kpp) and pd.isna(row.ogrn)
        else:
            assert pd.isna(row.inn) or (len(row.inn) == 12 and stdnum_inn.is_valid(row.inn))
            assert pd.isna(row.kpp) and pd.isna(row.ogrn) and pd.isna(row.ogrnip)
    individuals = parties[parties["kind"] == INDIVIDUAL]
    assert 0 < individuals["inn"].isna().sum() < len(individuals)


def test_world_inn_unique_except_branches_which_differ_by_kpp(parties: pd.DataFrame) -> None:
    heads = parties["head_party_id"].dropna().astype(int)
    assert len(heads) >= 1
    in_group = parties["party_id"].isin(heads) | parties["head_party_id"].notna()
    assert parties.loc[~in_group, "inn"].dropna().is_unique
    for branch in parties[parties["head_party_id"].notna()].itertuples():
        head = parties.loc[parties["party_id"] == branch.head_party_id].iloc[0]
        assert (branch.inn, branch.ogrn) == (head.inn, head.ogrn)
        assert branch.kpp != head.kpp and branch.kpp[4:6] == "43" and head.kpp[4:6] == "01"
    assert parties["ogrn"].dropna()[~in_group].is_unique
    assert parties["ogrnip"].dropna().is_unique


def test_world_contacts_are_canonical_and_distinct(parties: pd.DataFrame) -> None:
    phones = [p for lst in parties["phones"] for p in lst]
    emails = [e for lst in parties["emails"] for e in lst]
    assert all(re.fullmatch(r"\+7\d{10}", p) and e164(p) == p for p in phones)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert all(e == e.lower() and re.fullmatch(r"[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]+", e) for e in emails)
    assert len(set(emails)) == len(emails)
    assert any(not lst for lst in parties["phones"]) and any(not lst for lst in parties["emails"])
    assert set(parties["manager"]) <= set(BUILTIN_USER_IDS)


def test_world_is_in_russian(parties: pd.DataFrame) -> None:
    for column in ("name", "full_name", "address", "city"):
        assert parties[column].map(lambda v: bool(CYRILLIC.search(v))).all(), column
    sample = parties.iloc[0]
    assert sample["address"].startswith("г. ")


def test_overlap_between_systems_is_controlled(parties: pd.DataFrame, projection) -> None:
    only_b24 = (parties["in_b24"] & ~parties["in_onec"]).sum()
    only_onec = (~parties["in_b24"] & parties["in_onec"]).sum()
    both = (parties["in_b24"] & parties["in_onec"]).sum()
    assert only_b24 and only_onec and both > only_b24 + only_onec
    in_b24 = set(parties.loc[parties["in_b24"], "party_id"])
    assert set(projection.company_party) | set(projection.contact_party) == in_b24


# --- the Bitrix24 projection -------------------------------------------------------------------------


def test_references_point_at_existing_positions(projection) -> None:
    seed = projection.seed
    n_comp, n_cont, n_req = len(seed.companies), len(seed.contacts), len(seed.requisites)
    for contact in seed.contacts:
        assert 1 <= contact.get("COMPANY_ID", 1) <= n_comp
    assert all(r["ENTITY_TYPE_ID"] == 4 and 1 <= r["ENTITY_ID"] <= n_comp for r in seed.requisites)
    assert len({r["ENTITY_ID"] for r in seed.requisites}) == n_req
    keys = [(a["TYPE_ID"], a["ENTITY_TYPE_ID"], a["ENTITY_ID"]) for a in seed.addresses]
    assert len(set(keys)) == len(keys)
    assert all(
        a["ENTITY_TYPE_ID"] == 8 and 1 <= a["ENTITY_ID"] <= n_req and a["TYPE_ID"] in (1, 6) for a in seed.addresses
    )
    assert {a["ENTITY_ID"] for a in seed.addresses if a["TYPE_ID"] == 6} == set(range(1, n_req + 1))
    for deal in seed.deals:
        assert deal.get("COMPANY_ID") or deal.get("CONTACT_ID")
        assert 1 <= deal.get("COMPANY_ID", 1) <= n_comp and 1 <= deal.get("CONTACT_ID", 1) <= n_cont
        for row in deal["PRODUCT_ROWS"]:
            if row["PRODUCT_ID"] == 0:  # a free-text row typed into the deal
                continue
            assert row["PRODUCT_ID"] in BUILTIN_PRODUCT_IDS
            assert row["PRODUCT_NAME"] == PRODUCTS[row["PRODUCT_ID"] - 1].name
    assert len(PRODUCTS) == len(BUILTIN_PRODUCT_IDS)
    for record in [*seed.companies, *seed.contacts, *seed.deals, *seed.leads]:
        assert record["ASSIGNED_BY_ID"] in BUILTIN_USER_IDS


def test_contact_company_is_the_employer(projection, by_id: pd.DataFrame) -> None:
    first_position = {}
    for position, party in enumerate(projection.company_party, start=1):
        first_position.setdefault(party, position)
    linked = 0
    for contact, party in zip(projection.seed.contacts, projection.contact_party, strict=True):
        employer = by_id.at[party, "employer_party_id"]
        if "COMPANY_ID" in contact:
            linked += 1
            assert projection.company_party[contact["COMPANY_ID"] - 1] == employer
            assert contact["COMPANY_ID"] == first_position[employer]
        else:
            assert pd.isna(employer) or employer not in first_position
    assert linked > 0


def test_requisites_carry_valid_ids_except_planted(projection, by_id: pd.DataFrame) -> None:
    broken = {p.ids[0]: p.kind for p in projection.planted if p.kind in (BAD_INN_CHECKSUM, WRONG_INN_LENGTH)}
    for req in projection.seed.requisites:
        company = req["ENTITY_ID"]
        party = by_id.loc[projection.company_party[company - 1]]
        inn = req["RQ_INN"]
        if broken.get(company) == BAD_INN_CHECKSUM:
            assert len(inn) == len(party["inn"]) and not stdnum_inn.is_valid(inn)
        elif broken.get(company) == WRONG_INN_LENGTH:
            assert len(inn) in (9, 11) and not stdnum_inn.is_valid(inn)
        else:
            assert inn == party["inn"] and stdnum_inn.is_valid(inn)
        if req["PRESET_ID"] == 1:
            assert party["kind"] == LEGAL and is_valid_kpp(req["RQ_KPP"]) and stdnum_ogrn.is_valid(req["RQ_OGRN"])
            assert req["RQ_KPP"] == party["kpp"] and req["RQ_COMPANY_FULL_NAME"] == party["full_name"]
        else:
            assert party["kind"] == SOLE_PROPRIETOR and len(req["RQ_OGRNIP"]) == 15
            assert stdnum_ogrn.is_valid(req["RQ_OGRNIP"]) and req["RQ_LAST_NAME"] == party["last_name"]


def test_messy_phones_normalize_to_the_party_phones(projection, by_id: pd.DataFrame) -> None:
    seed = projection.seed
    duplicates = {p.ids[1] for p in projection.planted if p.kind == DUPLICATE_INN}
    formats = set()
    for records, owners, entity in (
        (seed.companies, projection.company_party, "company"),
        (seed.contacts, projection.contact_party, "contact"),
    ):
        for position, (record, party) in enumerate(zip(records, owners, strict=True), start=1):
            expected = list(by_id.at[party, "phones"])
            if entity == "company" and position in duplicates:
                expected = expected[:1]
            values = [item["VALUE"] for item in record.get("PHONE", [])]
            assert [e164(v) for v in values] == expected
            formats.update(re.sub(r"\d", "9", v) for v in values)
            for item in record.get("PHONE", []):
                assert item["VALUE_TYPE"] in {"WORK", "MOBILE", "HOME"}
    assert len(formats) >= 8  # managers type numbers in many ways
    assert any(not c.get("PHONE") for c in seed.contacts + seed.companies)


def test_emails_lower_case_back_to_canonical(projection, by_id: pd.DataFrame) -> None:
    seed = projection.seed
    shared_second = {p.ids[1] for p in projection.planted if p.kind == SHARED_EMAIL}
    mixed = 0
    for records, owners, entity in (
        (seed.companies, projection.company_party, "company"),
        (seed.contacts, projection.contact_party, "contact"),
    ):
        for position, (record, party) in enumerate(zip(records, owners, strict=True), start=1):
            if entity == "contact" and position in shared_second:
                continue
            values = [item["VALUE"] for item in record.get("EMAIL", [])]
            assert [v.lower() for v in values] == list(by_id.at[party, "emails"])
            mixed += sum(v != v.lower() for v in values)
    assert mixed > 0


def test_opportunity_is_the_sum_of_product_rows(projection) -> None:
    for deal in projection.seed.deals:
        assert re.fullmatch(r"\d+\.\d{2}", deal["OPPORTUNITY"])
        total = sum(Decimal(str(r["PRICE"])) * r["QUANTITY"] for r in deal["PRODUCT_ROWS"])
        assert Decimal(deal["OPPORTUNITY"]) == total
        assert 1 <= len(deal["PRODUCT_ROWS"]) <= 5 and deal["CURRENCY_ID"] == "RUB"
        assert all(r["PRODUCT_NAME"] and r["QUANTITY"] >= 1 and r["PRICE"] > 0 for r in deal["PRODUCT_ROWS"])


def test_deal_stages_and_lead_statuses(projection, parties: pd.DataFrame, spec: SeedSpec) -> None:
    stages = [d["STAGE_ID"] for d in projection.seed.deals]
    assert set(stages) == STANDARD_STAGES | {CUSTOM_STAGE}
    plain, _ = bitrix24_seed(parties, spec, SEED)
    assert {d["STAGE_ID"] for d in plain.deals} == STANDARD_STAGES
    assert {lead["STATUS_ID"] for lead in projection.seed.leads} == {"NEW", "IN_PROCESS", "PROCESSED", "CONVERTED",
                                                                         "JUNK"}
    for lead in projection.seed.leads:
        assert re.fullmatch(r"\d+\.\d{2}", lead["OPPORTUNITY"]) and lead["NAME"] and lead["LAST_NAME"]


def test_leads_do_not_collide_with_party_emails(projection, parties: pd.DataFrame) -> None:
    known = {e for lst in parties["emails"] for e in lst}
    lead_emails = [item["VALUE"].lower() for lead in projection.seed.leads for item in lead.get("EMAIL", [])]
    assert lead_emails and not known & set(lead_emails)


def test_timestamps_span_two_years_before_as_of(projection, spec: SeedSpec) -> None:
    seed = projection.seed
    created = []
    for record in [*seed.companies, *seed.contacts, *seed.deals, *seed.leads]:
        assert ISO.fullmatch(record["DATE_CREATE"]) and ISO.fullmatch(record["DATE_MODIFY"])
        start, end = datetime.fromisoformat(record["DATE_CREATE"]), datetime.fromisoformat(record["DATE_MODIFY"])
        assert start <= end <= spec.as_of
        created.append(start)
    assert min(created) >= spec.as_of - timedelta(days=spec.history_days + 1)
    assert max(created) - min(created) > timedelta(days=600)


def test_bitrix24_records_are_in_russian(projection) -> None:
    seed = projection.seed
    texts = [c["TITLE"] for c in seed.companies] + [c["LAST_NAME"] for c in seed.contacts]
    texts += [a["ADDRESS_1"] + a["CITY"] + a["COUNTRY"] for a in seed.addresses]
    texts += [d["TITLE"] for d in seed.deals] + [lead["TITLE"] for lead in seed.leads]
    texts += [r["RQ_COMPANY_NAME"] + r["RQ_COMPANY_FULL_NAME"] for r in seed.requisites]
    assert all(CYRILLIC.search(t) for t in texts)


# --- planted anomalies ---------------------------------------------------------------------------------


def test_every_anomaly_kind_is_planted(projection) -> None:
    assert {p.kind for p in projection.planted} == {*ANOMALY_KINDS, UNKNOWN_PRODUCT}


def test_planted_anomalies_are_exactly_what_the_data_shows(projection) -> None:
    seed = projection.seed
    inn_of = {r["ENTITY_ID"]: r["RQ_INN"] for r in seed.requisites}
    kpp_of = {r["ENTITY_ID"]: r.get("RQ_KPP") for r in seed.requisites}

    # Companies sharing an INN: recorded duplicates (same KPP) or branch pairs (other KPP), nothing else.
    groups: dict[str, list[int]] = defaultdict(list)
    for company, inn in inn_of.items():
        groups[inn].append(company)
    shared = {tuple(sorted(ids)) for ids in groups.values() if len(ids) > 1}
    recorded = defaultdict(set)
    for kind in (DUPLICATE_INN, BRANCH_PAIR):
        for ids in planted_ids(projection, kind):
            recorded[inn_of[ids[0]]].update(ids)
            assert inn_of[ids[0]] == inn_of[ids[1]]
            same_kpp = kpp_of[ids[0]] == kpp_of[ids[1]]
            assert same_kpp if kind == DUPLICATE_INN else not same_kpp
    assert shared == {tuple(sorted(ids)) for ids in recorded.values()}

    invalid = {c for c, inn in inn_of.items() if not stdnum_inn.is_valid(inn)}
    assert invalid == {ids[0] for k in (BAD_INN_CHECKSUM, WRONG_INN_LENGTH) for ids in planted_ids(projection, k)}
    for planted in projection.planted:
        if planted.kind in (BAD_INN_CHECKSUM, WRONG_INN_LENGTH):
            assert seed.requisites[planted.detail["requisite_id"] - 1]["ENTITY_ID"] == planted.ids[0]

    without = set(range(1, len(seed.companies) + 1)) - set(inn_of)
    assert without == {ids[0] for ids in planted_ids(projection, MISSING_REQUISITE)}

    owners: dict[str, set[int]] = defaultdict(set)
    for position, contact in enumerate(seed.contacts, start=1):
        for item in contact.get("EMAIL", []):
            owners[item["VALUE"].lower()].add(position)
    shared_emails = {tuple(sorted(ids)) for ids in owners.values() if len(ids) > 1}
    assert shared_emails == set(planted_ids(projection, SHARED_EMAIL))
    for planted in projection.planted:
        if planted.kind == SHARED_EMAIL:
            a, b = (seed.contacts[i - 1]["EMAIL"][0]["VALUE"] for i in planted.ids)
            assert a != b and a.lower() == b.lower() == planted.detail["email"]


def test_no_anomalies_when_switched_off() -> None:
    spec = SeedSpec.from_size(600, anomalies=False)
    parties = generate_parties(spec, 3)
    portal, planted = bitrix24_seed(parties, spec, 3)
    assert planted == []
    assert parties["head_party_id"].isna().all()
    assert len(portal.requisites) == len(portal.companies)
    inns = [r["RQ_INN"] for r in portal.requisites]
    assert len(set(inns)) == len(inns) and all(stdnum_inn.is_valid(i) for i in inns)


def test_too_small_a_world_for_anomalies_is_refused() -> None:
    spec = SeedSpec(legal_entities=3, sole_proprietors=1, individuals=1, deals=1, leads=1)
    with pytest.raises(ValueError, match="too few"):
        bitrix24_seed(generate_parties(spec, 0), spec, 0)


# --- benchmark shape and noise helpers -----------------------------------------------------------------


def test_contacts_only_builds_100k_contacts_with_phone_and_email() -> None:
    portal, planted = bitrix24_portal(SeedSpec.contacts_only(100_000), seed=1)
    assert len(portal.contacts) == 100_000 and planted == []
    assert not (portal.companies or portal.deals or portal.leads or portal.requisites)
    assert all(c.get("PHONE") and c.get("EMAIL") for c in portal.contacts)
    emails = [c["EMAIL"][0]["VALUE"].lower() for c in portal.contacts]
    assert len(set(emails)) == len(emails)


@pytest.mark.parametrize("number", ["+74951234567", "+78125551234", "+79161234567", "+73432000001"])
def test_every_phone_template_parses_back(number: str) -> None:
    rng = np.random.default_rng(0)
    national = number[2:]
    for template in noise.PHONE_TEMPLATES:
        typed = template.format(a=national[:3], b=national[3:6], c=national[6:8], d=national[8:])
        assert e164(typed) == number, typed
    assert e164(noise.format_phone_messy(number, rng)) == number


def test_mixed_case_email_keeps_the_address() -> None:
    rng = np.random.default_rng(0)
    variants = {noise.mix_case_email("ivan.petrov@mail.ru", rng) for _ in range(200)}
    assert {v.lower() for v in variants} == {"ivan.petrov@mail.ru"} and len(variants) > 3
    assert "Ivan.Petrov@Mail.RU" in variants
    for _ in range(20):
        assert noise.mix_case_email("a.b@x.ru", rng, differ_from="a.b@x.ru") != "a.b@x.ru"
