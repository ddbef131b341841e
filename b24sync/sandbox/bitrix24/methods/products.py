"""``crm.product.{fields,list,get}`` over the fresh portal's twelve-item catalog (old-style shapes)."""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import oldstyle
from .crm_entities import describe_fields, record_id
from .records import ENTITIES
from .reference import MEASURES, PRODUCTS
from .store import Store

CATALOG_ID = 23


def install(store: Store, now: int) -> None:
    table = store.table("product")
    for position, (name, price, measure) in enumerate(PRODUCTS, start=1):
        table.insert({"NAME": name, "PRICE": price, "CURRENCY_ID": "RUB", "ACTIVE": "Y", "CATALOG_ID": CATALOG_ID,
                      "SORT": 100 * position, "VAT_INCLUDED": "Y", "MEASURE": MEASURES[measure],
                      "DESCRIPTION_TYPE": "text", "XML_ID": f"product-{position}", "DATE_CREATE": now,
                      "TIMESTAMP_X": now, "CREATED_BY": 1, "MODIFIED_BY": 1}, position)


def measure_name(code: int | None) -> str:
    return next((name for name, value in MEASURES.items() if value == code), "шт")


def register(registry: MethodRegistry, store: Store) -> None:
    entity = ENTITIES["product"]
    table = store.table("product")

    @registry.register("crm.product.fields")
    def fields(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(describe_fields(store, entity))

    @registry.register("crm.product.get")
    def get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        record = table.get(record_id(params))
        if record is None:
            raise RestError("", "Not found")
        return MethodResult(oldstyle.render(store, entity, record, oldstyle.full_names(store, entity)))

    @registry.register("crm.product.list")
    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return oldstyle.list_records(store, entity, params, ctx)
