"""Rendering plans and apply reports: rich tables for people, JSON and CSV for machines.

Nothing here decides anything; it only shows what the plan and the report hold.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from b24sync import messages as m
from b24sync.i18n import t
from b24sync.recon.plan import Operation, Plan

MAX_ROWS = 40


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    text = "∅" if value in (None, "", []) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _document(value: dict[str, Any]) -> str:
    """An order or interest payload in one or a few lines a person can check."""
    if "items" in value:
        rows = "; ".join(f"{i['name']} × {i['quantity']}" for i in value["items"][:4])
        more = f"; +{len(value['items']) - 4}" if len(value["items"]) > 4 else ""
        return t(m.SHOW_ORDER, rows=rows + more, amount=value["amount"], currency=value.get("currency_code", ""))
    return t(m.SHOW_INTEREST, title=value.get("title", ""), amount=value.get("amount", 0))


def _changes(op: Operation) -> str:
    lines = []
    for name, change in op.fields.items():
        if isinstance(change.get("after"), dict):
            lines.append(f"{name}: {_document(change['after'])}")
            continue
        if op.action == "create":
            lines.append(f"{name}: {_short(change.get('after'))}")
        else:
            lines.append(f"{name}: {_short(change.get('before'))} → {_short(change.get('after'))}")
    return "\n".join(lines)


def _record(op: Operation) -> str:
    if op.action == "create":
        return f"← {op.key.get('onec_key') if op.target == 'bitrix24' else op.key.get('b24_key')}"
    return str(op.key.get("b24_key") if op.target == "bitrix24" else op.key.get("onec_key"))


def plan_summary(console: Console, plan: Plan) -> None:
    """The counts only — per target and entity, then one line of conflicts, rejected edits and issues.

    For scheduled runs: the journal in the state keeps every operation, and a timer's output in the
    system journal should say what happened in a few lines, not a table per record.
    """
    _summary_table(console, plan)
    console.print(t(m.PLAN_SUMMARY_LINE, conflicts=len(plan.conflicts), rejected=len(plan.rejected_edits),
                    issues=len(plan.issues)), markup=False, highlight=False)


def plan_table(console: Console, plan: Plan, max_rows: int = MAX_ROWS) -> None:
    """Summary per target and entity, then the operations, conflicts, rejected edits and issues."""
    _summary_table(console, plan)
    _rows(console, t(m.OPS_TITLE), (m.COL_ACTION, m.COL_SIDE, m.COL_RECORD, m.COL_FIELDS, m.COL_REASON),
          [(op.action, f"{op.target} {op.entity}", _record(op), _changes(op), op.reason) for op in plan.operations],
          max_rows)
    _rows(console, t(m.CONFLICTS_TITLE), (m.COL_KIND, m.COL_RECORD, m.COL_DETAIL),
          [(c.kind, ", ".join(map(str, c.records)), c.message()) for c in plan.conflicts], max_rows)
    _rows(console, t(m.REJECTED_TITLE), (m.COL_RECORD, m.COL_DETAIL),
          [(f"{r.b24_key} / {r.onec_key}", r.message()) for r in plan.rejected_edits], max_rows)
    _rows(console, t(m.ISSUES_TITLE), (m.COL_RECORD, m.COL_DETAIL),
          [(i.record_key, i.message()) for i in plan.issues], max_rows)


def _summary_table(console: Console, plan: Plan) -> None:
    summary = Table(title=t(m.PLAN_TITLE, plan_id=plan.plan_id, total=len(plan.operations)))
    for column in (m.COL_SIDE, m.COL_ENTITY, m.COL_CREATE, m.COL_UPDATE, m.COL_LINK):
        summary.add_column(t(column), justify="right" if column in (m.COL_CREATE, m.COL_UPDATE, m.COL_LINK) else "left")
    for target, entities in plan.summary.get("operations", {}).items():
        for entity, counts in entities.items():
            summary.add_row(target, entity, str(counts.get("create", 0)), str(counts.get("update", 0)),
                            str(counts.get("link", 0)))
    console.print(summary)


def _rows(console: Console, title: str, columns: Sequence[str], rows: list[tuple[str, ...]], max_rows: int) -> None:
    if not rows:
        return
    table = Table(title=title, show_lines=True)
    for column in columns:
        table.add_column(t(column))
    for row in rows[:max_rows]:
        table.add_row(*row)
    console.print(table)
    if len(rows) > max_rows:
        console.print(t(m.MORE_ROWS, count=len(rows) - max_rows))


def plan_json(plan: Plan) -> str:
    return plan.to_json()


def plan_csv(plan: Plan) -> str:
    """One row per field change: op_id, action, target, entity, target_id, field, before, after, reason."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["op_id", "action", "target", "entity", "target_id", "b24_key", "onec_key", "field", "before",
                     "after", "reason"])
    for op in plan.operations:
        for name, change in op.fields.items():
            writer.writerow([op.op_id, op.action, op.target, op.entity, op.target_id or "", op.key.get("b24_key") or "",
                             op.key.get("onec_key") or "", name,
                             json.dumps(change.get("before"), ensure_ascii=False),
                             json.dumps(change.get("after"), ensure_ascii=False), change.get("reason", op.reason)])
    return out.getvalue()
