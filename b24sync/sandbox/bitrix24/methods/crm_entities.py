"""``crm.{contact,company,deal,lead}.{fields,add,get,update,delete,list}`` — the old-style CRUD.

Error texts differ per entity on the real portal (``Contact is not found`` vs ``Not found``,
``ERROR_CORE`` on a missing contact's delete); the tables below keep those differences as the
per-method documentation pages list them.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import oldstyle
from .records import ENTITIES, Entity, delete_cascade, write
from .store import Store
from .userfields import describe_ufs
from .values import param, to_int

_UPDATE_MISSING = {"contact": "Contact is not found", "company": "Company is not found",
                   "deal": "Not found", "lead": "Not found"}
_DELETE_MISSING = {"contact": ("ERROR_CORE", "Элемент не найден"), "company": ("", "Company is not found"),
                   "deal": ("", "Not found"), "lead": ("", "Not found")}


def record_id(params: dict[str, Any]) -> int:
    """``id``/``ID``, a positive integer, or the documented ``ID is not defined or invalid.``"""
    value = to_int(param(params, "id", "ID", "Id"))
    if value is None or value <= 0:
        raise RestError("", "ID is not defined or invalid.")
    return value


def array_param(params: dict[str, Any], name: str, required: bool = True) -> dict[str, Any]:
    value = param(params, name, name.upper())
    if value is None and not required:
        return {}
    if isinstance(value, list) and not value:
        return {}
    if not isinstance(value, dict):
        raise RestError("", f"Parameter '{name}' must be array.")
    return value


def is_import(params: dict[str, Any]) -> bool:
    options = array_param(params, "params", required=False)
    return str(param(options, "IMPORT", default="N")).upper() == "Y"


def now_ts(ctx: CallContext) -> int:
    return int(ctx.now().timestamp())


def describe_fields(store: Store, entity: Entity) -> dict[str, Any]:
    out = {name: spec.describe() for name, spec in entity.fields.items()}
    out.update(describe_ufs(store, entity.uf_entity))
    return out


def register(registry: MethodRegistry, store: Store) -> None:
    for key in ("contact", "company", "deal", "lead"):
        _register_entity(registry, store, ENTITIES[key])


def _register_entity(registry: MethodRegistry, store: Store, entity: Entity) -> None:
    prefix = f"crm.{entity.key}"
    table = store.table(entity.key)

    def fields(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(describe_fields(store, entity))

    def add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = array_param(params, "fields")
        record = write(store, entity, None, data, user_id=ctx.user_id, now=now_ts(ctx),
                       import_mode=is_import(params))
        oldstyle.emit_change(ctx, entity, "ADD", record["ID"])
        return MethodResult(record["ID"])

    def get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        record = table.get(record_id(params))
        if record is None:
            raise RestError("", "Not found")
        return MethodResult(oldstyle.render(store, entity, record, oldstyle.full_names(store, entity)))

    def update(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        record = table.get(rid)
        if record is None:
            raise RestError("", _UPDATE_MISSING[entity.key])
        data = array_param(params, "fields")
        write(store, entity, record, data, user_id=ctx.user_id, now=now_ts(ctx), import_mode=is_import(params))
        oldstyle.emit_change(ctx, entity, "UPDATE", rid)
        return MethodResult(True)

    def delete(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        if table.delete(rid) is None:
            code, text = _DELETE_MISSING[entity.key]
            raise RestError(code, text)
        delete_cascade(store, entity, rid)
        oldstyle.emit_change(ctx, entity, "DELETE", rid)
        return MethodResult(True)

    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return oldstyle.list_records(store, entity, params, ctx)

    for name, fn in (("fields", fields), ("add", add), ("get", get), ("update", update), ("delete", delete),
                     ("list", list_)):
        registry.register(f"{prefix}.{name}")(fn)
