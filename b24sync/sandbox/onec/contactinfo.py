"""Contact-information rows exactly as BSP 3.x (``УправлениеКонтактнойИнформацией``) writes them.

A row has four representations that a real base keeps consistent: ``Представление`` (what users
see), the denormalised search columns (``НомерТелефона``, ``НомерТелефонаБезКодов``, ``АдресЭП``,
``ДоменноеИмяСервера``, ``Страна``/``Регион``/``Город``), the structured ``Значение`` JSON
(``"version": 5``) and the legacy ``ЗначенияПолей`` XML. Writers that fill only some of them
(OData clients do) leave rows that 1C's own search and forms misread, so both the seed and the
HTTP service build rows here, the way the server-side BSP call would, and tests can check any row
for consistency with :func:`row_problems`.

Conventions where BSP leaves room [UNV against a live base]: ``НомерТелефона`` holds the number
in E.164 (``+74951234567``), ``НомерТелефонаБезКодов`` the subscriber number without country and
area code (``1234567``); the XML in ``ЗначенияПолей`` is left empty, as BSP 3.x does for new rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PhoneParts",
    "address_row",
    "address_value",
    "email_row",
    "format_phone",
    "parse_phone",
    "phone_row",
    "row_problems",
]

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMPTY_DATE = "0001-01-01T00:00:00"


@dataclass(frozen=True)
class PhoneParts:
    """A phone number split as BSP stores it: ``+7 (495) 123-45-67`` → 7 / 495 / 1234567."""

    country_code: str
    area_code: str
    number: str
    extension: str = ""

    @property
    def e164(self) -> str:
        return f"+{self.country_code}{self.area_code}{self.number}"

    @property
    def presentation(self) -> str:
        """BSP's presentation of a Russian number: ``+7 (495) 123-45-67``."""
        n = self.number
        local = f"{n[:3]}-{n[3:5]}-{n[5:]}" if len(n) == 7 else n
        text = f"+{self.country_code} ({self.area_code}) {local}" if self.area_code else f"+{self.country_code} {n}"
        return f"{text}, доб. {self.extension}" if self.extension else text


def parse_phone(text: str) -> PhoneParts | None:
    """Parse a Russian number in any of the formats managers type; ``None`` if it is not one.

    ``8 (495) 123-45-67``, ``+7 495 1234567``, ``(495) 123-45-67`` and ``84951234567`` are all
    +7 495 1234567 (every sandbox area code, like Moscow's and the mobile 9xx ones, has 3 digits).
    """
    main, ext = text, ""
    match = re.search(r"(?i)(?:доб\.?|ext\.?|#)\s*(\d+)\s*$", text)
    if match:
        ext = match.group(1)
        main = text[: match.start()]
    digits = re.sub(r"\D", "", main)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    elif len(digits) != 10:
        return None
    if digits[0] not in "3489":
        return None
    return PhoneParts("7", digits[:3], digits[3:], ext)


def format_phone(e164: str) -> str:
    """``+74951234567`` → ``+7 (495) 123-45-67`` (the text is returned unchanged if it does not parse)."""
    parts = parse_phone(e164)
    return parts.presentation if parts else e164


def _row(kind_type: str, kind_ref: str, presentation: str, value: dict[str, Any], **columns: str) -> dict[str, Any]:
    row = {
        "Тип": kind_type,
        "Вид_Key": kind_ref,
        "Представление": presentation,
        "ЗначенияПолей": "",
        "Страна": "",
        "Регион": "",
        "Город": "",
        "АдресЭП": "",
        "ДоменноеИмяСервера": "",
        "НомерТелефона": "",
        "НомерТелефонаБезКодов": "",
        "ВидДляСписка_Key": kind_ref,
        "ДействуетС": _EMPTY_DATE,
        "Значение": json.dumps(value, ensure_ascii=False),
    }
    row.update(columns)
    return row


def phone_row(kind_ref: str, parts: PhoneParts, presentation: str | None = None) -> dict[str, Any]:
    """A ``Телефон`` row; ``presentation`` overrides BSP's (a number typed in before BSP 3)."""
    shown = presentation or parts.presentation
    value = {
        "version": 5,
        "value": shown,
        "type": "Телефон",
        "countryCode": parts.country_code,
        "areaCode": parts.area_code,
        "number": parts.number,
        "extNumber": parts.extension,
        "comment": "",
    }
    return _row("Телефон", kind_ref, shown, value, НомерТелефона=parts.e164, НомерТелефонаБезКодов=parts.number)


