"""The apply journal: every remote write is recorded before it is sent and marked after.

An operation moves ``pending → sending → done | failed | stale`` with each transition committed
on its own, so a run killed at any instant leaves an exact account: ``sending`` rows are the only
ones in doubt, and they are resolved by looking at the target system before anything else is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from b24sync.recon.plan import Operation
from b24sync.state import State, now_iso

PENDING, SENDING, DONE, FAILED, STALE = "pending", "sending", "done", "failed", "stale"


class Journal:
    def __init__(self, state: State, run_id: str) -> None:
        self.state, self.run_id = state, run_id
        self.table = state.db["journal"]

    def record(self, plan_id: str, operations: Iterable[Operation]) -> None:
        """Add the plan's operations (an op already journalled, e.g. done by an earlier run, is kept)."""
        rows = [{"op_id": op.op_id, "plan_id": plan_id, "run_id": self.run_id, "target": op.target,
                 "entity": op.entity, "action": op.action, "status": PENDING,
                 "operation": json.dumps(op.to_dict(), ensure_ascii=False), "remote_id": "", "attempts": 0,
                 "last_error": "", "updated_at": now_iso()} for op in operations]
        with self.state.atomic():
            self.table.insert_all(rows, pk="op_id", ignore=True)

    def status(self, op_id: str) -> str | None:
        row = self.state.db.execute("select status from journal where op_id = ?", [op_id]).fetchone()
        return row[0] if row else None

    def in_doubt(self) -> list[Operation]:
        rows = self.state.db.execute("select operation from journal where status = ?", [SENDING]).fetchall()
        return [Operation.from_dict(json.loads(row[0])) for row in rows]

    def mark(self, op_ids: Iterable[str], status: str, *, remote_id: str = "", error: str = "") -> None:
        with self.state.atomic():
            self._mark(op_ids, status, remote_id=remote_id, error=error)

    def _mark(self, op_ids: Iterable[str], status: str, *, remote_id: str = "", error: str = "") -> None:
        for op_id in op_ids:
            self.state.db.execute(
                "update journal set status = ?, remote_id = coalesce(nullif(?, ''), remote_id), last_error = ?, "
                "attempts = attempts + (? = 'sending'), updated_at = ? where op_id = ?",
                [status, remote_id, error, status, now_iso(), op_id])

    def done(self, op: Operation, remote_id: str, links: list[tuple[str, str, str]],
             baselines: list[dict[str, Any]]) -> None:
        """Mark an op done together with the links and baselines it establishes: one transaction."""
        with self.state.atomic():
            self._mark([op.op_id], DONE, remote_id=remote_id)
            for b24_key, onec_key, entity in links:
                self.state.add_link(b24_key, onec_key, entity, self.run_id)
            for row in baselines:
                self.state.set_baseline(row["b24_key"], row["onec_key"], row["field"], row["value"])
