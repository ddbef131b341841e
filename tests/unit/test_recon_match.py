"""Matching: stored links win, then stamps, INN+KPP, INN, e-mail; every ambiguity is a conflict."""

from __future__ import annotations

from b24sync.recon import model as md
from b24sync.recon.match import match
from tests.unit.test_recon_support import (
    BAD_INN,
    LUTIK_INN,
    PETROV_INN,
    ROMASHKA_BRANCH_KPP,
    ROMASHKA_INN,
    ROMASHKA_KPP,
    frame,
    links,
    party,
    ref,
)

C1, C2, C3 = (f"counterparty:{ref(n)}" for n in (1, 2, 3))


def pairs_of(result):
    return {(r.b24_key, r.onec_key, r.matched_by) for r in result.pairs.itertuples()}


def kinds_of(result):
    return {(c.kind, c.reason, c.records) for c in result.conflicts}


def test_inn_kpp_matches_branches_separately():
    b24 = frame(party("company:1", name="ООО «Ромашка»", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP),
                party("company:2", name="Ромашка, филиал", inn=ROMASHKA_INN, kpp=ROMASHKA_BRANCH_KPP))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_BRANCH_KPP), party(C2, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    result = match(b24, onec)
    assert pairs_of(result) == {("company:1", C2, "inn_kpp"), ("company:2", C1, "inn_kpp")}
    assert result.conflicts == [] and result.unmatched_b24.empty and result.unmatched_onec.empty


def test_inn_alone_when_unique_on_both_sides_and_for_sole_proprietors():
    b24 = frame(party("company:1", inn=LUTIK_INN, kpp="772801001"),
                party("company:2", kind=md.SOLE_PROPRIETOR, inn=PETROV_INN))
    onec = frame(party(C1, inn=LUTIK_INN, kpp="772845001"),  # KPP changed in 1C (new tax office)
                 party(C2, kind=md.SOLE_PROPRIETOR, inn=PETROV_INN))
    assert pairs_of(match(b24, onec)) == {("company:1", C1, "inn"), ("company:2", C2, "inn")}


def test_new_branch_in_1c_is_unmatched_not_conflicted():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party(C2, inn=ROMASHKA_INN, kpp=ROMASHKA_BRANCH_KPP))
    result = match(b24, onec)
    assert pairs_of(result) == {("company:1", C1, "inn_kpp")}
    assert result.unmatched_onec.tolist() == [C2] and result.conflicts == []


def test_email_matches_individuals_case_insensitively_normalized():
    b24 = frame(party("contact:7", name="Иванов Иван", emails=("ivan@mail.ru",)))
    onec = frame(party(C1, kind=md.INDIVIDUAL, emails=("ivan@mail.ru", "ivan@work.ru")))
    assert pairs_of(match(b24, onec)) == {("contact:7", C1, "email")}


def test_stored_link_wins_over_keys():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party(C2, inn=LUTIK_INN, kpp="772801001"))
    result = match(b24, onec, links(("company:1", C2)))
    assert pairs_of(result) == {("company:1", C2, "stored_link")}
    assert result.new_pairs.empty
    # C1 carries company:1's INN and KPP, but company:1 is linked elsewhere: held back, not created again
    assert kinds_of(result) == {("duplicate_link", "already_linked", ("company:1", C1))}
    assert result.unmatched_onec.empty


def test_stamped_link_and_origin():
    b24 = frame(party("company:1", inn=LUTIK_INN, link=C1), party("contact:2", origin=C2))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party(C2, kind=md.INDIVIDUAL))
    assert pairs_of(match(b24, onec)) == {("company:1", C1, "record_link"), ("contact:2", C2, "origin")}


def test_deterministic_ref_finds_a_counterparty_created_before_the_state_was_lost():
    created = f"counterparty:{md.deterministic_ref('contact:5')}"
    b24 = frame(party("contact:5", emails=("anna@mail.ru",)))
    onec = frame(party(created, kind=md.INDIVIDUAL, emails=("anna.new@mail.ru",)))
    result = match(b24, onec, ref_namespace=md.DEFAULT_REF_NAMESPACE)
    assert pairs_of(result) == {("contact:5", created, "deterministic_ref")}


def test_two_b24_companies_with_one_inn_and_kpp_are_a_conflict():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party("company:2", inn=ROMASHKA_INN,
                                                                            kpp=ROMASHKA_KPP))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    result = match(b24, onec)
    assert result.pairs.empty
    assert kinds_of(result) == {("duplicate_inn", "same_kpp", ("company:1", "company:2", C1))}
    assert result.unmatched_b24.empty and result.unmatched_onec.empty  # nothing is created either
    assert ROMASHKA_INN in result.conflicts[0].message()


