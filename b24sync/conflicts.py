"""Open conflicts: what the last full run held back, with the records on each side, and their resolution.

A run never guesses (docs/reconciliation.md §2); what it refused to decide is kept in the state
(``conflicts``) with the facts of each record, so ``b24sync conflicts`` can show them without reading
either system. A person resolves a conflict in one of two ways, each recorded in ``resolutions`` (what was decided
and when):

- *who is who* (duplicates, ambiguous keys): a link by hand. The two records are linked in the state,
  and the next ``reconcile`` treats the pair like any stored link — it stamps ``UF_CRM_1C_ID`` and
  syncs the fields by their owners; the other records of the group stay held back as
  ``already_linked``.
- *which value* (``field_undecided``: a field both sides changed with no way to tell the newer edit,
  or a value that fails its checks): a side is picked. Its current value is written to the other
  side at once, after the plan is shown — an ordinary update with the record's version as its
  precondition — so both sides agree and the next run has nothing to decide.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import B24SyncError
from b24sync.extract import COUNTERPARTIES
from b24sync.i18n import t
from b24sync.lock import RunLock
from b24sync.recon import model as md
from b24sync.recon.diff import jsonable
from b24sync.recon.model import Conflict
from b24sync.recon.plan import Plan, with_operations
from b24sync.state import State

ENTITIES = ("company", "contact")


SIDES = {"bitrix24": md.B24, "1c": md.ONEC, "onec": md.ONEC}


class ResolutionRefused(B24SyncError):
    """A hand resolution that cannot be made as asked; the message names the record and why."""


@dataclass(frozen=True)
class OpenConflict:
    """One conflict as stored: ``facts`` maps each record key to what the run read of it."""

    conflict_id: str
    kind: str
    entity: str
    reason: str
    records: tuple[str, ...]
    detail: dict[str, Any]
    facts: dict[str, dict[str, Any]]
    first_seen: str
    last_seen: str

    def message(self) -> str:
        return Conflict(self.kind, self.entity, self.records, self.reason, self.detail).message()


def conflict_id(conflict: Conflict) -> str:
    """Stable across runs: the same records held back for the same reason are the same conflict."""
    text = json.dumps([conflict.kind, conflict.reason, list(conflict.records)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def conflict_rows(conflicts: Iterable[Conflict], records: pd.DataFrame | None) -> list[dict[str, Any]]:
    """State rows for a run's conflicts, with the facts of their records (``records``: key, name, inn, …)."""
    facts: dict[str, dict[str, Any]] = {}
    if records is not None:
        for row in records.to_dict("records"):
            facts[row["key"]] = {name: list(value) if isinstance(value, tuple) else value
                                 for name, value in row.items() if name != "key"}
    rows = {}
    for conflict in conflicts:
        cid = conflict_id(conflict)
        rows[cid] = {"conflict_id": cid, "kind": conflict.kind, "entity": conflict.entity, "reason": conflict.reason,
                     "records": json.dumps(list(conflict.records), ensure_ascii=False),
                     "detail": json.dumps(dict(conflict.detail), ensure_ascii=False, default=str),
                     "facts": json.dumps({k: facts[k] for k in conflict.records if k in facts}, ensure_ascii=False,
                                         default=str)}
    return list(rows.values())


def open_conflicts(state: State) -> list[OpenConflict]:
    return [OpenConflict(row["conflict_id"], row["kind"], row["entity"], row["reason"],
                         tuple(json.loads(row["records"])), json.loads(row["detail"]), json.loads(row["facts"]),
                         row["first_seen"], row["last_seen"])
            for row in state.open_conflicts()]


