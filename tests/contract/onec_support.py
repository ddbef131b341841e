"""Helpers for the 1C emulator contract tests: a UTF-8 Basic-auth session and a small UT seed.

Requests are plain ``requests`` over loopback. Query strings are built with ``%20`` for spaces
(``quote``), as a correct 1C client must; ``requests``' own ``params=`` would send ``+``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import requests

from b24sync.sandbox.onec import OneCEmulator, OneCStore

KINDS = "Catalog_ВидыКонтактнойИнформации"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"


def qs(**params: str) -> str:
    """``?$filter=…&$top=…`` with ``%20`` spaces; keyword ``filter`` means ``$filter`` etc."""
    parts = []
    for name, value in params.items():
        key = name if name == "allowedOnly" else f"${name}"
        parts.append(f"{key}={quote(str(value), safe=chr(39) + '(),/:*=$')}")
    return "?" + "&".join(parts)


def session(emu: OneCEmulator) -> requests.Session:
    s = requests.Session()
    s.auth = (emu.user.encode("utf-8"), emu.password.encode("utf-8"))
    return s


def jget(s: requests.Session, url: str, **kw: Any) -> Any:
    r = s.get(url, headers={"Accept": "application/json"}, **kw)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def odata_error(r: requests.Response) -> tuple[int, str, str]:
    body = r.json()["odata.error"]
    return r.status_code, body["code"], body["message"]["value"]


def post_json(s: requests.Session, url: str, payload: dict[str, Any], **headers: str) -> requests.Response:
    return s.post(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                  headers={"Content-Type": "application/json", "Accept": "application/json", **headers})


def patch_json(s: requests.Session, url: str, payload: dict[str, Any], **headers: str) -> requests.Response:
    return s.patch(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                   headers={"Content-Type": "application/json", "Accept": "application/json", **headers})


def seed(store: OneCStore) -> dict[str, str]:
    """A small UT base: organization, ruble, VAT rate, partners, counterparties, products, an order."""
    refs: dict[str, str] = {}
    refs["org"] = store.create("Catalog_Организации", {"Description": "ООО «Торговый дом»", "Префикс": "ТД",
                                                        "ИНН": "7707083893", "ЮрФизЛицо": "ЮрЛицо"})["Ref_Key"]
    refs["rub"] = store.create("Catalog_Валюты", {"Description": "руб.", "Code": "643",
                                                  "НаименованиеПолное": "Российский рубль"})["Ref_Key"]
    refs["vat20"] = store.create("Catalog_СтавкиНДС", {"Description": "20%", "Ставка": 20})["Ref_Key"]
    refs["manager"] = store.create("Catalog_Пользователи", {"Description": "Петрова Анна Сергеевна"})["Ref_Key"]
    refs["p_romashka"] = store.create("Catalog_Партнеры", {
        "Description": "Ромашка", "ЮрФизЛицо": "Компания", "Клиент": True,
        "ОсновнойМенеджер_Key": refs["manager"]})["Ref_Key"]
    refs["p_ivanov"] = store.create("Catalog_Партнеры", {"Description": "Иванов Пётр", "ЮрФизЛицо": "ЧастноеЛицо",
                                                         "Клиент": True})["Ref_Key"]
    phone_kind = store.predefined(KINDS, "ТелефонКонтрагента")
    mail_kind = store.predefined(KINDS, "EmailКонтрагента")
    refs["k_romashka"] = store.create("Catalog_Контрагенты", {
        "Description": "Ромашка ООО", "НаименованиеПолное": "Общество с ограниченной ответственностью «Ромашка»",
        "ИНН": "7701234567", "КПП": "770101001", "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": refs["p_romashka"],
        "КонтактнаяИнформация": [
            {"Тип": "Телефон", "Вид_Key": phone_kind, "Представление": "+7 (495) 123-45-67",
             "НомерТелефона": "+74951234567", "НомерТелефонаБезКодов": "1234567", "ВидДляСписка_Key": phone_kind},
            {"Тип": "АдресЭлектроннойПочты", "Вид_Key": mail_kind, "Представление": "info@romashka.ru",
             "АдресЭП": "info@romashka.ru", "ДоменноеИмяСервера": "romashka.ru", "ВидДляСписка_Key": mail_kind},
        ]})["Ref_Key"]
    refs["k_ivanov"] = store.create("Catalog_Контрагенты", {
        "Description": "ИП Иванов Пётр Петрович", "ИНН": "500100732259", "ЮрФизЛицо": "ИндивидуальныйПредприниматель",
        "Партнер_Key": refs["p_ivanov"]})["Ref_Key"]
    refs["k_obrien"] = store.create("Catalog_Контрагенты", {
        "Description": "O'Brien Trading", "ИНН": "7812014560", "ЮрФизЛицо": "ЮрЛицо",
        "Партнер_Key": refs["p_romashka"]})["Ref_Key"]
    refs["chair"] = store.create("Catalog_Номенклатура", {"Description": "Стул офисный", "Артикул": "СТ-01",
                                                          "СтавкаНДС_Key": refs["vat20"]})["Ref_Key"]
    refs["desk"] = store.create("Catalog_Номенклатура", {"Description": "Стол письменный", "Артикул": "СТ-02",
                                                         "СтавкаНДС_Key": refs["vat20"]})["Ref_Key"]
    refs["order"] = store.create("Document_ЗаказКлиента", order_values(refs))["Ref_Key"]
    return refs


def order_values(refs: dict[str, str], **extra: Any) -> dict[str, Any]:
    values = {
        "Date": "2024-03-15T10:30:00", "Партнер_Key": refs["p_romashka"], "Контрагент_Key": refs["k_romashka"],
        "Организация_Key": refs["org"], "Валюта_Key": refs["rub"], "ЦенаВключаетНДС": True,
        "Менеджер_Key": refs["manager"], "Статус": "КОбеспечению",
        "Товары": [
            {"Номенклатура_Key": refs["chair"], "Количество": 4, "Цена": 2500, "СтавкаНДС_Key": refs["vat20"]},
            {"Номенклатура_Key": refs["desk"], "Количество": 1, "Цена": 12000.5, "СтавкаНДС_Key": refs["vat20"]},
        ],
    }
    values.update(extra)
    return values
