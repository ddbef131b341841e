"""One entity as a response shows it, independent of JSON or Atom: selection, links, expansion.

Both renderers consume :class:`Projected`, so ``$select``/``$expand`` semantics and the rule for
navigation links (a reference gets ``<Nav>@navigationLinkUrl`` only when its target set is
published, which is why the real UT excerpt has ``Партнер_Key`` but no ``Партнер``) live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .query import SelectSpec
from .schema import COMPOSITE, CTYPE, DOCUMENT, ENUM, REF, EntitySet, Prop, TabularSet
from .values import EMPTY_DATE, EMPTY_GUID

__all__ = ["Projected", "entity_key", "presentation", "project"]


@dataclass
class Projected:
    set_name: str
    key: str
    props: dict[str, Any]
    row_types: dict[str, str] = field(default_factory=dict)  # tabular part -> RowType name
    navs: list[str] = field(default_factory=list)
    expanded: dict[str, Projected | None] = field(default_factory=dict)


def entity_key(meta: EntitySet | TabularSet, record: dict[str, Any]) -> str:
    """The canonical key segment: ``Set(guid'…')`` or ``Set(Ref_Key=guid'…', LineNumber=1)``."""
    if isinstance(meta, TabularSet):
        return f"{meta.name}(Ref_Key=guid'{record['Ref_Key']}', LineNumber={record['LineNumber']})"
    return f"{meta.name}(guid'{record['Ref_Key']}')"


def _words(name: str) -> str:
    text = re.sub(r"(?<=[а-яёa-z0-9])(?=[А-ЯЁA-Z])", " ", name.replace("_", " ")).strip()
    return text[:1] + text[1:].lower()


def _date(value: str) -> str:
    if value == EMPTY_DATE:
        return ""
    day, time_part = value.split("T")
    y, m, d = day.split("-")
    return f"{d}.{m}.{y} {time_part}"


def presentation(set_name: str, record: dict[str, Any] | None, schema: Any) -> str:
    """What ``Представление()`` gives: a catalog's Description, a document's "<синоним> <номер> от <дата>"."""
    if record is None:
        return ""
    meta = schema.sets.get(set_name)
    if meta is not None and meta.kind == DOCUMENT:
        return f"{_words(meta.short_name)} {record.get('Number', '')} от {_date(record.get('Date', EMPTY_DATE))}"
    return str(record.get("Description", ""))


def _prop_presentation(prop: Prop, record: dict[str, Any], store: Any) -> str:
    value = record.get(prop.name)
    if prop.kind == REF:
        if value == EMPTY_GUID:
            return ""
        return presentation(prop.target, store.records_by_ref(prop.target, value), store.schema)
    if prop.kind == COMPOSITE:
        type_name = str(record.get(f"{prop.name}_Type", "")).removeprefix("StandardODATA.")
        target = store.records_by_ref(type_name, value) if type_name in store.schema.sets else None
        return presentation(type_name, target, store.schema) if target else str(value or "")
    if prop.kind == ENUM:
        return _words(value) if value else ""
    if prop.edm == "Edm.Boolean":
        return "Да" if value else "Нет"
    if prop.edm == "Edm.DateTime":
        return _date(value)
    return "" if value is None else str(value)


def project(
    meta: EntitySet | TabularSet,
    record: dict[str, Any],
    spec: SelectSpec,
    expand: dict[str, str],
    store: Any,
    published: set[str],
) -> Projected:
    out: dict[str, Any] = {}
    row_types: dict[str, str] = {}
    navs: list[str] = []
    for prop in meta.props if isinstance(meta, TabularSet) else meta.ordered_props():
        if prop.kind == CTYPE:
            continue
        if spec.wants(prop.name):
            out[prop.name] = record.get(prop.name)
            if prop.kind == REF and prop.target in published and not isinstance(meta, TabularSet):
                navs.append(prop.nav)
    for table in getattr(meta, "tables", ()):
        if spec.wants(table.name, is_table=True):
            rows = record.get(table.name, [])
            cols = spec.columns.get(table.name)
            if cols is not None and spec.props is not None and table.name not in spec.props and "*" not in cols:
                rows = [{k: v for k, v in row.items() if k in cols or k == "LineNumber"} for row in rows]
            out[table.name] = [dict(row) for row in rows]
            row_types[table.name] = f"{meta.name}_{table.name}_RowType"
    for prop in meta.props:  # composite type companions come last, as in the real EDMX
        if prop.kind == CTYPE and spec.wants(prop.name):
            out[prop.name] = record.get(prop.name)
    for prop in meta.props:
        if prop.kind != CTYPE and (spec.all_presentations or prop.name in spec.presentations):
            out[f"{prop.nav or prop.name}____Presentation"] = _prop_presentation(prop, record, store)
    if spec.own_presentation:
        out["Presentation"] = presentation(meta.name, record, store.schema) if isinstance(meta, EntitySet) else ""
    projected = Projected(meta.name, entity_key(meta, record), out, row_types, navs)
    for nav, type_name in expand.items():
        projected.expanded[nav] = _expanded(meta, record, nav, type_name, spec, store, published)
        if not type_name and nav not in navs:
            navs.append(nav)
    return projected


def _expanded(meta: EntitySet | TabularSet, record: dict[str, Any], nav: str, type_name: str, spec: SelectSpec,
              store: Any, published: set[str]) -> Projected | None:
    from .query import parse_select

    if type_name:
        if record.get(f"{nav}_Type") != f"StandardODATA.{type_name}":
            return None
        target_set, ref = type_name, record.get(nav)
    else:
        prop = meta.prop(f"{nav}_Key")
        assert prop is not None
        target_set, ref = prop.target, record.get(prop.name)
    target = store.records_by_ref(target_set, ref) if ref and ref != EMPTY_GUID else None
    if target is None:
        return None
    target_meta = store.schema.sets[target_set]
    nested = spec.nested.get(nav)
    if type_name and nested:
        nested = [item.split("/", 1)[1] for item in nested if "/" in item]
    sub = parse_select(",".join(nested), target_meta, set()) if nested else parse_select(None, target_meta, set())
    return project(target_meta, target, sub, {}, store, published)
