"""The store API the HTTP-service code and the seed use directly (no HTTP)."""

from __future__ import annotations

import base64
import threading

import pytest

from b24sync.sandbox.onec import NoRules, ODataError, OneCStore, ut115_schema

from .onec_support import KINDS, order_values, seed

K = "Catalog_Контрагенты"


def version(record: dict) -> int:
    return int.from_bytes(base64.b64decode(record["DataVersion"]), "big")


def test_predefined_kinds_and_deep_copies():
    store = OneCStore()
    ref = store.predefined(KINDS, "EmailКонтрагента")
    item = store.get(KINDS, ref)
    assert item["Predefined"] is True and item["PredefinedDataName"] == "EmailКонтрагента"
    assert item["Тип"] == "АдресЭлектроннойПочты" and item["IsFolder"] is False
    item["Description"] = "испорчено"
    assert store.get(KINDS, ref)["Description"] == "Адрес электронной почты"
    assert OneCStore().predefined(KINDS, "ТелефонКонтрагента") == store.predefined(KINDS, "ТелефонКонтрагента")
    with pytest.raises(KeyError):
        store.predefined(KINDS, "НетТакого")


def test_create_update_query_delete_and_versions():
    store = OneCStore()
    refs = seed(store)
    wanted = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    created = store.create(K, {"Description": "Лютик", "ЮрФизЛицо": "ФизЛицо", "ИНН": "500100732259",
                               "Партнер_Key": refs["p_ivanov"]}, ref=wanted.upper())
    assert created["Ref_Key"] == wanted
    with pytest.raises(ODataError) as dup:
        store.create(K, {"Description": "Дубль"}, ref=wanted, load_mode=True)
    assert dup.value.code == "15"
    updated = store.update(K, wanted, {"Комментарий": "нет такого", "НаименованиеПолное": "Лютик Иван"})
    assert updated["НаименованиеПолное"] == "Лютик Иван" and version(updated) > version(created)
    assert store.diagnostics[-1]["ignored"] == ["Комментарий"]
    physical = store.query(K, lambda r: r["ЮрФизЛицо"] == "ФизЛицо")
    assert [r["Description"] for r in physical] == ["Лютик"]
    rows = store.query(f"{K}_КонтактнаяИнформация", lambda r: r["Тип"] == "Телефон")
    assert rows[0]["Ref_Key"] == refs["k_romashka"] and rows[0]["LineNumber"] == "1"
    store.delete(K, wanted)
    assert store.get(K, wanted) is None
    with pytest.raises(ODataError) as missing:
        store.update(K, wanted, {})
    assert (missing.value.status, missing.value.code) == (404, "9")


def test_post_unpost_and_errors():
    store = OneCStore()
    refs = seed(store)
    before = version(store.get("Document_ЗаказКлиента", refs["order"]))
    store.post("Document_ЗаказКлиента", refs["order"])
    posted = store.get("Document_ЗаказКлиента", refs["order"])
    assert posted["Posted"] is True and version(posted) > before
    store.unpost("Document_ЗаказКлиента", refs["order"])
    assert store.get("Document_ЗаказКлиента", refs["order"])["Posted"] is False
    with pytest.raises(ODataError):
        store.post(K, refs["k_romashka"])
    with pytest.raises(ODataError) as tabular:
        store.create(f"{K}_КонтактнаяИнформация", {})
    assert tabular.value.code == "13"
    with pytest.raises(ODataError) as unknown:
        store.get("Catalog_Нет", refs["order"])
    assert (unknown.value.status, unknown.value.code) == (404, "8")
    store.update("Document_ЗаказКлиента", refs["order"], {"DeletionMark": True})
    with pytest.raises(ODataError) as marked:
        store.post("Document_ЗаказКлиента", refs["order"])
    assert (marked.value.status, marked.value.code) == (500, "-1")


def test_data_version_is_a_global_counter_under_concurrency():
    store = OneCStore(rules=NoRules())
    refs = seed(store)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                store.update("Document_ЗаказКлиента", refs["order"], {"Комментарий": f"{n}-{i}"})
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    versions = sorted(version(r) for name in store.schema.sets for r in store.records(name))
    assert len(versions) == len(set(versions))  # every write got its own row version


def test_put_semantics_and_schema_switches():
    store = OneCStore()
    refs = seed(store)
    replaced = store.replace("Document_ЗаказКлиента", refs["order"], order_values(refs, Товары=[]))
    assert replaced["Товары"] == [] and replaced["СуммаДокумента"] == 0 and replaced["Number"].startswith("ТД00-")
    bp = OneCStore(ut115_schema(bp_counterparties=True), rules=NoRules())
    assert bp.create(K, {"Description": "Группа", "IsFolder": True})["Code"] == "00-00000001"
    old = ut115_schema(vat_enum=True)
    goods = old.sets["Document_ЗаказКлиента"].table("Товары")
    assert goods.column("СтавкаНДС") is not None and goods.column("СтавкаНДС_Key") is None
