"""Both document flows of one reconciliation, planned after the counterparties they refer to.

A deal's customer must be a 1C counterparty before its order can be: linked already, or created
or linked by the counterparty operations of this very plan (apply runs those first). Which one,
and why not when it cannot be, is decided here from the counterparty plan, so the reason given
for a blocked deal is the precise one (no INN, a conflict, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pandas as pd

from b24sync.config import Config
from b24sync.documents.catalog import load_catalog
from b24sync.documents.deals import plan_orders
from b24sync.documents.invoices import plan_invoices
from b24sync.documents.leads import plan_interests
from b24sync.documents.model import DocContext, DocPlan
from b24sync.documents.products import ProductMatcher
from b24sync.documents.stages import Statuses
from b24sync.documents.statuses import plan_stages
from b24sync.pipeline import Prepared
from b24sync.recon.plan import Operation
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.onec.client import OneCClient
from b24sync.state import State

FLOWS = ("deals", "leads", "invoices", "statuses")
_ISSUE_REASONS = {"no_inn": "counterparty_no_inn", "not_created_no_inn": "counterparty_no_inn",
                  "not_created_invalid_inn": "counterparty_invalid_inn", "bad_inn_checksum": "counterparty_invalid_inn",
                  "inn_wrong_length": "counterparty_invalid_inn", "not_digits": "counterparty_invalid_inn",
                  "not_created_no_email": "counterparty_no_email"}


def counterparty_lookup(state: State, prepared: Prepared):
    """``company:12`` → (1C counterparty ref, '') or (None, why not)."""
    refs = {row["b24_key"]: row["onec_key"] for row in state.links() if row["onec_key"].startswith("counterparty:")}
    refs.update(zip(prepared.pairs["b24_key"], prepared.pairs["onec_key"], strict=True))
    for op in prepared.plan.operations:
        if op.action == "create" and op.target == "onec":
            refs[str(op.key["b24_key"])] = f"counterparty:{op.target_id}"
        elif op.key.get("b24_key") and op.key.get("onec_key"):
            refs.setdefault(str(op.key["b24_key"]), str(op.key["onec_key"]))
    why: dict[str, str] = {}
    for issue in prepared.plan.issues:
        if issue.reason in _ISSUE_REASONS:
            why.setdefault(issue.record_key, _ISSUE_REASONS[issue.reason])
    for conflict in prepared.plan.conflicts:
        for record in conflict.records:
            why.setdefault(record, "counterparty_conflict")

    def lookup(key: str) -> tuple[str | None, str]:
        if key in why and key not in refs:
            return None, why[key]
        onec_key = refs.get(key)
        return (onec_key.partition(":")[2], "") if onec_key else (None, why.get(key, "counterparty_not_in_onec"))

    return lookup


def plan_documents(config: Config, state: State, b24: Bitrix24Client, onec: OneCClient, prepared: Prepared,
                   flows: Iterable[str]) -> DocPlan:
    """Plan the selected flows (``deals``, ``leads``) on top of a counterparty plan."""
    flows = [f for f in flows if getattr(config, f).enabled]
    out = DocPlan()
    if not flows:
        return out
    users = prepared.b24.users
    b24_email = {int(i): str(e or "").strip().lower() for i, e in zip(users["ID"], users["EMAIL"], strict=True)}
    by_email: dict[str, str] = {}
    for ref, email in prepared.onec.user_email.items():
        if email:
            by_email[email] = ref if email not in by_email else ""  # two 1C users with one e-mail: neither
    ctx = DocContext(b24=b24, onec=onec, state=state, catalog=load_catalog(onec), b24_user_email=b24_email,
                     onec_user_by_email={e: r for e, r in by_email.items() if r},
                     counterparty=counterparty_lookup(state, prepared), now=datetime.now(UTC),
                     statuses=Statuses(b24))
    if "deals" in flows:
        products = export_all(b24, "product", select=["ID", "NAME", "XML_ID"])
        matcher = ProductMatcher(ctx.catalog, products, config.deals.product_match, config.deals.product_map,
                                 state.product_map())
        out.extend(plan_orders(ctx, config.deals, matcher,
                               timedelta(seconds=config.bitrix24.incremental_overlap_seconds)))
    if "leads" in flows:
        out.extend(plan_interests(ctx, config.leads))
    if "invoices" in flows:
        out.extend(plan_invoices(ctx, config.invoices))
    if "statuses" in flows:
        out.extend(plan_stages(ctx, config.statuses))
    return out


def needed_counterparties(operations: Iterable[Operation]) -> set[str]:
    """The Bitrix24 customers the documents refer to (for ``--only deals``: only their counterparty work)."""
    return {str(op.fields[name]["after"].get("counterparty_b24_key") or "") for op in operations
            for name in ("order",) if name in op.fields} - {""}


def keep_counterparties(prepared: Prepared, keys: set[str]) -> tuple[list[Operation], pd.DataFrame]:
    """The counterparty operations for ``keys`` only, and the baseline rows that remain true without the rest."""
    kept = [op for op in prepared.plan.operations if str(op.key.get("b24_key")) in keys]
    dropped = {(op.key.get("b24_key"), op.key.get("onec_key")) for op in prepared.plan.operations if op not in kept}
    baseline = prepared.baseline
    if len(baseline) and dropped:
        pairs = list(zip(baseline["b24_key"], baseline["onec_key"], strict=True))
        baseline = baseline[[p not in dropped for p in pairs]].reset_index(drop=True)
    return kept, baseline


def record_documents(state: State, docs: DocPlan, run_id: str, ok: bool) -> None:
    """After an apply: links found in the systems, agreements checked, product mappings, watermarks."""
    with state.atomic():
        for b24_key, onec_key, entity in docs.links:
            state.add_link(b24_key, onec_key, entity, run_id)
        for row in docs.baselines:
            state.set_baseline(row["b24_key"], row["onec_key"], row["field"], row["value"])
    if docs.product_pairs:
        state.remember_products(docs.product_pairs)
    if ok:
        for name, value in docs.watermarks.items():
            state.set_watermark(name, value)
