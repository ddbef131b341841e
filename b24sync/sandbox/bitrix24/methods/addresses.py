"""``crm.address.*`` and ``crm.enum.addresstype``: addresses keyed by (TYPE_ID, ENTITY_TYPE_ID, ENTITY_ID).

Addresses have no ID of their own; on current portals they hang off requisites (ENTITY_TYPE_ID 8)
or leads (1), and ``ANCHOR_TYPE_ID``/``ANCHOR_ID`` name the company or contact behind the
requisite. Rows sit in an internal table with a hidden row number so the shared list engine can
page them; ``order`` by a field addresses do not have (``ID``) is ignored.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import oldstyle
from .crm_entities import array_param
from .records import ENTITIES
from .reference import ADDRESS_TYPES
from .store import Record, Store
from .values import internal, to_int

_TEXT = ("ADDRESS_1", "ADDRESS_2", "CITY", "POSTAL_CODE", "REGION", "PROVINCE", "COUNTRY", "COUNTRY_CODE")


def address_key(store: Store, data: dict[str, Any]) -> tuple[int, int, int]:
    type_id = to_int(data.get("TYPE_ID"))
    if type_id not in {t for t, _ in ADDRESS_TYPES}:
        raise RestError("", "TYPE_ID is not defined or invalid.")
    entity_type_id = to_int(data.get("ENTITY_TYPE_ID"))
    if entity_type_id not in (1, 8):
        raise RestError("", "ENTITY_TYPE_ID is not defined or invalid.")
    entity_id = to_int(data.get("ENTITY_ID"))
    owner = store.table("requisite" if entity_type_id == 8 else "lead")
    if entity_id is None or entity_id <= 0 or entity_id not in owner.rows:
        raise RestError("", "ENTITY_ID is not defined or invalid.")
    return type_id, entity_type_id, entity_id


def _anchor(store: Store, entity_type_id: int, entity_id: int) -> tuple[int, int]:
    if entity_type_id == 8:
        requisite = store.table("requisite").rows[entity_id]
        return requisite["ENTITY_TYPE_ID"], requisite["ENTITY_ID"]
    return entity_type_id, entity_id


def put(store: Store, key: tuple[int, int, int], data: dict[str, Any], record: Record | None = None) -> Record:
    """Insert or patch the address at ``key`` (no checks, no events: the loader uses it too)."""
    table = store.table("address")
    if record is None:
        record = {"TYPE_ID": key[0], "ENTITY_TYPE_ID": key[1], "ENTITY_ID": key[2]}
        store.addresses[key] = table.insert(record)
    for name in _TEXT:
        if name in data:
            value = internal("str", data[name], store.tz)
            if value in (None, ""):
                record.pop(name, None)
            else:
                record[name] = value
    if "LOC_ADDR_ID" in data:
        record["LOC_ADDR_ID"] = to_int(data["LOC_ADDR_ID"])
    record["ANCHOR_TYPE_ID"], record["ANCHOR_ID"] = _anchor(store, key[1], key[2])
    return record


def _event(key: tuple[int, int, int], record: Record) -> dict[str, str]:
    return {"TYPE_ID": str(key[0]), "ENTITY_TYPE_ID": str(key[1]), "ENTITY_ID": str(key[2]),
            "ANCHOR_TYPE_ID": str(record["ANCHOR_TYPE_ID"]), "ANCHOR_ID": str(record["ANCHOR_ID"])}


def register(registry: MethodRegistry, store: Store) -> None:
    entity = ENTITIES["address"]
    table = store.table("address")

    @registry.register("crm.address.fields")
    def fields(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult({name: spec.describe() for name, spec in entity.fields.items()})

    @registry.register("crm.address.add")
    def add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = array_param(params, "fields")
        key = address_key(store, data)
        if key in store.addresses:
            raise RestError("", "TypeAddress exists")
        record = put(store, key, data)
        ctx.emit("ONCRMADDRESSREGISTER", _event(key, record))
        return MethodResult(True)

    @registry.register("crm.address.update")
    def update(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = array_param(params, "fields")
        key = address_key(store, data)
        if key not in store.addresses:
            raise RestError("", "TypeAddress not found")
        record = put(store, key, data, table.rows[store.addresses[key]])
        ctx.emit("ONCRMADDRESSREGISTER", _event(key, record))
        return MethodResult(True)

    @registry.register("crm.address.delete")
    def delete(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = array_param(params, "fields")
        key = address_key(store, data)
        if key not in store.addresses:
            raise RestError("", "TypeAddress not found.")
        record = table.delete(store.addresses.pop(key))
        assert record is not None
        ctx.emit("ONCRMADDRESSUNREGISTER", _event(key, record))
        return MethodResult(True)

    @registry.register("crm.address.list")
    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return oldstyle.list_records(store, entity, params, ctx)

    @registry.register("crm.enum.addresstype")
    def address_types(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult([{"ID": type_id, "NAME": name} for type_id, name in ADDRESS_TYPES])
