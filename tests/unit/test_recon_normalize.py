"""Normalization: messy Russian phones, mixed-case e-mails, INN checksums and kinds, issues not exceptions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from stdnum.ru import inn as stdnum_inn

from b24sync.recon import model as md
from b24sync.recon.normalize import (
    inn_problems,
    normalize_bitrix24,
    normalize_emails,
    normalize_onec,
    normalize_phones,
    phone_slow,
)
from tests.unit.test_recon_support import BAD_INN, PETROV_INN, ROMASHKA_INN, ref

MSK = timezone(timedelta(hours=3))
LEGAL_KIND = "10000000-0000-4000-8000-00000000000a"


def mf(*values: str, start: int = 10) -> list[dict]:
    return [{"ID": start + i, "VALUE": v, "VALUE_TYPE": "WORK"} for i, v in enumerate(values)]


def test_messy_russian_phones_become_one_e164_number():
    raw = ["+7 (495) 123-45-67", "84951234567", "8-916-123-45-67", "7 495 123 45 67", "(495) 123-45-67"]
    assert normalize_phones(raw).tolist() == [
        "+74951234567", "+74951234567", "+79161234567", "+74951234567", "+74951234567"]


def test_invalid_phones_are_empty_not_errors():
    assert normalize_phones(["123", "телефон", "", None, "+7 000 000-00-00"]).tolist() == ["", "", "", "", ""]


def test_fast_path_agrees_with_phonenumbers():
    rng = random.Random(7)
    shapes = ["+7 ({a}) {b}-{c}-{d}", "8{a}{b}{c}{d}", "8-{a}-{b}-{c}-{d}", "7{a}{b}{c}{d}", "{a} {b} {c} {d}",
              "+7{a}{b}{c}{d}", "8 ({a}) {b} {c}{d}"]
    samples = []
    for _ in range(3000):
        a = rng.choice(["495", "499", "812", "916", "930", "800", "808", "000", "123", "343", "969", "301"])
        b, c, d = f"{rng.randrange(1000):03d}", f"{rng.randrange(100):02d}", f"{rng.randrange(100):02d}"
        samples.append(rng.choice(shapes).format(a=a, b=b, c=c, d=d))
    assert normalize_phones(samples).tolist() == [phone_slow(s) for s in samples]


def test_emails_are_lower_cased_and_validated():
    got = normalize_emails(["Ivan@Mail.RU", "  anna.petrova@Yandex.ru ", "Иван@Почта.РФ", "bad@", "a..b@mail.ru",
                            "x@mail.test", None]).tolist()
    assert got == ["ivan@mail.ru", "anna.petrova@yandex.ru", "иван@почта.рф", "", "", "", ""]


def test_inn_checksum_agrees_with_stdnum():
    rng = random.Random(3)
    inns = [f"{rng.randrange(10**9, 10**10)}" for _ in range(2000)] + \
           [f"{rng.randrange(10**11, 10**12)}" for _ in range(2000)] + [ROMASHKA_INN, PETROV_INN]
    kinds = [md.LEGAL if len(x) == 10 else md.SOLE_PROPRIETOR for x in inns]
    ours = inn_problems(inns, kinds) == ""
    assert ours.tolist() == [stdnum_inn.is_valid(x) for x in inns]
    assert ours.sum() > 100  # the sample does contain valid ones


def test_inn_problems_by_kind():
    got = inn_problems([ROMASHKA_INN, BAD_INN, PETROV_INN, ROMASHKA_INN, "77O7083893", ""],
                       [md.LEGAL, md.LEGAL, md.LEGAL, md.SOLE_PROPRIETOR, md.LEGAL, md.LEGAL]).tolist()
    assert got == ["", "bad_inn_checksum", "inn_wrong_length", "inn_wrong_length", "not_digits", ""]


def _b24_inputs():
    companies = pd.DataFrame({
        "ID": [1, 2, 3, 4],
        "TITLE": ["  ООО   «Ромашка» ", "ИП Петров", "Без реквизитов", "ООО «Битый ИНН»"],
        "PHONE": [mf("+7 (495) 123-45-67", "84951234567", "позвонить Ивану"), [], None, []],
        "EMAIL": [mf("Info@Romashka.RU", start=20), [], [], []],
        "ASSIGNED_BY_ID": [1, 2, 9, 1],
        "DATE_MODIFY": [datetime(2024, 5, 1, 12, 0, tzinfo=MSK)] * 4,
        "ORIGINATOR_ID": ["b24sync", "", None, ""],
        "ORIGIN_ID": [ref(5).upper(), "", None, ""],
        "UF_CRM_1C_ID": ["", "мусор", None, ""],
    })
    requisites = pd.DataFrame({
        "ID": [100, 101, 103], "ENTITY_TYPE_ID": [4, 4, 4], "ENTITY_ID": [1, 2, 4], "PRESET_ID": [1, 2, 1],
        "RQ_INN": [" 7707 083893 ", PETROV_INN, BAD_INN], "RQ_KPP": ["773601001", "", "773601001"],
        "RQ_COMPANY_NAME": ["ООО «Ромашка»", "", ""],
        "RQ_COMPANY_FULL_NAME": ["Общество с ограниченной ответственностью «Ромашка»", "", ""],
    })
    addresses = pd.DataFrame({"TYPE_ID": [6], "ENTITY_TYPE_ID": [8], "ENTITY_ID": [100], "POSTAL_CODE": ["125009"],
                              "CITY": ["Москва"], "ADDRESS_1": ["ул. Тверская,  д. 1"], "ADDRESS_2": [None]})
    contacts = pd.DataFrame({
        "ID": [17], "NAME": ["Иван"], "SECOND_NAME": ["Иванович"], "LAST_NAME": ["Иванов"],
        "PHONE": [mf("8-916-123-45-67", start=30)], "EMAIL": [mf("Ivan@Mail.RU", "ivan@mail.ru", start=40)],
        "ASSIGNED_BY_ID": [1], "DATE_MODIFY": [datetime(2024, 5, 2, 9, 30, tzinfo=MSK)],
    })
    users = pd.DataFrame({"ID": [1, 2], "EMAIL": ["Manager@Firma.RU", "petrova@firma.ru"]})
    return companies, requisites, addresses, contacts, users


def test_normalize_bitrix24_builds_the_canonical_frame():
    frame, issues = normalize_bitrix24(*_b24_inputs())
    assert list(frame.columns) == [c.name for c in md.COLUMNS]
    romashka = frame.set_index("key").loc["company:1"]
    assert romashka["name"] == "ООО «Ромашка»"
    assert (romashka["kind"], romashka["inn"], romashka["kpp"], romashka["inn_valid"]) == (
        "legal", ROMASHKA_INN, "773601001", True)
    assert romashka["phones"] == ("+74951234567",)
    assert romashka["raw_phones"] == ((10, "+7 (495) 123-45-67"), (11, "84951234567"), (12, "позвонить Ивану"))
    assert romashka["emails"] == ("info@romashka.ru",)
    assert romashka["legal_address"] == "125009, Москва, ул. Тверская, д. 1"
    assert romashka["full_name"] == "Общество с ограниченной ответственностью «Ромашка»"
    assert romashka["manager"] == "manager@firma.ru"
    assert romashka["origin"] == f"counterparty:{ref(5)}"
    assert romashka["modified_at"] == pd.Timestamp("2024-05-01T09:00:00Z")
    assert romashka["version"] == "2024-05-01T09:00:00+00:00"
    petrov = frame.set_index("key").loc["company:2"]
    assert (petrov["kind"], petrov["inn_valid"]) == ("sole_proprietor", True)
    ivan = frame.set_index("key").loc["contact:17"]
    assert (ivan["kind"], ivan["name"], ivan["emails"]) == ("individual", "Иванов Иван Иванович", ("ivan@mail.ru",))
    assert ivan["raw_emails"] == ((40, "Ivan@Mail.RU"), (41, "ivan@mail.ru"))
    found = {(i.record_key, i.field, i.reason) for i in issues}
    assert found == {
        ("company:1", "phones", "invalid_phone"),
        ("company:2", "UF_CRM_1C_ID", "invalid_link"),
        ("company:3", "inn", "no_inn"),
        ("company:3", "manager", "unknown_manager"),
        ("company:4", "inn", "bad_inn_checksum"),
    }
    assert "позвонить Ивану" in next(i for i in issues if i.reason == "invalid_phone").message()


def test_several_requisites_with_different_inns_are_not_guessed():
    companies, requisites, addresses, contacts, users = _b24_inputs()
    extra = pd.DataFrame({"ID": [104], "ENTITY_TYPE_ID": [4], "ENTITY_ID": [1], "PRESET_ID": [1],
                          "RQ_INN": [PETROV_INN[:10]], "RQ_KPP": [""]})
    frame, issues = normalize_bitrix24(companies, pd.concat([requisites, extra]), addresses, contacts, users)
    assert frame.set_index("key").loc["company:1", "inn"] == ""
    assert any(i.reason == "ambiguous_requisites" and i.record_key == "company:1" for i in issues)


def _onec_inputs():
    def row(line, typ, shown, kind="", **extra):
        return {"LineNumber": line, "Тип": typ, "Вид_Key": kind, "Представление": shown, **extra}
    counterparties = pd.DataFrame({
        "Ref_Key": [ref(1).upper(), ref(2), ref(3), ref(4)],
        "DataVersion": ["AAAAAAAETag=", "AAAAAAAETah=", "AAAAAAAETai=", "AAAAAAAETaj="],
        "DeletionMark": [False, False, True, False],
        "Description": ["ООО «Ромашка»", "Петров П.П. ИП", "Удалённый", "Иванов Иван Иванович"],
        "НаименованиеПолное": ["Общество с ограниченной ответственностью «Ромашка»", "ИП Петров", "", ""],
        "ИНН": [ROMASHKA_INN, PETROV_INN, BAD_INN, ""],
        "КПП": ["773601001", "", "", ""],
        "ЮрФизЛицо": ["ЮрЛицо", "ИндивидуальныйПредприниматель", "ЮрЛицо", "ФизЛицо"],
        "КонтактнаяИнформация": [
            [row(1, "Телефон", "+7 (495) 123-45-67"), row(2, "Телефон", "", НомерТелефона="84951112233"),
             row(3, "Адрес", "125009, Москва г, Тверская ул, дом № 1", LEGAL_KIND.upper()),
             row(4, "Адрес", "Фактический адрес", "ffffffff-0000-4000-8000-000000000000")],
            [row(1, "АдресЭлектроннойПочты", "Petrov@Mail.RU")],
            [],
            [row(1, "АдресЭлектроннойПочты", "не почта"), row(2, "Телефон", "8 916 123 45 67")],
        ],
    })
    users = pd.DataFrame({"Ref_Key": [ref(90)], "email": ["Manager@Firma.RU"]})
    return counterparties, users


def test_normalize_onec_reads_contact_information_rows():
    counterparties, users = _onec_inputs()
    frame, issues = normalize_onec(counterparties, users, manager_by_ref={ref(1): ref(90), ref(2): ref(91)},
                                   legal_address_kind=LEGAL_KIND)
    by_key = frame.set_index("key")
    romashka = by_key.loc[f"counterparty:{ref(1)}"]
    assert romashka["phones"] == ("+74951112233", "+74951234567")
    assert romashka["raw_phones"] == ((1, "+7 (495) 123-45-67"), (2, "84951112233"))
    assert romashka["legal_address"] == "125009, Москва г, Тверская ул, дом № 1"
    assert romashka["manager"] == "manager@firma.ru"
    assert (romashka["kind"], romashka["inn_valid"], romashka["version"]) == ("legal", True, "AAAAAAAETag=")
    assert pd.isna(romashka["modified_at"])
    assert by_key.loc[f"counterparty:{ref(2)}", "kind"] == "sole_proprietor"
    assert by_key.loc[f"counterparty:{ref(2)}", "emails"] == ("petrov@mail.ru",)
    assert bool(by_key.loc[f"counterparty:{ref(3)}", "deleted"]) is True
    ivanov = by_key.loc[f"counterparty:{ref(4)}"]
    assert (ivanov["kind"], ivanov["emails"], ivanov["phones"]) == ("individual", (), ("+79161234567",))
    found = {(i.record_key.partition(":")[2], i.field, i.reason) for i in issues}
    assert found == {(ref(3), "inn", "bad_inn_checksum"), (ref(4), "emails", "invalid_email"),
                     (ref(2), "manager", "unknown_manager")}


def test_normalize_never_raises_on_garbage():
    companies = pd.DataFrame({"ID": [1], "TITLE": [None], "PHONE": [[{"ID": "x", "VALUE": None}]],
                              "EMAIL": [[{"ID": 1, "VALUE": 42}]], "DATE_MODIFY": ["не дата"]})
    frame, issues = normalize_bitrix24(companies, None, None, None, None)
    assert frame.loc[0, "phones"] == () and frame.loc[0, "name"] == ""
    assert {i.reason for i in issues} >= {"invalid_email", "no_inn"}
    frame, _ = normalize_onec(pd.DataFrame({"Ref_Key": [ref(1)], "КонтактнаяИнформация": [None]}))
    assert frame.loc[0, "kind"] == "unknown"


@pytest.mark.parametrize("empty", [None, pd.DataFrame()])
def test_empty_inputs_give_empty_frames(empty):
    frame, issues = normalize_bitrix24(empty, None, None, empty, None)
    assert frame.empty and list(frame.columns) == [c.name for c in md.COLUMNS] and issues == []
    assert normalize_onec(pd.DataFrame(columns=["Ref_Key"])).frame.empty


def test_per_unique_work_maps_back_to_every_row():
    raw = np.array(["8 (495) 123-45-67"] * 1000 + ["Ivan@Mail.RU"] * 1000, dtype=object)
    assert set(normalize_phones(raw[:1000]).tolist()) == {"+74951234567"}
    assert set(normalize_emails(raw[1000:]).tolist()) == {"ivan@mail.ru"}
