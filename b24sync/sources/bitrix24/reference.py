"""Small reference sets and per-record details that are not plain list exports.

Pipelines, stages, requisite presets and user-field definitions are read once per run; product
rows belong to one deal or invoice each, so they are fetched 50 owners per ``batch`` request.
All values are converted at the edge like everything else the client returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from b24sync.sources.bitrix24.client import MAX_BATCH, Bitrix24Client
from b24sync.sources.bitrix24.entities import entity
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.bitrix24.types import record_converter

_ROW_INTS = ("ID", "OWNER_ID", "PRODUCT_ID", "DISCOUNT_TYPE_ID", "MEASURE_CODE", "SORT")
_ROW_MONEY = ("PRICE", "PRICE_EXCLUSIVE", "PRICE_NETTO", "PRICE_BRUTTO", "PRICE_ACCOUNT", "QUANTITY",
              "DISCOUNT_RATE", "DISCOUNT_SUM", "TAX_RATE")


def deal_categories(client: Bitrix24Client) -> list[dict[str, Any]]:
    """Deal pipelines: ``[{"id": 0, "name": "Общая", "isDefault": True, …}]``."""
    result = client.call("crm.category.list", {"entityTypeId": 2})
    categories = result.get("categories", []) if isinstance(result, dict) else result
    return [{**c, "id": int(c["id"]), "isDefault": c.get("isDefault") in ("Y", True)} for c in categories]


def stages(client: Bitrix24Client, entity_id: str) -> list[dict[str, Any]]:
    """Statuses of one dictionary, e.g. ``DEAL_STAGE``, ``DEAL_STAGE_1``, ``STATUS`` (lead)."""
    return export_all(client, "status", filters={"ENTITY_ID": entity_id})


def deal_stages(client: Bitrix24Client, category_id: int = 0) -> list[dict[str, Any]]:
    """The stages of one deal pipeline (category 0 is ``DEAL_STAGE``, N is ``DEAL_STAGE_N``)."""
    return stages(client, "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}")


def requisite_presets(client: Bitrix24Client) -> list[dict[str, Any]]:
    """Requisite templates (Организация, ИП, Физ. лицо…): ``[{"ID": 1, "NAME": …}]``."""
    rows = client.call("crm.requisite.preset.list", {"select": ["ID", "NAME", "COUNTRY_ID", "ACTIVE"]})
    return [{**row, "ID": int(row["ID"])} for row in rows]


def userfields(client: Bitrix24Client, entity_name: str) -> list[dict[str, Any]]:
    """User-field definitions of ``contact``, ``company``, ``deal``, ``lead`` or ``requisite``."""
    rows = client.call(f"crm.{entity(entity_name).name}.userfield.list", {"order": {"ID": "ASC"}})
    return [{**row, "ID": int(row["ID"]), "MULTIPLE": row.get("MULTIPLE") == "Y",
             "MANDATORY": row.get("MANDATORY") == "Y"} for row in rows]


def _convert_row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in _ROW_INTS:
        if out.get(key) not in (None, ""):
            out[key] = int(out[key])
    for key in _ROW_MONEY:
        if out.get(key) not in (None, ""):
            value = out[key]
            out[key] = Decimal(repr(value) if isinstance(value, float) else str(value))
    if "TAX_INCLUDED" in out:
        out["TAX_INCLUDED"] = out["TAX_INCLUDED"] in ("Y", True)
    return out


def deal_product_rows(client: Bitrix24Client, deal_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Product rows of many deals, 50 deals per request; money and quantities as ``Decimal``."""
    ids = list(dict.fromkeys(int(i) for i in deal_ids))
    rows: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), MAX_BATCH):
        chunk = ids[start:start + MAX_BATCH]
        batch = client.batch({f"d{deal_id}": ("crm.deal.productrows.get", {"id": deal_id}) for deal_id in chunk})
        for deal_id in chunk:
            key = f"d{deal_id}"
            if key in batch.errors:
                raise batch.errors[key]
            result = batch.result.get(key) or []
            rows[deal_id] = [_convert_row(row) for row in (result.values() if isinstance(result, dict) else result)]
    return rows


def invoice_product_rows(client: Bitrix24Client, invoice_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Product rows of smart invoices (``crm.item.productrow.list``, owner type ``SI``)."""
    ids = list(dict.fromkeys(int(i) for i in invoice_ids))
    rows: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    convert = record_converter(entity("smart_invoice"))
    for start in range(0, len(ids), MAX_BATCH):
        chunk = ids[start:start + MAX_BATCH]
        commands = {f"i{i}": ("crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": i}})
                    for i in chunk}
        batch = client.batch(commands)
        for invoice_id in chunk:
            key = f"i{invoice_id}"
            if key in batch.errors:
                raise batch.errors[key]
            result = batch.result.get(key) or {}
            for row in result.get("productRows", []) if isinstance(result, dict) else result:
                row = convert(dict(row))
                for money in ("price", "quantity", "discountSum", "discountRate", "taxRate"):
                    if row.get(money) is not None:
                        row[money] = Decimal(repr(row[money]) if isinstance(row[money], float) else str(row[money]))
                rows[invoice_id].append(row)
    return rows
