"""$filter on the 1C emulator: the vendor's v3 grammar and function list, and the documented failures."""

from __future__ import annotations

import pytest

from b24sync.sandbox.onec import OneCEmulator, OneCStore

from .onec_support import jget, odata_error, qs, seed, session

K = "Catalog_Контрагенты"


@pytest.fixture(scope="module")
def env():
    store = OneCStore()
    refs = seed(store)
    invoice = store.create("Document_СчетНаОплатуКлиенту", {
        "Date": "2024-03-16T09:00:00", "Организация_Key": refs["org"], "Контрагент_Key": refs["k_romashka"],
        "Валюта_Key": refs["rub"], "ДокументОснование": refs["order"],
        "ДокументОснование_Type": "StandardODATA.Document_ЗаказКлиента"})
    refs["invoice"] = invoice["Ref_Key"]
    with OneCEmulator(store) as emu:
        yield emu, session(emu), refs


def names(env, expr: str, entity_set: str = K) -> list[str]:
    emu, s, _ = env
    rows = jget(s, emu.odata_url + entity_set + qs(filter=expr, orderby="Description"))["value"]
    return [r["Description"] for r in rows]


def error(env, expr: str, entity_set: str = K) -> tuple[str, str]:
    emu, s, _ = env
    status, code, _ = odata_error(s.get(emu.odata_url + entity_set + qs(filter=expr, format="json")))
    return str(status), code


@pytest.mark.parametrize(("expr", "expected"), [
    ("ИНН eq '7701234567'", ["Ромашка ООО"]),
    ("ИНН ne '7701234567'", ["O'Brien Trading", "ИП Иванов Пётр Петрович"]),
    ("ИНН gt '7701234567'", ["O'Brien Trading"]),
    ("ИНН ge '7701234567' and ЮрФизЛицо eq 'ЮрЛицо'", ["O'Brien Trading", "Ромашка ООО"]),
    ("ЮрФизЛицо eq 'ИндивидуальныйПредприниматель' or КПП eq '770101001'",
     ["ИП Иванов Пётр Петрович", "Ромашка ООО"]),
    ("not (ЮрФизЛицо eq 'ЮрЛицо')", ["ИП Иванов Пётр Петрович"]),
    ("Description eq 'O''Brien Trading'", ["O'Brien Trading"]),
    ("Description eq 'РОМАШКА ооо'", ["Ромашка ООО"]),  # case-insensitive, like the DBMS collation
    ("substringof('иванов', Description)", ["ИП Иванов Пётр Петрович"]),
    ("substringof('Ромашка', НаименованиеПолное) eq true", ["Ромашка ООО"]),
    ("startswith(Description, 'ИП ')", ["ИП Иванов Пётр Петрович"]),
    ("endswith(Description, 'ООО') eq true", ["Ромашка ООО"]),
    ("like(Description, '[^И]%')", ["O'Brien Trading", "Ромашка ООО"]),
    ("like(ИНН, '77_1%')", ["Ромашка ООО"]),
    ("substring(ИНН, 1, 2) eq '78'", ["O'Brien Trading"]),
    ("concat(concat(ИНН, '/'), КПП) eq '7701234567/770101001'", ["Ромашка ООО"]),
    ("DeletionMark eq false and Predefined eq false and ГоловнойКонтрагент_Key eq guid'00000000-0000-0000-0000-"
     "000000000000'", ["O'Brien Trading", "ИП Иванов Пётр Петрович", "Ромашка ООО"]),
    ("Партнер/Description eq 'Иванов Пётр'", ["ИП Иванов Пётр Петрович"]),
    ("КонтактнаяИнформация/any(k: k/АдресЭП eq 'INFO@romashka.ru')", ["Ромашка ООО"]),
    ("КонтактнаяИнформация/any()", ["Ромашка ООО"]),
    ("КонтактнаяИнформация/all(k: k/Тип eq 'Телефон')", ["O'Brien Trading", "ИП Иванов Пётр Петрович"]),
    ("isof(Партнер_Key, 'String') eq false", ["O'Brien Trading", "ИП Иванов Пётр Петрович", "Ромашка ООО"]),
])
def test_filter_semantics(env, expr, expected):
    assert names(env, expr) == expected


