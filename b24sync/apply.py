"""Apply: execute a plan's operations through the journal, at the APIs' pace, resumable at any point.

Each operation is journalled ``sending`` before its request and ``done`` (with the links and
baselines it establishes) after, in one transaction. Before writing, every update re-checks its
record's version (Bitrix24 ``DATE_MODIFY``, 1C ``DataVersion``): a record changed since the plan
was made is reported **stale** and not touched. Bitrix24 writes of many operations share one
``batch`` request; a create chains company → requisite → address with ``$result`` references.
Creates are idempotent: Bitrix24 records carry ``ORIGINATOR_ID``/``ORIGIN_ID`` and 1C records a
deterministic ``Ref_Key``, so an operation left in doubt by a crash is looked up, never re-sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from b24sync import messages as m
from b24sync.crashpoints import crashpoint
from b24sync.documents.model import ORDERS, SEEN
from b24sync.documents.statuses import STATUS_SEEN
from b24sync.documents.write import WRITE_BACK, DocumentWriter
from b24sync.errors import B24SyncError
from b24sync.extract import COUNTERPARTIES, PARTNERS
from b24sync.i18n import t
from b24sync.journal import DONE, FAILED, PENDING, SENDING, STALE, Journal
from b24sync.recon.model import SYNC_FIELDS, record_id
from b24sync.recon.plan import ORIGINATOR, Operation, Plan
from b24sync.sources.bitrix24.client import MAX_BATCH, Bitrix24Client
from b24sync.sources.bitrix24.errors import InDoubt as B24InDoubt
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.bitrix24.write import find_by_origin
from b24sync.sources.onec.client import OneCClient
from b24sync.sources.onec.contactinfo import address_row, merge_rows
from b24sync.sources.onec.errors import NotFound, OneCError
from b24sync.sources.onec.service import ServiceClient

KINDS = "Catalog_ВидыКонтактнойИнформации"
PARTNER_KIND = {"legal": "Компания", "sole_proprietor": "Компания", "individual": "ЧастноеЛицо"}
ONEC_KIND = {"legal": "ЮрЛицо", "sole_proprietor": "ИндивидуальныйПредприниматель", "individual": "ФизЛицо"}
DOCUMENTS = {"order": "deal", "interest": "lead"}  # operation entity → the Bitrix24 record it comes from
B24_DOCUMENTS = ("deal", "smart_invoice", "invoice_legacy")  # written to Bitrix24 from 1C documents
PARTNER_NS = uuid.UUID("0b3c2d9e-7f64-4e0b-9c51-2a4d6e8f1b24")
ALREADY_EXISTS = "15"  # 1C: «Сущность с таким ключом уже существует»


@dataclass
class ApplyReport:
    done: list[Operation] = field(default_factory=list)
    failed: list[tuple[Operation, str]] = field(default_factory=list)
    stale: list[tuple[Operation, str]] = field(default_factory=list)
    skipped: int = 0  # already done by an earlier apply of the same plan
    warnings: list[str] = field(default_factory=list)  # done, but worth a look (e.g. 1C totals differ)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stale


def _after(op: Operation, name: str, default: Any = None) -> Any:
    entry = op.fields.get(name)
    return entry.get("after", default) if entry else default


def _split_name(full: str) -> dict[str, str]:
    parts = (full or "").split()
    return {"LAST_NAME": parts[0] if parts else "", "NAME": parts[1] if len(parts) > 1 else "",
            "SECOND_NAME": " ".join(parts[2:])}


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


class Applier:
    """Executes plans against one portal and one 1C base, recording everything in the journal."""

    def __init__(self, journal: Journal, b24: Bitrix24Client, onec: OneCClient, *,
                 service: ServiceClient | None = None, write_via: Mapping[str, str] | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        self.journal, self.b24, self.onec, self.service = journal, b24, onec, service
        self.write_via = dict(write_via or {})
        self.progress = progress
        self._b24_users: dict[str, int] | None = None
        self._onec_users: dict[str, str] | None = None
        self._kinds: dict[str, str] | None = None
        self.actual_refs: dict[str, str] = {}  # planned 1C ref → ref the HTTP service assigned
        self.documents = DocumentWriter(onec, service, self.write_via)
        self._write_backs: list[tuple[Operation, str]] = []

    # -- reference data, read once per apply ------------------------------------------------------------

    def b24_user(self, email: str | None) -> int | None:
        if self._b24_users is None:
            self._b24_users = {str(u.get("EMAIL") or "").lower(): int(u["ID"]) for u in export_all(self.b24, "user")}
        return self._b24_users.get((email or "").lower())

    def onec_user(self, email: str | None) -> str | None:
        if self._onec_users is None:
            self._onec_users = {}
            for page in self.onec.iterate("Catalog_Пользователи", select=["Ref_Key", "КонтактнаяИнформация"]):
                for user in page:
                    for row in user.get("КонтактнаяИнформация") or []:
                        if row.get("АдресЭП"):
                            self._onec_users[str(row["АдресЭП"]).lower()] = user["Ref_Key"]
        return self._onec_users.get((email or "").lower())

    def kind(self, name: str) -> str:
        if self._kinds is None:
            rows = self.onec.query(KINDS, filter="Predefined eq true", select=["Ref_Key", "PredefinedDataName"])
            self._kinds = {r["PredefinedDataName"]: r["Ref_Key"] for r in rows}
        return self._kinds.get(name, "")

    # -- resume ----------------------------------------------------------------------------------------

    def resolve_in_doubt(self) -> int:
        """Settle operations a killed run left ``sending``: look each create up; never re-send blindly."""
        ops = self.journal.in_doubt()
        for op in ops:
            if op.entity in DOCUMENTS or op.entity in B24_DOCUMENTS:  # found again by key when re-planned
                pass
            elif op.action == "create" and op.target == "bitrix24":
                origin = str(_after(op, "ORIGIN_ID", ""))
                found = find_by_origin(self.b24, op.entity, ORIGINATOR, [origin]).get(origin)
                if found:
                    self.journal.done(op, str(found), [(f"{op.entity}:{found}", op.key["onec_key"], op.entity)],
                                      self._created_baseline(op, f"{op.entity}:{found}", op.key["onec_key"]))
                    continue
            elif op.action == "create" and op.target == "onec" and self.onec.get(COUNTERPARTIES, op.target_id):
                self.journal.done(op, op.target_id, [(op.key["b24_key"], op.key["onec_key"], op.entity)], [])
                continue
            # not applied, or an update whose fresh state the next plan will show: re-plan it
            self.journal.mark([op.op_id], STALE, error="in doubt after an interrupted run; re-planned")
        return len(ops)

    # -- preconditions ---------------------------------------------------------------------------------

    def stale_ops(self, ops: list[Operation]) -> dict[str, str]:
        """op_id → why, for update/link operations whose record changed since the plan was made."""
        stale: dict[str, str] = {}
        for entity in ("company", "contact"):
            stale.update(self._stale_b24(entity, {int(op.target_id): op for op in ops if op.target == "bitrix24"
                                                  and op.action != "create" and op.entity == entity}))
        stale.update(self._stale_documents(ops))
        stale.update(self._stale_1c(COUNTERPARTIES, {op.target_id: op for op in ops if op.target == "onec"
                                                     and op.action != "create" and op.entity not in DOCUMENTS}))
        stale.update(self._stale_sources(ops, stale))
        return stale

    def _stale_b24(self, entity: str, wanted: Mapping[int, Operation]) -> dict[str, str]:
        """Bitrix24 records (by ID) deleted, or whose ``DATE_MODIFY`` moved past the op's precondition."""
        stale: dict[str, str] = {}
        if not wanted:
            return stale
        current: dict[int, Any] = {}
        ids = sorted(wanted)
        for start in range(0, len(ids), 500):
            for row in export_all(self.b24, entity, select=["ID", "DATE_MODIFY"],
                                  filters={"@ID": ids[start:start + 500]}):
                current[int(row["ID"])] = row["DATE_MODIFY"]
        for record, op in wanted.items():
            planned = _when(op.precondition.get("DATE_MODIFY"))
            now = current.get(record)
            if now is None:
                stale[op.op_id] = "deleted"
            elif planned is not None and now != planned:
                stale[op.op_id] = f"DATE_MODIFY {planned.isoformat()} → {now.isoformat()}"
        return stale

    def _stale_1c(self, entity_set: str, wanted: Mapping[str, Operation], *, source: bool = False) -> dict[str, str]:
        """1C objects (by ref) deleted, or whose ``DataVersion`` differs from the op's precondition
        (``source``: the precondition of the record a create copies, named in the reason)."""
        stale: dict[str, str] = {}
        if not wanted:
            return stale
        rows = self.onec.fetch_many(entity_set, list(wanted), select=["Ref_Key", "DataVersion"])
        current = {r["Ref_Key"]: r["DataVersion"] for r in rows}
        for ref, op in wanted.items():
            planned = (op.precondition.get("source") or {}) if source else op.precondition
            prefix = f"counterparty:{ref}: " if source else ""
            if ref not in current:
                stale[op.op_id] = f"{prefix}deleted"
            elif planned.get("DataVersion") and current[ref] != planned["DataVersion"]:
                stale[op.op_id] = f"{prefix}DataVersion {planned['DataVersion']} → {current[ref]}"
        return stale

    def _stale_sources(self, ops: list[Operation], stale: dict[str, str]) -> dict[str, str]:
        """Creates whose *source* record changed or vanished since the plan: nothing is made from it.

        A create in 1C goes with the link of its Bitrix24 source (checked above); a create in Bitrix24
        carries its 1C source's ``DataVersion`` (``precondition.source``).
        """
        link_stale = {str(op.key.get("b24_key")): stale[op.op_id] for op in ops
                      if op.action == "link" and op.op_id in stale}
        out = {op.op_id: f"{op.key['b24_key']}: {link_stale[str(op.key['b24_key'])]}" for op in ops
               if op.action == "create" and op.target == "onec" and str(op.key.get("b24_key")) in link_stale}
        out.update(self._stale_1c(COUNTERPARTIES, {
            record_id(str(op.key["onec_key"])): op for op in ops if op.action == "create" and op.target == "bitrix24"
            and op.entity in ("company", "contact") and (op.precondition.get("source") or {}).get("DataVersion")},
            source=True))
        return out

    def _stale_documents(self, ops: list[Operation]) -> dict[str, str]:
        """Deals / leads changed since planned, and orders 1C changed since planned."""
        stale: dict[str, str] = {}
        for entity, source in DOCUMENTS.items():
            stale.update(self._stale_b24(source, {int(record_id(str(op.key["b24_key"]))): op for op in ops
                                                  if op.entity == entity}))
        for op_id, why in self._stale_1c(ORDERS, {op.target_id: op for op in ops
                                                  if op.entity == "order" and op.action == "update"}).items():
            stale.setdefault(op_id, why)
        return stale

    # -- the run ---------------------------------------------------------------------------------------

    def apply(self, plan: Plan, *, baseline: pd.DataFrame | None = None) -> ApplyReport:
        report = ApplyReport()
        plan_at = plan.created_at.isoformat()
        todo = [op for op in plan.operations if not self.journal.done_before(op.op_id, plan.plan_id, plan_at)]
        report.skipped = len(plan.operations) - len(todo)  # this plan given again: done ops are not re-sent
        self.journal.record(plan.plan_id, plan_at, todo)
        stale = self.stale_ops(todo)
        for op in todo:
            if op.op_id in stale:
                detail = stale[op.op_id]
                self.journal.mark([op.op_id], STALE, error=detail)
                report.stale.append((op, t(m.APPLY_STALE, target=op.target, entity=op.entity,
                                           record=op.target_id or op.key.get("b24_key") or op.key.get("onec_key"),
                                           detail=detail)))
        todo = [op for op in todo if op.op_id not in stale]
        baseline_by_pair = self._baseline_rows(baseline)
        onec_ops = [op for op in todo if op.target == "onec"]
        b24_ops = [op for op in todo if op.target == "bitrix24"]
        for op in onec_ops:  # 1C creates first: the Bitrix24 link operations then name existing objects
            if op.entity in DOCUMENTS:
                self._run_document(op, report)
            else:
                self._run_onec(op, report, baseline_by_pair)
        self._flush_write_backs(report)
        b24_ops = self._without_uncreated_targets(b24_ops, report)
        for chunk in self._b24_chunks(b24_ops):
            self._run_b24(chunk, report, baseline_by_pair)
        failed_pairs = {(op.key.get("b24_key"), op.key.get("onec_key")) for op, _ in (*report.failed, *report.stale)}
        quiet = [row for pair, rows in baseline_by_pair.items() if pair not in failed_pairs for row in rows]
        with self.journal.state.atomic():
            for row in quiet:
                self.journal.state.set_baseline(row["b24_key"], row["onec_key"], row["field"], row["value"])
        return report

    def _without_uncreated_targets(self, ops: list[Operation], report: ApplyReport) -> list[Operation]:
        """Drop the Bitrix24 ``link`` operations that stamp a 1C record whose create failed in this run.

        Sent anyway, the stamp would name a counterparty that does not exist, and every later run
        would hold the record back as a broken link instead of creating its counterparty again.
        Held back, the record stays unlinked and the next plan makes both operations again.
        """
        failed = {str(op.key.get("onec_key")): error for op, error in report.failed
                  if op.target == "onec" and op.action == "create"}
        kept = []
        for op in ops:
            error = failed.get(str(op.key.get("onec_key"))) if op.action == "link" else None
            if error is None:
                kept.append(op)
                continue
            message = t(m.APPLY_FAILED, target=op.target, entity=op.entity, record=op.target_id, error=error)
            self.journal.mark([op.op_id], FAILED, error=message)
            report.failed.append((op, message))
        return kept

    @staticmethod
    def _baseline_rows(baseline: pd.DataFrame | None) -> dict[tuple[str, str], list[dict[str, Any]]]:
        rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        if baseline is not None and len(baseline):
            for row in baseline[["b24_key", "onec_key", "field", "value"]].to_dict("records"):
                rows.setdefault((row["b24_key"], row["onec_key"]), []).append(row)
        return rows

    def _tick(self) -> None:
        if self.progress:
            self.progress(1)

    def _created_baseline(self, op: Operation, b24_key: str, onec_key: str) -> list[dict[str, Any]]:
        return [{"b24_key": b24_key, "onec_key": onec_key, "field": name, "value": _after(op, name)}
                for name in SYNC_FIELDS if name in op.fields]

    # -- 1C --------------------------------------------------------------------------------------------

    def _run_onec(self, op: Operation, report: ApplyReport, baselines: dict) -> None:
        self.journal.mark([op.op_id], SENDING)
        try:
            if op.action == "create":
                ref = self._create_onec(op)
                crashpoint("write.answered")
                pair = (op.key["b24_key"], f"counterparty:{ref}")
                self.journal.done(op, ref, [(*pair, op.entity)], self._created_baseline(op, *pair))
            else:
                self._update_onec(op)
                crashpoint("write.answered")
                pair = (op.key["b24_key"], op.key["onec_key"])
                self.journal.done(op, op.target_id or "", [(*pair, op.entity)],
                                  baselines.pop(pair, None) or self._created_baseline(op, *pair))
            report.done.append(op)
        except NotFound as exc:  # deleted in 1C after the plan was checked: nothing to write to
            self._vanished(op, report, str(exc))
        except B24SyncError as exc:
            self.journal.mark([op.op_id], FAILED, error=str(exc))
            report.failed.append((op, str(exc)))
        self._tick()

    def _vanished(self, op: Operation, report: ApplyReport, error: str) -> None:
        """The target record was deleted during the apply: stale (re-planned), not a failure."""
        self.journal.mark([op.op_id], STALE, error=error)
        report.stale.append((op, t(m.APPLY_STALE, target=op.target, entity=op.entity,
                                   record=op.target_id or op.key.get("b24_key") or op.key.get("onec_key"),
                                   detail="deleted")))

    def _contact_rows(self, op: Operation, existing: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
        phones = _after(op, "phones") if "phones" in op.fields else None
        emails = _after(op, "emails") if "emails" in op.fields else None
        address = _after(op, "legal_address") if "legal_address" in op.fields else None
        if phones is None and emails is None and address is None:
            return None
        rows = merge_rows(existing, phone_kind=self.kind("ТелефонКонтрагента"),
                          email_kind=self.kind("EmailКонтрагента"), phones=phones, emails=emails)
        if address is not None:
            legal = self.kind("ЮрАдресКонтрагента")
            rows = [r for r in rows if r.get("Вид_Key") != legal]
            if address:
                rows.append(address_row(legal, address))
            for number, row in enumerate(rows, start=1):
                row["LineNumber"] = number
        return rows

    def _create_onec(self, op: Operation) -> str:
        kind = str(_after(op, "kind", "legal"))
        name = str(_after(op, "name") or _after(op, "full_name") or "")
        if self.write_via.get("counterparty") == "http_service" and self.service is not None:
            body: dict[str, Any] = {"kind": ONEC_KIND[kind], "name": name,
                                    "contact_info": {"phones": _after(op, "phones", []),
                                                     "emails": _after(op, "emails", [])}}
            for src, dst in (("full_name", "full_name"), ("inn", "inn"), ("kpp", "kpp")):
                if _after(op, src):
                    body[dst] = _after(op, src)
            manager = self.onec_user(_after(op, "manager"))
            if manager:
                body["manager"] = {"ref": manager}
            result = self.service.put_counterparty(str(op.key["b24_key"]).replace(":", "-"), body)
            actual = result["counterparty"]["ref"]
            self.actual_refs[str(op.target_id)] = actual
            return actual
        # Both keys are derived from the Bitrix24 record, so a create that an earlier, interrupted run
        # made (its answer lost) is refused as «already exists» (code 15) rather than duplicated:
        # the POST goes first and that refusal is taken as done — no look-up before every create.
        ref = str(op.target_id)
        partner_ref = str(uuid.uuid5(PARTNER_NS, ref))
        partner = {"Ref_Key": partner_ref, "Description": name, "ЮрФизЛицо": PARTNER_KIND[kind], "Клиент": True}
        manager = self.onec_user(_after(op, "manager"))
        if manager:
            partner["ОсновнойМенеджер_Key"] = manager
        made_partner = _created(lambda: self.onec.create(PARTNERS, partner, record=str(op.key["b24_key"])))
        values: dict[str, Any] = {"Ref_Key": ref, "Description": name, "ЮрФизЛицо": ONEC_KIND[kind],
                                  "НаименованиеПолное": _after(op, "full_name") or name, "Партнер_Key": partner_ref}
        if _after(op, "inn"):
            values["ИНН"] = _after(op, "inn")
        if _after(op, "kpp"):
            values["КПП"] = _after(op, "kpp")
        rows = self._contact_rows(op, [])
        if rows:
            values["КонтактнаяИнформация"] = rows
        try:
            _created(lambda: self.onec.create(COUNTERPARTIES, values, record=str(op.key["b24_key"])))
            return ref
        except OneCError:  # refused (an answer, not a lost one): the partner made for it would be left alone
            if made_partner:
                self.onec.delete(PARTNERS, partner_ref)
            raise

    def _update_onec(self, op: Operation) -> None:
        ref = str(op.target_id)
        current = self.onec.get(COUNTERPARTIES, ref)
        if current is None:
            raise NotFound(404, "9", "Entity instance not found", operation=f"PATCH {COUNTERPARTIES}", record=ref)
        values: dict[str, Any] = {}
        for src, dst in (("name", "Description"), ("full_name", "НаименованиеПолное"), ("inn", "ИНН"), ("kpp", "КПП")):
            if src in op.fields:
                values[dst] = _after(op, src) or ""
        rows = self._contact_rows(op, current.get("КонтактнаяИнформация") or [])
        if rows is not None:
            values["КонтактнаяИнформация"] = rows
        if values:
            self.onec.update(COUNTERPARTIES, ref, values, data_version=current.get("DataVersion"),
                             record=str(op.key.get("b24_key")))
        if "manager" in op.fields and current.get("Партнер_Key"):
            manager = self.onec_user(_after(op, "manager"))
            if manager:
                self.onec.update(PARTNERS, current["Партнер_Key"], {"ОсновнойМенеджер_Key": manager},
                                 record=str(op.key.get("b24_key")))

    # -- documents (orders, interests) ------------------------------------------------------------------

    def _run_document(self, op: Operation, report: ApplyReport) -> None:
        """The 1C write now; the Bitrix24 write-back and ``done`` when the batch of write-backs goes."""
        self.journal.mark([op.op_id], SENDING)
        try:
            if op.entity == "order":
                payload = _after(op, "order")
                ref, total = self.documents.write_order(op.action, str(op.target_id), payload, op.precondition,
                                                        self.actual_refs)
                expected = Decimal(str(payload["amount"]))
                if abs(total - expected) > Decimal("0.01"):
                    report.warnings.append(t(m.ORDER_TOTAL_DIFFERS, deal=op.key["b24_key"], onec=total,
                                             b24=expected))
            else:
                ref = self.documents.write_interest(str(op.target_id), _after(op, "interest"), self.actual_refs)
        except (OneCError, B24SyncError) as exc:
            self.journal.mark([op.op_id], FAILED, error=str(exc))
            report.failed.append((op, str(exc)))
            self._tick()
            return
        self._write_backs.append((op, ref))
        if len(self._write_backs) >= MAX_BATCH:
            self._flush_write_backs(report)

    def _flush_write_backs(self, report: ApplyReport) -> None:
        pending, self._write_backs = self._write_backs, []
        if not pending:
            return
        commands = {}
        for n, (op, ref) in enumerate(pending):
            source, name = WRITE_BACK[op.entity]
            if op.action == "create":
                commands[f"w{n}"] = (f"crm.{source}.update", {"id": int(record_id(str(op.key["b24_key"]))),
                                                               "fields": {name: ref}})
        try:
            batch = self.b24.batch(commands) if commands else None
        except B24InDoubt as exc:
            for op, _ in pending:  # left `sending`: planned again next run, and found again in 1C
                report.failed.append((op, str(exc)))
            return
        for n, (op, ref) in enumerate(pending):
            error = batch.errors.get(f"w{n}") if batch is not None else None
            if error is not None:
                message = t(m.APPLY_FAILED, target="bitrix24", entity=WRITE_BACK[op.entity][0],
                            record=op.key["b24_key"], error=error)
                self.journal.mark([op.op_id], FAILED, error=message)
                report.failed.append((op, message))
            else:
                b24_key, kind = str(op.key["b24_key"]), op.entity
                seen = [{"b24_key": b24_key, "onec_key": f"{kind}:{ref}", "field": SEEN,
                         "value": op.precondition.get("DATE_MODIFY", "")}] if kind == "order" else []
                self.journal.done(op, ref, [(b24_key, f"{kind}:{ref}", WRITE_BACK[kind][0])], seen)
                report.done.append(op)
            self._tick()

    # -- Bitrix24 --------------------------------------------------------------------------------------

    def _commands(self, op: Operation, n: int) -> dict[str, tuple[str, dict[str, Any]]]:
        """The batch commands of one operation, keyed ``o{n}_*`` so results map back to it."""
        if op.entity in B24_DOCUMENTS:
            return self._document_commands(op, f"o{n}")
        fields: dict[str, Any] = {}
        if op.entity == "company" and "name" in op.fields:
            fields["TITLE"] = _after(op, "name")
        if op.entity == "contact" and "name" in op.fields:
            fields.update(_split_name(_after(op, "name")))
        for name in ("PHONE", "EMAIL"):
            if op.patch.get(name):
                fields[name] = op.patch[name]
        if "manager" in op.fields and self.b24_user(_after(op, "manager")):
            fields["ASSIGNED_BY_ID"] = self.b24_user(_after(op, "manager"))
        for name in ("UF_CRM_1C_ID", "ORIGINATOR_ID", "ORIGIN_ID"):
            if name in op.fields:
                value = str(_after(op, name) or "")
                fields[name] = self.actual_refs.get(value, value) if name == "UF_CRM_1C_ID" else value
        prefix = f"o{n}"
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        requisite = {"RQ_INN": _after(op, "inn"), "RQ_KPP": _after(op, "kpp"),
                     "RQ_COMPANY_FULL_NAME": _after(op, "full_name")}
        requisite = {k: v or "" for k, v in requisite.items()
                     if {"RQ_INN": "inn", "RQ_KPP": "kpp", "RQ_COMPANY_FULL_NAME": "full_name"}[k] in op.fields}
        if op.action == "create":
            fields["OPENED"] = "Y"
            commands[f"{prefix}_e"] = (f"crm.{op.entity}.add",
                                       {"fields": fields, "params": {"REGISTER_SONET_EVENT": "N"}})
            if op.entity == "company":
                preset = int(_after(op, "PRESET_ID", 1))
                commands[f"{prefix}_r"] = ("crm.requisite.add", {"fields": {
                    "ENTITY_TYPE_ID": 4, "ENTITY_ID": f"$result[{prefix}_e]", "PRESET_ID": preset,
                    "NAME": "Организация" if preset == 1 else "ИП", "RQ_COMPANY_NAME": _after(op, "name") or "",
                    **requisite}})
                if _after(op, "legal_address"):
                    commands[f"{prefix}_a"] = ("crm.address.add", {"fields": {
                        "TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": f"$result[{prefix}_r]",
                        "ADDRESS_1": _after(op, "legal_address")}})
            return commands
        if fields:
            commands[f"{prefix}_e"] = (f"crm.{op.entity}.update", {"id": int(op.target_id), "fields": fields})
        if op.entity == "company" and (requisite or "legal_address" in op.fields):
            commands.update(self._requisite_commands(op, prefix, requisite))
        return commands

    @staticmethod
    def _document_commands(op: Operation, prefix: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """A deal's stage, or a smart invoice with its product rows (rows chained by ``$result``)."""
        if op.entity == "deal":
            return {f"{prefix}_e": ("crm.deal.update", {"id": int(op.target_id), "fields": {
                "STAGE_ID": _after(op, "STAGE_ID")}})}
        if op.entity == "invoice_legacy":  # rows travel inside the fields; the portal sums PRICE from them
            fields = {name: change["after"] for name, change in op.fields.items()}
            if op.action == "create":
                return {f"{prefix}_e": ("crm.invoice.add", {"fields": fields})}
            return {f"{prefix}_e": ("crm.invoice.update", {"id": int(op.target_id), "fields": fields})}
        fields = {name: change["after"] for name, change in op.fields.items() if name != "productRows"}
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        if op.action == "create":
            commands[f"{prefix}_e"] = ("crm.item.add", {"entityTypeId": 31, "fields": fields})
            owner: Any = f"$result[{prefix}_e][item][id]"
        else:
            if fields:
                commands[f"{prefix}_e"] = ("crm.item.update", {"entityTypeId": 31, "id": int(op.target_id),
                                                               "fields": fields})
            owner = int(op.target_id)
        if "productRows" in op.fields:
            commands[f"{prefix}_r"] = ("crm.item.productrow.set", {"ownerType": "SI", "ownerId": owner,
                                                                   "productRows": _after(op, "productRows")})
        return commands

    def _document_done(self, op: Operation, result: Mapping[str, Any], first: str) -> None:
        if op.entity == "deal":
            seen = [{"b24_key": op.key["b24_key"], "onec_key": op.key["onec_key"], "field": STATUS_SEEN,
                     "value": _after(op, STATUS_SEEN)}]
            self.journal.done(op, str(op.target_id), [], seen)
        elif op.action == "create":
            answer = result.get(first)
            new_id = str(answer if op.entity == "invoice_legacy" else (answer or {}).get("item", {}).get("id", ""))
            self.journal.done(op, new_id, [(f"{op.entity}:{new_id}", str(op.key["onec_key"]), "invoice")], [])
        else:
            self.journal.done(op, str(op.target_id), [], [])

    def _prefetch_requisites(self, ops: list[Operation]) -> None:
        """Requisites and legal addresses of every company an operation touches, in a few requests."""
        touched = {"inn", "kpp", "full_name", "legal_address"}
        companies = sorted({int(op.target_id) for op in ops if op.target == "bitrix24" and op.entity == "company"
                            and op.action != "create" and touched & set(op.fields)})
        self._requisites: dict[int, list[dict[str, Any]]] = {}
        self._legal_addresses: set[int] = set()
        requisite_ids: list[int] = []
        for start in range(0, len(companies), 500):
            for row in export_all(self.b24, "requisite", select=["ID", "ENTITY_ID", "PRESET_ID", "SORT"],
                                  filters={"ENTITY_TYPE_ID": 4, "@ENTITY_ID": companies[start:start + 500]}):
                self._requisites.setdefault(int(row["ENTITY_ID"]), []).append(row)
                requisite_ids.append(int(row["ID"]))
        for start in range(0, len(requisite_ids), 500):
            chunk = requisite_ids[start:start + 500]
            for row in export_all(self.b24, "address", select=["TYPE_ID", "ENTITY_ID"],
                                  filters={"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "@ENTITY_ID": chunk}):
                self._legal_addresses.add(int(row["ENTITY_ID"]))

    def _requisite_commands(self, op: Operation, prefix: str, requisite: dict[str, Any]) -> dict[str, Any]:
        company = int(op.target_id)
        reqs = self._requisites.get(company, [])
        commands: dict[str, Any] = {}
        if reqs:
            rid: Any = min(reqs, key=lambda r: (r.get("SORT") or 0, r["ID"]))["ID"]
            if requisite:
                commands[f"{prefix}_r"] = ("crm.requisite.update", {"id": rid, "fields": requisite})
        else:
            inn = str(_after(op, "inn") or "")
            commands[f"{prefix}_r"] = ("crm.requisite.add", {"fields": {
                "ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 2 if len(inn) == 12 else 1,
                "NAME": "Организация", **requisite}})
            rid = f"$result[{prefix}_r]"
        if "legal_address" in op.fields:
            address = {"ADDRESS_1": _after(op, "legal_address") or "", "ADDRESS_2": "", "CITY": "", "POSTAL_CODE": "",
                       "REGION": "", "PROVINCE": "", "COUNTRY": ""}
            exists = bool(reqs) and int(rid) in self._legal_addresses
            method = "crm.address.update" if exists else "crm.address.add"
            commands[f"{prefix}_a"] = (method, {"fields": {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": rid,
                                                           **address}})
        return commands

    def _b24_chunks(self, ops: list[Operation]) -> Iterable[list[tuple[Operation, dict[str, Any]]]]:
        self._prefetch_requisites(ops)
        chunk: list[tuple[Operation, dict[str, Any]]] = []
        size = 0
        for n, op in enumerate(ops):
            commands = self._commands(op, n)
            if chunk and size + len(commands) > MAX_BATCH:
                yield chunk
                chunk, size = [], 0
            chunk.append((op, commands))
            size += len(commands)
        if chunk:
            yield chunk

    def _run_b24(self, chunk: list[tuple[Operation, dict[str, Any]]], report: ApplyReport, baselines: dict) -> None:
        ops = [op for op, _ in chunk]
        self.journal.mark([op.op_id for op in ops], SENDING)
        commands = {key: cmd for _, cmds in chunk for key, cmd in cmds.items()}
        try:
            batch = self.b24.batch(commands) if commands else None
        except B24InDoubt as exc:
            for op in ops:  # left `sending`: the next run looks each one up before anything else
                report.failed.append((op, str(exc)))
            return
        crashpoint("write.answered")
        for n, (op, cmds) in enumerate(chunk):
            if n == len(chunk) // 2:
                crashpoint("batch.mid_results")
            errors = [batch.errors[key] for key in cmds if batch is not None and key in batch.errors]
            if errors and op.action != "create" and all(_missing(e) for e in errors):
                self._vanished(op, report, str(errors[0]))
                continue
            if errors:
                message = t(m.APPLY_FAILED, target=op.target, entity=op.entity,
                            record=op.target_id or op.key.get("onec_key"), error=errors[0])
                self.journal.mark([op.op_id], FAILED, error=message)
                report.failed.append((op, message))
                continue
            if op.entity in B24_DOCUMENTS:
                self._document_done(op, batch.result if batch is not None else {}, next(iter(cmds), ""))
            elif op.action == "create":
                new_id = str(batch.result.get(next(iter(cmds))))
                pair = (f"{op.entity}:{new_id}", str(op.key["onec_key"]))
                self.journal.done(op, new_id, [(*pair, op.entity)], self._created_baseline(op, *pair))
            else:
                planned = record_id(str(op.key["onec_key"]))
                pair = (str(op.key["b24_key"]), f"counterparty:{self.actual_refs.get(planned, planned)}")
                self.journal.done(op, str(op.target_id), [(*pair, op.entity)],
                                  baselines.pop(pair, None) or self._created_baseline(op, *pair))
            report.done.append(op)
            self._tick()


def _missing(error: Any) -> bool:
    """A Bitrix24 answer meaning the record is gone (``Company is not found``, ``Not found``, …): the
    portal gives no code for it, only the text, which differs per entity."""
    return "not found" in str(getattr(error, "description", "")).lower()



def _created(post: Callable[[], Any]) -> bool:
    """Run a keyed POST: ``True`` when it made the object, ``False`` when the key already existed."""
    try:
        post()
    except OneCError as exc:
        if exc.code != ALREADY_EXISTS:
            raise
        return False
    return True

__all__ = ["ApplyReport", "Applier", "DONE", "FAILED", "PENDING", "STALE", "record_id"]
