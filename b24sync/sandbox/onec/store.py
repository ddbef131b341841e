"""The emulated infobase: objects of every entity set, kept in 1C's JSON wire shape.

Thread-safe (one re-entrant lock: 1C serialises writes to one object, and a coarse lock is the
simplest way to give readers a consistent view). Records are plain dicts keyed by ``Ref_Key``;
values are exactly what a real base puts on the JSON wire (Guid strings, naive dates, Int64 as
strings, enum member names, tabular parts as row lists with ``LineNumber``), so the OData layer
renders them as they are and the HTTP-service code built on this class speaks the same language.

Platform behaviour lives here (Ref_Key, autonumbering, defaults, ``DataVersion``, tabular-part
replacement, physical delete); configuration behaviour lives in :mod:`.rules`.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from .errors import CODE_STATUS, ODataError, bad_value, not_found, unknown_set
from .rules import BusinessRules, UTRules
from .schema import CTYPE, DOCUMENT, EntitySet, Prop, Schema
from .ut115 import ut115_schema
from .values import EMPTY_DATE, EMPTY_GUID, coerce, data_version, default_for, is_guid, new_ref

__all__ = ["ODataError", "OneCStore", "READ_ONLY_PROPS"]

READ_ONLY_PROPS = frozenset({"DataVersion", "Predefined", "PredefinedDataName", "Posted"})
"""Standard properties a write cannot set: 1C ignores them in the body (posting is ``/Post``)."""


class OneCStore:
    """All objects of one emulated base. See the module docstring for the value conventions.

    ``diagnostics`` collects, per write, the payload keys that were silently dropped (unknown or
    read-only properties, unknown tabular columns): a real base says nothing, tests can look here.
    """

    def __init__(
        self,
        schema: Schema | None = None,
        *,
        tz_offset_hours: int = 3,
        rules: BusinessRules | None = None,
        clock: Callable[[], float] = time.time,
        ib_prefix: str = "00",
        tz: tzinfo | None = None,
    ) -> None:
        self.schema = schema or ut115_schema()
        self.lock = threading.RLock()
        self.rules: BusinessRules = rules if rules is not None else UTRules()
        self.tz: tzinfo = tz or timezone(timedelta(hours=tz_offset_hours))  # ``tz`` may have summer time
        self.clock = clock
        self.ib_prefix = ib_prefix
        self.diagnostics: list[dict[str, Any]] = []
        self._data: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema.sets}
        self._version = 0
        self._codes: dict[str, int] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self._predefined: dict[tuple[str, str], str] = {}
        for entity_set in self.schema.sets.values():
            for item in entity_set.predefined:
                record = self.create(entity_set.name, dict(item.values), ref=item.ref or None, load_mode=True)
                with self.lock:
                    stored = self._data[entity_set.name][record["Ref_Key"]]
                    stored["Predefined"] = True
                    stored["PredefinedDataName"] = item.name
                self._predefined[(entity_set.name, item.name)] = record["Ref_Key"]

    # reads -------------------------------------------------------------------------------------

    def now(self) -> str:
        """The server's local wall clock as 1C writes dates (no zone)."""
        return datetime.fromtimestamp(self.clock(), self.tz).strftime("%Y-%m-%dT%H:%M:%S")

    def get(self, entity_set: str, ref: str) -> dict[str, Any] | None:
        """A deep copy of one object (``None`` if absent)."""
        table = self._table(entity_set)
        with self.lock:
            record = table.get(str(ref).lower())
            return copy.deepcopy(record) if record is not None else None

    def query(self, entity_set: str, where: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Deep copies of the objects (or tabular rows, for ``Set_Table``) that satisfy ``where``.

        ``where`` sees the stored record itself and must not modify it.
        """
        with self.lock:
            return [copy.deepcopy(r) for r in self.records(entity_set) if where is None or where(r)]

    def records(self, entity_set: str) -> list[dict[str, Any]]:
        """The stored records in insertion order, uncopied (read-only; hold :attr:`lock` while using them).

        For a tabular-part set, fresh row dicts with the parent's ``Ref_Key`` first.
        """
        tabular = self.schema.tabular.get(entity_set)
        with self.lock:
            if tabular is not None:
                return [
                    {"Ref_Key": parent["Ref_Key"], **row}
                    for parent in self._data[tabular.parent.name].values()
                    for row in parent[tabular.table.name]
                ]
            return list(self._table(entity_set).values())

    def revision(self, entity_set: str) -> tuple[int, int]:
        """Changes whenever the set may have changed (the global write counter and its size)."""
        return self._version, len(self._data.get(entity_set, {}))

    def records_by_ref(self, entity_set: str, ref: str) -> dict[str, Any] | None:
        """One stored object, uncopied (read-only), or ``None``; unknown sets give ``None`` too."""
        return self._data.get(entity_set, {}).get(str(ref).lower())

    def predefined(self, entity_set: str, name: str) -> str:
        """Ref_Key of the predefined item ``name`` (``PredefinedDataName``) of ``entity_set``."""
        try:
            return self._predefined[(entity_set, name)]
        except KeyError:
            raise KeyError(f"{entity_set} has no predefined item {name!r}") from None

    def vat_rate(self, value: str) -> float:
        """Percent for a ``Catalog_СтавкиНДС`` ref or a UT 11.4 ``СтавкиНДС`` enum member (``НДС20``)."""
        if is_guid(value) and "Catalog_СтавкиНДС" in self._data:
            item = self._data["Catalog_СтавкиНДС"].get(value.lower())
            return float(item["Ставка"]) if item else 0.0
        match = re.match(r"НДС(\d+)", value or "")
        return float(match.group(1)) if match else 0.0

    # writes ------------------------------------------------------------------------------------

    def create(
        self, entity_set: str, values: dict[str, Any], *, ref: str | None = None, load_mode: bool = False
    ) -> dict[str, Any]:
        """Create an object: ``Ref_Key`` (``ref``, a body ``Ref_Key`` or a new uuid4), code/number, defaults."""
        meta = self._object_set(entity_set)
        with self.lock:
            body_ref = values.get("Ref_Key")
            ref = ref or (body_ref if is_guid(body_ref) and body_ref != EMPTY_GUID else None) or new_ref()
            if not is_guid(ref):
                raise bad_value("Ref_Key", ref)
            ref = ref.lower()
            if ref in self._data[entity_set]:
                raise ODataError(CODE_STATUS["15"], "15", "Сущность с таким ключом уже существует")
            record = {p.name: default_for(p) for p in meta.props}
            for table in meta.tables:
                record[table.name] = []
            record["Ref_Key"] = ref
            dropped = self._apply(meta, record, values, skip={"Ref_Key"})
            self._fill_new(meta, record)
            self._commit(meta, record, True, load_mode)
            self._note(entity_set, ref, "create", dropped)
            return copy.deepcopy(record)

    def update(
        self,
        entity_set: str,
        ref: str,
        values: dict[str, Any],
        *,
        if_match: str | None = None,
        load_mode: bool = False,
    ) -> dict[str, Any]:
        """PATCH: only the given properties change; a given tabular part replaces the whole table."""
        return self._rewrite(entity_set, ref, values, if_match=if_match, load_mode=load_mode, reset=False)

    def replace(
        self,
        entity_set: str,
        ref: str,
        values: dict[str, Any],
        *,
        if_match: str | None = None,
        load_mode: bool = False,
    ) -> dict[str, Any]:
        """PUT: properties missing from ``values`` are reset to their empty values (Code/Number kept)."""
        return self._rewrite(entity_set, ref, values, if_match=if_match, load_mode=load_mode, reset=True)

    def delete(self, entity_set: str, ref: str, *, if_match: str | None = None) -> None:
        """Physical deletion, without reference checks (1C's OData DELETE does not mark)."""
        meta = self._object_set(entity_set)
        with self.lock:
            record = self._existing(meta, ref)
            self._check_version(record, if_match)
            del self._data[entity_set][record["Ref_Key"]]

    def post(self, entity_set: str, ref: str, *, operational: bool = False) -> None:
        """Post a document: write in posting mode (write rules run), then the posting rules."""
        self._document(entity_set, ref, posted=True)

    def unpost(self, entity_set: str, ref: str) -> None:
        self._document(entity_set, ref, posted=False)

    # internals ---------------------------------------------------------------------------------

    def _table(self, entity_set: str) -> dict[str, dict[str, Any]]:
        if entity_set not in self._data:
            raise unknown_set(entity_set)
        return self._data[entity_set]

    def _object_set(self, entity_set: str) -> EntitySet:
        if entity_set in self.schema.tabular:
            raise ODataError(CODE_STATUS["13"], "13", "Создание строк табличных частей напрямую не поддерживается")
        if entity_set not in self.schema.sets:
            raise unknown_set(entity_set)
        return self.schema.sets[entity_set]

    def _existing(self, meta: EntitySet, ref: str) -> dict[str, Any]:
        record = self._data[meta.name].get(str(ref).lower())
        if record is None:
            raise not_found(meta.short_name)
        return record

    @staticmethod
    def _check_version(record: dict[str, Any], if_match: str | None) -> None:
        if if_match is not None and if_match.strip().strip('"') not in ("*", record["DataVersion"]):
            raise ODataError(412, "0", "Версия данных объекта не совпадает с переданной в заголовке If-Match")

    def _rewrite(self, entity_set: str, ref: str, values: dict[str, Any], *, if_match: str | None,
                 load_mode: bool, reset: bool) -> dict[str, Any]:
        meta = self._object_set(entity_set)
        with self.lock:
            current = self._existing(meta, ref)
            self._check_version(current, if_match)
            record = copy.deepcopy(current)
            if reset:
                keep = {"Ref_Key", "Code", "Number", *READ_ONLY_PROPS}
                for p in meta.props:
                    if p.name not in keep and p.name not in values:
                        record[p.name] = default_for(p)
                for table in meta.tables:
                    if table.name not in values:
                        record[table.name] = []
            dropped = self._apply(meta, record, values, skip={"Ref_Key"})
            if meta.kind == DOCUMENT and record["Date"] == EMPTY_DATE:
                record["Date"] = self.now()
            self._commit(meta, record, False, load_mode)
            self._note(entity_set, record["Ref_Key"], "replace" if reset else "update", dropped)
            return copy.deepcopy(record)

    def _document(self, entity_set: str, ref: str, *, posted: bool) -> None:
        meta = self._object_set(entity_set)
        if meta.kind != DOCUMENT:
            raise ODataError(CODE_STATUS["11"], "11", "Метод не найден")
        with self.lock:
            record = copy.deepcopy(self._existing(meta, ref))
            if posted:
                self.rules.before_write(entity_set, record, False, self)
                self.rules.before_post(entity_set, record, self)
            record["Posted"] = posted
            self._version += 1
            record["DataVersion"] = data_version(self._version)
            self._data[entity_set][record["Ref_Key"]] = record

    def _apply(self, meta: EntitySet, record: dict[str, Any], values: dict[str, Any], skip: set[str]) -> list[str]:
        """Copy known properties from ``values`` into ``record``; return the keys that were ignored."""
        dropped: list[str] = []
        if not isinstance(values, dict):
            raise ODataError(CODE_STATUS["2"], "2", "Неверный формат запроса")
        for key, value in values.items():
            if key in skip or "@" in key or key.startswith("odata."):
                continue
            table = meta.table(key)
            if table is not None:
                record[key] = self._rows(table.name, table.columns, value, dropped)
                continue
            prop = meta.prop(key)
            if prop is None or key in READ_ONLY_PROPS:
                dropped.append(key)
                continue
            record[key] = coerce(prop, value, self.schema)
        for prop in meta.props:  # an Undefined type empties the composite's value, as 1C shows it
            if prop.kind == CTYPE and record[prop.name] == "StandardODATA.Undefined":
                record[prop.name[:-5]] = ""
        return dropped

    def _rows(self, table: str, columns: tuple[Prop, ...], value: Any, dropped: list[str]) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise bad_value(table, value)
        rows = []
        for number, row in enumerate(value, start=1):
            if not isinstance(row, dict):
                raise bad_value(table, row)
            stored: dict[str, Any] = {"LineNumber": str(number)}
            for column in columns:
                stored[column.name] = coerce(column, row[column.name], self.schema) if column.name in row \
                    else default_for(column)
            for key in row:
                if key not in stored and key != "Ref_Key" and "@" not in key and not key.startswith("odata."):
                    dropped.append(f"{table}/{key}")
            rows.append(stored)
        return rows

    def _fill_new(self, meta: EntitySet, record: dict[str, Any]) -> None:
        if meta.kind == DOCUMENT:
            if record["Date"] == EMPTY_DATE:
                record["Date"] = self.now()
            if not record["Number"]:
                record["Number"] = self._next_number(meta, record)
        elif meta.code_length and not record.get("Code"):
            self._codes[meta.name] = self._codes.get(meta.name, 0) + 1
            digits = meta.code_length - len(meta.code_prefix)
            record["Code"] = f"{meta.code_prefix}{self._codes[meta.name]:0{digits}d}"

    def _next_number(self, meta: EntitySet, record: dict[str, Any]) -> str:
        """``<org prefix><IB prefix>-<counter>``, e.g. ``ТД00-000012``: unique per prefix, as UT numbers."""
        org_prefix = ""
        org = self._data.get("Catalog_Организации", {}).get(record.get("Организация_Key", ""))
        if org:
            org_prefix = org.get("Префикс", "")
        prefix = f"{org_prefix}{self.ib_prefix}-"
        key = (meta.name, prefix)
        self._numbers[key] = self._numbers.get(key, 0) + 1
        return f"{prefix}{self._numbers[key]:0{max(1, meta.number_length - len(prefix))}d}"

    def _commit(self, meta: EntitySet, record: dict[str, Any], is_new: bool, load_mode: bool) -> None:
        if not load_mode:
            self.rules.before_write(meta.name, record, is_new, self)
        self._version += 1
        record["DataVersion"] = data_version(self._version)
        self._data[meta.name][record["Ref_Key"]] = record

    def _note(self, entity_set: str, ref: str, op: str, dropped: list[str]) -> None:
        if dropped:
            self.diagnostics.append({"entity_set": entity_set, "ref": ref, "op": op, "ignored": dropped})

