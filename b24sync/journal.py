"""The apply journal: every remote write is recorded before it is sent and marked after.

An operation moves ``pending → sending → done | failed | stale`` with each transition committed
on its own, so a run killed at any instant leaves an exact account: ``sending`` rows are the only
ones in doubt, and they are resolved by looking at the target system before anything else is sent.

Rows are kept per run (``run_id``, ``op_id``): each run's account stays in the history, and an op
is skipped as already done only when the *same plan* did it (``apply PLAN`` given twice: the same
``plan_id`` and ``created_at``, kept in ``plan_at``). A fresh
plan is fresh truth: if it plans a write identical to one an earlier run made, the value changed
back in between and the write is due again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from b24sync.crashpoints import crashpoint
from b24sync.recon.plan import Operation
from b24sync.state import State, now_iso

PENDING, SENDING, DONE, FAILED, STALE = "pending", "sending", "done", "failed", "stale"


class Journal:
    def __init__(self, state: State, run_id: str) -> None:
        self.state, self.run_id = state, run_id
        self.table = state.db["journal"]

    def record(self, plan_id: str, plan_at: str, operations: Iterable[Operation]) -> None:
        """Add the plan's operations as this run's rows (pending)."""
        rows = [{"op_id": op.op_id, "plan_id": plan_id, "plan_at": plan_at, "run_id": self.run_id, "target": op.target,
                 "entity": op.entity, "action": op.action, "status": PENDING,
                 "operation": json.dumps(op.to_dict(), ensure_ascii=False), "remote_id": "", "attempts": 0,
                 "last_error": "", "updated_at": now_iso()} for op in operations]
        with self.state.atomic():
            self.table.insert_all(rows, pk=("run_id", "op_id"), ignore=True)

    def done_before(self, op_id: str, plan_id: str, plan_at: str) -> bool:
        """Whether this very plan's op was done already (by this run or an earlier one)."""
        row = self.state.db.execute(
            "select 1 from journal where op_id = ? and plan_id = ? and plan_at = ? and status = ? limit 1",
            [op_id, plan_id, plan_at, DONE]).fetchone()
        return row is not None

    def status(self, op_id: str) -> str | None:
        """The op's status in this run's account (``None`` when this run has not journalled it)."""
        row = self.state.db.execute("select status from journal where run_id = ? and op_id = ?",
                                    [self.run_id, op_id]).fetchone()
        return row[0] if row else None

    def in_doubt(self) -> list[Operation]:
        rows = self.state.db.execute("select operation from journal where status = ?", [SENDING]).fetchall()
        return [Operation.from_dict(json.loads(row[0])) for row in rows]

    def mark(self, op_ids: Iterable[str], status: str, *, remote_id: str = "", error: str = "") -> None:
        with self.state.atomic():
            self._mark(op_ids, status, remote_id=remote_id, error=error)
        if status == SENDING:
            crashpoint("journal.after_sending_commit")

    def _mark(self, op_ids: Iterable[str], status: str, *, remote_id: str = "", error: str = "") -> None:
        # this run's row, or the row an interrupted run left in doubt (being settled now)
        for op_id in op_ids:
            self.state.db.execute(
                "update journal set status = ?, remote_id = coalesce(nullif(?, ''), remote_id), last_error = ?, "
                "attempts = attempts + (? = 'sending'), updated_at = ? "
                "where op_id = ? and (run_id = ? or status = 'sending')",
                [status, remote_id, error, status, now_iso(), op_id, self.run_id])

    def done(self, op: Operation, remote_id: str, links: list[tuple[str, str, str]],
             baselines: list[dict[str, Any]]) -> None:
        """Mark an op done together with the links and baselines it establishes: one transaction."""
        with self.state.atomic():
            self._mark([op.op_id], DONE, remote_id=remote_id)
            for b24_key, onec_key, entity in links:
                self.state.add_link(b24_key, onec_key, entity, self.run_id)
            for row in baselines:
                self.state.set_baseline(row["b24_key"], row["onec_key"], row["field"], row["value"])
        crashpoint("apply.after_done")
