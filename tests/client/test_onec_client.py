"""The 1C OData client against the 1C emulator over loopback: reads, paging, scans, writes, errors."""

from __future__ import annotations

import math
import random
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from b24sync.errors import RemoteUnavailable
from b24sync.http.retry import RetryPolicy
from b24sync.sandbox.onec import OneCEmulator, OneCStore
from b24sync.sources.onec.client import OneCClient
from b24sync.sources.onec.errors import AuthError, BadRequest, BusinessError, InDoubt, NotFound, PreconditionFailed
from tests.contract.onec_support import KINDS, seed

MSK = ZoneInfo("Europe/Moscow")
CP = "Catalog_Контрагенты"


@pytest.fixture
def base():
    store = OneCStore()
    refs = seed(store)
    with OneCEmulator(store) as emu:
        yield emu, store, refs


def client_for(emu: OneCEmulator, **kwargs) -> OneCClient:
    retry = RetryPolicy(max_attempts=4, base=0.01, cap=0.02, jitter=0.01, sleep=lambda s: None, rng=random.Random(1))
    return OneCClient(emu.odata_url, emu.user, emu.password, server_tz=MSK, retry=retry, **kwargs)


def bulk_counterparties(store: OneCStore, partner: str, n: int, *, contacts: bool = False) -> list[str]:
    """``n`` counterparties; with ``contacts``, each has a phone, an e-mail and a legal address as UT keeps them."""
    phone, mail, addr = (store.predefined(KINDS, name) for name in
                         ("ТелефонКонтрагента", "EmailКонтрагента", "ЮрАдресКонтрагента"))
    refs = []
    for i in range(n):
        rows = [
            {"Тип": "Телефон", "Вид_Key": phone, "Представление": f"+7 (495) {i % 1000:03d}-12-34",
             "НомерТелефона": f"7495{i % 1000:03d}1234", "НомерТелефонаБезКодов": f"{i % 1000:03d}1234",
             "ВидДляСписка_Key": phone},
            {"Тип": "АдресЭлектроннойПочты", "Вид_Key": mail, "Представление": f"info{i}@пример.рф",
             "АдресЭП": f"info{i}@пример.рф", "ДоменноеИмяСервера": "пример.рф", "ВидДляСписка_Key": mail},
            {"Тип": "Адрес", "Вид_Key": addr, "Представление": f"123456, г. Москва, ул. Тверская, д. {i}",
             "Страна": "РОССИЯ", "Регион": "Москва", "Город": "Москва", "ВидДляСписка_Key": addr},
        ] if contacts else []
        refs.append(store.create(CP, {"Description": f"Контрагент №{i}", "НаименованиеПолное":
                                      f"Общество с ограниченной ответственностью «Контрагент №{i}»",
                                      "ИНН": "", "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": partner,
                                      "КонтактнаяИнформация": rows}, load_mode=True)["Ref_Key"])
    return refs


def test_typed_reads_with_a_cyrillic_user(base):
    emu, store, refs = base
    client = client_for(emu)
    assert emu.user == "Администратор"
    got = client.get(CP, refs["k_romashka"])
    assert got["ИНН"] == "7701234567" and got["Ref_Key"] == refs["k_romashka"]
    assert got["DeletionMark"] is False and isinstance(got["DataVersion"], str)
    rows = got["КонтактнаяИнформация"]
    assert [r["LineNumber"] for r in rows] == [1, 2]  # Int64 strings became ints
    assert client.get(CP, "00000000-0000-0000-0000-000000000001") is None
    order = client.get("Document_ЗаказКлиента", refs["order"])
    assert order["Date"] == datetime(2024, 3, 15, 10, 30, tzinfo=MSK)
    assert isinstance(order["СуммаДокумента"], Decimal) and order["СуммаДокумента"] == Decimal("22000.5")


def test_query_literals_are_encoded_as_1c_parses_them(base):
    emu, store, refs = base
    client = client_for(emu)
    found = client.query(CP, filter="Description eq 'O''Brien Trading'", select=["Ref_Key", "Description"])
    assert [r["Ref_Key"] for r in found] == [refs["k_obrien"]]
    found = client.query(CP, filter="substringof('ромашка', НаименованиеПолное)")
    assert [r["Ref_Key"] for r in found] == [refs["k_romashka"]]
    last = emu.request_log.snapshot()[-1] if hasattr(emu.request_log, "snapshot") else emu.request_log[-1]
    raw = str(getattr(last, "query", "") or getattr(last, "raw_query", ""))
    assert "+" not in raw and "%20" in raw
    assert client.count(CP) == 3 and client.count(CP, filter="ЮрФизЛицо eq 'ЮрЛицо'") == 2


def test_keyset_iteration_reads_every_record_once(base):
    emu, store, refs = base
    created = bulk_counterparties(store, refs["p_romashka"], 2_345)
    client = client_for(emu, page_size=500)
    before = client.requests_made
    client.metadata()
    pages = list(client.iterate(CP, select=["Description"]))
    seen = [row["Ref_Key"] for page in pages for row in page]
    assert len(seen) == len(set(seen)) == 2_348 and set(created) <= set(seen)
    assert client.requests_made - before == 1 + math.ceil(2_348 / 500)


