"""The ``$filter`` functions of the vendor chapter (§17.4.5.2), evaluated on typed values.

``substring`` is 1-based like the query language's ``ПОДСТРОКА`` (the chapter's own example,
``substring(ИНН, 1, 2) eq '77'``, selects INNs starting with 77), not 0-based as in OData.
"""

from __future__ import annotations

from typing import Any

from .errors import ODataError, parse_error
from .filter_eval import _PRIMITIVE_CASTS, Env, Value, add_to_date, date_difference, like_regex
from .values import parse_datetime

__all__ = ["call"]


def _wrong(name: str) -> ODataError:
    return ODataError(400, "21", f"Вызов нереализованной функции: {name}: неверный тип аргумента")


def _need(name: str, args: list[Value], *kinds: str) -> list[Any]:
    for (kind, _), expected in zip(args, kinds, strict=False):
        if expected != "any" and kind != expected and kind != "null":
            raise _wrong(name)
    return [value for _, value in args]


def _string_fn(name: str, args: list[Value]) -> Value:
    a, b = _need(name, args, "string", "string")
    if a is None or b is None:
        return "bool", None
    a, b = a.casefold(), b.casefold()
    if name == "substringof":
        return "bool", a in b
    if name == "startswith":
        return "bool", a.startswith(b)
    if name == "endswith":
        return "bool", a.endswith(b)
    return "bool", like_regex(args[1][1]).fullmatch(args[0][1]) is not None


def _date_part(name: str, value: str | None) -> Value:
    if value is None:
        return "number", None
    moment = parse_datetime(value)
    parts = {
        "year": moment.year, "month": moment.month, "day": moment.day, "hour": moment.hour,
        "minute": moment.minute, "second": moment.second, "quarter": (moment.month - 1) // 3 + 1,
        "dayofweek": moment.isoweekday(), "dayofyear": moment.timetuple().tm_yday,
    }
    return "number", parts[name]


def _cast(args: list[Value], env: Env) -> Value:
    (kind, value), (type_kind, type_name) = args
    if type_kind != "string" or not type_name:
        raise _wrong("cast")
    if type_name in _PRIMITIVE_CASTS:
        target = _PRIMITIVE_CASTS[type_name]
        if kind == "comp":
            raw, actual = value or (None, None)
            return target, raw if actual and actual.startswith("Edm.") else None
        return target, value if kind == target else None
    if type_name not in env.store.schema.sets:
        raise parse_error()
    if kind == "guid":
        return "tref", (value, type_name)
    if kind == "comp":
        raw, actual = value or (None, None)
        return "tref", (raw if actual == f"StandardODATA.{type_name}" else None, type_name)
    raise _wrong("cast")


def _isof(args: list[Value]) -> Value:
    (kind, value), (type_kind, type_name) = args
    if type_kind != "string":
        raise _wrong("isof")
    if kind == "comp":
        actual = (value or (None, None))[1]
        if type_name in _PRIMITIVE_CASTS:
            return "bool", actual is not None and actual.startswith("Edm.") and value[0] != ""
        return "bool", actual == f"StandardODATA.{type_name}"
    return "bool", _PRIMITIVE_CASTS.get(type_name) == kind


def call(name: str, args: list[Value], env: Env) -> Value:
    if name in ("substringof", "startswith", "endswith", "like"):
        return _string_fn(name, args)
    if name == "concat":
        a, b = _need(name, args, "string", "string")
        return "string", None if a is None or b is None else a + b
    if name == "substring":
        values = _need(name, args, "string", "number", "number")
        text, start = values[0], values[1]
        if text is None or start is None:
            return "string", None
        begin = max(int(start) - 1, 0)
        end = begin + int(values[2]) if len(values) == 3 else None
        return "string", text[begin:end]
    if name in ("year", "month", "day", "hour", "minute", "second", "quarter", "dayofweek", "dayofyear"):
        return _date_part(name, _need(name, args, "datetime")[0])
    if name == "dateadd":
        moment, unit, amount = _need(name, args, "datetime", "string", "number")
        return "datetime", None if moment is None else add_to_date(moment, unit, int(amount))
    if name == "datedifference":
        first, second, unit = _need(name, args, "datetime", "datetime", "string")
        return "number", None if first is None or second is None else date_difference(first, second, unit)
    if name == "round":
        (value,) = _need(name, args, "number")
        if value is None:
            return "number", None
        return "number", int(value + 0.5) if value >= 0 else -int(-value + 0.5)
    if name == "cast":
        return _cast(args, env)
    return _isof(args)
