"""Dictionaries and pipelines: ``crm.status.list``, ``crm.status.entity.types``, ``crm.category.list``.

Stage semantics drive derived fields elsewhere (deal ``STAGE_SEMANTIC_ID``/``CLOSED``, lead
``STATUS_SEMANTIC_ID``), so the stage rows live in the store's ``status`` table and the records
module reads them from there rather than from constants.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import lists
from .reference import DEAL_CATEGORY_NAMES, INVOICE_CATEGORY_ID, STATUS_ENTITY_NAMES, status_rows
from .store import Store
from .values import param, to_int

_INT = ("ID", "SORT", "CATEGORY_ID")
_COLUMNS = ("ID", "ENTITY_ID", "STATUS_ID", "NAME", "NAME_INIT", "SORT", "SYSTEM", "CATEGORY_ID", "COLOR",
            "SEMANTICS")


def install(store: Store) -> None:
    table = store.table("status")
    for row in status_rows():
        table.insert(row)
    store.reference["deal_categories"] = dict(DEAL_CATEGORY_NAMES)
    store.reference.pop("semantics", None)


def _render(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: (str(row[k]) if k in _INT and row.get(k) is not None else row.get(k)) for k in _COLUMNS}
    if row.get("EXTRA") is not None:
        out["EXTRA"] = row["EXTRA"]
    return out


def _entity_types(store: Store) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entity_id, name in STATUS_ENTITY_NAMES.items():
        item: dict[str, Any] = {"ID": entity_id, "NAME": name}
        stages = [r for r in store.table("status").rows.values()
                  if r["ENTITY_ID"] == entity_id and r.get("COLOR") is not None]
        if stages:
            stages.sort(key=lambda r: r["SORT"])
            success = next(r["STATUS_ID"] for r in stages if r.get("SEMANTICS") == "S")
            failure = next(r["STATUS_ID"] for r in stages if r.get("SEMANTICS") == "F")
            item["SEMANTIC_INFO"] = {"START_FIELD": stages[0]["STATUS_ID"], "FINAL_SUCCESS_FIELD": success,
                                     "FINAL_UNSUCCESS_FIELD": failure,
                                     "FINAL_SORT": next(r["SORT"] for r in stages if r["STATUS_ID"] == success)}
        if entity_id.startswith("DEAL_STAGE"):
            category = int(entity_id.rsplit("_", 1)[1]) if entity_id != "DEAL_STAGE" else 0
            item.update({"PREFIX": f"C{category}" if category else "", "ENTITY_TYPE_ID": 2,
                         "CATEGORY_ID": str(category)})
            if category:
                item["PARENT_ID"] = "DEAL_STAGE"
        elif entity_id.startswith("SMART_INVOICE_STAGE"):
            item.update({"PREFIX": f"DT31_{INVOICE_CATEGORY_ID}", "ENTITY_TYPE_ID": 31,
                         "CATEGORY_ID": str(INVOICE_CATEGORY_ID)})
        elif entity_id == "STATUS":
            item["ENTITY_TYPE_ID"] = 1
        out.append(item)
    return out


def register(registry: MethodRegistry, store: Store) -> None:
    table = store.table("status")
    columns = {k: lists.Column(k, "int" if k in _INT else "str", lambda r, k=k: r.get(k)) for k in _COLUMNS}

    @registry.register("crm.status.list")
    def status_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        raw_order = lists.require_array(param(params, "order", "ORDER"), "order")
        raw_filter = lists.require_array(param(params, "filter", "FILTER"), "filter")
        tree = lists.parse_filter(raw_filter, columns.get, store.tz)
        order = lists.parse_order(raw_order, columns.get) or [(columns["SORT"], False), (columns["ID"], False)]
        ids = lists.select_all(table, tree, order)
        return MethodResult([_render(table.rows[i]) for i in ids])

    @registry.register("crm.status.entity.types")
    def entity_types(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(_entity_types(store))

    @registry.register("crm.category.list")
    def category_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        type_id = to_int(param(params, "entityTypeId", "ENTITY_TYPE_ID"))
        if type_id == 2:
            names = store.reference["deal_categories"]
            items = [{"id": cid, "name": name, "sort": 300 + 100 * cid, "entityTypeId": 2,
                      "isDefault": "Y" if cid == 0 else "N"} for cid, name in names.items()]
        elif type_id == 31:
            items = [{"id": INVOICE_CATEGORY_ID, "name": "Счета", "sort": 500, "entityTypeId": 31,
                      "isDefault": "Y"}]
        elif type_id in (1, 3, 4):
            raise RestError("ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {type_id} is not supported")
        else:
            raise RestError("NOT_FOUND", "Смарт-процесс не найден")
        return MethodResult({"categories": items}, total=len(items))
