"""1C invoices (``Document_СчетНаОплатуКлиенту``) → Bitrix24 smart invoices on the deal.

An invoice is sent when it is posted, neither annulled nor marked for deletion, and its
``ДокументОснование`` is a customer order linked to a deal (or, with ``require_order = false``,
when its counterparty is linked to a company or contact). The smart invoice (entity type 31)
gets «Счёт <number> от <date>», the amount and currency 1C has, the deal's company and contact,
``parentId2`` = the deal, ``xmlId`` = the invoice's ``Ref_Key`` (how it is found again after a
crash, so it is never made twice) and product rows: the order's rows when the invoice is for the
whole order, else one row for the share it bills (a prepayment stage).

1C owns invoices: later changes of number, date, amount or currency are written over the smart
invoice, and an annulled or deletion-marked invoice moves it to the ``annulled`` / ``deleted``
stage of ``[invoices] stage_map`` (by default the failure stage of the invoice pipeline). The
stage is otherwise left to the managers (sent, paid…).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from b24sync import messages as m
from b24sync.config import InvoicesConfig
from b24sync.documents.catalog import ISO_NUMERIC
from b24sync.documents.model import ORDERS, DocContext, DocPlan
from b24sync.documents.stages import Statuses, resolve
from b24sync.errors import ConfigError
from b24sync.extract import CHUNK
from b24sync.i18n import t
from b24sync.recon.model import record_id
from b24sync.recon.plan import make_operation
from b24sync.sources.bitrix24.read import export_all

INVOICES = "Document_СчетНаОплатуКлиенту"
ORDER_TYPE = "StandardODATA.Document_ЗаказКлиента"
INVOICE_SELECT = ["Ref_Key", "DataVersion", "Number", "Date", "Posted", "DeletionMark", "Аннулирован",
                  "СуммаДокумента", "Валюта_Key", "Контрагент_Key", "ДокументОснование", "ДокументОснование_Type"]
B24_SELECT = ["id", "xmlId", "title", "accountNumber", "opportunity", "currencyId", "stageId", "parentId2",
              "categoryId"]
KOPECK = Decimal("0.01")
ALPHA = {numeric: alpha for alpha, numeric in ISO_NUMERIC.items() if alpha != "RUR"}


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(KOPECK, ROUND_HALF_UP)


def invoice_state(invoice: Mapping[str, Any]) -> str:
    """``deleted``, ``annulled``, ``issued`` (posted) or ``draft``."""
    if invoice.get("DeletionMark"):
        return "deleted"
    if invoice.get("Аннулирован"):
        return "annulled"
    return "issued" if invoice.get("Posted") else "draft"


def invoice_stages(client_stages: Statuses, category: int, stage_map: Mapping[str, str]) -> dict[str, str]:
    """State → stage id of the smart-invoice pipeline ``category``: the map, else first / failure stage."""
    rows = sorted(client_stages.of(f"SMART_INVOICE_STAGE_{category}"), key=lambda r: int(r.get("SORT") or 0))
    if not rows:
        raise ConfigError(t(m.INVOICE_PIPELINE_MISSING, category=category))
    failure = next((r["STATUS_ID"] for r in rows if r.get("SEMANTICS") == "F"), rows[-1]["STATUS_ID"])
    out = {"issued": str(rows[0]["STATUS_ID"]), "annulled": str(failure), "deleted": str(failure)}
    for state, value in stage_map.items():
        out[state] = next(iter(resolve(rows, [value], f"invoices.stage_map.{state}")))
    return out


def _title(invoice: Mapping[str, Any]) -> str:
    date = invoice.get("Date")
    shown = date.strftime("%d.%m.%Y") if hasattr(date, "strftime") else str(date or "")[:10]
    return f"Счёт {invoice.get('Number') or ''} от {shown}".strip()


def _rows(ctx: DocContext, invoice: Mapping[str, Any], order: Mapping[str, Any] | None,
          products: Mapping[str, int]) -> list[dict[str, Any]]:
    """The order's rows when the invoice bills the whole order, else one row for the billed share."""
    amount = _money(invoice.get("СуммаДокумента"))
    if order and abs(_money(order.get("СуммаДокумента")) - amount) <= KOPECK:
        rows = []
        includes = bool(order.get("ЦенаВключаетНДС"))
        for row in order.get("Товары") or []:
            if row.get("Отменено"):
                continue
            quantity = Decimal(str(row.get("Количество") or 0)) or Decimal(1)
            total = _money(row.get("Сумма") if includes else row.get("СуммаСНДС"))
            item = ctx.catalog.nomenclature.get(row.get("Номенклатура_Key") or "", {})
            percent = ctx.catalog.vat_percent.get(row.get("СтавкаНДС_Key") or "")
            rows.append({"productId": products.get(row.get("Номенклатура_Key") or "", 0),
                         "productName": item.get("Description") or "", "quantity": float(quantity),
                         "price": float((total / quantity).quantize(KOPECK, ROUND_HALF_UP)),
                         "taxRate": percent, "taxIncluded": "Y"})
        return rows
    label = f"Оплата по заказу {order.get('Number')}" if order else _title(invoice)
    return [{"productId": 0, "productName": label, "quantity": 1, "price": float(amount), "taxRate": None,
             "taxIncluded": "Y"}]


