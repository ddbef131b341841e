"""The library entry point of reconciliation: extract → normalize → match → diff → plan.

Nothing here writes to either system. ``prepare`` returns the plan together with what apply and
the state need afterwards (the baseline rows to store, the next watermark and 1C versions). An
incremental run reads only what changed since the stored watermark / DataVersions, plus the
counterparts of linked records; when a change touches a record that is not linked yet, matching
needs the whole other side, so the run reads both sides in full instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pandas as pd

from b24sync.config import Config
from b24sync.extract import COUNTERPARTIES, Bitrix24Snapshot, OneCSnapshot, extract_bitrix24, extract_onec
from b24sync.recon.diff import DiffResult, diff
from b24sync.recon.match import MatchResult, match
from b24sync.recon.model import Conflict, Issue, record_id
from b24sync.recon.normalize import normalize_bitrix24, normalize_onec
from b24sync.recon.plan import Plan, build_plan
from b24sync.recon.rules import FieldRules
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.onec.client import OneCClient
from b24sync.sources.onec.literals import EMPTY_GUID, any_of
from b24sync.state import State

WATERMARK = "bitrix24.parties"
REMATCH = "rematch.parties"  # set by a run that changed a match key (INN, KPP, e-mail) of a linked record
MATCH_KEYS = frozenset({"inn", "kpp", "emails"})
Progress = Callable[[str], Callable[[int], None] | None]


@dataclass
class Prepared:
    """A plan and what must be recorded once it is applied."""

    plan: Plan
    baseline: pd.DataFrame
    pairs: pd.DataFrame
    b24: Bitrix24Snapshot
    onec: OneCSnapshot
    full: bool
    conflicted: pd.DataFrame | None = None  # the records the plan's conflicts name: key, name, inn, kpp, …
    frames: tuple[pd.DataFrame, pd.DataFrame] | None = None  # normalized Bitrix24 / 1C parties (keep_frames)

    @property
    def next_watermark(self) -> datetime | None:
        return self.b24.newest


def _links(state: State, only: set[str] | None) -> pd.DataFrame:
    links = pd.DataFrame(state.links(), columns=["b24_key", "onec_key", "entity", "created_at", "run_id"])
    links = links[links["onec_key"].str.startswith("counterparty:")]  # documents have links of their own
    if only:
        links = links[links["b24_key"].str.split(":").str[0].isin(only)]
    return links[["b24_key", "onec_key"]].reset_index(drop=True)


def _ids(keys: pd.Series, entity: str) -> list[int]:
    return [int(k.split(":")[1]) for k in keys if k.startswith(f"{entity}:")]


def _hold_shared_partner_managers(decided: DiffResult, pairs: pd.DataFrame, b24: pd.DataFrame,
                                  onec_snap: OneCSnapshot) -> DiffResult:
    """1C keeps the manager on the partner, which branches share: when the Bitrix24 records of one
    partner disagree on the manager, any write would flip it back and forth, so none is made."""
    if decided.decisions.empty or "Партнер_Key" not in onec_snap.counterparties:
        return decided
    partner = dict(zip("counterparty:" + onec_snap.counterparties["Ref_Key"].astype(str),
                       onec_snap.counterparties["Партнер_Key"], strict=True))
    frame = pairs[["b24_key", "onec_key"]].copy()
    frame["partner"] = frame["onec_key"].map(partner)
    frame["manager"] = frame["b24_key"].map(dict(zip(b24["key"], b24["manager"], strict=True)))
    frame = frame[frame["partner"].notna() & (frame["manager"].fillna("") != "")]
    counts = frame.groupby("partner")["manager"].nunique()
    shared = frame[frame["partner"].isin(counts[counts > 1].index)]
    if shared.empty:
        return decided
    held = set(shared["onec_key"])
    mask = (decided.decisions["field"] == "manager") & (decided.decisions["target"] == "onec") & \
        decided.decisions["onec_key"].isin(held)
    conflicts = [Conflict("field_undecided", "counterparty", tuple(sorted(group["b24_key"])), "shared_partner",
                          {"field": "manager"}) for _, group in shared.groupby("partner")]
    return replace(decided, decisions=decided.decisions[~mask].reset_index(drop=True),
                   conflicts=[*decided.conflicts, *conflicts])


def _hold_partnerless_managers(decided: DiffResult, onec_snap: OneCSnapshot) -> tuple[DiffResult, list[Issue]]:
    """A counterparty without a partner (an exchange can load one) has nowhere to keep a manager:
    the decision is dropped and reported, instead of being planned, "applied" as nothing, every run."""
    rows = decided.decisions
    if rows.empty or "Партнер_Key" not in onec_snap.counterparties:
        return decided, []
    target = (rows["field"] == "manager") & (rows["target"] == "onec")
    if not target.any():
        return decided, []
    partner = dict(zip("counterparty:" + onec_snap.counterparties["Ref_Key"].astype(str),
                       onec_snap.counterparties["Партнер_Key"].fillna("").astype(str), strict=True))
    mask = target & rows["onec_key"].map(partner).fillna("").isin(["", EMPTY_GUID])
    issues = [Issue(key, "manager", str(after), "manager_no_partner")
              for key, after in zip(rows.loc[mask, "onec_key"], rows.loc[mask, "after"], strict=True)]
    return replace(decided, decisions=rows[~mask].reset_index(drop=True)), issues


def _hold_deleted_twins(matched: MatchResult, b24: pd.DataFrame, onec: pd.DataFrame) -> MatchResult:
    """An unmatched Bitrix24 record whose key (INN, e-mail) belongs to a counterparty marked for
    deletion in 1C is reported, not created again: re-creating it would undo the accountant's
    decision and put a second record with that INN into 1C."""
    deleted = onec[onec["deleted"].to_numpy(dtype=bool)]
    if deleted.empty or matched.unmatched_b24.empty:
        return matched
    by_inn = {inn: key for inn, key in zip(deleted["inn"], deleted["key"], strict=True) if inn}
    by_email = {e: key for emails, key in zip(deleted["emails"], deleted["key"], strict=True) for e in emails}
    rows = b24[b24["key"].isin(set(matched.unmatched_b24))]
    held: dict[str, str] = {}
    for key, inn, emails, entity in zip(rows["key"], rows["inn"], rows["emails"], rows["entity"], strict=True):
        twin = by_inn.get(inn) if entity != "contact" and inn else next(
            (by_email[e] for e in emails if e in by_email), None)
        if twin:
            held[key] = twin
    if not held:
        return matched
    conflicts = [Conflict("broken_link", "counterparty", (key, twin), "record_deleted", {"target": twin})
                 for key, twin in held.items()]
    return replace(matched, unmatched_b24=matched.unmatched_b24[~matched.unmatched_b24.isin(set(held))],
                   conflicts=[*matched.conflicts, *conflicts])


def _only_known_managers(decided: DiffResult, b24_snap: Bitrix24Snapshot, onec_snap: OneCSnapshot) -> DiffResult:
    """A manager can be written only as a user the target system has (matched by e-mail); a user
    missing there would be planned again on every run, so such a change is not planned."""
    if decided.decisions.empty:
        return decided
    known = {"bitrix24": {str(e).lower() for e in b24_snap.users.get("EMAIL", pd.Series(dtype=object)) if e},
             "onec": {e for e in onec_snap.user_email.values() if e}}
    rows = decided.decisions
    unknown = (rows["field"] == "manager") & ~rows.apply(
        lambda r: str(r["after"] or "").lower() in known.get(r["target"], set()), axis=1)
    return replace(decided, decisions=rows[~unknown].reset_index(drop=True)) if unknown.any() else decided


def prepare(config: Config, state: State, b24: Bitrix24Client, onec: OneCClient, *, full: bool = False,
            only: set[str] | None = None, rules: FieldRules | None = None,
            progress: Progress | None = None, targets: set[str] = frozenset(), keep_frames: bool = False) -> Prepared:
    """Read both systems and build the plan (``only``: a subset of ``{"companies", "contacts"}``;
    ``targets``: Bitrix24 records an event named, read even when nothing says they changed;
    ``keep_frames``: return the normalized frames too, for callers that look at records, not only the plan)."""
    entities = {"company" if o.startswith("compan") else "contact" for o in only} if only else None
    links = _links(state, entities)
    watermark = state.watermark(WATERMARK)
    known = state.onec_versions(COUNTERPARTIES)
    # a match key changed by the last run may free (or take) the key of a record held back as ambiguous:
    # such records changed nothing themselves, so only a full match finds them
    incremental = not full and watermark is not None and bool(known) and not state.watermark(REMATCH)
    if incremental:
        versions = onec.scan_versions(COUNTERPARTIES)
        changed_refs = {f"counterparty:{ref}" for ref, dv in versions.items() if known.get(ref) != dv}
        linked_b24 = pd.concat([links[links["onec_key"].isin(changed_refs)]["b24_key"],
                                pd.Series(sorted(targets), dtype=object)])
        b24_snap = extract_bitrix24(b24, since=datetime.fromisoformat(watermark),
                                    overlap=timedelta(seconds=config.bitrix24.incremental_overlap_seconds),
                                    extra_company_ids=_ids(linked_b24, "company"),
                                    extra_contact_ids=_ids(linked_b24, "contact"), progress=progress)
        b24_keys = ({f"company:{i}" for i in b24_snap.companies["ID"]}
                    | {f"contact:{i}" for i in b24_snap.contacts["ID"]})
        linked_onec = set(links[links["b24_key"].isin(b24_keys)]["onec_key"])
        onec_snap = extract_onec(onec, known=known, versions=versions, progress=progress,
                                 extra_refs=[record_id(k) for k in linked_onec])
        if (b24_keys - set(links["b24_key"])) or (changed_refs - set(links["onec_key"])):
            incremental = False  # a new record must be matched against the whole other side
    if incremental:
        prepared = plan_snapshots(config, state, b24_snap, onec_snap, links, incremental=True, entities=entities,
                                  rules=rules, keep_frames=keep_frames)
        if not _shared_partner_unread(onec, prepared, links):
            return prepared
    b24_snap = extract_bitrix24(b24, progress=progress)
    onec_snap = extract_onec(onec, progress=progress)
    return plan_snapshots(config, state, b24_snap, onec_snap, links, incremental=False, entities=entities,
                          rules=rules, keep_frames=keep_frames)


def _shared_partner_unread(onec: OneCClient, prepared: Prepared, links: pd.DataFrame) -> bool:
    """Whether an incremental plan writes a manager to a 1C partner that linked counterparties not read
    this run share: the manager of a shared partner is decided over all its records (a full run holds it
    back when they disagree), so such a plan is made again from full reads. Rare: it takes a manager
    change on a branch."""
    refs = {str(op.target_id) for op in prepared.plan.operations
            if op.target == "onec" and op.entity == "counterparty" and op.action == "update" and "manager" in op.fields}
    frame = prepared.onec.counterparties
    if not refs or frame.empty or "Партнер_Key" not in frame:
        return False
    partners = sorted({str(p) for ref, p in zip(frame["Ref_Key"], frame["Партнер_Key"], strict=True)
                       if ref in refs and p and str(p) != EMPTY_GUID})
    read = set(frame["Ref_Key"])
    linked = {record_id(key) for key in links["onec_key"]}
    for start in range(0, len(partners), 50):
        rows = onec.query(COUNTERPARTIES, filter=any_of("Партнер_Key", partners[start:start + 50]),
                          select=["Ref_Key"])
        if any(row["Ref_Key"] in linked and row["Ref_Key"] not in read for row in rows):
            return True
    return False


def plan_snapshots(config: Config, state: State, b24_snap: Bitrix24Snapshot, onec_snap: OneCSnapshot,
                   links: pd.DataFrame, *, incremental: bool, entities: set[str] | None = None,
                   rules: FieldRules | None = None, keep_frames: bool = False) -> Prepared:
    """Normalize, match, diff and plan two snapshots (``incremental``: the Bitrix24 side is partial)."""
    if entities is not None:
        if "company" not in entities:
            b24_snap.companies = b24_snap.companies.iloc[0:0]
        if "contact" not in entities:
            b24_snap.contacts = b24_snap.contacts.iloc[0:0]
    nb = normalize_bitrix24(b24_snap.companies, b24_snap.requisites, b24_snap.addresses, b24_snap.contacts,
                            b24_snap.users)
    no = normalize_onec(onec_snap.counterparties, onec_snap.user_email, manager_by_ref=onec_snap.manager_by_ref,
                        legal_address_kind=onec_snap.kinds.get("ЮрАдресКонтрагента", ""))
    onec_frame = no.frame
    if entities is not None and "contact" not in entities:
        onec_frame = onec_frame[onec_frame["kind"] != "individual"]
    if entities is not None and "company" not in entities:
        onec_frame = onec_frame[onec_frame["kind"] == "individual"]
    in_scope = links[links["b24_key"].isin(nb.frame["key"]) & links["onec_key"].isin(onec_frame["key"])]
    matched = _hold_deleted_twins(match(nb.frame, onec_frame, in_scope if incremental else links), nb.frame,
                                  onec_frame)
    rules = rules or config.fields
    baseline = pd.DataFrame(state.baselines(), columns=["b24_key", "onec_key", "field", "value", "updated_at"])
    baseline = baseline[baseline["onec_key"].str.startswith("counterparty:")]
    decided = diff(matched.pairs, nb.frame, onec_frame, rules, baseline[["b24_key", "onec_key", "field", "value"]])
    decided, partnerless = _hold_partnerless_managers(decided, onec_snap)
    decided = _hold_shared_partner_managers(decided, matched.pairs, nb.frame, onec_snap)
    decided = _only_known_managers(decided, b24_snap, onec_snap)
    plan = build_plan(matched, decided, nb.frame, onec_frame, rules, issues=[*nb.issues, *no.issues, *partnerless])
    named = {key for conflict in plan.conflicts for key in conflict.records}
    facts = ["key", "name", "inn", "kpp", "emails", "phones"]
    conflicted = pd.concat([frame.loc[frame["key"].isin(named), facts] for frame in (nb.frame, onec_frame)],
                           ignore_index=True)
    return Prepared(plan=plan, baseline=decided.baseline, pairs=matched.pairs, b24=b24_snap, onec=onec_snap,
                    full=not incremental, conflicted=conflicted,
                    frames=(nb.frame, onec_frame) if keep_frames else None)
