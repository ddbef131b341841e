"""The metadata model the whole emulator is driven by: entity sets, properties, tabular parts, enums.

One model feeds the service document, ``$metadata``, write validation, defaults and rendering, so
they can never disagree the way hand-written fixtures do. Property names are the *wire* names a
real base publishes: a reference attribute ``Партнер`` is the Guid property ``Партнер_Key`` (plus a
navigation property only when its target set is published), a composite attribute is the pair
``X`` + ``X_Type`` (both ``Edm.String``), an enum is an ``Edm.String`` holding the member name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "CATALOG",
    "DOCUMENT",
    "EntitySet",
    "EnumType",
    "Predefined",
    "Prop",
    "Schema",
    "Table",
    "TabularSet",
]

CATALOG = "Catalog"
DOCUMENT = "Document"

PLAIN, REF, ENUM, COMPOSITE, CTYPE = "plain", "ref", "enum", "composite", "ctype"


@dataclass(frozen=True)
class Prop:
    """One wire property.

    ``kind``: ``plain`` (strings, numbers, dates, booleans, plain Guids), ``ref`` (``X_Key`` with
    ``target`` = the referenced entity set), ``enum`` (``target`` = enum type name), ``composite``
    (``target`` = allowed set names, ``|``-separated) and ``ctype`` (its ``X_Type`` companion).
    """

    name: str
    edm: str = "Edm.String"
    kind: str = PLAIN
    target: str = ""
    nullable: bool = True

    @property
    def nav(self) -> str:
        """Navigation-property name of a reference (``Партнер_Key`` -> ``Партнер``), else ``""``."""
        return self.name[:-4] if self.kind == REF and self.name.endswith("_Key") else ""

    @property
    def allowed_types(self) -> tuple[str, ...]:
        return tuple(t for t in self.target.split("|") if t) if self.kind == COMPOSITE else ()


@dataclass(frozen=True)
class Table:
    """A tabular part: ``name`` and its columns (``LineNumber`` and the parent ``Ref_Key`` implied)."""

    name: str
    columns: tuple[Prop, ...]

    def column(self, name: str) -> Prop | None:
        for prop in self.columns:
            if prop.name == name:
                return prop
        return None


@dataclass(frozen=True)
class Predefined:
    """A predefined item created with the base: ``name`` (PredefinedDataName) and its values."""

    name: str
    values: dict[str, object] = field(default_factory=dict)
    ref: str = ""


@dataclass
class EntitySet:
    """A catalog or document as published: ``Catalog_Контрагенты``, ``Document_ЗаказКлиента``.

    ``code_length`` > 0 gives the catalog an auto-assigned ``Code``; ``code_prefix`` is the infobase
    prefix UT puts in front (``00-00000001``). ``open_type`` mirrors ``OpenType="true"`` of the real
    EDMX. ``number_length`` is the length of a document number including its prefix.
    """

    name: str
    kind: str
    props: tuple[Prop, ...]
    tables: tuple[Table, ...] = ()
    open_type: bool = False
    code_length: int = 0
    code_prefix: str = ""
    number_length: int = 11
    predefined: tuple[Predefined, ...] = ()
    _index: dict[str, Prop] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {p.name: p for p in self.props}

    def prop(self, name: str) -> Prop | None:
        return self._index.get(name)

    def table(self, name: str) -> Table | None:
        for table in self.tables:
            if table.name == name:
                return table
        return None

    @property
    def type_name(self) -> str:
        return f"StandardODATA.{self.name}"

    @property
    def short_name(self) -> str:
        """The metadata object name without the prefix (``ЗаказКлиента``), as 1C's messages use it."""
        return self.name.split("_", 1)[1]

    def ordered_props(self) -> Iterator[Prop]:
        """Properties in the real EDMX order: plain/ref/enum/composite first, ``_Type`` companions last."""
        yield from (p for p in self.props if p.kind != CTYPE)
        yield from (p for p in self.props if p.kind == CTYPE)


@dataclass(frozen=True)
class TabularSet:
    """The read-only entity set of one tabular part (``Document_ЗаказКлиента_Товары``)."""

    parent: EntitySet
    table: Table

    @property
    def name(self) -> str:
        return f"{self.parent.name}_{self.table.name}"

    @property
    def props(self) -> tuple[Prop, ...]:
        return (Prop("Ref_Key", "Edm.Guid", nullable=False), Prop("LineNumber", "Edm.Int64", nullable=False),
                *self.table.columns)

    def prop(self, name: str) -> Prop | None:
        for prop in self.props:
            if prop.name == name:
                return prop
        return None


@dataclass(frozen=True)
class EnumType:
    """An enumeration: members have no ``Value`` in 1C's EDMX; data carries the member *name*."""

    name: str
    members: tuple[str, ...]


class Schema:
    """All entity sets and enums of one configuration, plus lookups used by every other module."""

    def __init__(self, name: str, sets: Iterable[EntitySet], enums: Iterable[EnumType]) -> None:
        self.name = name
        self.sets: dict[str, EntitySet] = {s.name: s for s in sets}
        self.enums: dict[str, EnumType] = {e.name: e for e in enums}
        self.tabular: dict[str, TabularSet] = {}
        for entity_set in self.sets.values():
            for table in entity_set.tables:
                ts = TabularSet(entity_set, table)
                self.tabular[ts.name] = ts
        for entity_set in self.sets.values():
            for prop in entity_set.props:
                if prop.kind == ENUM and prop.target not in self.enums:
                    raise ValueError(f"{entity_set.name}.{prop.name}: unknown enum {prop.target}")

    def entity_set(self, name: str) -> EntitySet:
        try:
            return self.sets[name]
        except KeyError:
            raise KeyError(f"no entity set {name!r} in the {self.name} model") from None

    def all_set_names(self) -> list[str]:
        """Every set a publication may expose: objects and their tabular-part sets."""
        return [*self.sets, *self.tabular]
