"""Reads from the 1C emulator: formats, value encodings, $select/$expand/$orderby/$top/$skip/counts."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import requests

from b24sync.sandbox.onec import OneCEmulator, OneCStore

from .onec_support import EMPTY_DATE, EMPTY_GUID, jget, odata_error, qs, seed, session

ATOM = "{http://www.w3.org/2005/Atom}"
D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
K = "Catalog_Контрагенты"


@pytest.fixture(scope="module")
def env():
    store = OneCStore()
    refs = seed(store)
    with OneCEmulator(store) as emu:
        yield emu, session(emu), refs


def test_atom_is_the_default_and_json_must_be_asked_for(env):
    emu, s, refs = env
    r = s.get(emu.odata_url + K)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/atom+xml;type=feed;charset=utf-8"
    with pytest.raises(requests.JSONDecodeError):
        r.json()  # the JSON client that forgot $format and Accept breaks, as on a real base
    feed = ET.fromstring(r.content)
    assert len(feed.findall(f"{ATOM}entry")) == 3
    by_format = s.get(emu.odata_url + K + "?$format=json")
    by_accept = s.get(emu.odata_url + K, headers={"Accept": "application/json"})
    full_type = s.get(emu.odata_url + K + "?$format=application/json;odata=minimalmetadata")
    for r in (by_format, by_accept, full_type):
        assert r.headers["Content-Type"] == "application/json;charset=utf-8"
        assert r.headers["DataServiceVersion"] == "3.0"
        body = r.json()
        assert set(body) == {"odata.metadata", "value"} and body["odata.metadata"].endswith(f"$metadata#{K}")


def test_single_entity_is_flat_with_element_metadata_and_nav_links(env):
    emu, s, refs = env
    ref = refs["k_romashka"]
    body = jget(s, emu.odata_url + f"{K}(guid'{ref}')")
    assert body["odata.metadata"].endswith(f"$metadata#{K}/@Element")
    assert body["Ref_Key"] == ref and body["ИНН"] == "7701234567" and "d" not in body
    assert body["Партнер@navigationLinkUrl"] == f"{K}(guid'{ref}')/Партнер"
    assert "СтранаРегистрации@navigationLinkUrl" not in body  # its target set is not in the model
    by_name = jget(s, emu.odata_url + f"{K}(Ref_Key=guid'{ref}')")
    assert by_name["Ref_Key"] == ref
    bare = jget(s, emu.odata_url + f"{K}(guid'{ref}')?$format=application/json;odata=nometadata")
    assert "odata.metadata" not in bare and not [k for k in bare if "@" in k]
    full = jget(s, emu.odata_url + f"{K}(guid'{ref}')?$format=application/json;odata=fullmetadata")
    assert full["odata.type"] == f"StandardODATA.{K}" and full["odata.editLink"] == f"{K}(guid'{ref}')"


def test_value_encodings_and_sentinels(env):
    emu, s, refs = env
    c = jget(s, emu.odata_url + f"{K}(guid'{refs['k_ivanov']}')")
    assert c["ГоловнойКонтрагент_Key"] == EMPTY_GUID and c["КПП"] == "" and c["Predefined"] is False
    assert c["КонтактнаяИнформация"] == [] and c["ЮридическоеФизическоеЛицо"] == "ФизическоеЛицо"
    version = base64.b64decode(c["DataVersion"])
    assert len(version) == 8 and int.from_bytes(version, "big") > 0
    k = jget(s, emu.odata_url + f"{K}(guid'{refs['k_romashka']}')")
    row = k["КонтактнаяИнформация"][0]
    assert row["LineNumber"] == "1" and k["КонтактнаяИнформация"][1]["LineNumber"] == "2"  # Int64 as strings
    assert row["ДействуетС"] == EMPTY_DATE and row["Тип"] == "Телефон" and "Ref_Key" not in row
    assert len(row) == 15  # LineNumber + the 14 columns of the real UT 11.5 row type
    order = jget(s, emu.odata_url + f"Document_ЗаказКлиента(guid'{refs['order']}')")
    assert order["Date"] == "2024-03-15T10:30:00" and order["ЖелаемаяДатаОтгрузки"] == EMPTY_DATE
    assert order["ДокументОснование"] == "" and order["ДокументОснование_Type"] == "StandardODATA.Undefined"
    assert order["ФормаОплаты"] == "" and order["Статус"] == "КОбеспечению"
    assert order["Товары"][0]["КодСтроки"] == "1" and isinstance(order["Товары"][0]["Цена"], int | float)
    assert order["Number"].startswith("ТД00-") and order["Posted"] is False


def test_atom_entry_matches_the_real_shape(env):
    emu, s, refs = env
    ref = refs["k_romashka"]
    r = s.get(emu.odata_url + f"{K}(guid'{ref}')")
    assert r.headers["Content-Type"] == "application/atom+xml;type=entry;charset=utf-8"
    entry = ET.fromstring(r.content)
    assert entry.tag == f"{ATOM}entry"
    assert entry.find(f"{ATOM}category").get("term") == f"StandardODATA.{K}"
    assert entry.find(f"{ATOM}link[@rel='edit']").get("href") == f"{K}(guid'{ref}')"
    props = entry.find(f"{ATOM}content/{M}properties")
    assert props.find(f"{D}ИНН").text == "7701234567" and props.find(f"{D}Predefined").text == "false"
    table = props.find(f"{D}КонтактнаяИнформация")
    assert table.get(f"{M}type") == f"Collection(StandardODATA.{K}_КонтактнаяИнформация_RowType)"
    assert table.find(f"{D}element/{D}LineNumber").text == "1"
    assert props.find(f"{D}ДополнительнаяИнформация").text is None  # empty string -> <d:X/>


def test_select_star_double_star_paths_and_unknown(env):
    emu, s, refs = env
    url = emu.odata_url + K
    rows = jget(s, url + qs(select="Ref_Key, ИНН"))["value"]
    assert all(set(r) == {"Ref_Key", "ИНН"} for r in rows)
    no_tables = jget(s, url + qs(select="**"))["value"][0]
    assert "КонтактнаяИнформация" not in no_tables and "ИНН" in no_tables
    assert "КонтактнаяИнформация" in jget(s, url + qs(select="*"))["value"][0]
    column = jget(s, url + qs(select="Ref_Key,КонтактнаяИнформация/АдресЭП", filter="ИНН eq '7701234567'"))["value"]
    assert column[0]["КонтактнаяИнформация"][1] == {"LineNumber": "2", "АдресЭП": "info@romashka.ru"}
    r = s.get(url + qs(select="Code", format="json"))  # UT counterparties have no Code
    assert odata_error(r)[:2] == (400, "10")
    pres = jget(s, url + qs(select="Партнер____Presentation,Presentation", filter="ИНН eq '7701234567'"))["value"][0]
    assert pres["Партнер____Presentation"] == "Ромашка" and pres["Presentation"] == "Ромашка ООО"


def test_expand_references_composites_and_refusals(env):
    emu, s, refs = env
    rows = jget(s, emu.odata_url + "Document_ЗаказКлиента" + qs(expand="Контрагент,Сделка"))["value"]
    assert rows[0]["Контрагент"]["ИНН"] == "7701234567" and rows[0]["Контрагент_Key"] == refs["k_romashka"]
    assert rows[0]["Сделка"] is None and "Сделка@navigationLinkUrl" in rows[0]  # empty reference
    r = s.get(emu.odata_url + f"Document_ЗаказКлиента(guid'{refs['order']}')" + qs(expand="Контрагент", format="json"))
    assert odata_error(r)[:2] == (400, "0")  # no $expand on single entities
    r = s.get(emu.odata_url + "Document_СчетНаОплатуКлиенту" + qs(expand="ДокументОснование/*", format="json"))
    assert odata_error(r)[:2] == (400, "0")
    query = qs(expand="Контрагент", select="Number,Контрагент/ИНН")
    selected = jget(s, emu.odata_url + "Document_ЗаказКлиента" + query)
    assert selected["value"][0]["Контрагент"] == {"ИНН": "7701234567"}


def test_orderby_top_skip_and_inlinecount(env):
    emu, s, refs = env
    url = emu.odata_url + K
    names = [r["Description"] for r in jget(s, url + qs(orderby="Description desc", select="Description"))["value"]]
    assert names == ["Ромашка ООО", "ИП Иванов Пётр Петрович", "O'Brien Trading"]
    by_partner = jget(s, url + qs(orderby="Партнер/Description asc, ИНН desc", select="ИНН"))["value"]
    assert [r["ИНН"] for r in by_partner] == ["500100732259", "7812014560", "7701234567"]
    full = jget(s, url + qs(orderby="ИНН", select="ИНН"))["value"]
    a = jget(s, url + "?$top=1&$skip=1&$orderby=ИНН&$select=ИНН&$format=json")
    b = s.get(url + "?$skip=1&$orderby=ИНН&$select=ИНН&$top=1&$format=json").json()
    assert a["value"] == b["value"] == full[1:2]
    counted = jget(s, url + qs(inlinecount="allpages", top="1", filter="ЮрФизЛицо eq 'ЮрЛицо'"))
    assert counted["odata.count"] == "2" and len(counted["value"]) == 2  # doc: $inlinecount ignores $top/$skip
    r = s.get(url + qs(top="-1", format="json"))
    assert odata_error(r)[:2] == (400, "14")


def test_ref_key_order_is_binary_not_string():
    store = OneCStore()
    refs = ["00000000-0000-0000-0000-0000000000ff", "ff000000-0000-0000-0000-000000000001",
            "11111111-2222-3333-4444-555555555555"]
    partner = store.create("Catalog_Партнеры", {"Description": "Партнер"})["Ref_Key"]
    for i, ref in enumerate(refs):
        store.create(K, {"Description": f"К{i}", "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": partner}, ref=ref)
    with OneCEmulator(store) as emu:
        got = [r["Ref_Key"] for r in jget(session(emu), emu.odata_url + K + qs(orderby="Ref_Key"))["value"]]
        unordered = [r["Ref_Key"] for r in jget(session(emu), emu.odata_url + K)["value"]]
    # 1C stores dddd-eeeeeeeeeeee-cccc-bbbb-aaaaaaaa: the last groups sort first
    assert got == [refs[1], refs[0], refs[2]] and got != sorted(refs)
    assert unordered == got  # no $orderby: clustered-index order, not insertion order


def test_count_is_plain_text_with_bom_and_honours_only_filter(env):
    emu, s, refs = env
    r = s.get(emu.odata_url + K + "/$count" + qs(filter="ЮрФизЛицо eq 'ЮрЛицо'", top="1"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert r.content == "\ufeff2".encode()
    assert s.get(emu.odata_url + K + "/$count").content == b"\xef\xbb\xbf3"


def test_no_server_paging(env):
    emu, s, refs = env
    store = emu.store
    for i in range(1, 1201):
        store.create("Catalog_Номенклатура", {"Description": f"Товар №{i}"}, load_mode=True)
    body = jget(s, emu.odata_url + "Catalog_Номенклатура" + qs(select="Ref_Key"))
    assert len(body["value"]) == 1202 and "odata.nextLink" not in body


def test_plus_in_query_is_not_a_space(env):
    emu, s, refs = env
    r = s.get(emu.odata_url + K + "?$filter=Description+eq+'Ромашка ООО'&$format=json")
    assert odata_error(r)[:2] == (400, "14")
    ok = jget(s, emu.odata_url + K + "?$filter=Description%20eq%20'Ромашка%20ООО'")
    assert len(ok["value"]) == 1
    phone = jget(s, emu.odata_url + K + "_КонтактнаяИнформация?$filter=НомерТелефона%20eq%20'+74951234567'")
    assert len(phone["value"]) == 1  # a literal plus inside a string stays a plus


def test_cyrillic_paths_raw_or_percent_encoded(env):
    emu, s, refs = env
    encoded = emu.odata_url + quote(K) + "?$format=json"
    assert s.get(encoded).json()["value"]
    raw = requests.Request("GET", emu.odata_url + K + "?$format=json", auth=s.auth).prepare()
    raw.url = emu.odata_url + K + "?$format=json"  # leave the path unencoded: raw UTF-8 on the wire
    assert s.send(raw).json()["value"]
    assert emu.request_log[-1].path.endswith(f"/odata/standard.odata/{K}")


def test_tabular_sets_are_readable_by_row_and_filter(env):
    emu, s, refs = env
    rows = jget(s, emu.odata_url + f"{K}_КонтактнаяИнформация" + qs(filter="АдресЭП eq 'info@romashka.ru'"))["value"]
    assert len(rows) == 1 and rows[0]["Ref_Key"] == refs["k_romashka"] and rows[0]["LineNumber"] == "2"
    one = jget(s, emu.odata_url + f"{K}_КонтактнаяИнформация(Ref_Key=guid'{refs['k_romashka']}', LineNumber=1)")
    assert one["Тип"] == "Телефон" and one["odata.metadata"].endswith("_КонтактнаяИнформация/@Element")
    r = s.get(emu.odata_url + f"{K}_КонтактнаяИнформация(Ref_Key=guid'{refs['k_romashka']}')?$format=json")
    assert odata_error(r)[:2] == (400, "7")
    goods = jget(s, emu.odata_url + "Document_ЗаказКлиента_Товары" + qs(select="Ref_Key,LineNumber,Сумма"))["value"]
    assert [g["LineNumber"] for g in goods] == ["1", "2"] and goods[0]["Ref_Key"] == refs["order"]


def test_missing_entity_and_property_navigation(env):
    emu, s, refs = env
    r = s.get(emu.odata_url + f"{K}(guid'88d54406-36a1-11e9-8bb2-642737df2049')?$format=json")
    assert odata_error(r)[:2] == (404, "9")
    r = s.get(emu.odata_url + f"{K}(guid'88d54406-36a1-11e9-8bb2-642737df2049')")
    assert b"<m:code>9</m:code>" in r.content and r.headers["Content-Type"].startswith("application/xml")
    partner = jget(s, emu.odata_url + f"{K}(guid'{refs['k_romashka']}')/Партнер")
    assert partner["Description"] == "Ромашка" and partner["odata.metadata"].endswith("Catalog_Партнеры/@Element")
    value = jget(s, emu.odata_url + f"{K}(guid'{refs['k_romashka']}')/Партнер/Description")
    assert value["value"] == "Ромашка"


def test_row_level_security_and_allowed_only(env):
    emu, s, refs = env
    emu.rls[K] = lambda record: record["ИНН"].startswith("78")
    try:
        r = s.get(emu.odata_url + K + "?$format=json")
        assert odata_error(r)[:2] == (401, "20")
        for option in ("allowedOnly=true", "$allowedOnly=true"):
            rows = jget(s, emu.odata_url + K + "?" + option)["value"]
            assert {r["ИНН"] for r in rows} == {"7701234567", "500100732259"}
        narrowed = jget(s, emu.odata_url + K + "?allowedOnly=false&" + qs(filter="ИНН eq '7701234567'")[1:])
        assert len(narrowed["value"]) == 1  # conditions that exclude hidden rows do not fail
    finally:
        emu.rls.clear()


def test_deep_skip_costs_time_when_configured():
    store = OneCStore()
    seed(store)
    with OneCEmulator(store, skip_latency=0.05) as emu:
        s = session(emu)
        r = s.get(emu.odata_url + K + "?$skip=2&$orderby=ИНН&$format=json")
        assert r.elapsed.total_seconds() >= 0.1 and len(r.json()["value"]) == 1
        assert s.get(emu.odata_url + K + "?$top=1&$format=json").elapsed.total_seconds() < 0.1