def plan_invoices(ctx: DocContext, settings: InvoicesConfig) -> DocPlan:
    out = DocPlan()
    deal_of = {record_id(row["onec_key"]): int(record_id(row["b24_key"])) for row in ctx.state.links()
               if row["entity"] == "deal"}
    party_of = {record_id(row["onec_key"]): row["b24_key"] for row in ctx.state.links()
                if row["onec_key"].startswith("counterparty:")}
    linked = {record_id(row["onec_key"]): int(record_id(row["b24_key"])) for row in ctx.state.links()
              if row["entity"] == "invoice"}
    if not deal_of and settings.require_order:
        return out
    flt = f"ДокументОснование_Type eq '{ORDER_TYPE}'" if settings.require_order else None
    invoices = [r for page in ctx.onec.iterate(INVOICES, filter=flt, select=INVOICE_SELECT) for r in page]
    ours = []
    for inv in invoices:
        basis = inv.get("ДокументОснование") if inv.get("ДокументОснование_Type") == ORDER_TYPE else None
        deal = deal_of.get(str(basis or ""))
        if deal is None and (settings.require_order or inv.get("Контрагент_Key") not in party_of):
            continue
        ours.append((inv, basis, deal))
    out.checked = len(ours)
    if not ours:
        return out
    if settings.target == "legacy":
        return _plan_legacy(ctx, settings, ours, linked, party_of, out)
    existing = {str(r.get("xmlId") or ""): r for r in export_all(ctx.b24, "smart_invoice", select=B24_SELECT)}
    existing.pop("", None)
    deal_ids = sorted({d for _, _, d in ours if d})
    deals = {}
    for start in range(0, len(deal_ids), CHUNK):
        for row in export_all(ctx.b24, "deal", select=["ID", "COMPANY_ID", "CONTACT_ID"],
                              filters={"@ID": deal_ids[start:start + CHUNK]}):
            deals[int(row["ID"])] = row
    categories = ctx.b24.call("crm.category.list", {"entityTypeId": 31})
    categories = categories.get("categories", []) if isinstance(categories, dict) else categories
    category = next((int(c["id"]) for c in categories if c.get("isDefault") in ("Y", True)),
                    int(categories[0]["id"]) if categories else 0)
    stages = invoice_stages(ctx.statuses or Statuses(ctx.b24), category, settings.stage_map)
    orders = {o["Ref_Key"]: o for o in ctx.onec.fetch_many(
        ORDERS, sorted({str(b) for _, b, _ in ours if b}),
        select=["Ref_Key", "Number", "СуммаДокумента", "ЦенаВключаетНДС", "Товары"])}
    products = {ref: int(key.split(":")[1]) for key, ref in ctx.state.product_map().items()
                if key.startswith("product:")}
    currency_code = {ref: ALPHA.get(code, code) for code, ref in ctx.catalog.currencies.items()}
    for inv, basis, deal_id in ours:
        ref, state = inv["Ref_Key"], invoice_state(inv)
        deal = deals.get(deal_id or 0, {})
        fields: dict[str, Any] = {"title": _title(inv), "accountNumber": str(inv.get("Number") or ""),
                                  "opportunity": float(_money(inv.get("СуммаДокумента"))),
                                  "currencyId": currency_code.get(inv.get("Валюта_Key") or "", "RUB")}
        current = existing.get(ref)
        if ref not in linked and current is None:
            if state != "issued":
                continue  # only a posted, valid invoice is worth a manager's attention
            fields.update({"xmlId": ref, "stageId": stages["issued"], "isManualOpportunity": "Y",
                           "parentId2": deal_id or 0, "categoryId": category})
            party = party_of.get(str(inv.get("Контрагент_Key") or ""), "")
            company = deal.get("COMPANY_ID") or (int(record_id(party)) if party.startswith("company:") else 0)
            contact = deal.get("CONTACT_ID") or (int(record_id(party)) if party.startswith("contact:") else 0)
            fields.update({"companyId": company or 0, "contactId": contact or 0})
            rows = _rows(ctx, inv, orders.get(str(basis or "")), products)
            changes = {name: {"before": None, "after": value, "reason": "invoice_issued"}
                       for name, value in fields.items()}
            changes["productRows"] = {"before": None, "after": rows, "reason": "invoice_issued"}
            out.operations.append(make_operation("create", "bitrix24", "smart_invoice", None,
                                                 {"b24_key": None, "onec_key": f"invoice:{ref}"}, changes,
                                                 "invoice_issued", {"DataVersion": inv.get("DataVersion")}))
            continue
        if current is None:  # linked, but gone from the portal: deletions are not propagated back
            continue
        b24_key = f"smart_invoice:{current['id']}"
        if ref not in linked:
            out.links.append((b24_key, f"invoice:{ref}", "invoice"))
        if state in ("annulled", "deleted"):
            fields["stageId"] = stages[state]
        changes = {}
        for name, value in fields.items():
            before = current.get(name)
            same = (abs(_money(before) - _money(value)) <= KOPECK) if name == "opportunity" else before == value
            if not same:
                changes[name] = {"before": before if not isinstance(before, Decimal) else float(before),
                                 "after": value, "reason": f"invoice_{state}"}
        if "opportunity" in changes:
            changes["productRows"] = {"before": None, "after": _rows(ctx, inv, orders.get(str(basis or "")),
                                                                       products), "reason": f"invoice_{state}"}
        if changes:
            out.operations.append(make_operation("update", "bitrix24", "smart_invoice", str(current["id"]),
                                                 {"b24_key": b24_key, "onec_key": f"invoice:{ref}"}, changes,
                                                 f"invoice_{state}", {"DataVersion": inv.get("DataVersion")}))
    return out


