"""Value conversion between what REST clients send, how the store keeps it, and how Bitrix24 renders it.

The store keeps one canonical internal form per field kind (ints, floats, epoch seconds, ``"Y"/"N"``),
because the same record is rendered two ways: old ``crm.*`` methods stringify everything, while
``crm.item.*`` answers with native JSON types. Incoming values may be strings (forms, GET, batch) or
JSON natives, and PHP arrays may arrive as dicts keyed ``"0"``, ``"1"``…; all of that is absorbed here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

INT_KINDS = frozenset({"int"})
FLOAT_KINDS = frozenset({"money", "double"})
TIME_KINDS = frozenset({"datetime", "date"})

_ISO_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_RU_RE = re.compile(r"^\s*(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?\s*$")


def param(params: dict[str, Any], *names: str, default: Any = None) -> Any:
    """Look a parameter up case-insensitively, as ``CCrmRestHelper::resolveParam`` does."""
    for name in names:
        if name in params:
            return params[name]
    lowered = {n.lower() for n in names}
    for key, value in params.items():
        if isinstance(key, str) and key.lower() in lowered:
            return value
    return default


def as_list(value: Any) -> list[Any]:
    """A PHP array in any of its transports (list, ``{"0": …}`` dict, scalar) as a Python list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def to_int(value: Any) -> int | None:
    """PHP-ish ``intval`` for IDs: ``"12"``, ``12``, ``12.0`` → 12; junk → ``None``."""
    if value is None or isinstance(value, bool):
        return int(value) if isinstance(value, bool) else None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text.replace(",", ".")))
        except ValueError:
            return None


def to_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().replace(",", ".").replace(" ", ""))
    except ValueError:
        return None


def to_flag(value: Any) -> str | None:
    """``Y``/``N`` from the many spellings clients use (``true``, ``1``, ``"Y"``, ``"y"``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    text = str(value).strip().upper()
    if text in ("Y", "1", "TRUE", "ON", "YES"):
        return "Y"
    return "N"


def parse_time(value: Any, tz: tzinfo) -> int | None:
    """Epoch seconds from what ``strtotime`` would accept; naive values are in the portal offset."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=tz)
        return int(moment.timestamp())
    text = str(value)
    match = _ISO_RE.match(text)
    if match:
        year, month, day, hour, minute, second, offset = match.groups()
        parts = (int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        zone: tzinfo = tz
        if offset:
            from datetime import timezone

            if offset == "Z":
                zone = UTC
            else:
                sign = 1 if offset[0] == "+" else -1
                digits = offset[1:].replace(":", "")
                zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        try:
            return int(datetime(*parts, tzinfo=zone).timestamp())
        except ValueError:
            return None
    match = _RU_RE.match(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
        try:
            moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                              int(second or 0), tzinfo=tz)
        except ValueError:
            return None
        return int(moment.timestamp())
    return None


def parse_date(value: Any, tz: tzinfo) -> int | None:
    """A date field keeps local midnight of the given day, whatever time came with it."""
    stamp = parse_time(value, tz)
    if stamp is None:
        return None
    day = datetime.fromtimestamp(stamp, tz).date()
    return midnight(day, tz)


def midnight(day: date, tz: tzinfo) -> int:
    return int(datetime.combine(day, time(0, 0), tzinfo=tz).timestamp())


def iso(stamp: int | None, tz: tzinfo) -> str | None:
    """``2024-08-15T10:38:21+03:00``: second resolution, portal offset (``CRestUtil::ConvertDateTime``)."""
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, tz).isoformat()


def internal(kind: str, value: Any, tz: tzinfo) -> Any:
    """Coerce an incoming value to the store's form for a field kind; ``None`` means empty."""
    if kind == "int":
        return to_int(value)
    if kind in FLOAT_KINDS:
        return to_float(value)
    if kind == "char":
        return to_flag(value)
    if kind == "datetime":
        return parse_time(value, tz)
    if kind == "date":
        return parse_date(value, tz)
    if kind == "ids":
        ids = [to_int(v) for v in as_list(value)]
        return [i for i in ids if i]
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, dict | list):
        return value
    return str(value)


def fmt_double(value: float) -> str:
    """PHP's float-to-string: ``0`` not ``0.0``, ``1.5`` stays ``1.5``."""
    if value == int(value):
        return str(int(value))
    return repr(value)


def render_old(kind: str, value: Any, tz: tzinfo) -> Any:
    """Old ``crm.*`` rendering: strings for numbers, ``"1000.00"`` money, ISO datetimes, ``null``."""
    if value is None:
        return [] if kind == "ids" else None
    if kind == "int":
        return str(value)
    if kind == "money":
        return f"{value:.2f}"
    if kind == "double":
        return fmt_double(value)
    if kind in TIME_KINDS:
        return iso(value, tz)
    if kind == "ids":
        return [str(v) for v in value]
    return value


def render_item(kind: str, value: Any, tz: tzinfo) -> Any:
    """``crm.item.*`` rendering: native ints and floats, ISO datetimes, ``"Y"/"N"`` flags."""
    if value is None:
        return [] if kind == "ids" else None
    if kind in TIME_KINDS:
        return iso(value, tz)
    if kind in FLOAT_KINDS:
        return int(value) if value == int(value) else value
    return value
