"""Open conflicts: what the last full run held back, with the records on each side, and their resolution.

A run never guesses (docs/reconciliation.md §2); what it refused to decide is kept in the state
(``conflicts``) with the facts of each record, so ``b24sync conflicts`` can show them without reading
either system. The resolution a person makes after looking at both records is a link by hand: the
two records are linked in the state (``resolutions`` keeps who decided what and when), and the next
``reconcile`` treats the pair like any stored link — it stamps ``UF_CRM_1C_ID`` and syncs the fields
by their owners; the other records of the group stay held back as ``already_linked``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import B24SyncError
from b24sync.extract import COUNTERPARTIES
from b24sync.i18n import t
from b24sync.lock import RunLock
from b24sync.recon.model import Conflict
from b24sync.state import State

ENTITIES = ("company", "contact")


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


__all__ = ["OpenConflict", "ResolutionRefused", "conflict_rows", "link_by_hand", "open_conflicts", "refresh"]
