"""Deals → 1C customer orders: which deals need an order, what it holds, and what blocks it.

A deal gets an order when its stage is one of ``deals.trigger_stages`` and no order is linked
to it yet (in the state, or by ``UF_CRM_1C_ORDER_ID`` on the deal after a lost state). Once
linked, a deal never gets a second order, whatever stages it goes through later. While the order
is still «НеСогласован» in 1C, a change of the deal's products or amount updates it; once 1C has
approved, posted or discarded it, the change is reported instead.

Nothing half-made is ever planned: a product with no 1C item, a counterparty that is not in 1C
(or cannot be, having no valid INN), a manager with no 1C user, a VAT rate 1C lacks, or totals
that 1C would compute differently from Bitrix24's by more than a kopeck — each lists the deal with
the reason, and the deal gets no operation at all.

Money: Bitrix24 row ``PRICE`` is the final unit price (after discount, with tax); 1C keeps the
price before the discount and the discount apart, and recomputes sums itself. The order gets the
price before discount (``PRICE_BRUTTO`` when prices include VAT, else ``PRICE_NETTO``), the
manual discount percentage, and the VAT rate (the item's own when the row names none), and the
totals 1C will compute are predicted here with UT's formulas and compared with ``OPPORTUNITY``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from b24sync.config import DealsConfig
from b24sync.documents.model import (
    EDITABLE_STATUS,
    ORDER_FIELD,
    ORDERS,
    SEEN,
    DocContext,
    DocPlan,
    document_ref,
)
from b24sync.documents.products import ProductMatcher
from b24sync.documents.stages import Statuses
from b24sync.extract import CHUNK
from b24sync.recon.model import Issue, record_id
from b24sync.recon.plan import make_operation
from b24sync.sources.bitrix24.read import export_all, modified_since, portal_now
from b24sync.sources.bitrix24.reference import deal_product_rows

DEAL_FIELDS = ["ID", "TITLE", "STAGE_ID", "CATEGORY_ID", "COMPANY_ID", "CONTACT_ID", "ASSIGNED_BY_ID", "OPPORTUNITY",
               "CURRENCY_ID", "IS_MANUAL_OPPORTUNITY", "DATE_MODIFY", ORDER_FIELD]
ORDER_SELECT = ["Ref_Key", "DataVersion", "Number", "Date", "Статус", "Согласован", "Posted", "DeletionMark",
                "СуммаДокумента", "Товары"]
WATERMARK = "bitrix24.deals"
KOPECK = Decimal("0.01")
TOLERANCE = Decimal("0.01")


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0)).quantize(KOPECK, ROUND_HALF_UP)


def _num(value: Decimal) -> float | int:
    """A JSON number: whole values as integers (quantities), others as floats with two decimals."""
    return int(value) if value == value.to_integral_value() else float(value)


def _is_guid(text: Any) -> bool:
    parts = str(text or "").split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12]


# --- reading ----------------------------------------------------------------------------------------


def _by_ids(ctx: DocContext, ids: Iterable[int]) -> list[dict[str, Any]]:
    wanted = sorted({int(i) for i in ids})
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), CHUNK):
        rows += export_all(ctx.b24, "deal", select=DEAL_FIELDS, filters={"@ID": wanted[start:start + CHUNK]})
    return rows


def read_deals(ctx: DocContext, stage_ids: Iterable[str], linked: Mapping[str, str], overlap: timedelta,
               ) -> tuple[list[dict[str, Any]], datetime | None]:
    """Deals at a trigger stage, plus linked deals changed since the last run (all of them the first time),
    and the next watermark: the portal's clock before the reads (see :func:`portal_now`)."""
    started = portal_now(ctx.b24)
    at_stage = export_all(ctx.b24, "deal", select=DEAL_FIELDS, filters={"@STAGE_ID": sorted(stage_ids)})
    linked_ids = {int(record_id(k)) for k in linked}
    watermark = ctx.state.watermark(WATERMARK)
    if watermark:
        changed = modified_since(ctx.b24, "deal", datetime.fromisoformat(watermark), overlap=overlap,
                                 select=DEAL_FIELDS)
        changed = [d for d in changed if int(d["ID"]) in linked_ids]
    else:
        changed = _by_ids(ctx, linked_ids)
    deals = {int(d["ID"]): d for d in (*at_stage, *changed)}
    return [deals[i] for i in sorted(deals)], started


# --- the order a deal should have ----------------------------------------------------------------------


