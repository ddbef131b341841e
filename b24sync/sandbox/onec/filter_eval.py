"""Evaluation of a parsed ``$filter`` against stored records (see :mod:`.filter` for the grammar).

Every value is a ``(kind, value)`` pair whose kind comes from the *model*, never from the data, so
type errors are found by evaluating once against a probe record even when a table is empty:
``string``, ``number``, ``bool``, ``guid``, ``datetime``, ``null``, ``comp`` (composite value and its
``_Type``), ``tref`` (a typed reference from ``cast``), ``entity`` and ``rows`` (a tabular part).
A ``None`` value means "absent" (a dangling reference), which never satisfies a comparison.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import ODataError, parse_error
from .schema import COMPOSITE, CTYPE, REF, EntitySet, Prop, Table, TabularSet
from .values import default_for, guid_order_key, parse_datetime

__all__ = ["Env", "Shape", "evaluate", "probe_env"]

Value = tuple[str, Any]
_PRIMITIVE_CASTS = {"String": "string", "Number": "number", "Boolean": "bool", "Date": "datetime"}


@dataclass(frozen=True)
class Shape:
    """What a path can see at one level: properties and tabular parts of a set, a tabular set or a row."""

    props: tuple[Prop, ...]
    tables: tuple[Table, ...] = ()

    @classmethod
    def of(cls, meta: EntitySet | TabularSet | Table) -> Shape:
        if isinstance(meta, Table):
            return cls((Prop("LineNumber", "Edm.Int64"), *meta.columns))
        if isinstance(meta, TabularSet):
            return cls(meta.props)
        return cls(meta.props, meta.tables)

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def defaults(self) -> dict[str, Any]:
        record: dict[str, Any] = {p.name: default_for(p) for p in self.props}
        record.update({t.name: [] for t in self.tables})
        return record


@dataclass
class Env:
    shape: Shape
    record: dict[str, Any] | None
    store: Any
    vars: dict[str, Value] = field(default_factory=dict)
    probe: bool = False


def probe_env(shape: Shape, store: Any) -> Env:
    return Env(shape, shape.defaults(), store, probe=True)


def _kind_of(prop: Prop) -> str:
    if prop.kind == COMPOSITE:
        return "comp"
    return {"Edm.Guid": "guid", "Edm.DateTime": "datetime", "Edm.Boolean": "bool", "Edm.Int16": "number",
            "Edm.Int32": "number", "Edm.Int64": "number", "Edm.Double": "number"}.get(prop.edm, "string")


def _prop_value(prop: Prop, record: dict[str, Any] | None) -> Value:
    kind = _kind_of(prop)
    if record is None:
        return kind, None
    raw = record.get(prop.name)
    if kind == "comp":
        return kind, (raw, record.get(f"{prop.name}_Type", "StandardODATA.Undefined"))
    if kind == "number" and isinstance(raw, str):
        return kind, int(raw)
    return kind, raw


def _entity(set_name: str, ref: str | None, env: Env) -> Value:
    meta = env.store.schema.sets.get(set_name)
    if meta is None:
        raise parse_error()
    record = None
    if ref and not env.probe:
        record = env.store.records_by_ref(set_name, ref)
    return "entity", (Shape.of(meta), record)


def _resolve(name: str, shape: Shape, record: dict[str, Any] | None, env: Env) -> Value:
    prop = shape.prop(name)
    if prop is not None and prop.kind != CTYPE:
        return _prop_value(prop, record)
    if prop is not None:
        return "string", None if record is None else record.get(name)
    table = shape.table(name)
    if table is not None:
        return "rows", (Shape.of(table), [] if record is None else record.get(name, []))
    ref_prop = shape.prop(f"{name}_Key")
    if ref_prop is not None and ref_prop.kind == REF:
        return _entity(ref_prop.target, None if record is None else record.get(ref_prop.name), env)
    raise parse_error()


def evaluate(node: tuple[Any, ...], env: Env) -> Value:
    op = node[0]
    if op == "lit":
        return node[1], node[2]
    if op == "prop":
        if node[1] in env.vars:
            return env.vars[node[1]]
        return _resolve(node[1], env.shape, env.record, env)
    if op == "nav":
        kind, base = evaluate(node[1], env)
        if kind == "tref":
            base = _entity(base[1], base[0], env)[1]
        elif kind != "entity":
            raise parse_error()
        return _resolve(node[2], base[0], base[1], env)
    if op in ("and", "or"):
        left, right = _truth(evaluate(node[1], env)), _truth(evaluate(node[2], env))
        return "bool", (left and right) if op == "and" else (left or right)
    if op == "not":
        value = evaluate(node[1], env)
        if value[0] not in ("bool", "null"):
            raise parse_error()
        return "bool", None if value[1] is None else not value[1]
    if op == "neg":
        kind, value = evaluate(node[1], env)
        if kind != "number":
            raise parse_error()
        return kind, None if value is None else -value
    if op == "arith":
        return _arith(node[1], evaluate(node[2], env), evaluate(node[3], env))
    if op == "cmp":
        return "bool", _compare(node[1], evaluate(node[2], env), evaluate(node[3], env))
    if op == "lambda":
        return _lambda(node, env)
    if op == "call":
        from .filter_funcs import call

        return call(node[1], [evaluate(arg, env) for arg in node[2]], env)
    raise parse_error()


def _truth(value: Value) -> bool:
    if value[0] not in ("bool", "null"):
        raise parse_error()
    return value[1] is True


def _arith(op: str, left: Value, right: Value) -> Value:
    if left[0] != "number" or right[0] != "number":
        raise parse_error()
    a, b = left[1], right[1]
    if a is None or b is None:
        return "number", None
    if op == "add":
        return "number", a + b
    if op == "sub":
        return "number", a - b
    if op == "mul":
        return "number", a * b
    if b == 0:
        raise ODataError(500, "-1", "Деление на 0")
    return "number", a / b


def _comparable(left: Value, right: Value) -> tuple[Any, Any] | None:
    """Both sides reduced to Python values of one type; ``None`` when the pair can never match."""
    lk, lv = left
    rk, rv = right
    if lk == "comp" or rk == "comp":
        comp, other = (left, right) if lk == "comp" else (right, left)
        value, type_name = comp[1] or (None, None)
        if other[0] == "tref":  # cast(guid'…','Document_X') matches value and type
            ref, set_name = other[1]
            return (value, ref) if type_name == f"StandardODATA.{set_name}" else None
        if other[0] == "guid":
            return None  # the documented trap: a composite never equals a bare Guid
        if other[0] in ("string", "number", "bool", "datetime") and type_name and type_name.startswith("Edm."):
            return (value, other[1]) if lk == "comp" else (other[1], value)
        if other[0] == "null":
            return None
        raise parse_error()
    if lk == "tref":
        lk, lv = "guid", lv[0]
    if rk == "tref":
        rk, rv = "guid", rv[0]
    if rk == "null" or lk == "null":
        return None
    if lk != rk or lk in ("entity", "rows"):
        raise parse_error()
    if lv is None or rv is None:
        return None
    if lk == "string":
        return lv.casefold(), rv.casefold()
    if lk == "guid":
        # The base compares references as it sorts them: on the stored 16-byte layout, so
        # `Ref_Key gt guid'…'` continues an `$orderby=Ref_Key` page (the «выборка порциями» pattern).
        return guid_order_key(lv), guid_order_key(rv)
    return lv, rv


def _compare(op: str, left: Value, right: Value) -> bool:
    pair = _comparable(left, right)
    if pair is None:
        if (left[0] == "null") != (right[0] == "null"):
            return op == "ne"
        return op == "ne" and "comp" in (left[0], right[0])
    a, b = pair
    try:
        return {"eq": a == b, "ne": a != b, "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def _lambda(node: tuple[Any, ...], env: Env) -> Value:
    _, kind, collection, var, body = node
    ckind, payload = evaluate(collection, env)
    if ckind != "rows":
        raise ODataError(400, "21", "Вызов нереализованной функции: лямбда-функция применима только к коллекции")
    shape, rows = payload
    if body is None:
        return "bool", bool(rows)
    rows = [shape.defaults()] if env.probe else rows
    results = []
    for row in rows:
        inner = Env(env.shape, env.record, env.store, {**env.vars, var: ("entity", (shape, row))}, env.probe)
        results.append(_truth(evaluate(body, inner)))
    if env.probe:
        return "bool", False
    return "bool", any(results) if kind == "any" else all(results)


def like_regex(template: str) -> re.Pattern[str]:
    """1C's ``ПОДОБНО``: ``%`` any run, ``_`` one character, ``[…]``/``[^…]`` character sets."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end = template.find("]", i + 1)
            if end < 0:
                raise parse_error()
            body = template[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + re.sub(r"([\\\]])", r"\\\1", body) + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL | re.IGNORECASE)


