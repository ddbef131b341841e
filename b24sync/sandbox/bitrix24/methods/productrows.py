"""Product rows: ``crm.{deal,lead}.productrows.{get,set}`` and ``crm.item.productrow.{set,list}``.

``set`` replaces the whole set (omitted rows are deleted) and validates discounts the way the
documentation lists (``ERROR_CORE`` texts ending in ``<br>``). The owner's OPPORTUNITY is
recomputed unless ``IS_MANUAL_OPPORTUNITY=Y``, which is an update of the owner (DATE_MODIFY bump,
UPDATE event). ``get`` answers with the documented mix of string IDs and numeric amounts.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from .crm_entities import record_id
from .item_names import camel
from .oldstyle import emit_change
from .products import measure_name
from .records import ENTITIES, Entity
from .store import Record, Store
from .values import as_list, param, to_flag, to_float, to_int

OWNERS = {"D": "deal", "L": "lead", "SI": "invoice"}
_FIELDS = ("ID", "OWNER_ID", "OWNER_TYPE", "PRODUCT_ID", "PRODUCT_NAME", "ORIGINAL_PRODUCT_NAME",
           "PRODUCT_DESCRIPTION", "PRICE", "PRICE_EXCLUSIVE", "PRICE_NETTO", "PRICE_BRUTTO", "PRICE_ACCOUNT",
           "QUANTITY", "DISCOUNT_TYPE_ID", "DISCOUNT_RATE", "DISCOUNT_SUM", "TAX_RATE", "TAX_INCLUDED",
           "CUSTOMIZED", "MEASURE_CODE", "MEASURE_NAME", "SORT", "XML_ID", "TYPE", "STORE_ID")
_CAMEL_IN = {camel(k): k for k in _FIELDS}


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    value = round(value, 2)
    return int(value) if value == int(value) else value


def build_row(store: Store, owner_type: str, owner_id: int, raw: dict[str, Any]) -> Record:
    """Validate one incoming row and compute the derived prices."""
    given = {str(k).upper(): v for k, v in raw.items()}
    discount_type = to_int(given.get("DISCOUNT_TYPE_ID")) or 2
    if discount_type == 2 and "DISCOUNT_TYPE_ID" in given and "DISCOUNT_RATE" not in given:
        raise RestError("ERROR_CORE", "Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type "
                                      "(DISCOUNT_TYPE_ID) is defined<br>")
    rate = to_float(given.get("DISCOUNT_RATE")) or 0.0
    if discount_type == 2 and rate >= 100 and "DISCOUNT_SUM" not in given:
        raise RestError("ERROR_CORE", "Discount Sum (DISCOUNT_SUM) is required if Percentage Discount Type "
                                      "(DISCOUNT_TYPE_ID) is defined and Discount Rate (DISCOUNT_RATE) is 100%<br>")
    if discount_type == 1 and "DISCOUNT_SUM" not in given:
        raise RestError("ERROR_CORE", "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type "
                                      "(DISCOUNT_TYPE_ID) is defined<br>")
    price = to_float(given.get("PRICE")) or 0.0
    tax = to_float(given.get("TAX_RATE"))
    exclusive = price / (1 + tax / 100) if tax else price
    discount_sum = to_float(given.get("DISCOUNT_SUM")) or 0.0
    if discount_type == 1:
        netto = exclusive + discount_sum
        rate = discount_sum / netto * 100 if netto else 0.0
    else:
        netto = exclusive / (1 - rate / 100) if rate < 100 else discount_sum
        discount_sum = netto - exclusive
    product_id = to_int(given.get("PRODUCT_ID")) or 0
    product = store.table("product").get(product_id) if product_id else None
    measure = to_int(given.get("MEASURE_CODE"))
    if measure is None:
        measure = product.get("MEASURE") if product else 0
    store.row_last_id += 1
    row_id = store.row_last_id
    name = given.get("PRODUCT_NAME") or (product["NAME"] if product else f"[{row_id}]")
    return {
        "ID": row_id, "OWNER_ID": owner_id, "OWNER_TYPE": owner_type, "PRODUCT_ID": product_id,
        "PRODUCT_NAME": str(name), "ORIGINAL_PRODUCT_NAME": product["NAME"] if product else str(name),
        "PRODUCT_DESCRIPTION": given.get("PRODUCT_DESCRIPTION"), "PRICE": price, "PRICE_EXCLUSIVE": exclusive,
        "PRICE_NETTO": netto, "PRICE_BRUTTO": netto * (1 + tax / 100) if tax else netto,
        "QUANTITY": to_float(given.get("QUANTITY")) if given.get("QUANTITY") not in (None, "") else 1.0,
        "DISCOUNT_TYPE_ID": discount_type, "DISCOUNT_RATE": rate, "DISCOUNT_SUM": discount_sum, "TAX_RATE": tax,
        "TAX_INCLUDED": to_flag(given.get("TAX_INCLUDED")) or "N", "CUSTOMIZED": "Y",
        "MEASURE_CODE": measure or 0,
        "MEASURE_NAME": str(given.get("MEASURE_NAME") or (measure_name(measure) if measure else "")),
        "SORT": to_int(given.get("SORT")) or 0, "XML_ID": given.get("XML_ID"), "TYPE": 1, "STORE_ID": 0,
    }


def replace_rows(store: Store, entity: Entity, owner: Record, rows: list[Any], *, user_id: int, now: int) -> None:
    """Replace every row of ``owner``; validation happens before anything is replaced."""
    owner_type = next(k for k, v in OWNERS.items() if v == entity.key)
    built = [build_row(store, owner_type, owner["ID"], r) for r in rows if isinstance(r, dict)]
    store.product_rows[(owner_type, owner["ID"])] = built
    if owner.get("IS_MANUAL_OPPORTUNITY") != "Y":
        owner["OPPORTUNITY"] = round(sum(r["PRICE"] * r["QUANTITY"] for r in built), 2)
    owner["DATE_MODIFY"] = now
    owner["MODIFY_BY_ID"] = user_id


def render_old(row: Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _FIELDS:
        value = row.get(key)
        if key in ("ID", "OWNER_ID"):
            value = str(value)
        elif isinstance(value, float):
            value = _num(value)
        out[key] = value
    out["PRICE_ACCOUNT"] = f"{row['PRICE']:.2f}"
    return out


def render_item(row: Record) -> dict[str, Any]:
    out = {camel(k): v for k, v in render_old(row).items()}
    out["id"], out["ownerId"] = row["ID"], row["OWNER_ID"]
    out["priceAccount"] = _num(row["PRICE"])
    return out


def register(registry: MethodRegistry, store: Store) -> None:
    for key, code in (("deal", "D"), ("lead", "L")):
        _register_old(registry, store, ENTITIES[key], code)

    def owner_of(params: dict[str, Any]) -> tuple[Entity, Record]:
        owner_type = str(param(params, "ownerType", default="")).upper()
        entity = ENTITIES.get(OWNERS.get(owner_type, ""))
        if entity is None:
            raise RestError("NOT_FOUND", "Смарт-процесс не найден")
        owner = store.table(entity.key).get(to_int(param(params, "ownerId")))
        if owner is None:
            raise RestError("NOT_FOUND", "Элемент не найден")
        return entity, owner

    @registry.register("crm.item.productrow.set")
    def item_set(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity, owner = owner_of(params)
        rows = [{_CAMEL_IN.get(str(k), str(k).upper()): v for k, v in r.items()}
                for r in as_list(param(params, "productRows")) if isinstance(r, dict)]
        replace_rows(store, entity, owner, rows, user_id=ctx.user_id, now=int(ctx.now().timestamp()))
        emit_change(ctx, entity, "UPDATE", owner["ID"])
        code = next(k for k, v in OWNERS.items() if v == entity.key)
        return MethodResult({"productRows": [render_item(r) for r in store.product_rows[(code, owner["ID"])]]})

    @registry.register("crm.item.productrow.list")
    def item_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        raw = param(params, "filter", "FILTER") or {}
        wanted_type = wanted_id = None
        for key, value in (raw.items() if isinstance(raw, dict) else []):
            name = str(key).lstrip("=")
            if name == "ownerType":
                wanted_type = str(value).upper()
            elif name == "ownerId":
                wanted_id = to_int(value)
        rows = [r for (otype, oid), owned in store.product_rows.items()
                if (wanted_type is None or otype == wanted_type) and (wanted_id is None or oid == wanted_id)
                for r in owned]
        begin = max(0, to_int(param(params, "start")) or 0)
        page = rows[begin:begin + 50]
        more = begin + len(page) < len(rows)
        return MethodResult({"productRows": [render_item(r) for r in page]}, total=len(rows),
                            next=begin + len(page) if more else None)


def _register_old(registry: MethodRegistry, store: Store, entity: Entity, code: str) -> None:
    table = store.table(entity.key)

    def get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        if rid not in table.rows:
            raise RestError("", "Not found")
        return MethodResult([render_old(r) for r in store.product_rows.get((code, rid), [])])

    def set_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = to_int(param(params, "id", "ID"))
        if rid is None or rid <= 0:
            raise RestError("", "The parameter id is invalid or not defined.")
        owner = table.get(rid)
        if owner is None:
            raise RestError("", "Not found")
        rows = param(params, "rows", "ROWS")
        replace_rows(store, entity, owner, as_list(rows), user_id=ctx.user_id, now=int(ctx.now().timestamp()))
        emit_change(ctx, entity, "UPDATE", rid)
        return MethodResult(True)

    registry.register(f"crm.{entity.key}.productrows.get")(get)
    registry.register(f"crm.{entity.key}.productrows.set")(set_)