class OrderBuilder:
    """Turns one deal and its rows into the order payload, or into the issues that block it."""

    def __init__(self, ctx: DocContext, settings: DealsConfig, matcher: ProductMatcher) -> None:
        self.ctx, self.settings, self.matcher = ctx, settings, matcher
        self.organization = ctx.catalog.organization_ref(settings.organization)

    def manager(self, deal: Mapping[str, Any]) -> str | None:
        user = str(deal.get("ASSIGNED_BY_ID") or "")
        if user in self.settings.manager_map:
            return self.settings.manager_map[user]
        email = self.ctx.b24_user_email.get(int(user)) if user.isdigit() else None
        return self.ctx.onec_user_by_email.get(email or "")

    def build(self, deal: Mapping[str, Any], rows: list[Mapping[str, Any]], pairs: dict[str, tuple[str, str]],
              ) -> tuple[dict[str, Any] | None, list[Issue]]:
        key = f"deal:{deal['ID']}"
        issues: list[Issue] = []

        def block(field: str, value: Any, reason: str) -> None:
            issues.append(Issue(key, field, str(value), reason))

        party = (f"company:{deal['COMPANY_ID']}" if deal.get("COMPANY_ID")
                 else f"contact:{deal['CONTACT_ID']}" if deal.get("CONTACT_ID") else "")
        counterparty = None
        if not party:
            block("COMPANY_ID", "", "deal_no_customer")
        else:
            counterparty, why = self.ctx.counterparty(party)
            if counterparty is None:
                block("COMPANY_ID" if party.startswith("company") else "CONTACT_ID", party, why)
        manager = self.manager(deal)
        if manager is None:
            block("ASSIGNED_BY_ID", deal.get("ASSIGNED_BY_ID") or "", "manager_not_in_onec")
        code = self.settings.currency or str(deal.get("CURRENCY_ID") or "RUB")
        currency = self.ctx.catalog.currency_ref(code)
        if currency is None:
            block("CURRENCY_ID", code, "currency_not_in_onec")
        if not rows:
            block("PRODUCT_ROWS", "", "deal_no_products")
        rates = [r.get("TAX_RATE") for r in rows]
        included = {bool(r.get("TAX_INCLUDED")) for r, rate in zip(rows, rates, strict=True) if rate is not None}
        if len(included) > 1:
            block("PRODUCT_ROWS", "TAX_INCLUDED", "mixed_tax_included")
        prices_include_vat = included != {False}
        items, total = [], Decimal(0)
        for n, (row, rate) in enumerate(zip(rows, rates, strict=True), start=1):
            where = f"PRODUCT_ROWS[{n}]"
            found = self.matcher.match(row)
            if found.ref is None:
                block(where, row.get("PRODUCT_NAME") or row.get("PRODUCT_ID"),
                      "product_ambiguous" if found.how == "ambiguous" else "product_not_in_onec")
                continue
            pairs[found.key] = (found.ref, found.how)
            nomenclature = self.ctx.catalog.nomenclature[found.ref]
            if rate is None:
                vat_ref = nomenclature.get("СтавкаНДС_Key") or ""
                percent = self.ctx.catalog.vat_percent.get(vat_ref)
            else:
                vat_ref = self.ctx.catalog.vat_ref(float(rate)) or ""
                percent = float(rate)
                if not vat_ref:
                    block(f"{where}.TAX_RATE", rate, "vat_rate_not_in_onec")
            quantity = Decimal(str(row.get("QUANTITY") or 0))
            gross_price = row.get("PRICE_BRUTTO") if prices_include_vat else row.get("PRICE_NETTO")
            price = _money(gross_price if gross_price is not None else row.get("PRICE"))
            discount_percent = _money(row.get("DISCOUNT_RATE") or 0)
            gross = (quantity * price).quantize(KOPECK, ROUND_HALF_UP)
            discount = (gross * discount_percent / 100).quantize(KOPECK, ROUND_HALF_UP)
            amount = gross - discount
            vat = Decimal(str(percent or 0))
            total += amount if prices_include_vat else amount + (amount * vat / 100).quantize(KOPECK, ROUND_HALF_UP)
            items.append({"line": n, "nomenclature": found.ref, "name": nomenclature.get("Description") or "",
                          "b24_product": found.key, "quantity": _num(quantity), "price": _num(price),
                          "discount_percent": _num(discount_percent), "discount": _num(discount),
                          "amount": _num(amount), "vat_rate": vat_ref,
                          "vat_percent": None if percent is None else _num(vat), "vat_from_row": rate is not None})
        opportunity = _money(deal.get("OPPORTUNITY"))
        if items and len(items) == len(rows) and abs(total - opportunity) > TOLERANCE:
            block("OPPORTUNITY", f"{opportunity} ≠ {total}", "amount_mismatch")
        if issues:
            return None, issues
        payload = {
            "deal_id": int(deal["ID"]), "title": str(deal.get("TITLE") or ""), "counterparty": counterparty,
            "counterparty_b24_key": party, "organization": self.organization, "currency": currency,
            "currency_code": code, "manager": manager, "agreement": self.settings.agreement or None,
            "prices_include_vat": prices_include_vat, "items": items, "amount": _num(total),
            "post": self.settings.post,
        }
        return payload, []


def signature(items: Iterable[Mapping[str, Any]], amount: Any) -> tuple:
    """What decides whether an order still says what the deal says: rows and the total."""
    rows = sorted((str(i["nomenclature"]), _money(i["quantity"]), _money(i["price"]), _money(i["discount"]))
                  for i in items)
    return tuple(rows), _money(amount)


def order_signature(order: Mapping[str, Any]) -> tuple:
    items = [{"nomenclature": r.get("Номенклатура_Key"), "quantity": r.get("Количество"), "price": r.get("Цена"),
              "discount": r.get("СуммаРучнойСкидки") or 0} for r in order.get("Товары") or [] if not r.get("Отменено")]
    return signature(items, order.get("СуммаДокумента"))


