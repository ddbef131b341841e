"""Revert: put back the values one run wrote, from the journal's before-images.

Every ``done`` update and link of a run names, per field, the value before and after. A revert
writes the *before* value back wherever the record still holds what the run wrote; a field
changed since (by a person or a later run) is kept and listed, never overwritten. What the run
created is listed for a person to review — b24sync never deletes — and so are its link stamps
(unlinking is a decision about identity, not a value) and its document operations (orders,
interests, invoices, deal stages: 1C documents have their own lifecycle).

The revert is an ordinary plan: shown first, then applied through the journal with the same
precondition checks as any run, and recorded as a run of its own (so it can be reverted too).
Note that an ownership rule still holds afterwards: reverting a value b24sync copied from its owner
lasts only until the owner's value is changed or the rule is — revert is for undoing a run made
with a wrong rule or from wrong owner data, after that has been fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import B24SyncError
from b24sync.i18n import t
from b24sync.journal import DONE
from b24sync.manual import apply_as_run, value_update
from b24sync.recon.diff import jsonable
from b24sync.recon.model import SYNC_FIELDS
from b24sync.recon.plan import Operation, Plan, with_operations
from b24sync.state import State

PARTIES = ("company", "contact", "counterparty")


class RevertRefused(B24SyncError):
    """The run cannot be reverted as asked (unknown or ambiguous id); the message says why."""


@dataclass
class RevertPlan:
    """The operations that put values back, and what a person has to look at instead."""

    run_id: str
    plan: Plan
    review: list[str] = field(default_factory=list)  # creates, link stamps, documents: listed, not written
    kept: list[str] = field(default_factory=list)  # fields changed since the run, or records gone: not written


def find_run(state: State, run: str) -> dict[str, Any]:
    """The run whose id is ``run`` or starts with it (at least 6 characters)."""
    if len(run) < 6:
        raise RevertRefused(t(m.REVERT_NO_RUN, run=run))
    rows = list(state.db.execute("select run_id, command, started_at, status from runs where run_id like ? "
                                 "order by started_at", [run.replace("%", "") + "%"]).fetchall())
    if not rows:
        raise RevertRefused(t(m.REVERT_NO_RUN, run=run))
    if len(rows) > 1:
        raise RevertRefused(t(m.REVERT_AMBIGUOUS_RUN, run=run, count=len(rows)))
    run_id, command, started_at, status = rows[0]
    return {"run_id": run_id, "command": command, "started_at": started_at, "status": status}


def done_operations(state: State, run_id: str) -> list[Operation]:
    rows = state.db.execute("select operation from journal where run_id = ? and status = ? order by updated_at",
                            [run_id, DONE]).fetchall()
    return [Operation.from_dict(json.loads(row[0])) for row in rows]


def _value(value: Any) -> Any:
    value = jsonable(value)
    if isinstance(value, list | tuple):
        return sorted(str(v) for v in value)
    return "" if value is None else value


def plan_revert(ops: list[Operation], b24: pd.DataFrame, onec: pd.DataFrame, run_id: str) -> RevertPlan:
    """The revert of ``ops`` (one run's done operations) against the records as they are now.

    ``b24`` / ``onec``: the normalized party frames (key, version, the synced fields, raw_phones …).
    """
    rows = {side: frame.set_index("key", drop=False) for side, frame in (("bitrix24", b24), ("onec", onec))}
    out: list[Operation] = []
    revert = RevertPlan(run_id, Plan(plan_id="", created_at=datetime.now(UTC), operations=()))
    for op in ops:
        record = str(op.target_id or op.key.get("b24_key") or op.key.get("onec_key"))
        if op.entity not in PARTIES:
            revert.review.append(t(m.REVERT_REVIEW_DOCUMENT, action=op.action, entity=op.entity, record=record))
            continue
        if op.action == "create":
            revert.review.append(t(m.REVERT_REVIEW_CREATE, target=op.target, entity=op.entity,
                                   record=op.key.get("onec_key") if op.target == "bitrix24" else record))
            continue
        if op.action == "link":
            revert.review.append(t(m.REVERT_REVIEW_LINK, b24=op.key.get("b24_key"), onec=op.key.get("onec_key")))
        key = str(op.key["b24_key"] if op.target == "bitrix24" else op.key["onec_key"])
        frame = rows[op.target]
        if key not in frame.index:
            revert.kept.append(t(m.REVERT_KEPT_GONE, record=key))
            continue
        current = frame.loc[key]
        fields: dict[str, dict[str, Any]] = {}
        for name, change in op.fields.items():
            if name not in SYNC_FIELDS:
                continue
            now = _value(current[name])
            if now != _value(change["after"]):
                revert.kept.append(t(m.REVERT_KEPT_CHANGED, record=key, field=name, now=jsonable(current[name])))
                continue
            fields[name] = {"before": jsonable(current[name]), "after": change["before"], "reason": "revert"}
        if not fields:
            continue
        out.append(value_update(op.target, op.entity, str(op.target_id), op.key, fields, "revert", current))
    revert.plan = with_operations(revert.plan, out)
    return revert


def prepare_revert(config: Config, run: str, progress: Callable[..., Any] | None = None) -> RevertPlan:
    """Read both systems in full (no writes) and plan the revert of ``run``."""
    from b24sync.pipeline import prepare
    from b24sync.reconcile import clients

    state = State(config.state_path)
    found = find_run(state, run)
    ops = done_operations(state, found["run_id"])
    if not ops:
        raise RevertRefused(t(m.REVERT_NOTHING_DONE, run=found["run_id"]))
    b24, onec, _ = clients(config)
    prepared = prepare(config, state, b24, onec, full=True, progress=progress, keep_frames=True)
    assert prepared.frames is not None
    return plan_revert(ops, *prepared.frames, found["run_id"])


def apply_revert(config: Config, revert: RevertPlan, progress: Callable[[int], None] | None = None) -> Any:
    """Apply a revert plan through the journal, as a run of its own; returns the apply report."""
    return apply_as_run(config, revert.plan, f"revert {revert.run_id}", progress)


__all__ = ["RevertPlan", "RevertRefused", "apply_revert", "done_operations", "find_run", "plan_revert",
           "prepare_revert"]
