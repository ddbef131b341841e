"""The one list engine behind every ``*.list``: filter prefixes, ordering, paging arithmetic.

Two paging flavours exist on a real portal and both are here: old ``CDBResult`` lists floor
``start`` to a page (``start=75`` answers items 50–99) while ORM lists (``crm.item.list``) use a
true offset. ``start=-1`` skips the count and reports ``total: 0`` (the documented export example
for ``crm.lead.list`` shows exactly that). Unordered lists are deliberately shuffled per call, as a
database without ``ORDER BY`` gives no guarantee, so clients that page without ``order`` are caught.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...latency import note_list
from ..api import RestError
from .store import Record, Table
from .values import as_list, internal, to_int

PAGE = 50

OLD_PREFIXES = (">=", "<=", "!@", "=%", "%=", "!=", ">", "<", "@", "%", "=", "!")
ORM_PREFIXES = ("!=%", "!%=", ">=", "<=", "!@", "=%", "%=", "!%", "!=", ">", "<", "@", "%", "=", "!")
_OPS = {">=": "ge", "<=": "le", "!@": "nin", "=%": "likep", "%=": "likep", "!=": "ne", ">": "gt",
        "<": "lt", "@": "in", "%": "like", "=": "eq", "!": "ne", "!=%": "nlikep", "!%=": "nlikep",
        "!%": "nlike", "": "eq"}
_NEGATED = {"ne": "eq", "nin": "in", "nlike": "like", "nlikep": "likep"}


@dataclass(frozen=True)
class Column:
    """How the engine reads one filterable/sortable field of a record."""

    name: str
    kind: str
    getter: Callable[[Record], Any]


Resolver = Callable[[str], Column | None]


@dataclass
class Leaf:
    column: Column
    op: str
    values: list[Any]


@dataclass
class Group:
    logic: str = "AND"
    items: list[Leaf | Group] = field(default_factory=list)


def require_array(value: Any, name: str) -> Any:
    """Old crm.* methods answer ``"" / Parameter 'x' must be array.`` for scalars."""
    if value is None:
        return {}
    if not isinstance(value, dict | list):
        raise RestError("", f"Parameter '{name}' must be array.")
    return value


def split_key(key: str, prefixes: tuple[str, ...]) -> tuple[str, str]:
    """Longest-prefix parse: ``>=DATE_MODIFY`` → (``>=``, ``DATE_MODIFY``)."""
    for prefix in prefixes:
        if key.startswith(prefix):
            return prefix, key[len(prefix):]
    return "", key


def parse_filter(raw: Any, resolve: Resolver, tz: Any, *, orm: bool = False) -> Group:
    """Build the condition tree; unknown keys are dropped (old) or rejected (ORM)."""
    root = Group("AND")
    if isinstance(raw, list):
        raw = {str(i): v for i, v in enumerate(raw)}
    if not isinstance(raw, dict):
        return root
    for key, value in raw.items():
        key = str(key)
        if key.upper() == "LOGIC":
            if orm:
                root.logic = "OR" if str(value).upper() == "OR" else "AND"
            continue
        if isinstance(value, dict) and (key.isdigit() or key == ""):
            if orm:
                root.items.append(parse_filter(value, resolve, tz, orm=True))
            continue
        prefix, name = split_key(key, ORM_PREFIXES if orm else OLD_PREFIXES)
        column = resolve(name)
        if column is None:
            if orm:
                raise RestError("INVALID_ARG_VALUE", f"Invalid filter: field '{name}' is not allowed in filter")
            continue
        op = _OPS[prefix]
        kind = "str" if column.kind in ("fm",) else column.kind
        if kind == "ids":
            kind = "int"
        values = []
        for item in as_list(value) if isinstance(value, list | dict) else [value]:
            if op in ("like", "nlike", "likep", "nlikep"):
                values.append(str(item))
            elif item is None or item == "" or item is False and kind != "char":
                values.append(None)
            else:
                converted = internal(kind, item, tz)
                if kind == "int" and converted is None:
                    converted = 0
                values.append(converted)
        if not values:
            values = [None]
        root.items.append(Leaf(column, op, values))
    return root


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def compile_tree(tree: Group) -> Callable[[Record], bool] | None:
    """A predicate for the tree, or ``None`` when it accepts everything."""
    if not tree.items:
        return None
    checks = [compile_tree(i) if isinstance(i, Group) else _compile_leaf(i) for i in tree.items]
    active = [c for c in checks if c is not None]
    if not active:
        return None
    if tree.logic == "OR":
        return lambda rec: any(c(rec) for c in active)
    if len(active) == 1:
        return active[0]
    return lambda rec: all(c(rec) for c in active)


def _compile_leaf(leaf: Leaf) -> Callable[[Record], bool]:
    get = leaf.column.getter
    op = _NEGATED.get(leaf.op, leaf.op)
    negate = op != leaf.op
    values = leaf.values
    if op in ("like", "likep"):
        regexes = [_like_regex(v if op == "likep" else f"%{v}%") for v in values]

        def test(rec: Record) -> bool:
            current = get(rec)
            items = current if isinstance(current, list) else [current]
            return any(isinstance(x, str) and any(r.match(x) for r in regexes) for x in items)
    elif op in ("eq", "in"):
        wanted = {_fold(v) for v in values if v is not None}
        empty_ok = any(v is None for v in values)

        def test(rec: Record) -> bool:
            current = get(rec)
            if isinstance(current, list):
                if not current:
                    return empty_ok
                return any(_fold(x) in wanted for x in current)
            if current is None or current == "":
                return empty_ok
            return _fold(current) in wanted
    else:
        bound = values[0]
        compare = {"gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
                   "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}[op]

        def test(rec: Record) -> bool:
            current = get(rec)
            if current is None or bound is None:
                return False
            try:
                return compare(_fold(current), _fold(bound))
            except TypeError:
                return compare(str(current), str(bound))
    if negate:
        return lambda rec: not test(rec)
    return test


def parse_order(raw: Any, resolve: Resolver, *, orm: bool = False) -> list[tuple[Column, bool]]:
    """``{FIELD: ASC|DESC}`` → columns; unknown fields ignored (old) or rejected (ORM)."""
    if isinstance(raw, list):
        raw = {str(v): "ASC" for v in raw if isinstance(v, str)}
    order: list[tuple[Column, bool]] = []
    if not isinstance(raw, dict):
        return order
    for name, direction in raw.items():
        column = resolve(str(name))
        text = str(direction).upper()
        if orm and text not in ("ASC", "DESC"):
            raise RestError("INVALID_ARG_VALUE", "Invalid order: allowed sort directions are ASC, DESC. "
                            f"But got '{direction}' for field '{name}'")
        if column is None:
            if orm:
                raise RestError("INVALID_ARG_VALUE", f"Invalid order: field '{name}' is not allowed in order")
            continue
        order.append((column, text == "DESC"))
    return order


@dataclass
class Page:
    ids: list[int]
    total: int | None
    next: int | None


def select_page(table: Table, tree: Group, order: list[tuple[Column, bool]], start: Any,
                rng: Any, *, orm: bool = False) -> Page:
    """Pick the IDs of one page; the ``>ID``/ID-ordered path never scans the whole table."""
    begin = to_int(start)
    unbounded = begin == -1
    note_list(len(table), counted=not unbounded)  # the portal's COUNT scans the table (cost model)
    begin = 0 if begin is None or begin < 0 else begin
    offset = begin if orm else (begin // PAGE) * PAGE
    ids, lo, hi, rest = _narrow(table, tree)
    accept = compile_tree(rest)
    rows = table.rows
    by_id = len(order) == 1 and order[0][0].name == "ID"
    if by_id or not order:
        desc = by_id and order[0][1]
        if accept is None and lo <= hi:
            count = hi - lo
            if not order:
                want = min(PAGE, max(0, count - (0 if unbounded else offset)))
                page = [ids[i] for i in rng.sample(range(lo, hi), want)] if want else []
            elif unbounded:
                page = ids[hi - PAGE if hi - PAGE > lo else lo:hi][::-1] if desc else ids[lo:min(hi, lo + PAGE)]
            elif desc:
                page = ids[max(lo, hi - offset - PAGE):max(lo, hi - offset)][::-1]
            else:
                page = ids[min(hi, lo + offset):min(hi, lo + offset + PAGE)]
            return _finish(page, count, offset, unbounded, orm)
        indices = range(hi - 1, lo - 1, -1) if desc else range(lo, hi)
        if unbounded and order:
            page = []
            for i in indices:
                if accept is None or accept(rows[ids[i]]):
                    page.append(ids[i])
                    if len(page) == PAGE:
                        break
            return _finish(page, 0, 0, True, orm)
        matched = [ids[i] for i in indices if accept is None or accept(rows[ids[i]])]
        if not order:
            rng.shuffle(matched)
    else:
        matched = [ids[i] for i in range(lo, hi) if accept is None or accept(rows[ids[i]])]
        for column, desc in reversed(order):
            get = column.getter
            matched.sort(key=lambda i, g=get: _sort_key(g(rows[i])), reverse=desc)
    if unbounded:
        return _finish(matched[:PAGE], 0, 0, True, orm)
    return _finish(matched[offset:offset + PAGE], len(matched), offset, False, orm)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, 0)
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return (0, 0)
    if isinstance(value, str):
        return (2, value.casefold())
    if isinstance(value, dict):
        return (3, str(value))
    return (1, value)


def _finish(page: list[int], total: int, offset: int, unbounded: bool, orm: bool) -> Page:
    if unbounded:
        return Page(page, 0, None)
    more = offset + len(page) < total if orm else offset + PAGE < total
    nxt = (offset + len(page) if orm else offset + PAGE) if more and page else None
    return Page(page, total, nxt)


def _narrow(table: Table, tree: Group) -> tuple[list[int], int, int, Group]:
    """Turn top-level AND conditions on ID into a slice of the sorted index (or an explicit ID list)."""
    ids = table.ids
    if tree.logic != "AND":
        return ids, 0, len(ids), tree
    for item in tree.items:
        if isinstance(item, Leaf) and item.column.name == "ID" and item.op in ("eq", "in"):
            wanted = {v for v in item.values if v is not None}
            ids = sorted(v for v in wanted if v in table.rows)
            break
    lo, hi = 0, len(ids)
    rest = Group("AND")
    for item in tree.items:
        if isinstance(item, Leaf) and item.column.name == "ID" and item.op in ("gt", "ge", "lt", "le") \
                and item.values and (item.values[0] is None or (not isinstance(item.values[0], int | float)
                                                                and str(item.values[0])[:1] > "9")):
            # no usable number — e.g. an unresolved batch reference that became a whole result array
            # (None here): the row-by-row test would answer the same for every row (no bound: nothing;
            # a text above every digit: greater than any ID), so it is answered without the scan
            if item.values[0] is None or item.op in ("gt", "ge"):
                lo = hi
        elif isinstance(item, Leaf) and item.column.name == "ID" and item.op in ("gt", "ge", "lt", "le") \
                and item.values and isinstance(item.values[0], int | float):
            bound = item.values[0]
            if item.op == "gt":
                lo = max(lo, bisect_right(ids, bound))
            elif item.op == "ge":
                lo = max(lo, bisect_left(ids, bound))
            elif item.op == "lt":
                hi = min(hi, bisect_left(ids, bound))
            else:
                hi = min(hi, bisect_right(ids, bound))
        else:
            rest.items.append(item)
    return ids, lo, max(lo, hi), rest


def select_all(table: Table, tree: Group, order: list[tuple[Column, bool]]) -> list[int]:
    """Every match, ordered: for small dictionaries that real portals return unpaged."""
    accept = compile_tree(tree)
    matched = [i for i in table.ids if accept is None or accept(table.rows[i])]
    for column, desc in reversed(order):
        matched.sort(key=lambda i, g=column.getter: _sort_key(g(table.rows[i])), reverse=desc)
    return matched
