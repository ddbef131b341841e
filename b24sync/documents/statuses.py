"""1C order statuses → Bitrix24 deal stages.

1C owns the order's progress («НеСогласован», «КОбеспечению», «КОтгрузке», «Закрыт»; an order
marked for deletion, or whose rows are all cancelled, counts as «Отменен»). When that status
changed since the last run, the deal moves to the stage ``[statuses] map`` names for it, looked up
in the deal's own pipeline (a stage id with or without the ``C<n>:`` prefix, or its name). A
manager's later move in Bitrix24 is left alone unless ``owned_by_1c`` says the stage belongs to
1C. A status with no mapping, or a mapping the deal's pipeline does not have, is reported. Where
1C:CRM is used and the order names its «Сделка с клиентом», that deal's closing state («Выиграна»,
«Проиграна») counts as the status too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24sync.config import StatusesConfig
from b24sync.documents.catalog import fold
from b24sync.documents.model import EDITABLE_STATUS, ORDERS, DocContext, DocPlan
from b24sync.documents.stages import Statuses
from b24sync.extract import CHUNK
from b24sync.recon.model import Issue, record_id
from b24sync.recon.plan import make_operation
from b24sync.sources.bitrix24.read import export_all

STATUS_SEEN = "onec.status"  # baseline field: the 1C status the deal last followed
CANCELLED = "Отменен"
CRM_DEALS = "Catalog_СделкиСКлиентами"
CLOSED_DEAL_STATES = ("Выиграна", "Проиграна")


def effective_status(order: Mapping[str, Any], crm_state: str = "") -> str:
    """The order's status as sales see it: a deleted or wholly cancelled order is «Отменен», and
    where 1C:CRM closed the deal with the client (``Сделка_Key``), «Выиграна» / «Проиграна»."""
    if order.get("DeletionMark"):
        return CANCELLED
    if crm_state in CLOSED_DEAL_STATES:
        return crm_state
    rows = order.get("Товары") or []
    if rows and all(r.get("Отменено") for r in rows):
        return CANCELLED
    return str(order.get("Статус") or EDITABLE_STATUS)


def stage_in_pipeline(statuses: Statuses, category: int, value: str) -> str | None:
    """The stage id ``value`` names in pipeline ``category``, or None when that pipeline lacks it."""
    rows = statuses.of("DEAL_STAGE" if not category else f"DEAL_STAGE_{category}")
    ids = [str(r["STATUS_ID"]) for r in rows]
    for candidate in (value, f"C{category}:{value}"):
        if candidate in ids:
            return candidate
    named = [str(r["STATUS_ID"]) for r in rows if fold(r.get("NAME")) == fold(value)]
    return named[0] if len(named) == 1 else None


def plan_stages(ctx: DocContext, settings: StatusesConfig) -> DocPlan:
    out = DocPlan()
    links = {row["b24_key"]: record_id(row["onec_key"]) for row in ctx.state.links() if row["entity"] == "deal"}
    if not links:
        return out
    seen = {row["b24_key"]: row["value"] for row in ctx.state.baselines() if row["field"] == STATUS_SEEN}
    orders = {o["Ref_Key"]: o for o in ctx.onec.fetch_many(
        ORDERS, list(links.values()), select=["Ref_Key", "Статус", "DeletionMark", "Товары", "Сделка_Key"])}
    crm_refs = sorted({str(o["Сделка_Key"]) for o in orders.values() if o.get("Сделка_Key")})
    crm_state = {d["Ref_Key"]: str(d.get("Статус") or "") for d in ctx.onec.fetch_many(
        CRM_DEALS, crm_refs, select=["Ref_Key", "Статус"])} if crm_refs else {}
    changed = {}
    for key, ref in links.items():
        order = orders.get(ref)
        if order is None:
            continue
        status = effective_status(order, crm_state.get(str(order.get("Сделка_Key") or ""), ""))
        if status != seen.get(key, EDITABLE_STATUS) or settings.owned_by_1c:
            changed[key] = status
    if not changed:
        return out
    ids = sorted(int(record_id(k)) for k in changed)
    deals = {}
    for start in range(0, len(ids), CHUNK):
        for deal in export_all(ctx.b24, "deal", select=["ID", "STAGE_ID", "CATEGORY_ID", "DATE_MODIFY"],
                               filters={"@ID": ids[start:start + CHUNK]}):
            deals[f"deal:{deal['ID']}"] = deal
    dictionaries = ctx.statuses or Statuses(ctx.b24)
    for key, status in sorted(changed.items()):
        deal = deals.get(key)
        if deal is None:
            continue
        onec_key = f"order:{links[key]}"
        quiet = {"b24_key": key, "onec_key": onec_key, "field": STATUS_SEEN, "value": status}
        moved = status != seen.get(key, EDITABLE_STATUS)
        wanted = settings.map.get(status)
        if wanted is None:
            if moved:
                out.issues.append(Issue(key, "Статус", status, "status_unmapped"))
                out.baselines.append(quiet)
            continue
        stage = stage_in_pipeline(dictionaries, int(deal.get("CATEGORY_ID") or 0), wanted)
        if stage is None:
            out.issues.append(Issue(key, "STAGE_ID", f"{status} → {wanted}", "stage_not_in_pipeline"))
            continue
        if deal.get("STAGE_ID") == stage:
            if moved:
                out.baselines.append(quiet)
            continue
        fields = {"STAGE_ID": {"before": deal.get("STAGE_ID"), "after": stage, "reason": "order_status"},
                  STATUS_SEEN: {"before": seen.get(key, EDITABLE_STATUS), "after": status, "reason": "order_status"}}
        stamp = deal["DATE_MODIFY"].isoformat() if deal.get("DATE_MODIFY") else ""
        out.operations.append(make_operation("update", "bitrix24", "deal", str(deal["ID"]),
                                             {"b24_key": key, "onec_key": onec_key}, fields, "order_status",
                                             {"DATE_MODIFY": stamp}))
    return out