def test_guid_literals_and_keys(env):
    _, _, refs = env
    assert names(env, f"Ref_Key eq guid'{refs['k_ivanov']}'") == ["ИП Иванов Пётр Петрович"]
    assert names(env, f"Партнер_Key eq guid'{refs['p_romashka'].upper()}'") == ["O'Brien Trading", "Ромашка ООО"]
    assert error(env, f"Ref_Key eq '{refs['k_ivanov']}'") == ("400", "14")  # a Guid needs guid'…'


def test_datetime_literals_and_date_functions(env):
    emu, s, refs = env
    orders = "Document_ЗаказКлиента"

    def count(expr: str) -> int:
        return len(jget(s, emu.odata_url + orders + qs(filter=expr))["value"])

    assert count("Date ge datetime'2024-03-15T00:00:00' and Date lt datetime'2024-03-16T00:00:00'") == 1
    assert count("Date gt datetime'2024-03-15T10:30:00'") == 0
    assert count("year(Date) eq 2024 and month(Date) eq 3 and day(Date) eq 15 and hour(Date) eq 10") == 1
    assert count("quarter(Date) eq 1 and dayofweek(Date) eq 5 and dayofyear(Date) eq 75") == 1
    assert count("dateadd(Date, 'day', 1) eq datetime'2024-03-16T10:30:00'") == 1
    assert count("datedifference(Date, datetime'2024-04-15T00:00:00', 'month') eq 1") == 1
    assert count("СуммаДокумента sub 22000 gt 0.4 and СуммаДокумента div 2 lt 12000") == 1
    assert count("round(СуммаДокумента) eq 22001 and СуммаДокумента mul 2 eq 44001") == 1
    assert count("Товары/any(t: t/Цена gt 10000)") == 1
    assert count("Товары/all(t: t/Цена gt 10000)") == 0
    assert error(env, "Date eq '2024-03-15T10:30:00'", orders) == ("400", "14")
    assert error(env, "Date eq datetime'2024-03-15T10:30:00Z'", orders) == ("400", "14")


def test_composite_needs_cast(env):
    _, _, refs = env
    emu, s, _ = env
    invoices = "Document_СчетНаОплатуКлиенту"

    def found(expr: str) -> int:
        return len(jget(s, emu.odata_url + invoices + qs(filter=expr))["value"])

    assert found(f"ДокументОснование eq cast(guid'{refs['order']}', 'Document_ЗаказКлиента')") == 1
    assert found(f"ДокументОснование eq guid'{refs['order']}'") == 0  # silently empty, as documented
    assert found(f"ДокументОснование eq cast(guid'{refs['order']}', 'Document_CRM_Интерес')") == 0
    assert found("isof(ДокументОснование, 'Document_ЗаказКлиента')") == 1
    assert found("cast(ДокументОснование, 'Document_ЗаказКлиента')/СуммаДокумента gt 1000") == 1
    assert error(env, f"ДокументОснование_Key eq guid'{refs['order']}'", invoices)[0] == "400"


@pytest.mark.parametrize(("expr", "code"), [
    ("startwith(Description, 'ООО') eq true", "14"),  # the book's example: unknown function
    ("contains(Description, 'Ромашка')", "14"),  # OData v4
    ("Description in ('Ромашка ООО')", "14"),  # OData v4
    ("tolower(Description) eq 'ромашка ооо'", "21"),
    ("toupper(Description) eq 'X'", "21"),
    ("length(ИНН) eq 10", "21"),
    ("indexof(ИНН, '77') eq 0", "21"),
    ("trim(ИНН) eq '1'", "21"),
    ("substringof('x')", "21"),  # wrong number of arguments
    ("ИНН eq 7701234567", "14"),  # a string property against a number
    ("НетТакогоРеквизита eq 'x'", "14"),
    ("ИНН eq 'x' and", "14"),
    ("(ИНН eq 'x'", "14"),
    ("ИНН eq 'x''", "14"),
    ("ИНН mod 2 eq 0", "14"),
    ("КонтактнаяИнформация/exists(k: k/Тип eq 'Телефон')", "21"),
])
def test_unsupported_and_malformed_filters(env, expr, code):
    assert error(env, expr) == ("400", code)


def test_errors_surface_on_empty_sets_too():
    with OneCEmulator() as emu:
        r = session(emu).get(emu.odata_url + K + qs(filter="tolower(Description) eq 'x'", format="json"))
        assert odata_error(r)[:2] == (400, "21")