def refresh(config: Config, progress: Callable[..., Any] | None = None) -> list[OpenConflict]:
    """Read both systems in full, plan without writing, and store the conflicts found (no watermark moves)."""
    from b24sync.pipeline import prepare
    from b24sync.reconcile import clients

    with RunLock(config.state_path, "conflicts"):
        state = State(config.state_path)
        run_id = state.start_run("conflicts --refresh")
        try:
            b24, onec, _ = clients(config)
            prepared = prepare(config, state, b24, onec, full=True, progress=progress)
        except BaseException:
            state.finish_run(run_id, "failed", {})
            raise
        state.set_conflicts(conflict_rows(prepared.plan.conflicts, prepared.conflicted), run_id)
        state.finish_run(run_id, "planned", {"conflicts": len(prepared.plan.conflicts)})
        return open_conflicts(state)


def link_by_hand(config: Config, b24_key: str, onec_ref: str) -> list[str]:
    """Link a Bitrix24 company/contact and a 1C counterparty a person has checked are the same party.

    Both must exist, be of matching kinds (a contact is a person, ``ФизЛицо``) and be linked to
    nothing else. Returns the ids of the open conflicts the resolution concerns.
    """
    from b24sync.reconcile import clients

    entity, _, number = b24_key.partition(":")
    if entity not in ENTITIES or not number.isdigit():
        raise ResolutionRefused(t(m.CONFLICTS_BAD_B24_KEY, key=b24_key))
    try:
        ref = str(uuid.UUID(onec_ref.removeprefix("counterparty:")))
    except ValueError:
        raise ResolutionRefused(t(m.CONFLICTS_BAD_ONEC_REF, ref=onec_ref)) from None
    onec_key = f"counterparty:{ref}"
    with RunLock(config.state_path, "conflicts link"):
        state = State(config.state_path)
        for link in state.links():
            if link["b24_key"] == b24_key:
                raise ResolutionRefused(t(m.CONFLICTS_ALREADY_LINKED, record=b24_key, other=link["onec_key"]))
            if link["onec_key"] == onec_key:
                raise ResolutionRefused(t(m.CONFLICTS_ALREADY_LINKED, record=onec_key, other=link["b24_key"]))
        b24, onec, _ = clients(config)
        found = b24.call(f"crm.{entity}.list", {"filter": {"ID": int(number)}, "select": ["ID"]})
        if not found:
            raise ResolutionRefused(t(m.CONFLICTS_MISSING, record=b24_key))
        counterparty = onec.get(COUNTERPARTIES, ref)
        if counterparty is None or counterparty.get("DeletionMark"):
            raise ResolutionRefused(t(m.CONFLICTS_MISSING, record=onec_key))
        person = counterparty.get("ЮрФизЛицо") == "ФизЛицо"
        if person != (entity == "contact"):
            raise ResolutionRefused(t(m.CONFLICTS_KIND_MISMATCH, b24=b24_key, onec=onec_key,
                                      kind=counterparty.get("ЮрФизЛицо")))
        run_id = state.start_run("conflicts link")
        concerned = [c.conflict_id for c in open_conflicts(state) if {b24_key, onec_key} & set(c.records)]
        with state.atomic():
            state.add_link(b24_key, onec_key, entity, run_id)
            for cid in concerned or [""]:
                state.add_resolution(cid, "link", b24_key, onec_key)
        state.finish_run(run_id, "ok", {"linked": 1})
        return concerned


def find_conflict(state: State, conflict: str) -> OpenConflict:
    """The open conflict whose id is ``conflict`` or starts with it (at least 6 characters)."""
    found = [c for c in open_conflicts(state) if len(conflict) >= 6 and c.conflict_id.startswith(conflict)]
    if len(found) != 1:
        raise ResolutionRefused(t(m.CONFLICTS_NO_SUCH, conflict=conflict, count=len(found)))
    return found[0]


@dataclass
class PickPlan:
    """The write that makes both sides hold the picked side's value (``plan`` is empty when they agree)."""

    conflict: OpenConflict
    side: str
    field: str
    value: Any
    plan: Plan