def order_summary(order: Mapping[str, Any]) -> dict[str, Any]:
    """The 1C side of an update, as the plan shows it (``before``)."""
    return {"number": order.get("Number"), "status": order.get("Статус"), "amount": _num(_money(
        order.get("СуммаДокумента"))), "rows": len(order.get("Товары") or [])}


# --- the plan -------------------------------------------------------------------------------------------


def plan_orders(ctx: DocContext, settings: DealsConfig, matcher: ProductMatcher, overlap: timedelta) -> DocPlan:
    out = DocPlan()
    stage_ids = (ctx.statuses or Statuses(ctx.b24)).deal_stages(settings.trigger_stages)
    links = {row["b24_key"]: row["onec_key"] for row in ctx.state.links() if row["entity"] == "deal"}
    seen = {row["b24_key"]: row["value"] for row in ctx.state.baselines() if row["field"] == SEEN
            and row["b24_key"].startswith("deal:")}
    deals, newest = read_deals(ctx, stage_ids, links, overlap)
    if newest is not None:
        out.watermarks[WATERMARK] = newest.isoformat()
    builder = OrderBuilder(ctx, settings, matcher)

    # a deal linked only on the portal (the state was lost) is adopted once its order is found in 1C
    adopt = {f"deal:{d['ID']}": str(d[ORDER_FIELD]).lower() for d in deals
             if f"deal:{d['ID']}" not in links and _is_guid(d.get(ORDER_FIELD))}
    todo: list[dict[str, Any]] = []
    for deal in deals:
        key = f"deal:{deal['ID']}"
        stamp = deal["DATE_MODIFY"].isoformat() if deal.get("DATE_MODIFY") else ""
        if key in links and seen.get(key) == stamp:
            continue  # unchanged since it last agreed with its order
        if key not in links and key not in adopt and deal.get("STAGE_ID") not in stage_ids:
            continue
        todo.append(deal)
    out.checked = len(todo)
    refs = {record_id(links[k]) for k in links} | set(adopt.values())
    wanted = [record_id(links[f"deal:{d['ID']}"]) if f"deal:{d['ID']}" in links else adopt.get(f"deal:{d['ID']}")
              for d in todo]
    orders = {o["Ref_Key"]: o for o in ctx.onec.fetch_many(ORDERS, [r for r in wanted if r and r in refs],
                                                          select=ORDER_SELECT)} if any(wanted) else {}
    rows = deal_product_rows(ctx.b24, [int(d["ID"]) for d in todo]) if todo else {}
    for deal in todo:
        key = f"deal:{deal['ID']}"
        stamp = deal["DATE_MODIFY"].isoformat() if deal.get("DATE_MODIFY") else ""
        ref = record_id(links[key]) if key in links else adopt.get(key)
        order = orders.get(ref) if ref else None
        if ref and key not in links:
            if order is None:  # the field names an order 1C does not have: create by the deal again
                ref = None
            else:
                out.links.append((key, f"order:{ref}", "deal"))
        payload, issues = builder.build(deal, rows.get(int(deal["ID"]), []), out.product_pairs)
        if ref is None:
            if issues:
                out.issues += issues
                continue
            planned = document_ref(key)
            fields = {"order": {"before": None, "after": payload, "reason": "deal_at_stage"},
                      ORDER_FIELD: {"before": deal.get(ORDER_FIELD) or None, "after": planned, "reason": "link"}}
            out.operations.append(make_operation("create", "onec", "order", planned,
                                             {"b24_key": key, "onec_key": f"order:{planned}"}, fields,
                                             "deal_at_stage", {"DATE_MODIFY": stamp}))
            continue
        if order is None:
            out.issues.append(Issue(key, ORDER_FIELD, ref, "order_missing"))
            continue
        if issues:
            out.issues += issues
            continue
        if signature(payload["items"], payload["amount"]) == order_signature(order):
            out.baselines.append({"b24_key": key, "onec_key": f"order:{ref}", "field": SEEN, "value": stamp})
            continue
        locked = _locked(order)
        if locked:
            out.issues.append(Issue(key, "PRODUCT_ROWS", f"{order.get('Number')} ({locked})", "order_locked"))
            continue
        fields = {"order": {"before": order_summary(order), "after": payload, "reason": "deal_changed"}}
        out.operations.append(make_operation("update", "onec", "order", ref,
                                             {"b24_key": key, "onec_key": f"order:{ref}"}, fields, "deal_changed",
                                             {"DATE_MODIFY": stamp, "DataVersion": order.get("DataVersion")}))
    return out


def _locked(order: Mapping[str, Any]) -> str:
    """Why 1C's order may no longer be rewritten from the CRM ('' when it may)."""
    if order.get("DeletionMark"):
        return "deletion mark"
    if order.get("Posted"):
        return "posted"
    if (order.get("Статус") or EDITABLE_STATUS) != EDITABLE_STATUS or order.get("Согласован"):
        return str(order.get("Статус") or "approved")
    return ""