def test_incremental_scan_fetches_only_changed_and_moves_few_bytes(base):
    emu, store, refs = base
    bulk_counterparties(store, refs["p_romashka"], 3_000, contacts=True)
    client = client_for(emu, page_size=1000)
    client.metadata()
    start = client.transport.bytes_received
    full = [row for page in client.iterate(CP) for row in page]
    full_bytes = client.transport.bytes_received - start
    known = {row["Ref_Key"]: row["DataVersion"] for row in full}
    changed_refs = random.Random(5).sample(sorted(known), 30)  # 1 %
    for ref in changed_refs:
        store.update(CP, ref, {"НаименованиеПолное": "изменён"}, load_mode=True)
    gone = changed_refs[0]
    store.delete(CP, gone)
    start = client.transport.bytes_received
    changed, deleted = client.changed(CP, known)
    scan_bytes = client.transport.bytes_received - start
    assert sorted(r["Ref_Key"] for r in changed) == sorted(changed_refs[1:])
    assert deleted == [gone]
    assert scan_bytes < 0.05 * full_bytes, (scan_bytes, full_bytes)


def test_writes_create_patch_tabular_replace_and_post(base):
    emu, store, refs = base
    client = client_for(emu)
    phone_kind = store.predefined(KINDS, "ТелефонКонтрагента")
    created = client.create(CP, {"Description": "Вектор АО", "ИНН": "7736050003", "КПП": "773601001",
                                 "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": refs["p_romashka"]}, record="company:7")
    ref = created["Ref_Key"]
    assert created["DataVersion"]
    patched = client.update(CP, ref, {"КонтактнаяИнформация": [
        {"Тип": "Телефон", "Вид_Key": phone_kind, "Представление": "+7 495 000-00-01", "НомерТелефона": "+74950000001"},
        {"Тип": "Телефон", "Вид_Key": phone_kind, "Представление": "+7 495 000-00-02", "НомерТелефона": "+74950000002"},
    ]})
    assert [r["LineNumber"] for r in patched["КонтактнаяИнформация"]] == [1, 2]
    assert patched["DataVersion"] != created["DataVersion"]
    marked = client.mark_deleted(CP, ref)
    assert marked["DeletionMark"] is True and client.get(CP, ref) is not None
    client.unpost("Document_ЗаказКлиента", refs["order"])
    assert client.get("Document_ЗаказКлиента", refs["order"])["Posted"] is False
    client.post("Document_ЗаказКлиента", refs["order"])
    assert client.get("Document_ЗаказКлиента", refs["order"])["Posted"] is True
    client.delete(CP, ref)
    assert client.get(CP, ref) is None


def test_unknown_property_is_refused_before_sending(base):
    emu, store, refs = base
    client = client_for(emu)
    client.metadata()
    before = client.requests_made
    with pytest.raises(BadRequest) as err:
        client.create(CP, {"Description": "Опечатка", "ContactInformation": []}, record="contact:3")
    assert "ContactInformation" in str(err.value) and "contact:3" in str(err.value)
    assert client.requests_made == before


def test_business_errors_are_not_retried_and_keep_the_1c_message(base):
    emu, store, refs = base
    client = client_for(emu)
    client.metadata()
    before = client.requests_made
    with pytest.raises(BusinessError) as err:
        client.create(CP, {"Description": "Без партнёра", "ЮрФизЛицо": "ЮрЛицо"}, record="company:9")
    assert err.value.code == "-1" and err.value.status == 500 and "Партнер" in str(err.value)
    assert client.requests_made == before + 1


def test_wrong_password_and_unknown_set(base):
    emu, store, refs = base
    client = OneCClient(emu.odata_url, emu.user, "неверный", server_tz=MSK)
    with pytest.raises(AuthError) as err:
        client.query(CP, top=1)
    assert err.value.status == 401 and "неверный" not in str(err.value)
    with pytest.raises(NotFound) as err:
        client_for(emu).query("Catalog_НетТакого", top=1)
    assert err.value.code == "8"


def test_if_match_when_the_base_enforces_it(base):
    emu, store, refs = base
    emu.if_match = "enforce"
    client = client_for(emu, honour_if_match=True)
    current = client.get(CP, refs["k_obrien"])
    store.update(CP, refs["k_obrien"], {"НаименованиеПолное": "правка из 1С"}, load_mode=True)
    with pytest.raises(PreconditionFailed):
        client.update(CP, refs["k_obrien"], {"НаименованиеПолное": "правка b24sync"},
                      data_version=current["DataVersion"])
    assert store.get(CP, refs["k_obrien"])["НаименованиеПолное"] == "правка из 1С"


def test_reads_retry_and_writes_are_never_resent(base):
    emu, store, refs = base
    client = client_for(emu)
    client.metadata()
    emu.faults.add("html500", entity_set=CP, method="GET")
    emu.faults.add("web503", entity_set=CP, method="GET")
    assert client.get(CP, refs["k_romashka"])["ИНН"] == "7701234567"
    emu.faults.add("drop_after_commit", entity_set=CP, method="POST")
    with pytest.raises(InDoubt) as err:
        client.create(CP, {"Description": "Сомнительный", "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": refs["p_romashka"]},
                      record="company:11")
    assert "company:11" in str(err.value)
    assert len(store.query(CP, lambda r: r["Description"] == "Сомнительный")) == 1  # applied once, not re-sent
    emu.faults.add("html500", entity_set=CP, method="GET", count=10)
    with pytest.raises(RemoteUnavailable):
        client.get(CP, refs["k_romashka"])
