"""Query options of a request: parsing the raw query string and applying them to records.

The raw query string is split on ``&`` and percent-decoded with ``unquote`` (never
``unquote_plus``): 1C takes a ``+`` literally, so ``$filter=Description+eq+'x'`` does not parse and
answers 400, while a ``+`` inside a literal (``'+7 495…'``) stays a plus. Unknown ``$options`` are
code 0 (``The $expan parameter is not supported``); other names are custom options and ignored.
Without ``$orderby`` rows come in the order of the clustered index, i.e. by the 1C binary layout of
``Ref_Key`` (not insertion order and not GUID string order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .errors import ODataError, parse_error, property_not_found, unsupported
from .filter_eval import Shape
from .schema import COMPOSITE, CTYPE, REF, EntitySet, TabularSet
from .values import guid_order_key

__all__ = ["Options", "SelectSpec", "order_records", "parse_options", "parse_select"]

KNOWN = {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$inlinecount", "$format", "$allowedonly"}
PRESENTATION = "____Presentation"


@dataclass
class Options:
    raw: dict[str, str] = field(default_factory=dict)
    filter: str | None = None
    select: str | None = None
    expand: str | None = None
    orderby: str | None = None
    top: int | None = None
    skip: int | None = None
    inlinecount: bool = False
    format: str | None = None
    allowed_only: bool = False
    params: dict[str, str] = field(default_factory=dict)


def _non_negative(name: str, value: str) -> int:
    if not re.fullmatch(r"\d+", value.strip()):
        raise parse_error(name)
    return int(value)


def parse_options(query: str) -> Options:
    """Decode the raw query string the way 1C does (``+`` stays ``+``)."""
    options = Options()
    for part in query.split("&") if query else []:
        if not part:
            continue
        raw_name, _, raw_value = part.partition("=")
        try:
            name, value = unquote(raw_name, errors="strict"), unquote(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise ODataError(400, "1", "Не удалось разобрать строку") from None
        options.raw[name] = value
        lname = name.lower()
        if lname == "allowedonly" or lname == "$allowedonly":
            options.allowed_only = value.strip().lower() == "true"
        elif name.startswith("$") and lname not in KNOWN:
            raise unsupported(f"The {name} parameter is not supported")
        elif lname == "$filter":
            options.filter = value
        elif lname == "$select":
            options.select = value
        elif lname == "$expand":
            options.expand = value
        elif lname == "$orderby":
            options.orderby = value
        elif lname == "$top":
            options.top = _non_negative(name, value)
        elif lname == "$skip":
            options.skip = _non_negative(name, value)
        elif lname == "$inlinecount":
            if value not in ("allpages", "none"):
                raise parse_error(name)
            options.inlinecount = value == "allpages"
        elif lname == "$format":
            options.format = value
        else:
            options.params[name] = value
    return options


@dataclass
class SelectSpec:
    """What to output per entity: ``None`` in ``props`` means all; ``columns`` per tabular part."""

    props: set[str] | None = None
    no_tables: bool = False
    columns: dict[str, set[str]] = field(default_factory=dict)
    presentations: set[str] = field(default_factory=set)
    all_presentations: bool = False
    own_presentation: bool = False
    nested: dict[str, list[str]] = field(default_factory=dict)

    def wants(self, name: str, is_table: bool = False) -> bool:
        if is_table and self.no_tables:
            return False
        if self.props is None:
            return True
        return name in self.props or (is_table and name in self.columns)


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_select(text: str | None, meta: EntitySet | TabularSet, expanded: set[str]) -> SelectSpec:
    """``*``, ``**``, names, ``Таблица/Колонка``, ``Nav/…`` (with ``$expand``), ``____Presentation``."""
    spec = SelectSpec()
    if text is None or not text.strip():
        return spec
    items = _split_list(text)
    star = "*" in items
    spec.props = None if star else set()
    spec.no_tables = "**" in items and not star
    if spec.no_tables:
        spec.props = None
    tables = {t.name: t for t in getattr(meta, "tables", ())}
    for item in items:
        if item in ("*", "**"):
            continue
        if item == "*" + PRESENTATION:
            spec.all_presentations = True
            continue
        if item == "Presentation":
            spec.own_presentation = True
            continue
        if item.endswith(PRESENTATION):
            base = item[: -len(PRESENTATION)]
            prop = meta.prop(base) or meta.prop(f"{base}_Key")
            if prop is None or prop.kind == CTYPE:
                raise property_not_found(item)
            spec.presentations.add(prop.name)
            continue
        head, _, rest = item.partition("/")
        if rest and head in tables:
            if tables[head].column(rest) is None and rest not in ("LineNumber", "*"):
                raise property_not_found(item)
            spec.columns.setdefault(head, set()).add(rest)
            continue
        if rest and head in expanded:
            spec.nested.setdefault(head, []).append(rest)
            continue
        if rest or (meta.prop(head) is None and head not in tables):
            raise property_not_found(item)
        if spec.props is not None:
            spec.props.add(head)
            prop = meta.prop(head)
            if prop is not None and prop.kind == COMPOSITE:
                spec.props.add(f"{head}_Type")
    if spec.props is not None and not spec.props and not spec.columns and not spec.nested and (
        spec.presentations or spec.all_presentations or spec.own_presentation
    ):
        spec.props = {"Ref_Key"} if meta.prop("Ref_Key") else set()
    return spec


def parse_expand(text: str | None, meta: EntitySet | TabularSet, published: set[str]) -> dict[str, str]:
    """Navigation name -> composite type (``""`` for a plain reference); ``*`` = every navigation."""
    result: dict[str, str] = {}
    if text is None or not text.strip():
        return result
    if isinstance(meta, TabularSet):
        raise unsupported("Не поддерживается расширение реквизитов табличных частей")
    for item in _split_list(text):
        if item == "*":
            for prop in meta.props:
                if prop.kind == REF and prop.target in published:
                    result[prop.nav] = ""
            continue
        head, _, rest = item.partition("/")
        ref = meta.prop(f"{head}_Key")
        composite = meta.prop(head)
        if composite is not None and composite.kind == COMPOSITE:
            type_name = rest.split("/", 1)[0]
            if not type_name or type_name == "*":
                raise unsupported(f"Расширение составного реквизита {head} без указания типа не поддерживается")
            if type_name not in published:
                raise property_not_found(item)
            result[head] = type_name
        elif ref is not None and ref.kind == REF and ref.target in published:
            result[head] = ""
        else:
            raise property_not_found(item)
    return result


def _sort_value(value: Any, edm: str) -> Any:
    if edm == "Edm.Guid" and isinstance(value, str):
        return guid_order_key(value)
    if isinstance(value, str):
        if edm == "Edm.Int64":
            return int(value)
        return value.casefold()
    return value


def order_records(records: list[dict[str, Any]], orderby: str | None, meta: EntitySet | TabularSet,
                  store: Any) -> list[dict[str, Any]]:
    """``$orderby`` with 1C semantics; without it, the clustered-index (binary ``Ref_Key``) order."""
    rows = sorted(records, key=lambda r: (guid_order_key(r.get("Ref_Key", "")), int(r.get("LineNumber", 0))))
    if orderby is None or not orderby.strip():
        return rows
    keys = []
    for item in _split_list(orderby):
        parts = item.split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
            raise parse_error("$orderby")
        keys.append((parts[0], len(parts) == 2 and parts[1].lower() == "desc"))
    for path, descending in reversed(keys):
        getter = _path_getter(path, meta, store)
        rows.sort(key=getter, reverse=descending)
    return rows


def _path_getter(path: str, meta: EntitySet | TabularSet, store: Any):  # type: ignore[no-untyped-def]
    segments = path.split("/")
    shape = Shape.of(meta)
    hops: list[tuple[str, str]] = []  # (key property, target set)
    for segment in segments[:-1]:
        ref = shape.prop(f"{segment}_Key")
        if ref is None or ref.kind != REF or ref.target not in store.schema.sets:
            raise parse_error("$orderby")
        hops.append((ref.name, ref.target))
        shape = Shape.of(store.schema.sets[ref.target])
    last = shape.prop(segments[-1])
    if last is None:
        raise parse_error("$orderby")
    edm = last.edm

    def key(record: dict[str, Any]) -> tuple[int, Any]:
        current: dict[str, Any] | None = record
        for key_prop, target in hops:
            current = store.records_by_ref(target, current.get(key_prop, "")) if current else None
        if current is None:
            return (0, "")
        return (1, _sort_value(current.get(last.name), edm))

    return key
