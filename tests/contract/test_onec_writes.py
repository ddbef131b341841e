"""Writes on the 1C emulator: POST/PATCH/PUT/DELETE, tabular parts, DataVersion, If-Match, posting, rules."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from b24sync.sandbox.onec import OneCEmulator, OneCStore, UTRules

from .onec_support import KINDS, jget, odata_error, order_values, patch_json, post_json, seed, session

K = "Catalog_Контрагенты"
ORDERS = "Document_ЗаказКлиента"


@pytest.fixture
def env():
    store = OneCStore()
    refs = seed(store)
    with OneCEmulator(store) as emu:
        yield emu, session(emu), refs


def counterparty(refs: dict[str, str], **extra: object) -> dict[str, object]:
    values: dict[str, object] = {"Description": "Василёк АО", "ИНН": "7736050003", "КПП": "773601001",
                                 "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": refs["p_romashka"]}
    values.update(extra)
    return values


def test_post_creates_with_201_location_and_full_body(env):
    emu, s, refs = env
    r = post_json(s, emu.odata_url + K + "?$format=json", counterparty(refs))
    assert r.status_code == 201, r.text
    body = r.json()
    ref = body["Ref_Key"]
    assert unquote(r.headers["Location"]) == emu.odata_url + f"{K}(guid'{ref}')"
    assert body["odata.metadata"].endswith(f"{K}/@Element")
    assert body["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо" and body["ГоловнойКонтрагент_Key"].count("0") == 32
    assert body["DataVersion"] and body["КонтактнаяИнформация"] == []
    assert jget(s, emu.odata_url + f"{K}(guid'{ref}')")["ИНН"] == "7736050003"


def test_post_answers_atom_unless_json_is_accepted(env):
    emu, s, refs = env
    import json

    r = s.post(emu.odata_url + K, data=json.dumps(counterparty(refs)).encode(),
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.headers["Content-Type"].startswith("application/atom+xml;type=entry")
    assert ET.fromstring(r.content).tag == "{http://www.w3.org/2005/Atom}entry"


def test_atom_body_is_accepted(env):
    emu, s, refs = env
    entry = (
        '<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">'
        '<m:properties xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
        '<d:Description>Клевер ЗАО</d:Description><d:ЮрФизЛицо>ЮрЛицо</d:ЮрФизЛицо>'
        f'<d:Партнер_Key>{refs["p_romashka"]}</d:Партнер_Key><d:ОбособленноеПодразделение>false'
        '</d:ОбособленноеПодразделение></m:properties></content></entry>'
    )
    r = s.post(emu.odata_url + K + "?$format=json", data=entry.encode(),
               headers={"Content-Type": "application/atom+xml"})
    assert r.status_code == 201 and r.json()["Description"] == "Клевер ЗАО"


def test_unknown_properties_are_silently_ignored_but_logged(env):
    emu, s, refs = env
    payload = counterparty(refs, DescriptionFull="Полное", ContactInformation=[{"Тип": "Телефон"}],
                           Posted=True, КонтактнаяИнформация=[{"Тип": "Телефон", "Телефон": "+7 900"}])
    r = post_json(s, emu.odata_url + K, payload)
    assert r.status_code == 201
    body = r.json()
    assert "DescriptionFull" not in body and "ContactInformation" not in body
    assert body["КонтактнаяИнформация"][0]["НомерТелефона"] == ""
    ignored = emu.store.diagnostics[-1]
    assert ignored["op"] == "create" and ignored["ref"] == body["Ref_Key"]
    expected = {"DescriptionFull", "ContactInformation", "Posted", "КонтактнаяИнформация/Телефон"}
    assert set(ignored["ignored"]) == expected


def test_patch_changes_only_given_fields_and_bumps_data_version(env):
    emu, s, refs = env
    url = emu.odata_url + f"{K}(guid'{refs['k_romashka']}')"
    before = jget(s, url)
    r = patch_json(s, url, {"НаименованиеПолное": "АО «Ромашка»"})
    assert r.status_code == 200
    after = r.json()
    assert after["НаименованиеПолное"] == "АО «Ромашка»" and after["ИНН"] == before["ИНН"]
    assert after["КонтактнаяИнформация"] == before["КонтактнаяИнформация"]  # absent tabular parts stay
    assert after["DataVersion"] != before["DataVersion"]
    assert int.from_bytes(__import__("base64").b64decode(after["DataVersion"]), "big") > int.from_bytes(
        __import__("base64").b64decode(before["DataVersion"]), "big")


def test_tabular_part_in_patch_replaces_the_whole_table(env):
    emu, s, refs = env
    url = emu.odata_url + f"{K}(guid'{refs['k_romashka']}')"
    kind = emu.store.predefined(KINDS, "ТелефонКонтрагента")
    r = patch_json(s, url, {"КонтактнаяИнформация": [
        {"LineNumber": "7", "Тип": "Телефон", "Вид_Key": kind, "Представление": "+7 (812) 000-00-01"},
        {"LineNumber": 7, "Тип": "Телефон", "Вид_Key": kind, "Представление": "+7 (812) 000-00-02"},
    ]})
    rows = r.json()["КонтактнаяИнформация"]
    assert [row["Представление"] for row in rows] == ["+7 (812) 000-00-01", "+7 (812) 000-00-02"]
    assert [row["LineNumber"] for row in rows] == ["1", "2"]
    assert not any(row["АдресЭП"] for row in rows)  # the e-mail row sent by nobody is gone
    assert r.json()["КонтактнаяИнформация"][0]["Значение"] == ""  # nothing derived from Представление


def test_put_resets_missing_properties_and_accepts_odata_bind(env):
    emu, s, refs = env
    url = emu.odata_url + f"Document_ЗаказКлиента(guid'{refs['order']}')?$format=json"
    import json

    body = {"Date": "2024-03-20T12:00:00", "Организация@odata.bind": f"Catalog_Организации(guid'{refs['org']}')",
            "Контрагент@odata.bind": emu.odata_url + f"Catalog_Контрагенты(guid'{refs['k_ivanov']}')",
            "Валюта_Key": refs["rub"]}
    r = s.put(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    order = r.json()
    assert order["Организация_Key"] == refs["org"] and order["Контрагент_Key"] == refs["k_ivanov"]
    assert order["Менеджер_Key"] == "00000000-0000-0000-0000-000000000000" and order["Товары"] == []
    assert order["Number"].startswith("ТД00-") and order["СуммаДокумента"] == 0


def test_delete_is_physical_and_deletion_mark_is_a_patch(env):
    emu, s, refs = env
    marked = emu.odata_url + f"{K}(guid'{refs['k_obrien']}')"
    assert patch_json(s, marked, {"DeletionMark": True}).json()["DeletionMark"] is True
    listed = jget(s, emu.odata_url + K + "?$filter=DeletionMark%20eq%20true")["value"]
    assert [r["Ref_Key"] for r in listed] == [refs["k_obrien"]]
    url = emu.odata_url + f"{K}(guid'{refs['k_ivanov']}')"
    r = s.delete(url, headers={"Content-Length": "0"})
    assert r.status_code == 204 and r.content == b""
    assert odata_error(s.get(url + "?$format=json"))[:2] == (404, "9")
    assert odata_error(s.delete(url + "?$format=json"))[:2] == (404, "9")


def test_tabular_sets_are_read_only(env):
    emu, s, refs = env
    for method in ("POST", "PATCH", "DELETE"):
        url = emu.odata_url + f"{K}_КонтактнаяИнформация"
        if method != "POST":
            url += f"(Ref_Key=guid'{refs['k_romashka']}', LineNumber=1)"
        r = s.request(method, url + "?$format=json", data=b"{}", headers={"Content-Type": "application/json"})
        assert odata_error(r)[:2] == (400, "13"), method


def test_if_match_is_ignored_by_default_and_enforced_on_request(env):
    emu, s, refs = env
    url = emu.odata_url + f"{K}(guid'{refs['k_romashka']}')"
    current = jget(s, url)["DataVersion"]
    stale = "AAAAAAAAAAE="
    assert patch_json(s, url, {"Комментарий": "x"} | {"ДополнительнаяИнформация": "1"},
                      **{"If-Match": stale}).status_code == 200
    emu.if_match = "enforce"
    r = patch_json(s, url, {"ДополнительнаяИнформация": "2"}, **{"If-Match": stale})
    assert r.status_code == 412
    assert jget(s, url)["ДополнительнаяИнформация"] == "1"
    current = jget(s, url)["DataVersion"]
    assert patch_json(s, url, {"ДополнительнаяИнформация": "3"}, **{"If-Match": current}).status_code == 200
    assert s.delete(url, headers={"If-Match": current}).status_code == 412
    assert s.delete(url, headers={"If-Match": jget(s, url)["DataVersion"]}).status_code == 204


@pytest.mark.parametrize("suffix", ["/Post?PostingModeOperational=false", "/Post()",
                                    "/Post()?PostingModeOperational=true"])
def test_post_and_unpost(env, suffix):
    emu, s, refs = env
    url = emu.odata_url + f"{ORDERS}(guid'{refs['order']}')"
    before = jget(s, url)["DataVersion"]
    r = s.post(url + suffix, headers={"Content-Length": "0"})
    assert r.status_code == 200 and r.content == b""
    posted = jget(s, url)
    assert posted["Posted"] is True and posted["DataVersion"] != before
    assert s.post(url + "/Unpost", headers={"Content-Length": "0"}).status_code == 200
    unposted = jget(s, url)
    assert unposted["Posted"] is False and unposted["DataVersion"] != posted["DataVersion"]


def test_post_action_misuse(env):
    emu, s, refs = env
    url = emu.odata_url + f"{ORDERS}(guid'{refs['order']}')"
    assert odata_error(s.get(url + "/Post?$format=json"))[:2] == (405, "19")
    assert odata_error(s.post(url + "/Провести?$format=json"))[:2] == (400, "6")
    r = s.post(emu.odata_url + f"{K}(guid'{refs['k_romashka']}')/Post?$format=json")
    assert odata_error(r)[:2] == (400, "6")  # catalogs have no Post
    assert post_json(s, url + "?$format=json", {}).status_code == 405
    created = post_json(s, emu.odata_url + ORDERS, order_values(refs, Posted=True)).json()
    assert created["Posted"] is False  # posting only via /Post


def test_business_rules_answer_500_minus_one(env):
    emu, s, refs = env
    cases = [
        counterparty(refs, ИНН="77360500"),  # 8 digits for a legal entity
        counterparty(refs, ИНН="77360500AB"),
        counterparty(refs, ЮрФизЛицо="ИндивидуальныйПредприниматель", ИНН="7736050003", КПП=""),
        counterparty(refs, ЮрФизЛицо="ИндивидуальныйПредприниматель", ИНН="500100732259", КПП="773601001"),
        counterparty(refs, Партнер_Key="00000000-0000-0000-0000-000000000000"),
    ]
    for payload in cases:
        status, code, message = odata_error(post_json(s, emu.odata_url + K, payload))
        assert (status, code) == (500, "-1") and message.startswith("Не удалось записать"), payload
    bad_order = order_values(refs)
    del bad_order["Организация_Key"]
    status, code, message = odata_error(post_json(s, emu.odata_url + ORDERS, bad_order))
    assert (status, code) == (500, "-1") and "Организация" in message
    assert len(emu.store.records(K)) == 3  # nothing was written


def test_load_mode_header_skips_business_rules(env):
    emu, s, refs = env
    payload = counterparty(refs, ИНН="123", Партнер_Key="00000000-0000-0000-0000-000000000000")
    r = post_json(s, emu.odata_url + K, payload, **{"1C_OData-DataLoadMode": "true"})
    assert r.status_code == 201 and r.json()["ИНН"] == "123"


def test_invalid_values_are_refused(env):
    emu, s, refs = env
    for bad in ({"ЮрФизЛицо": "Юрлицо"}, {"Партнер_Key": "not-a-guid"}, {"ОбособленноеПодразделение": "нет"}):
        r = post_json(s, emu.odata_url + K, counterparty(refs, **bad))
        assert odata_error(r)[:2] == (400, "4"), bad
    r = post_json(s, emu.odata_url + ORDERS, order_values(refs, Date="2024-03-15T10:30:00.000Z"))
    assert odata_error(r)[:2] == (400, "4")
    r = s.post(emu.odata_url + K + "?$format=json", data=b"{not json", headers={"Content-Type": "application/json"})
    assert odata_error(r)[:2] == (400, "2")


def test_order_totals_and_numbers_are_recomputed_by_the_server(env):
    emu, s, refs = env
    payload = order_values(refs, СуммаДокумента=1.0)
    payload["Товары"][0]["Сумма"] = 1
    payload["Товары"][0]["КодСтроки"] = 5
    first = post_json(s, emu.odata_url + ORDERS, payload).json()
    assert first["СуммаДокумента"] == 22000.5 and first["Товары"][0]["Сумма"] == 10000
    assert first["Товары"][0]["СуммаНДС"] == 1666.67 and first["Товары"][1]["КодСтроки"] == "6"
    assert first["МаксимальныйКодСтроки"] == "6"
    no_date = order_values(refs)
    del no_date["Date"]
    second = post_json(s, emu.odata_url + ORDERS, no_date).json()
    assert second["Number"] != first["Number"] and second["Number"][:5] == first["Number"][:5] == "ТД00-"
    assert second["Date"] != "0001-01-01T00:00:00"  # empty date: the server's current time
    patched = patch_json(s, emu.odata_url + f"{ORDERS}(guid'{first['Ref_Key']}')", {"Товары": [
        {"Номенклатура_Key": refs["chair"], "Количество": 2, "Цена": 100, "СтавкаНДС_Key": refs["vat20"]}]}).json()
    assert patched["СуммаДокумента"] == 200


def test_posting_failures_are_business_errors():
    rules = UTRules()
    store = OneCStore(rules=rules)
    refs = seed(store)
    rules.closed_period = "2024-03-31T23:59:59"  # the seed's order (2024-03-15) now lies in a closed period
    with OneCEmulator(store) as emu:
        s = session(emu)
        url = emu.odata_url + f"{ORDERS}(guid'{refs['order']}')/Post?$format=json"
        status, code, message = odata_error(s.post(url))
        assert (status, code) == (500, "-1") and "запрета" in message
        later = store.create(ORDERS, order_values(refs, Date="2024-04-02T09:00:00"))
        store.rules.post_failures[later["Ref_Key"]] = "Недостаточно товара «Стул офисный» на складе"
        r = s.post(emu.odata_url + f"{ORDERS}(guid'{later['Ref_Key']}')/Post?$format=json")
        assert odata_error(r) == (500, "-1", "Не удалось провести: Недостаточно товара «Стул офисный» на складе")
        assert store.get(ORDERS, later["Ref_Key"])["Posted"] is False