def add_to_date(value: str, unit: str, amount: int) -> str:
    moment = parse_datetime(value)
    if unit in ("month", "quarter", "year"):
        months = amount * {"month": 1, "quarter": 3, "year": 12}[unit]
        total = moment.year * 12 + moment.month - 1 + months
        year, month = divmod(total, 12)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        moment = moment.replace(year=year, month=month + 1, day=day)
    else:
        seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}.get(unit)
        if seconds is None:
            raise ODataError(400, "21", f"Вызов нереализованной функции: dateadd('{unit}')")
        moment = moment + timedelta(seconds=seconds * amount)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def date_difference(first: str, second: str, unit: str) -> int:
    a, b = parse_datetime(first), parse_datetime(second)
    if unit in ("month", "quarter", "year"):
        months = (b.year - a.year) * 12 + b.month - a.month
        return months // {"month": 1, "quarter": 3, "year": 12}[unit]
    if unit == "day":
        return (datetime(b.year, b.month, b.day) - datetime(a.year, a.month, a.day)).days
    seconds = {"second": 1, "minute": 60, "hour": 3600}.get(unit)
    if seconds is None:
        raise ODataError(400, "21", f"Вызов нереализованной функции: datedifference('{unit}')")
    return int((b - a).total_seconds() // seconds)
