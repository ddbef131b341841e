"""The migration report: what a first run would find, as plain values, built by pure functions.

A first migration is decided by people (which duplicates to merge, which INN to correct) before
b24sync writes anything, so everything they need is assembled here from what reconciliation
already computes (the canonical frames, the pairs, the conflicts and the plan's issues), without
I/O: the same report renders to the terminal, CSV files and one HTML file.

Every record lands in exactly one *outcome* per side, so the counts add up to what was read:

``matched``          paired with a record of the other side (any method of ``MATCHED_BY``);
``deletion_marked``  a 1C counterparty marked for deletion and not paired;
``conflict``         held back by an ambiguity (duplicate INN, shared e-mail, broken link …);
``invalid_inn``      held back because its INN fails its checks;
``to_create``        no partner, and ``migrate --create-missing`` can create one;
``not_creatable``    no partner, and it lacks the key a partner would be found by (no INN, no e-mail …).

Duplicates are computed independently of matching (a person wants to see every shared INN,
e-mail and phone, not only those that blocked a pair): organisations and people are compared
separately (a firm and its employee legitimately share a phone), 1C records marked for deletion
are left out (marking is how 1C users retire a duplicate), and records sharing an INN are
duplicates only when their KPPs cannot tell them apart (the same KPP, or one missing): a head
office and its branches share the INN by law.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from b24sync.recon import model as md
from b24sync.recon.match import MATCHED_BY
from b24sync.recon.model import Conflict, Issue
from b24sync.recon.normalize import inn_problems

__all__ = ["BASES", "CONFLICT_KINDS", "OUTCOMES", "SCOPES", "ConflictGroup", "DuplicateGroup", "InvalidInn",
           "MatchedPair", "MigrationReport", "Record", "Unmatched", "build_report", "record_url"]

OUTCOMES = ("matched", "conflict", "invalid_inn", "to_create", "not_creatable", "deletion_marked")
SCOPES = (md.B24, md.ONEC, "both")
BASES = ("inn", "email", "phone")
#: Conflicts about who is who (matching); the diff's ``field_undecided`` is about values and is left out.
CONFLICT_KINDS = ("duplicate_inn", "duplicate_email", "ambiguous_match", "broken_link", "duplicate_link",
                  "invalid_inn")
ORGANISATION, PERSON = "organisation", "person"


@dataclass(frozen=True)
class Record:
    """One record as a person reads it in the report (values normalized, as matching saw them)."""

    key: str
    side: str
    entity: str
    kind: str
    name: str
    inn: str = ""
    kpp: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    deleted: bool = False
    url: str = ""
    found: bool = True

    @property
    def record_id(self) -> str:
        """``42`` of ``company:42``, the ``Ref_Key`` of a counterparty."""
        return md.record_id(self.key)


@dataclass(frozen=True)
class MatchedPair:
    method: str
    b24: Record
    onec: Record


@dataclass(frozen=True)
class ConflictGroup:
    """A conflict with its records; ``message`` is the rendered explanation."""

    kind: str
    reason: str
    message: str
    detail: Mapping[str, Any]
    records: tuple[Record, ...]


@dataclass(frozen=True)
class Unmatched:
    """A record with no partner; ``reason`` is the ``not_created_*`` code when it cannot be created."""

    record: Record
    reason: str = ""

    @property
    def creatable(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class DuplicateGroup:
    scope: str
    basis: str
    value: str
    records: tuple[Record, ...]


@dataclass(frozen=True)
class InvalidInn:
    record: Record
    problem: str


@dataclass(frozen=True)
class MigrationReport:
    """Everything the migration report shows; ``totals`` and ``outcomes`` are per side."""

    generated_at: datetime
    portal: str
    totals: Mapping[str, Mapping[str, int]]
    outcomes: Mapping[str, Mapping[str, int]]
    pairs: tuple[MatchedPair, ...] = ()
    conflicts: tuple[ConflictGroup, ...] = ()
    unmatched: tuple[Unmatched, ...] = ()
    duplicates: tuple[DuplicateGroup, ...] = ()
    invalid_inns: tuple[InvalidInn, ...] = ()
    records: Mapping[str, int] = field(default_factory=dict)

    @property
    def method_counts(self) -> dict[str, int]:
        """Pairs per matching method, every method of ``MATCHED_BY`` present (0 when unused)."""
        counts = Counter(p.method for p in self.pairs)
        return {method: counts.get(method, 0) for method in MATCHED_BY}

    def unmatched_on(self, side: str) -> list[Unmatched]:
        return [u for u in self.unmatched if u.record.side == side]

    def duplicate_counts(self) -> dict[str, dict[str, int]]:
        """Duplicate groups per scope and basis."""
        counts = Counter((g.scope, g.basis) for g in self.duplicates)
        return {scope: {basis: counts.get((scope, basis), 0) for basis in BASES} for scope in SCOPES}

    @property
    def confident(self) -> int:
        """Pairs ``migrate --link`` would link or has linked (all pairs: conflicts never pair)."""
        return len(self.pairs)

    def summary(self) -> dict[str, Any]:
        """The report's figures as plain JSON-able values (for scripts, tests and the run's record)."""
        return {
            "records": dict(self.records),
            "totals": {side: dict(kinds) for side, kinds in self.totals.items()},
            "outcomes": {side: dict(counts) for side, counts in self.outcomes.items()},
            "matched": self.method_counts,
            "pairs": len(self.pairs),
            "conflicts": dict(Counter(c.kind for c in self.conflicts)),
            "conflict_groups": len(self.conflicts),
            "unmatched": {side: len(self.unmatched_on(side)) for side in md.SIDES},
            "to_create": {side: sum(u.creatable for u in self.unmatched_on(side)) for side in md.SIDES},
            "duplicates": self.duplicate_counts(),
            "duplicate_groups": len(self.duplicates),
            "invalid_inns": {side: sum(i.record.side == side for i in self.invalid_inns) for side in md.SIDES},
        }


def record_url(portal: str, key: str) -> str:
    """The Bitrix24 card of a company or contact (``{portal}/crm/company/details/42/``); ``""`` otherwise."""
    entity, _, ident = key.partition(":")
    if not portal or entity not in (md.COMPANY, md.CONTACT) or not ident.isdigit():
        return ""
    return f"{portal.rstrip('/')}/crm/{entity}/details/{ident}/"


def _key_order(key: str) -> tuple[bool, str, int, str]:
    """Bitrix24 first, then by entity and numeric ID (``company:9`` before ``company:10``)."""
    entity, _, ident = key.partition(":")
    return entity == md.COUNTERPARTY, entity, int(ident) if ident.isdigit() else 0, ident


def _side_of(key: str) -> str:
    return md.ONEC if key.startswith(f"{md.COUNTERPARTY}:") else md.B24


def _records(frame: pd.DataFrame, portal: str) -> dict[str, Record]:
    cols = ["key", "side", "entity", "kind", "name", "full_name", "inn", "kpp", "emails", "phones", "deleted"]
    values = {c: frame[c].to_numpy(dtype=object).tolist() for c in cols}
    out: dict[str, Record] = {}
    for row in zip(*values.values(), strict=True):
        r = dict(zip(cols, row, strict=True))
        key = str(r["key"])
        out[key] = Record(key=key, side=str(r["side"]), entity=str(r["entity"]), kind=str(r["kind"]),
                          name=str(r["name"] or r["full_name"] or ""), inn=str(r["inn"] or ""),
                          kpp=str(r["kpp"] or ""), emails=tuple(r["emails"] or ()), phones=tuple(r["phones"] or ()),
                          deleted=bool(r["deleted"]), url=record_url(portal, key))
    return out


class _Lookup(dict):
    """Records by key; a key no frame holds (a link to a vanished record) gets a placeholder."""

    def __init__(self, records: Mapping[str, Record], portal: str) -> None:
        super().__init__(records)
        self.portal = portal

    def __missing__(self, key: str) -> Record:
        return Record(key=key, side=_side_of(key), entity=key.partition(":")[0], kind=md.UNKNOWN, name="",
                      url=record_url(self.portal, key), found=False)


def _class_of(frame: pd.DataFrame) -> np.ndarray:
    """Organisation or person, the way matching separates them (contacts and 1C ``ФизЛицо`` are people)."""
    person = (frame["entity"] == md.CONTACT).to_numpy() | (
        (frame["entity"] == md.COUNTERPARTY).to_numpy() & (frame["kind"] == md.INDIVIDUAL).to_numpy())
    return np.where(person, PERSON, ORGANISATION)


def _long(frame: pd.DataFrame, node_of: Mapping[str, str]) -> pd.DataFrame:
    """One row per (record, shared value): INN (with the KPP kept beside it), each e-mail, each phone."""
    live = frame[~frame["deleted"].to_numpy(dtype=bool)]
    base = pd.DataFrame({"key": live["key"].to_numpy(dtype=object), "side": live["side"].astype(object).to_numpy(),
                         "cls": _class_of(live), "kpp": live["kpp"].to_numpy(dtype=object)})
    base["node"] = [node_of.get(k, k) for k in base["key"]]
    parts = []
    inn = live["inn"].to_numpy(dtype=object)
    has = inn != ""
    parts.append(base[has].assign(basis="inn", value=inn[has]))
    for basis, col in (("email", "emails"), ("phone", "phones")):
        exploded = base.assign(basis=basis, value=live[col].to_numpy(dtype=object)).explode("value")
        parts.append(exploded[exploded["value"].notna()])
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype(object)
    return out


def _kpp_collide(kpps: Iterable[frozenset[str]]) -> bool:
    """Whether owners of one INN cannot be told apart by KPP: one has none, or two share one."""
    seen: set[str] = set()
    for owner in kpps:
        if "" in owner or seen & owner:
            return True
        seen |= owner
    return False


def _duplicates(long: pd.DataFrame, lookup: Mapping[str, Record]) -> list[DuplicateGroup]:
    groups: list[DuplicateGroup] = []
    if long.empty:
        return groups
    for scope in SCOPES:
        if scope == "both":
            # a value on both sides that is more than one matched pair's (or one record's)
            sub = long
            owner = "node"
            spans = sub.groupby(["cls", "basis", "value"])["side"].transform("nunique") == 2
            sub = sub[spans.to_numpy()]
        else:
            sub = long[long["side"] == scope]
            owner = "key"
        many = sub.groupby(["cls", "basis", "value"])[owner].transform("nunique") > 1
        sub = sub[many.to_numpy()]
        for (_cls, basis, value), rows in sub.groupby(["cls", "basis", "value"], sort=True):
            if basis == "inn":
                kpps = rows.groupby(owner)["kpp"].agg(frozenset)
                if not _kpp_collide(kpps.tolist()):
                    continue  # branches: one INN, a KPP each
            keys = sorted(set(rows["key"]), key=_key_order)
            groups.append(DuplicateGroup(scope, str(basis), str(value), tuple(lookup[k] for k in keys)))
    order = {s: i for i, s in enumerate(SCOPES)}
    basis_order = {b: i for i, b in enumerate(BASES)}
    return sorted(groups, key=lambda g: (order[g.scope], basis_order[g.basis], g.value))


def _invalid_inns(frame: pd.DataFrame, lookup: Mapping[str, Record]) -> list[InvalidInn]:
    bad = (frame["inn"] != "").to_numpy() & ~frame["inn_valid"].to_numpy(dtype=bool)
    if not bad.any():
        return []
    part = frame[bad]
    problems = inn_problems(part["inn"], part["kind"])
    problems = np.where(problems != "", problems, "inn_wrong_length")  # a length the record's kind does not take
    return [InvalidInn(lookup[k], str(p)) for k, p in zip(part["key"], problems, strict=True)]


def build_report(b24: pd.DataFrame, onec: pd.DataFrame, pairs: pd.DataFrame, conflicts: Iterable[Conflict],
                 issues: Iterable[Issue] = (), *, portal: str = "", generated_at: datetime | None = None,
                 ) -> MigrationReport:
    """Assemble the report from reconciliation's own results.

    Args:
        b24, onec: the canonical party frames (``b24sync.recon.model.COLUMNS``) of both sides, read in full.
        pairs: ``[b24_key, onec_key, matched_by]`` from matching.
        conflicts: the plan's conflicts (only those about matching are reported).
        issues: the plan's issues; the ``not_created_*`` ones say which unmatched records cannot be created.
        portal: ``https://portal.example`` for links to the Bitrix24 cards (no links when empty).
        generated_at: when both systems were read (default: now, UTC).
    """
    lookup = _Lookup({**_records(b24, portal), **_records(onec, portal)}, portal)
    pair_rows = list(zip(pairs["b24_key"].astype(object), pairs["onec_key"].astype(object),
                         pairs["matched_by"].astype(object), strict=True))
    method_rank = {m: i for i, m in enumerate(MATCHED_BY)}
    matched = sorted((MatchedPair(str(how), lookup[b], lookup[o]) for b, o, how in pair_rows),
                     key=lambda p: (method_rank.get(p.method, 99), p.b24.name.casefold(), p.b24.key))
    paired = {b for b, _, _ in pair_rows} | {o for _, o, _ in pair_rows}
    node_of = {k: f"pair:{b}" for b, o, _ in pair_rows for k in (b, o)}

    groups = [c for c in conflicts if c.kind in CONFLICT_KINDS]
    held_invalid = {k for c in groups if c.kind == "invalid_inn" for k in c.records}
    held = {k for c in groups if c.kind != "invalid_inn" for k in c.records}
    shown = [ConflictGroup(c.kind, c.reason, c.message(), dict(c.detail),
                           tuple(lookup[k] for k in sorted(c.records, key=_key_order)))
             for c in groups if c.kind != "invalid_inn"]
    not_created = {i.record_key: i.reason for i in issues if i.reason.startswith("not_created_")}

    outcomes: dict[str, Counter[str]] = {side: Counter() for side in md.SIDES}
    totals: dict[str, Counter[str]] = {side: Counter() for side in md.SIDES}
    unmatched: list[Unmatched] = []
    for frame in (b24, onec):
        keys = frame["key"].to_numpy(dtype=object).tolist()
        kinds = frame["kind"].astype(object).to_numpy().tolist()
        deleted = frame["deleted"].to_numpy(dtype=bool).tolist()
        for key, kind, gone in zip(keys, kinds, deleted, strict=True):
            side = _side_of(key)
            totals[side][str(kind)] += 1
            if key in paired:
                outcome = "matched"
            elif gone:
                outcome = "deletion_marked"
            elif key in held:
                outcome = "conflict"
            elif key in held_invalid:
                outcome = "invalid_inn"
            else:
                reason = not_created.get(key, "")
                outcome = "not_creatable" if reason else "to_create"
                unmatched.append(Unmatched(lookup[key], reason))
            outcomes[side][outcome] += 1
    unmatched.sort(key=lambda u: (u.record.side != md.B24, not u.creatable, u.record.name.casefold(),
                                  _key_order(u.record.key)))
    long = pd.concat([_long(b24, node_of), _long(onec, node_of)], ignore_index=True)
    return MigrationReport(
        generated_at=generated_at or datetime.now(UTC),
        portal=portal,
        totals={side: {k: totals[side].get(k, 0) for k in md.KINDS} for side in md.SIDES},
        outcomes={side: {o: outcomes[side].get(o, 0) for o in OUTCOMES} for side in md.SIDES},
        pairs=tuple(matched),
        conflicts=tuple(sorted(shown, key=lambda g: (CONFLICT_KINDS.index(g.kind), g.reason,
                                                     tuple(r.key for r in g.records)))),
        unmatched=tuple(unmatched),
        duplicates=tuple(_duplicates(long, lookup)),
        invalid_inns=tuple(sorted(_invalid_inns(b24, lookup) + _invalid_inns(onec, lookup),
                                  key=lambda i: _key_order(i.record.key))),
        records={md.B24: len(b24), md.ONEC: len(onec)},
    )

