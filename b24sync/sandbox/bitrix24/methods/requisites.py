"""``crm.requisite.*`` and ``crm.requisite.preset.list``: legal details hanging off companies/contacts.

A requisite belongs to a contact (3) or a company (4) and carries INN/KPP/OGRN; the three owner
keys are required on add and immutable afterwards. Error texts are the documented ones
(``ENTITY_TYPE_ID is not defined or invalid.``, ``The Requisite with ID '57' is not found``…).
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import lists, oldstyle
from .crm_entities import array_param, describe_fields, is_import, now_ts, record_id
from .records import ENTITIES, delete_cascade, write
from .reference import PRESETS
from .store import Store, Table
from .values import param, to_int

_OWNERS = {3: "contact", 4: "company"}


def check_owner(store: Store, data: dict[str, Any]) -> None:
    """The documented add-time checks, in the documented order."""
    type_id = to_int(data.get("ENTITY_TYPE_ID"))
    if type_id not in _OWNERS:
        raise RestError("", "ENTITY_TYPE_ID is not defined or invalid.")
    entity_id = to_int(data.get("ENTITY_ID"))
    if entity_id is None or entity_id <= 0:
        raise RestError("", "ENTITY_ID is not defined or invalid.")
    if to_int(data.get("PRESET_ID")) not in {p[0] for p in PRESETS}:
        raise RestError("", "PRESET_ID is not defined or invalid.")
    if entity_id not in store.table(_OWNERS[type_id]).rows:
        raise RestError("", "Entity not found.")
    if not str(data.get("NAME") or "").strip():
        raise RestError("ERROR_CORE", 'Поле "Название" обязательно для заполнения.')


def register(registry: MethodRegistry, store: Store) -> None:
    entity = ENTITIES["requisite"]
    table = store.table("requisite")

    def missing(rid: int) -> RestError:
        return RestError("", f"The Requisite with ID '{rid}' is not found")

    @registry.register("crm.requisite.fields")
    def fields(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(describe_fields(store, entity))

    @registry.register("crm.requisite.add")
    def add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = array_param(params, "fields")
        check_owner(store, data)
        record = write(store, entity, None, data, user_id=ctx.user_id, now=now_ts(ctx),
                       import_mode=is_import(params))
        ctx.emit("ONCRMREQUISITEADD", {"ID": str(record["ID"])})
        return MethodResult(record["ID"])

    @registry.register("crm.requisite.get")
    def get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        record = table.get(rid)
        if record is None:
            raise missing(rid)
        return MethodResult(oldstyle.render(store, entity, record, oldstyle.full_names(store, entity)))

    @registry.register("crm.requisite.update")
    def update(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        record = table.get(rid)
        if record is None:
            raise missing(rid)
        data = array_param(params, "fields")
        write(store, entity, record, data, user_id=ctx.user_id, now=now_ts(ctx), import_mode=is_import(params))
        ctx.emit("ONCRMREQUISITEUPDATE", {"ID": str(rid)})
        return MethodResult(True)

    @registry.register("crm.requisite.delete")
    def delete(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        if table.delete(rid) is None:
            raise missing(rid)
        delete_cascade(store, entity, rid)
        ctx.emit("ONCRMREQUISITEDELETE", {"ID": str(rid)})
        return MethodResult(True)

    @registry.register("crm.requisite.list")
    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return oldstyle.list_records(store, entity, params, ctx)

    @registry.register("crm.requisite.preset.list")
    def preset_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        presets = Table("preset")
        for preset_id, name, _kind in PRESETS:
            presets.insert({"NAME": name, "ENTITY_TYPE_ID": 8, "COUNTRY_ID": 1, "ACTIVE": "Y", "SORT": 500,
                            "XML_ID": f"#CRM_REQUISITE_PRESET_DEF_RU_{preset_id}#"}, preset_id)
        columns = {k: lists.Column(k, "int" if k in ("ID", "ENTITY_TYPE_ID", "COUNTRY_ID", "SORT") else "str",
                                   lambda r, k=k: r.get(k))
                   for k in ("ID", "NAME", "ENTITY_TYPE_ID", "COUNTRY_ID", "ACTIVE", "SORT", "XML_ID")}
        raw_filter = lists.require_array(param(params, "filter", "FILTER"), "filter")
        raw_order = lists.require_array(param(params, "order", "ORDER"), "order")
        tree = lists.parse_filter(raw_filter, columns.get, store.tz)
        order = lists.parse_order(raw_order, columns.get) or [(columns["ID"], False)]
        page = lists.select_page(presets, tree, order, param(params, "start", "START"), store.rng)
        select = [str(s) for s in (param(params, "select", "SELECT") or [])] or ["ID", "NAME"]
        rows = []
        for i in page.ids:
            row = presets.rows[i]
            rows.append({k: (str(row[k]) if isinstance(row.get(k), int) else row.get(k))
                         for k in columns if k in select})
        return MethodResult(rows, total=page.total, next=page.next)
