"""One reconciliation run: lock, settle what a previous run left in doubt, plan, apply, record.

This is what ``b24sync reconcile`` calls; it is importable and testable without the CLI. A dry
run plans and returns without a single write request to either system. Watermarks and 1C
versions advance only after an apply with nothing failed, so a change is never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from b24sync import messages as m
from b24sync.apply import Applier, ApplyReport
from b24sync.config import Config
from b24sync.conflicts import conflict_rows
from b24sync.crashpoints import crashpoint
from b24sync.documents.flow import FLOWS as DOCUMENT_FLOWS
from b24sync.documents.flow import keep_counterparties, needed_counterparties, plan_documents, record_documents
from b24sync.errors import B24SyncError
from b24sync.exitcodes import ExitCode
from b24sync.extract import COUNTERPARTIES
from b24sync.http.retry import RetryPolicy
from b24sync.http.transport import Timeouts
from b24sync.i18n import t
from b24sync.journal import Journal
from b24sync.lock import RunLock
from b24sync.pipeline import MATCH_KEYS, REMATCH, WATERMARK, Prepared, prepare
from b24sync.recon.plan import Plan, with_operations
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.onec.client import OneCClient
from b24sync.sources.onec.service import ServiceClient
from b24sync.state import State


class TooManyChanges(B24SyncError):
    exit_code = ExitCode.ERROR


@dataclass
class RunResult:
    plan: Plan
    prepared: Prepared | None
    report: ApplyReport | None
    resolved: int
    run_id: str


def clients(config: Config) -> tuple[Bitrix24Client, OneCClient, ServiceClient | None]:
    b24 = Bitrix24Client.from_config(config)
    password = config.require_onec_password()
    onec_cfg = config.onec
    if not onec_cfg.odata_url:
        from b24sync.errors import ConfigError

        raise ConfigError(t(m.ONEC_NOT_CONFIGURED, path=config.path))
    retry = RetryPolicy(max_attempts=onec_cfg.max_retries, budget=onec_cfg.retry_budget_seconds)
    timeouts = Timeouts(onec_cfg.connect_timeout, onec_cfg.read_timeout)
    onec = OneCClient(onec_cfg.odata_url, onec_cfg.user, password, server_tz=onec_cfg.tzinfo(),
                      page_size=onec_cfg.page_size, honour_if_match=onec_cfg.honour_if_match, retry=retry,
                      timeouts=timeouts)
    service = (ServiceClient(onec_cfg.http_service_url, onec_cfg.user, password, retry=retry, timeouts=timeouts)
               if onec_cfg.http_service_url and "http_service" in onec_cfg.write_via.values() else None)
    return b24, onec, service


COUNTERPARTY_FLOWS = ("companies", "contacts")
FLOW_ENTITIES = {"companies": "company", "contacts": "contact", "deals": "deal", "leads": "lead",
                 "invoices": "deal", "statuses": "deal"}


def flows_of(config: Config, only: set[str] | None) -> set[str]:
    """The flows a run covers: ``only``, else every enabled one."""
    if only:
        return set(only)
    return {*COUNTERPARTY_FLOWS, *(f for f in DOCUMENT_FLOWS if getattr(config, f).enabled)}


def require_userfields(b24: Bitrix24Client, flows: set[str] | None = None) -> None:
    """Stop (exit 78) before reading anything else when the link fields are missing on the portal."""
    from b24sync.doctor import REQUIRED_USERFIELDS
    from b24sync.errors import ConfigError

    entities = {FLOW_ENTITIES[f] for f in flows or COUNTERPARTY_FLOWS} | {"company", "contact"}
    wanted = [(entity, name) for entity, name, _label in REQUIRED_USERFIELDS if entity in entities]
    batch = b24.batch({entity: (f"crm.{entity}.userfield.list", {"order": {"ID": "ASC"}})
                       for entity in dict.fromkeys(e for e, _ in wanted)})  # one request for all of them
    for entity, name in wanted:
        if entity in batch.errors:
            raise batch.errors[entity]
        if name not in {f["FIELD_NAME"] for f in batch.result.get(entity) or []}:
            raise ConfigError(t(m.USERFIELD_MISSING, field=name, entity=entity))


def run_reconcile(config: Config, *, dry_run: bool = False, full: bool = False, only: set[str] | None = None,
                  max_changes: int | None = None, progress: Callable[[str], Callable[[int], None] | None] | None = None,
                  apply_progress: Callable[[int], None] | None = None, targets: set[str] | None = None) -> RunResult:
    """Plan (and unless ``dry_run``, apply) one reconciliation; holds the run lock throughout.

    ``targets`` (``contact:12``, ``deal:7`` …) narrows the run to those Bitrix24 records, with the
    same rules, plan and journal: what ``b24sync serve`` does for the records its events name. Such
    a run reads what matching needs but writes only for the targets (and the customers their
    documents need), and moves no watermark, so the scheduled runs still see everything.
    """
    flows = flows_of(config, only)
    if targets is not None:
        kinds = {key.split(":")[0] for key in targets}
        flows = {*COUNTERPARTY_FLOWS, *(f for f, e in (("deals", "deal"), ("leads", "lead"))
                                        if e in kinds and getattr(config, f).enabled)}
    with RunLock(config.state_path, "reconcile"):
        state = State(config.state_path)
        run_id = state.start_run("events" if targets is not None else
                                 "reconcile --dry-run" if dry_run else "reconcile")
        b24, onec, service = clients(config)
        try:
            require_userfields(b24, flows)
        except BaseException:
            state.finish_run(run_id, "failed", {})
            raise
        journal = Journal(state, run_id)
        applier = Applier(journal, b24, onec, service=service, write_via=config.onec.write_via,
                          progress=apply_progress)
        resolved = 0 if dry_run else applier.resolve_in_doubt()
        parties = set(COUNTERPARTY_FLOWS) & flows
        documents = [f for f in DOCUMENT_FLOWS if f in flows]
        try:
            # documents need their customers' counterparties: planned even when only documents are asked for
            prepared = prepare(config, state, b24, onec, full=full,
                               only=parties if parties and parties != set(COUNTERPARTY_FLOWS) else None,
                               progress=progress, targets=set(targets or ()))
            docs = plan_documents(config, state, b24, onec, prepared, documents)
        except BaseException:
            state.finish_run(run_id, "failed", {})
            raise
        drop: list = []
        if targets is not None:
            docs.operations = [op for op in docs.operations if op.key.get("b24_key") in targets]
            docs.issues = [i for i in docs.issues if i.record_key in targets]
            docs.watermarks = {}
            kept, prepared.baseline = keep_counterparties(
                prepared, set(targets) | needed_counterparties(docs.operations))
            drop = [op for op in prepared.plan.operations if op not in kept]
        elif not parties:  # only the counterparty work the documents depend on
            kept, prepared.baseline = keep_counterparties(prepared, needed_counterparties(docs.operations))
            drop = [op for op in prepared.plan.operations if op not in kept]
        prepared.plan = with_operations(prepared.plan, docs.operations, docs.issues, drop)
        plan = prepared.plan
        limit = max_changes if max_changes is not None else config.max_changes
        if dry_run:
            state.finish_run(run_id, "planned", plan.summary)
            return RunResult(plan, prepared, None, resolved, run_id)
        if limit is not None and len(plan.operations) > limit:
            state.finish_run(run_id, "refused", plan.summary)
            raise TooManyChanges(t(m.APPLY_MAX_CHANGES, count=len(plan.operations), limit=limit))
        report = applier.apply(plan, baseline=prepared.baseline)
        if prepared.full and parties == set(COUNTERPARTY_FLOWS) and targets is None:
            state.set_conflicts(conflict_rows(prepared.plan.conflicts, prepared.conflicted), run_id)
        record_documents(state, docs, run_id, report.ok)
        if any(op.action == "update" and MATCH_KEYS & set(op.fields) for op in report.done):
            state.set_watermark(REMATCH, "1")  # the next run matches in full
        elif report.ok and prepared.full and parties == set(COUNTERPARTY_FLOWS) and targets is None:
            state.set_watermark(REMATCH, "")
        if report.ok and parties == set(COUNTERPARTY_FLOWS) and targets is None:
            if prepared.next_watermark is not None:
                state.set_watermark(WATERMARK, prepared.next_watermark.isoformat())
                crashpoint("reconcile.after_watermark")
            versions = state.onec_versions(COUNTERPARTIES) if not prepared.full else {}
            versions.update(prepared.onec.versions)
            for ref in prepared.onec.gone:
                versions.pop(ref, None)
            state.set_onec_versions(COUNTERPARTIES, versions)
        state.finish_run(run_id, "ok" if report.ok else "partial",
                         {**plan.summary, "done": len(report.done), "failed": len(report.failed),
                          "stale": len(report.stale)})
        return RunResult(plan, prepared, report, resolved, run_id)
