"""One migration run: read both systems, report, and (when asked) link or create through the journal.

A first migration must not guess and must not surprise: the report comes first and writes
nothing; linking and creating are separate, explicit steps, each planned from fresh reads and
confirmed before a single write. Both reuse reconciliation's plan (only its ``link`` or ``create``
operations are kept) and its applier and journal, so an interrupted step resumes where it
stopped and a repeated one plans nothing new.

:class:`Migration` holds the run lock from the first read to the last write, so no scheduled
run changes the systems between the plan a person confirmed and its apply.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from b24sync.apply import Applier, ApplyReport
from b24sync.config import Config
from b24sync.conflicts import conflict_rows
from b24sync.journal import Journal
from b24sync.lock import RunLock
from b24sync.migrate.report import MigrationReport, build_report
from b24sync.pipeline import Prepared, prepare
from b24sync.recon import model as md
from b24sync.recon.normalize import normalize_bitrix24, normalize_onec
from b24sync.recon.plan import LINK_FIELD, Operation, Plan, make_operation, with_operations
from b24sync.reconcile import clients, require_userfields
from b24sync.state import State

__all__ = ["Migration", "frames", "migration_plan", "portal_url"]

Progress = Callable[[str], Callable[[int], None] | None]


def portal_url(config: Config) -> str:
    """``https://portal.example`` of the configured webhook: links in the report, never the token."""
    parts = urlsplit(config.require_webhook().reveal())
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def frames(prepared: Prepared) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical frames of a full read, normalized as :func:`~b24sync.pipeline.plan_snapshots` does."""
    b24, onec = prepared.b24, prepared.onec
    nb = normalize_bitrix24(b24.companies, b24.requisites, b24.addresses, b24.contacts, b24.users)
    no = normalize_onec(onec.counterparties, onec.user_email, manager_by_ref=onec.manager_by_ref,
                        legal_address_kind=onec.kinds.get("ЮрАдресКонтрагента", ""))
    return nb.frame, no.frame


def migration_plan(prepared: Prepared, *, link: bool, create: bool) -> tuple[Plan, pd.DataFrame]:
    """The part of reconciliation's plan a migration step writes, and the baseline rows that stay true.

    ``link``: one ``link`` operation per confident pair whose link is not complete yet (a new pair, or a
    stored one whose ``UF_CRM_1C_ID`` is missing or stale), carrying ``UF_CRM_1C_ID`` only: the values
    of the two records are left as they are, for the regular runs to reconcile by the field rules.
    Conflicted records are never in a pair, so they are never linked. ``create``: the creates, with
    the link that stamps each Bitrix24 record whose counterparty is created in 1C.

    The baseline keeps only what both sides agree on *now*: rows of the linked pairs whose field no
    operation of the full plan would have written.
    """
    plan = prepared.plan
    pairs = set(zip(prepared.pairs["b24_key"].astype(object), prepared.pairs["onec_key"].astype(object),
                    strict=True))
    created = {str(op.key.get("onec_key")) for op in plan.operations if op.action == "create" and op.target == md.ONEC}
    creates: list[Operation] = []
    links: list[Operation] = []
    written: dict[tuple[str, str], set[str]] = {}
    for op in plan.operations:
        pair = (str(op.key.get("b24_key")), str(op.key.get("onec_key")))
        written.setdefault(pair, set()).update(op.fields)
        follows_create = op.action == "link" and pair[1] in created
        if op.action == "create" or follows_create:
            if create:
                creates.append(op)
            continue
        if not link or op.target != md.B24 or pair not in pairs:
            continue
        if op.action == "update" and LINK_FIELD not in op.fields:
            continue  # a linked pair whose values differ: the regular runs' business
        fields = {LINK_FIELD: op.fields[LINK_FIELD]} if LINK_FIELD in op.fields else {}
        reason = op.reason if op.action == "link" else "link_field"
        links.append(make_operation("link", op.target, op.entity, op.target_id, op.key, fields, reason,
                                    op.precondition))
    base = replace(plan, conflicts=(), rejected_edits=(), issues=())
    kept = with_operations(base, [*creates, *links], drop=base.operations)
    linked = {(str(op.key["b24_key"]), str(op.key["onec_key"])) for op in links}
    baseline = prepared.baseline
    if len(baseline):
        keep = [(b, o) in linked and f not in written.get((b, o), set())
                for b, o, f in zip(baseline["b24_key"], baseline["onec_key"], baseline["field"], strict=True)]
        baseline = baseline[keep].reset_index(drop=True)
    return kept, baseline


class Migration:
    """A migration run (``with Migration(config, write=...) as run``): lock, state, clients, journal.

    ``write`` is False for the report alone: then neither system gets a write request, and the state
    only records the run and the conflicts it found (as ``conflicts --refresh`` does); there is no
    journal settling and no user-field check, so a portal without b24sync's fields yet can be
    surveyed. With ``write``, operations a killed run left in doubt are settled first, exactly as
    ``reconcile`` does, so the plan starts from what really happened.
    """

    def __init__(self, config: Config, *, write: bool = False, command: str = "migrate",
                 progress: Progress | None = None, apply_progress: Callable[[int], None] | None = None) -> None:
        self.config, self.write, self.command = config, write, command
        self.progress, self.apply_progress = progress, apply_progress
        self.resolved = 0
        self.status = "planned"
        self.summary: dict[str, Any] = {}
        self.prepared: Prepared | None = None
        self.report: MigrationReport | None = None
        self._baseline: pd.DataFrame | None = None
        self._lock = RunLock(config.state_path, "migrate")

    def __enter__(self) -> Migration:
        self._lock.acquire()
        try:
            self.state = State(self.config.state_path)
            self.run_id = self.state.start_run(self.command)
        except BaseException:
            self._lock.release()
            raise
        try:
            self.b24, self.onec, service = clients(self.config)
            if self.write:
                require_userfields(self.b24)
            self.applier = Applier(Journal(self.state, self.run_id), self.b24, self.onec, service=service,
                                   write_via=self.config.onec.write_via, progress=self.apply_progress)
            if self.write:
                self.resolved = self.applier.resolve_in_doubt()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.state.finish_run(self.run_id, "failed" if exc_type else self.status, self.summary)
        finally:
            self._lock.release()

    def survey(self) -> MigrationReport:
        """Read both systems in full, match them and build the report (no write request is made)."""
        prepared = self.prepared = prepare(self.config, self.state, self.b24, self.onec, full=True,
                                           progress=self.progress)
        # the same full read as 'conflicts --refresh': 'b24sync conflicts' then lists these groups by id
        self.state.set_conflicts(conflict_rows(prepared.plan.conflicts, prepared.conflicted), self.run_id)
        b24, onec = frames(prepared)
        self.report = build_report(b24, onec, prepared.pairs, prepared.plan.conflicts, prepared.plan.issues,
                                   portal=portal_url(self.config), generated_at=prepared.next_watermark)
        self.summary = {"report": self.report.summary()}
        return self.report

    def plan(self, *, link: bool, create: bool) -> Plan:
        """What this step would write (see :func:`migration_plan`), from the reads of :meth:`survey`."""
        if self.prepared is None:
            self.survey()
        prepared = self.prepared
        if prepared is None:  # survey always sets it; kept for the type checker
            raise RuntimeError("nothing was read")
        plan, self._baseline = migration_plan(prepared, link=link, create=create)
        self.summary["plan"] = dict(plan.summary)
        return plan

    def decline(self) -> None:
        """The person did not confirm: recorded as such, nothing written."""
        self.status = "declined"

    def apply(self, plan: Plan) -> ApplyReport:
        """Write ``plan`` through the journal (each operation journalled before its request)."""
        if not self.write:
            raise RuntimeError("a read-only migration run cannot apply")
        report = self.applier.apply(plan, baseline=self._baseline)
        self.status = "ok" if report.ok else "partial"
        self.summary["applied"] = {"done": len(report.done), "failed": len(report.failed),
                                   "stale": len(report.stale), "skipped": report.skipped}
        return report

    @property
    def requests(self) -> dict[str, int]:
        """Requests this run made to each system so far."""
        return {md.B24: self.b24.requests_made, md.ONEC: self.onec.requests_made}