def email_row(kind_ref: str, email: str) -> dict[str, Any]:
    """An ``АдресЭлектроннойПочты`` row: 1C keeps the address as typed; search columns split it."""
    value = {"version": 5, "value": email, "type": "АдресЭлектроннойПочты", "comment": ""}
    return _row(
        "АдресЭлектроннойПочты", kind_ref, email, value, АдресЭП=email, ДоменноеИмяСервера=email.partition("@")[2]
    )


def address_value(
    *,
    presentation: str,
    postal_code: str = "",
    region: str = "",
    city: str = "",
    street: str = "",
    house: str = "",
    building: str = "",
    apartment: str = "",
    country: str = "Россия",
) -> dict[str, Any]:
    """The BSP "version 5" address JSON; without parts it is a free-form address, as BSP stores one."""
    buildings = []
    if building:
        kind, _, number = building.partition(" ")
        buildings.append({"type": "Корпус" if kind.startswith("корп") else "Строение", "number": number or building})
    apartments = []
    if apartment:
        kind, _, number = apartment.partition(" ")
        label = {"кв.": "Квартира", "офис": "Офис", "пом.": "Помещение"}.get(kind, "Офис")
        apartments.append({"type": label, "number": number or apartment})
    structured = bool(city or street or house)
    return {
        "version": 5,
        "value": presentation,
        "type": "Адрес",
        "country": country,
        "countryCode": "643" if country == "Россия" else "",
        "addressType": "Административно-территориальный" if structured else "ВСвободнойФорме",
        "ZIPcode": postal_code,
        "area": region,
        "city": city,
        "street": street,
        "houseType": "Дом" if house else "",
        "houseNumber": house,
        "buildings": buildings,
        "apartments": apartments,
        "comment": "",
    }


def address_row(kind_ref: str, value: dict[str, Any]) -> dict[str, Any]:
    """An ``Адрес`` row from :func:`address_value` output."""
    return _row(
        "Адрес", kind_ref, value["value"], value, Страна=value["country"], Регион=value["area"], Город=value["city"]
    )


def row_problems(row: dict[str, Any]) -> list[str]:
    """What is inconsistent between the representations of one row (empty list: consistent)."""
    problems = []
    try:
        value = json.loads(row["Значение"]) if row["Значение"] else None
    except ValueError:
        return ["Значение is not JSON"]
    if value is None:
        return ["Значение is empty"]
    if value.get("type") != row["Тип"]:
        problems.append(f"Значение.type {value.get('type')!r} != Тип {row['Тип']!r}")
    if value.get("value") != row["Представление"]:
        problems.append("Значение.value != Представление")
    if row["Тип"] == "Телефон":
        parts = parse_phone(row["Представление"])
        if parts is None:
            problems.append(f"Представление {row['Представление']!r} is not a phone")
        else:
            if row["НомерТелефона"] != parts.e164:
                problems.append(f"НомерТелефона {row['НомерТелефона']!r} != {parts.e164}")
            if row["НомерТелефонаБезКодов"] != parts.number or value.get("number") != parts.number:
                problems.append("НомерТелефонаБезКодов / Значение.number differ from Представление")
            if value.get("areaCode") != parts.area_code:
                problems.append("Значение.areaCode differs from Представление")
    elif row["Тип"] == "АдресЭлектроннойПочты":
        if row["АдресЭП"] != row["Представление"] or not _EMAIL_RE.match(row["АдресЭП"]):
            problems.append(f"АдресЭП {row['АдресЭП']!r} != Представление")
        if row["ДоменноеИмяСервера"] != row["АдресЭП"].partition("@")[2]:
            problems.append("ДоменноеИмяСервера is not the domain of АдресЭП")
    elif row["Тип"] == "Адрес":
        if row["Город"] != value.get("city") or row["Регион"] != value.get("area"):
            problems.append("Город/Регион differ from Значение")
        if value.get("city") and value["city"] not in row["Представление"]:
            problems.append("the city is not in Представление")
    return problems