def test_one_inn_with_a_missing_kpp_is_a_conflict():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party("company:2", inn=ROMASHKA_INN))
    result = match(b24, frame())
    assert kinds_of(result) == {("duplicate_inn", "missing_kpp", ("company:1", "company:2"))}
    assert result.unmatched_b24.empty


def test_one_email_on_two_1c_individuals_is_a_conflict():
    b24 = frame(party("contact:1", emails=("anna@mail.ru",)))
    onec = frame(party(C1, kind=md.INDIVIDUAL, emails=("anna@mail.ru",)),
                 party(C2, kind=md.INDIVIDUAL, emails=("anna@mail.ru", "a@b.ru")))
    result = match(b24, onec)
    assert result.pairs.empty
    assert kinds_of(result) == {("duplicate_email", "shared_email", ("contact:1", C1, C2))}
    assert result.conflicts[0].detail == {"email": "anna@mail.ru"}


def test_one_email_on_two_b24_contacts_is_a_conflict():
    b24 = frame(party("contact:1", emails=("anna@mail.ru",)), party("contact:2", emails=("anna@mail.ru",)))
    result = match(b24, frame())
    assert kinds_of(result) == {("duplicate_email", "shared_email", ("contact:1", "contact:2"))}


def test_emails_pointing_at_two_records_are_ambiguous():
    b24 = frame(party("contact:1", emails=("anna@mail.ru", "anna@work.ru")))
    onec = frame(party(C1, kind=md.INDIVIDUAL, emails=("anna@mail.ru",)),
                 party(C2, kind=md.INDIVIDUAL, emails=("anna@work.ru",)))
    assert kinds_of(match(b24, onec)) == {("ambiguous_match", "several_emails_match", ("contact:1", C1, C2))}


def test_bad_checksum_is_a_conflict_and_never_created():
    b24 = frame(party("company:1", inn=BAD_INN, kpp=ROMASHKA_KPP))
    onec = frame(party(C1, inn=BAD_INN, kpp=ROMASHKA_KPP))
    result = match(b24, onec)
    assert result.pairs.empty and result.unmatched_b24.empty and result.unmatched_onec.empty
    assert {(c.kind, c.reason) for c in result.conflicts} == {("invalid_inn", "bad_inn_checksum")}
    assert {c.records for c in result.conflicts} == {("company:1",), (C1,)}


def test_link_to_a_missing_or_deleted_record_is_a_conflict():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party("company:2", inn=LUTIK_INN),
                party("company:3", link=C3))
    onec = frame(party(C2, inn=LUTIK_INN, deleted=True))
    result = match(b24, onec, links(("company:1", C1), ("company:2", C2)))
    assert kinds_of(result) == {
        ("broken_link", "record_missing", ("company:1",)),
        ("broken_link", "record_deleted", ("company:2",)),
        ("broken_link", "record_missing", ("company:3",)),
    }
    assert result.pairs.empty and result.unmatched_b24.empty  # not re-created in 1C
    assert result.unmatched_onec.empty  # deletion-marked records are never created


def test_a_stored_link_whose_b24_record_is_gone_holds_the_1c_record():
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    result = match(frame(), onec, links(("company:9", C1)))
    assert kinds_of(result) == {("broken_link", "record_missing", (C1,))}
    assert result.unmatched_onec.empty


def test_disagreeing_links_are_conflicts():
    b24 = frame(party("company:1"), party("company:2", link=C2), party("company:3", link=C2))
    onec = frame(party(C1), party(C2))
    result = match(b24, onec, links(("company:1", C1), ("company:4", C1)))
    assert kinds_of(result) == {
        ("duplicate_link", "stored_twice", ("company:1", "company:4", C1)),
        ("duplicate_link", "stamped_twice", ("company:2", "company:3", C2)),
    }


def test_new_duplicate_of_a_linked_company_is_held_back_but_the_pair_stays():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP),
                party("company:2", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    onec = frame(party(C1, inn=ROMASHKA_INN, kpp=ROMASHKA_KPP))
    result = match(b24, onec, links(("company:1", C1)))
    assert pairs_of(result) == {("company:1", C1, "stored_link")}
    assert kinds_of(result) == {("duplicate_inn", "same_kpp", ("company:1", "company:2"))}
    assert result.unmatched_b24.empty  # company:2 is not created in 1C as a second «Ромашка»


def test_unmatched_records_are_the_creation_candidates():
    b24 = frame(party("company:1", inn=ROMASHKA_INN, kpp=ROMASHKA_KPP), party("contact:1", emails=("a@b.ru",)))
    onec = frame(party(C1, inn=LUTIK_INN, kpp="772801001"))
    result = match(b24, onec)
    assert sorted(result.unmatched_b24) == ["company:1", "contact:1"]
    assert result.unmatched_onec.tolist() == [C1]
