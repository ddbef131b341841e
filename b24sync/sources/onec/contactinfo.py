"""Contact-information rows b24sync writes to 1C, and merging them into a counterparty's table.

1C users and 1C's own search see a phone or an e-mail through several columns at once:
``Представление`` (the forms), the search columns (``НомерТелефона``, ``НомерТелефонаБезКодов``,
``АдресЭП``, ``ДоменноеИмяСервера``) and the structured ``Значение`` JSON that BSP 3.x keeps
(``"version": 5``). A row with only ``Представление`` shows in the form but is not found by
search, so every row written here carries all of them, as ``УправлениеКонтактнойИнформацией``
would fill them on the server.

A PATCH of ``КонтактнаяИнформация`` replaces the whole table, so :func:`merge_rows` rebuilds it:
rows of kinds b24sync does not own (a second address, a fax, a website) are kept as they are, rows
of owned kinds are kept when their value is still wanted (in whatever format a person typed it)
and dropped when not, and missing values are appended. Line numbers are renumbered from 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

PHONE, EMAIL, ADDRESS = "Телефон", "АдресЭлектроннойПочты", "Адрес"
EMPTY_DATE = "0001-01-01T00:00:00"


def _row(kind_type: str, kind_ref: str, presentation: str, value: Mapping[str, Any], **columns: str) -> dict[str, Any]:
    row = {"Тип": kind_type, "Вид_Key": kind_ref, "Представление": presentation, "ЗначенияПолей": "",
           "Страна": "", "Регион": "", "Город": "", "АдресЭП": "", "ДоменноеИмяСервера": "", "НомерТелефона": "",
           "НомерТелефонаБезКодов": "", "ВидДляСписка_Key": kind_ref, "ДействуетС": EMPTY_DATE,
           "Значение": json.dumps(value, ensure_ascii=False)}
    row.update(columns)
    return row


def phone_row(kind_ref: str, e164: str) -> dict[str, Any]:
    """A ``Телефон`` row for an E.164 number: ``+74951234567`` shown as ``+7 (495) 123-45-67``."""
    number = phonenumbers.parse(e164, "RU")
    national = str(number.national_number)
    area_len = phonenumbers.length_of_geographical_area_code(number) or (3 if number.country_code == 7 else 0)
    area, local = national[:area_len], national[area_len:]
    if number.country_code == 7 and len(local) == 7:
        shown = f"+7 ({area}) {local[:3]}-{local[3:5]}-{local[5:]}"
    else:
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    value = {"version": 5, "value": shown, "type": PHONE, "countryCode": str(number.country_code), "areaCode": area,
             "number": local, "extNumber": number.extension or "", "comment": ""}
    return _row(PHONE, kind_ref, shown, value, НомерТелефона=f"+{number.country_code}{national}",
                НомерТелефонаБезКодов=local)


def email_row(kind_ref: str, email: str) -> dict[str, Any]:
    """An ``АдресЭлектроннойПочты`` row with its domain split out for search."""
    value = {"version": 5, "value": email, "type": EMAIL, "comment": ""}
    return _row(EMAIL, kind_ref, email, value, АдресЭП=email, ДоменноеИмяСервера=email.partition("@")[2])


def address_row(kind_ref: str, presentation: str, *, city: str = "", region: str = "",
                country: str = "Россия") -> dict[str, Any]:
    """An ``Адрес`` row as a free-form address (BSP's ``ВСвободнойФорме``), with its search columns."""
    value = {"version": 5, "value": presentation, "type": ADDRESS, "country": country,
             "countryCode": "643" if country == "Россия" else "", "addressType": "ВСвободнойФорме", "area": region,
             "city": city, "comment": ""}
    return _row(ADDRESS, kind_ref, presentation, value, Страна=country, Регион=region, Город=city)


def _normal_phone(row: Mapping[str, Any]) -> str | None:
    for text in (row.get("НомерТелефона"), row.get("Представление")):
        if text:
            try:
                number = phonenumbers.parse(str(text), "RU")
            except phonenumbers.NumberParseException:
                continue
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _normal_email(row: Mapping[str, Any]) -> str | None:
    text = row.get("АдресЭП") or row.get("Представление")
    return str(text).strip().lower() if text else None


def merge_rows(existing: Iterable[Mapping[str, Any]], *, phone_kind: str, email_kind: str,
               phones: Iterable[str] | None = None, emails: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The whole new table: other kinds untouched; owned kinds set to exactly ``phones``/``emails``.

    ``None`` leaves that kind as it is. Values are compared normalized, so an existing row typed as
    ``8 (495) 123-45-67`` satisfies ``+74951234567`` and is kept as it was written.
    """
    wanted = {phone_kind: (phones, _normal_phone, phone_row), email_kind: (emails, _normal_email, email_row)}
    out: list[dict[str, Any]] = []
    present: dict[str, set[str]] = {phone_kind: set(), email_kind: set()}
    for row in existing:
        kind = row.get("Вид_Key")
        target = wanted.get(kind)
        if target is None or target[0] is None:
            out.append(dict(row))
            continue
        values, normal, _ = target
        value = normal(row)
        if value in set(values) and value not in present[kind]:
            present[kind].add(value)
            out.append(dict(row))
    for kind, (values, _normal, build) in wanted.items():
        if values is None:
            continue
        for value in values:
            if value not in present[kind]:
                present[kind].add(value)
                out.append(build(kind, value))
    for number, row in enumerate(out, start=1):
        row["LineNumber"] = number
    return out