# --- legacy invoices (crm.invoice.*, entity type 5) --------------------------------------------------

LEGACY_SELECT = ["ID", "XML_ID", "ORDER_TOPIC", "ACCOUNT_NUMBER", "PRICE", "STATUS_ID", "UF_DEAL_ID"]
LEGACY_STAGES = {"issued": "N", "annulled": "D", "deleted": "D"}


def _legacy_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Smart-invoice rows in the old shape: VAT as a fraction, every row new (``ID`` 0)."""
    return [{"ID": 0, "PRODUCT_ID": r["productId"], "PRODUCT_NAME": r["productName"], "QUANTITY": r["quantity"],
             "PRICE": r["price"], "VAT_RATE": (r["taxRate"] or 0) / 100, "VAT_INCLUDED": "Y"} for r in rows]


def _plan_legacy(ctx: DocContext, settings: InvoicesConfig, ours: list, linked: Mapping[str, int],
                 party_of: Mapping[str, str], out: DocPlan) -> DocPlan:
    """The same invoices as deprecated ``crm.invoice`` records, for portals without smart invoices.

    The portal computes ``PRICE`` from the rows and keeps every invoice in roubles; the payer type
    follows the customer (company or contact) and the pay system is the first active one of it.
    """
    stages = {**LEGACY_STAGES, **settings.stage_map}
    existing = {str(r.get("XML_ID") or ""): r for r in export_all(ctx.b24, "invoice_legacy", select=LEGACY_SELECT)}
    existing.pop("", None)
    person = {str(p["NAME"]): int(p["ID"]) for p in ctx.b24.call("crm.persontype.list", {})}
    systems = sorted(ctx.b24.call("crm.paysystem.list", {"filter": {"ACTIVE": "Y"}}),
                     key=lambda r: (int(r.get("SORT") or 0), int(r["ID"])))
    deal_ids = sorted({d for _, _, d in ours if d})
    deals = {int(r["ID"]): r for start in range(0, len(deal_ids), CHUNK) for r in export_all(
        ctx.b24, "deal", select=["ID", "COMPANY_ID", "CONTACT_ID"], filters={"@ID": deal_ids[start:start + CHUNK]})}
    orders = {o["Ref_Key"]: o for o in ctx.onec.fetch_many(
        ORDERS, sorted({str(b) for _, b, _ in ours if b}),
        select=["Ref_Key", "Number", "СуммаДокумента", "ЦенаВключаетНДС", "Товары"])}
    products = {ref: int(key.split(":")[1]) for key, ref in ctx.state.product_map().items()
                if key.startswith("product:")}
    for inv, basis, deal_id in ours:
        ref, state = inv["Ref_Key"], invoice_state(inv)
        current = existing.get(ref)
        rows = _legacy_rows(_rows(ctx, inv, orders.get(str(basis or "")), products))
        fields: dict[str, Any] = {"ORDER_TOPIC": _title(inv), "ACCOUNT_NUMBER": str(inv.get("Number") or "")}
        if ref not in linked and current is None:
            if state != "issued":
                continue
            deal = deals.get(deal_id or 0, {})
            party = party_of.get(str(inv.get("Контрагент_Key") or ""), "")
            company = deal.get("COMPANY_ID") or (int(record_id(party)) if party.startswith("company:") else 0)
            contact = deal.get("CONTACT_ID") or (int(record_id(party)) if party.startswith("contact:") else 0)
            payer = person.get("CRM_COMPANY" if company else "CRM_CONTACT", 0)
            system = next((int(r["ID"]) for r in systems if int(r.get("PERSON_TYPE_ID") or 0) == payer), 0)
            fields.update({"XML_ID": ref, "STATUS_ID": stages["issued"], "PERSON_TYPE_ID": payer,
                           "PAY_SYSTEM_ID": system, "UF_DEAL_ID": deal_id or 0, "UF_COMPANY_ID": company or 0,
                           "UF_CONTACT_ID": contact or 0, "PRODUCT_ROWS": rows})
            changes = {name: {"before": None, "after": value, "reason": "invoice_issued"}
                       for name, value in fields.items()}
            out.operations.append(make_operation("create", "bitrix24", "invoice_legacy", None,
                                                 {"b24_key": None, "onec_key": f"invoice:{ref}"}, changes,
                                                 "invoice_issued", {"DataVersion": inv.get("DataVersion")}))
            continue
        if current is None:
            continue
        b24_key = f"invoice_legacy:{current['ID']}"
        if ref not in linked:
            out.links.append((b24_key, f"invoice:{ref}", "invoice"))
        if state in ("annulled", "deleted"):
            fields["STATUS_ID"] = stages[state]
        changes = {name: {"before": current.get(name), "after": value, "reason": f"invoice_{state}"}
                   for name, value in fields.items() if current.get(name) != value}
        if abs(_money(current.get("PRICE")) - _money(inv.get("СуммаДокумента"))) > KOPECK:
            changes["PRODUCT_ROWS"] = {"before": float(_money(current.get("PRICE"))), "after": rows,
                                       "reason": f"invoice_{state}"}
        if changes:
            out.operations.append(make_operation("update", "bitrix24", "invoice_legacy", str(current["ID"]),
                                                 {"b24_key": b24_key, "onec_key": f"invoice:{ref}"}, changes,
                                                 f"invoice_{state}", {"DataVersion": inv.get("DataVersion")}))
    return out