def _same(a: Any, b: Any) -> bool:
    a, b = jsonable(a), jsonable(b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(map(str, a)) == sorted(map(str, b))
    return (a or None) == (b or None)


def _check_pickable(conflict: OpenConflict, side: str) -> None:
    """Only a conflict about a value has sides to pick, and only the two systems are sides."""
    if conflict.kind != "field_undecided":
        raise ResolutionRefused(t(m.CONFLICTS_PICK_NOT_FIELD, conflict=conflict.conflict_id))
    if side not in SIDES:
        raise ResolutionRefused(t(m.CONFLICTS_PICK_BAD_SIDE, side=side))


def plan_pick(conflict: OpenConflict, side: str, b24: pd.DataFrame, onec: pd.DataFrame) -> PickPlan:
    """The update that writes ``side``'s current value of the conflict's field to the other side.

    ``b24`` / ``onec``: the normalized party frames as read now. Refused for a conflict about who is
    who (those are resolved by a link), for a side whose value is the one that fails its checks, and
    for records that are gone.
    """
    from b24sync.manual import value_update

    _check_pickable(conflict, side)
    source = SIDES[side]
    target = md.ONEC if source == md.B24 else md.B24
    name = str(conflict.detail["field"])
    b24_key, onec_key = conflict.records
    rows = {}
    for where, key, frame in ((md.B24, b24_key, b24), (md.ONEC, onec_key, onec)):
        hit = frame[frame["key"] == key]
        if hit.empty:
            raise ResolutionRefused(t(m.CONFLICTS_MISSING, record=key))
        rows[where] = hit.iloc[0]
    value = jsonable(rows[source][name])
    if conflict.reason == "invalid_value" and _same(value, conflict.detail.get("value")):
        raise ResolutionRefused(t(m.CONFLICTS_PICK_INVALID, side=side, field=name, value=value))
    now = datetime.now(UTC)
    plan = Plan(plan_id="", created_at=now, operations=())
    current = rows[target]
    if not _same(current[name], value):
        entity = md.COUNTERPARTY if target == md.ONEC else b24_key.partition(":")[0]
        key = b24_key if target == md.B24 else onec_key
        op = value_update(target, entity, md.record_id(key), {"b24_key": b24_key, "onec_key": onec_key},
                          {name: {"before": jsonable(current[name]), "after": value, "reason": "picked"}},
                          "picked", current)
        plan = with_operations(plan, [op])
    return PickPlan(conflict, side, name, value, plan)


def prepare_pick(config: Config, conflict: str, side: str, progress: Callable[..., Any] | None = None) -> PickPlan:
    """Read both systems in full (no writes) and plan the pick of ``side`` in ``conflict``."""
    from b24sync.pipeline import prepare
    from b24sync.reconcile import clients

    state = State(config.state_path)
    found = find_conflict(state, conflict)
    _check_pickable(found, side)  # before the full read, not after it
    b24, onec, _ = clients(config)
    prepared = prepare(config, state, b24, onec, full=True, progress=progress, keep_frames=True)
    assert prepared.frames is not None
    return plan_pick(found, side, *prepared.frames)


def apply_pick(config: Config, picked: PickPlan, progress: Callable[[int], None] | None = None) -> Any:
    """Write the picked value (if the sides differ) and record the resolution; returns the apply report.

    The conflict is closed only when the write is done (or there was nothing to write); a stale or
    failed write leaves it open, to be picked again after the next full read.
    """
    from b24sync.manual import apply_as_run

    conflict = picked.conflict
    b24_key, onec_key = conflict.records

    def record(report: Any) -> None:
        if report.ok and not report.stale:
            state = State(config.state_path)
            with state.atomic():
                state.add_resolution(conflict.conflict_id, f"pick:{SIDES[picked.side]}", b24_key, onec_key)
                state.close_conflict(conflict.conflict_id)

    return apply_as_run(config, picked.plan, f"conflicts pick {conflict.conflict_id}", progress, after=record)


__all__ = ["OpenConflict", "PickPlan", "ResolutionRefused", "apply_pick", "conflict_rows", "find_conflict",
           "link_by_hand", "open_conflicts", "plan_pick", "prepare_pick", "refresh"]
