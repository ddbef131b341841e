"""Three-way field decisions for linked pairs: baseline vs Bitrix24 vs 1C, by the field's policy.

For each pair and synchronized field the two current values are compared with the **baseline**
(the value both sides last agreed on). Values are the normalized ones of the party frame, so a
formatting-only difference (``+7 (495) 123-45-67`` vs ``84951234567``, ``Ivan@Mail.RU`` vs
``ivan@mail.ru``, extra spaces) is equality, never a change.

Owner policy (``bitrix24``/``onec``), with a baseline:

======================  ========================================================  ==================
what changed            decision                                                   rejected edit
======================  ========================================================  ==================
owner only              write owner's value to the other side (``owner_changed``)  —
non-owner only          write owner's value back (``non_owner_reverted``)          ``non_owner_edit``
both, differently       owner's value wins (``owner_wins``)                        ``both_changed``
owner cleared it        nothing unless ``allow_clear`` (``owner_cleared``)          ``clear_not_allowed``
non-owner filled an     nothing: an empty owner value never erases
empty owner field
======================  ========================================================  ==================

Without a baseline (a new pair): the owner's value is written to the other side
(``owner_value``); when the owner's value is empty and the other side's filled, the owner is
**filled from the other side** (``owner_filled``) — the only case where a non-owner value is
written to the owner, because nothing is lost and the owner had nothing to say.

``newest``: with a baseline, the side that changed wins (``changed``); when both changed, the later
``modified_at`` wins (``newest_wins``, the older edit is a rejected edit ``older_edit``); without a
baseline an empty side is filled from the other (``filled_from_other``), else the later
``modified_at`` wins. When the times are missing or equal nothing is written and a
``field_undecided`` conflict is reported. An empty winning value never erases unless
``allow_clear``. ``none``: the field is skipped.

Fields a Bitrix24 contact does not have (INN, KPP, legal name, legal address) are skipped for
contact pairs. An INN that would be written but fails its checksum is not written (a
``field_undecided`` conflict with reason ``invalid_value``).
"""

from __future__ import annotations

import copy
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from b24sync.recon import model as md
from b24sync.recon.model import Conflict, RejectedEdit
from b24sync.recon.rules import NEWEST, FieldRules

__all__ = ["CONTACT_FIELDS", "DECISION_COLUMNS", "DiffResult", "diff", "jsonable"]

DECISION_COLUMNS = ["b24_key", "onec_key", "field", "target", "before", "after", "reason"]
BASELINE_COLUMNS = ["b24_key", "onec_key", "field", "value"]
#: The synchronized fields a Bitrix24 contact has.
CONTACT_FIELDS = frozenset({"name", "phones", "emails", "manager"})
_MISSING = object()


@dataclass(frozen=True, eq=False)
class DiffResult:
    """Decisions for the linked pairs.

    Attributes:
        decisions: one row per write ``[b24_key, onec_key, field, target, before, after, reason]``;
            ``target`` is the side written, ``before`` its current value, ``after`` the new one.
        rejected_edits: edits reverted or not propagated, for the report.
        baseline: ``[b24_key, onec_key, field, value]`` rows to upsert into the state once the
            decisions are applied (only rows that are new or differ from the stored baseline).
        conflicts: fields left alone because the newer side cannot be told, or the value is invalid.
    """

    decisions: pd.DataFrame
    rejected_edits: list[RejectedEdit] = field(default_factory=list)
    baseline: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BASELINE_COLUMNS))
    conflicts: list[Conflict] = field(default_factory=list)


def jsonable(value):
    """A value as it goes into JSON: tuples become lists (recursively), NaN/NaT None."""
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _values(frame: pd.DataFrame, pos: np.ndarray, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=object)[pos]


def _lengths(values: np.ndarray) -> np.ndarray:
    """``len`` of each value (0 for a missing or unsized one)."""
    try:  # the usual case: every value is a str or a tuple
        return np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    except TypeError:
        return pd.Series(values, dtype=object).str.len().fillna(0).to_numpy(dtype=np.int64)


def _ne(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a != b, dtype=bool)


def _baseline_arrays(pairs: pd.DataFrame, baseline: pd.DataFrame | None, fields: tuple[str, ...]) -> dict:
    """Field → (object array of baseline values aligned to ``pairs``, has-baseline mask)."""
    n = len(pairs)
    out = {}
    if baseline is None or baseline.empty:
        for f in fields:
            out[f] = (np.full(n, None, dtype=object), np.zeros(n, dtype=bool))
        return out
    pair_index = pd.Index(pairs["b24_key"].to_numpy(dtype=object), dtype=object)
    pos = pair_index.get_indexer(baseline["b24_key"].to_numpy(dtype=object))  # one probe per row, no second table
    onec = pairs["onec_key"].to_numpy(dtype=object)
    ok = pos >= 0
    ok[ok] = onec[pos[ok]] == baseline["onec_key"].to_numpy(dtype=object)[ok]
    name_codes, name_uniq = pd.factorize(baseline["field"].to_numpy(dtype=object))
    if len(name_uniq) < 127:
        name_codes = name_codes.astype(np.int8)
    code_of = {name: code for code, name in enumerate(name_uniq.tolist())}
    values = baseline["value"].to_numpy(dtype=object)
    for f in fields:
        sel = ok & (name_codes == code_of.get(f, -2))
        arr = np.full(n, None, dtype=object)
        has = np.zeros(n, dtype=bool)
        vals = values[sel]
        kinds = set(map(type, vals))  # exact tuples / strings (the usual case) are used as they are
        if f in md.SET_FIELDS and len(vals) and kinds != {tuple}:
            vals = np.fromiter((tuple(v) if isinstance(v, list | tuple) else () for v in vals), dtype=object,
                               count=len(vals))
        elif f not in md.SET_FIELDS and len(vals) and kinds != {str}:
            vals = pd.Series(vals, dtype=object).fillna("").astype(str).to_numpy(dtype=object)
        arr[pos[sel]] = vals
        has[pos[sel]] = True
        out[f] = (arr, has)
    return out


class _Out:
    def __init__(self, pairs: pd.DataFrame) -> None:
        self.b_keys = pairs["b24_key"].to_numpy(dtype=object)
        self.o_keys = pairs["onec_key"].to_numpy(dtype=object)
        self.decisions: list[pd.DataFrame] = []
        self.baseline: list[pd.DataFrame] = []
        self.rejected: list[pd.DataFrame] = []
        self.undecided: list[pd.DataFrame] = []
        self.valid: tuple[np.ndarray, np.ndarray] | None = None  # (b24, onec) validity of the field's values
        self.blocked = np.zeros(len(pairs), dtype=bool)

    def rows(self, where: np.ndarray) -> _Out:
        """The same output for the pairs at ``where`` only (what one field's differing pairs need)."""
        view = copy.copy(self)
        view.b_keys, view.o_keys = self.b_keys[where], self.o_keys[where]
        view.valid = None if self.valid is None else (self.valid[0][where], self.valid[1][where])
        view.blocked = self.blocked[where]
        return view

    def start(self, valid: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Begin a field; ``valid`` marks values that may be written (None: all)."""
        self.valid = valid
        self.blocked = np.zeros(len(self.b_keys), dtype=bool)

    def write(self, f: str, mask: np.ndarray, target: str, before: np.ndarray, after: np.ndarray,
              reason: str) -> None:
        if self.valid is not None:
            source_valid = self.valid[1] if target == md.B24 else self.valid[0]
            bad = mask & ~source_valid & (_lengths(after) > 0)
            self.undecide(f, bad, "invalid_value", after)
            self.blocked |= bad
            mask = mask & ~bad
        if mask.any():
            self.decisions.append(pd.DataFrame({
                "b24_key": self.b_keys[mask], "onec_key": self.o_keys[mask], "field": f, "target": target,
                "before": before[mask], "after": after[mask], "reason": reason}))

    def reject(self, f: str, mask: np.ndarray, edited_on: str, edited: np.ndarray, kept: np.ndarray,
               owner: str, reason: str) -> None:
        mask = mask & ~self.blocked
        if mask.any():
            self.rejected.append(pd.DataFrame({
                "b24_key": self.b_keys[mask], "onec_key": self.o_keys[mask], "field": f, "edited_on": edited_on,
                "edited_value": edited[mask], "kept_value": kept[mask], "owner": owner, "reason": reason}))

    def agree(self, f: str, mask: np.ndarray, value: np.ndarray, base: np.ndarray, has: np.ndarray) -> None:
        changed = mask & ~self.blocked & (~has | _ne(value, base))
        if changed.any():
            self.baseline.append(pd.DataFrame({"b24_key": self.b_keys[changed], "onec_key": self.o_keys[changed],
                                               "field": f, "value": value[changed]}))

    def undecide(self, f: str, mask: np.ndarray, reason: str, value: np.ndarray | None = None) -> None:
        if mask.any():
            self.undecided.append(pd.DataFrame({"b24_key": self.b_keys[mask], "onec_key": self.o_keys[mask],
                                                "field": f, "reason": reason,
                                                "value": value[mask] if value is not None else ""}))


def diff(pairs: pd.DataFrame, b24: pd.DataFrame, onec: pd.DataFrame, rules: FieldRules | None = None,
         baseline: pd.DataFrame | None = None) -> DiffResult:
    """Decide, per linked pair and field, what to write where.

    Args:
        pairs: ``[b24_key, onec_key, …]`` (``MatchResult.pairs``).
        b24, onec: the canonical frames.
        rules: field policies (defaults when omitted).
        baseline: stored ``[b24_key, onec_key, field, value]``; ``value`` is the normalized value
            (a list or tuple for ``phones``/``emails``, text otherwise). Rows of other pairs are ignored.
    """
    rules = rules or FieldRules()
    pairs = pairs[["b24_key", "onec_key"]].reset_index(drop=True)
    b_pos = pd.Index(b24["key"].to_numpy(dtype=object), dtype=object).get_indexer(
        pairs["b24_key"].to_numpy(dtype=object))
    o_pos = pd.Index(onec["key"].to_numpy(dtype=object), dtype=object).get_indexer(
        pairs["onec_key"].to_numpy(dtype=object))
    known = (b_pos >= 0) & (o_pos >= 0)
    pairs, b_pos, o_pos = pairs[known].reset_index(drop=True), b_pos[known], o_pos[known]
    out = _Out(pairs)
    fields = rules.synced()
    bases = _baseline_arrays(pairs, baseline, fields)
    is_contact = (b24["entity"] == md.CONTACT).to_numpy(dtype=bool)[b_pos]
    b_mod = _stamps(b24["modified_at"])[b_pos]
    o_mod = _stamps(onec["modified_at"])[o_pos]
    inn_valid = (b24["inn_valid"].to_numpy(dtype=bool)[b_pos], onec["inn_valid"].to_numpy(dtype=bool)[o_pos])
    for f in fields:
        applicable = ~is_contact if f not in CONTACT_FIELDS else np.ones(len(pairs), dtype=bool)
        bv, ov = _values(b24, b_pos, f), _values(onec, o_pos, f)
        base, has = bases[f]
        out.start(inn_valid if f == "inn" else None)
        eq = ~_ne(bv, ov)
        out.agree(f, applicable & eq, bv, base, has)
        # the pairs that agree (nearly all of them) are done: the rules look at the others only
        live = np.flatnonzero(applicable & ~eq)
        if not len(live):
            continue
        policy = rules.policy(f)
        clear = rules.may_clear(f)
        bv, ov, base, has = bv[live], ov[live], base[live], has[live]
        b_empty, o_empty = _lengths(bv) == 0, _lengths(ov) == 0
        b_changed, o_changed = has & _ne(bv, base), has & _ne(ov, base)
        every = np.ones(len(live), dtype=bool)
        if policy == NEWEST:
            _newest(out.rows(live), f, every, bv, ov, base, has, b_empty, o_empty, b_changed, o_changed,
                    b_mod[live], o_mod[live], clear)
        else:
            _owned(out.rows(live), f, policy, every, bv, ov, base, has, b_empty, o_empty, b_changed, o_changed,
                   clear)
    return _finish(out)


def _stamps(values: pd.Series) -> np.ndarray:
    """UTC timestamps as naive ``datetime64[ns]`` (NaT kept), cheap to compare."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _owned(out: _Out, f: str, owner: str, live, bv, ov, base, has, b_empty, o_empty, b_changed, o_changed,
           clear: bool) -> None:
    other = md.ONEC if owner == md.B24 else md.B24
    if owner == md.B24:
        own, oth, own_empty, own_ch, oth_ch = bv, ov, b_empty, b_changed, o_changed
    else:
        own, oth, own_empty, own_ch, oth_ch = ov, bv, o_empty, o_changed, b_changed
    may_write = ~own_empty | clear
    # with a baseline
    owner_only = live & has & own_ch & ~oth_ch
    other_only = live & has & ~own_ch & oth_ch
    both = live & has & own_ch & oth_ch
    w = owner_only & may_write
    out.write(f, w & ~own_empty, other, oth, own, "owner_changed")
    out.write(f, w & own_empty, other, oth, own, "owner_cleared")
    out.agree(f, w, own, base, has)
    out.reject(f, owner_only & ~may_write, owner, own, oth, owner, "clear_not_allowed")
    revert = other_only & ~own_empty
    out.write(f, revert, other, oth, own, "non_owner_reverted")
    out.reject(f, revert, other, oth, own, owner, "non_owner_edit")
    # other_only & own_empty: the owner's empty value (its baseline) never erases what was filled in
    w = both & may_write
    out.write(f, w, other, oth, own, "owner_wins")
    out.reject(f, w, other, oth, own, owner, "both_changed")
    out.agree(f, w, own, base, has)
    out.reject(f, both & ~may_write, owner, own, oth, owner, "clear_not_allowed")
    # without a baseline
    fresh = live & ~has
    out.write(f, fresh & ~own_empty, other, oth, own, "owner_value")
    out.agree(f, fresh & ~own_empty, own, base, has)
    out.write(f, fresh & own_empty, owner, own, oth, "owner_filled")
    out.agree(f, fresh & own_empty, oth, base, has)


def _newest(out: _Out, f: str, live, bv, ov, base, has, b_empty, o_empty, b_changed, o_changed, b_mod, o_mod,
            clear: bool) -> None:
    known = ~(pd.isna(b_mod) | pd.isna(o_mod))
    b_newer = np.zeros(len(bv), dtype=bool)
    o_newer = np.zeros(len(bv), dtype=bool)
    b_newer[known] = b_mod[known] > o_mod[known]
    o_newer[known] = o_mod[known] > b_mod[known]
    undecided = ~known | (~b_newer & ~o_newer)
    no_times = ~known

    def apply(mask, winner_is_b, reason, rejected_reason=None):
        for win_b in (True, False):
            m = mask & (winner_is_b if win_b else ~winner_is_b)
            if not m.any():
                continue
            win, lose = (bv, ov) if win_b else (ov, bv)
            win_empty = b_empty if win_b else o_empty
            win_side, lose_side = (md.B24, md.ONEC) if win_b else (md.ONEC, md.B24)
            ok = m & (~win_empty | clear)
            out.write(f, ok, lose_side, lose, win, reason)
            out.agree(f, ok, win, base, has)
            if rejected_reason:
                out.reject(f, ok, lose_side, lose, win, "newest", rejected_reason)
            if not clear:  # (a bool: ``~clear`` would be -1 or -2 and turn the mask into integer indices)
                out.reject(f, m & win_empty, win_side, win, lose, "newest", "clear_not_allowed")

    one = live & has & (b_changed ^ o_changed)
    apply(one, b_changed, "changed")
    both = live & has & b_changed & o_changed
    apply(both & ~undecided, b_newer, "newest_wins", "older_edit")
    fresh = live & ~has
    fill = fresh & (b_empty | o_empty)
    out.write(f, fill & b_empty, md.B24, bv, ov, "filled_from_other")
    out.write(f, fill & o_empty, md.ONEC, ov, bv, "filled_from_other")
    out.agree(f, fill & b_empty, ov, base, has)
    out.agree(f, fill & o_empty, bv, base, has)
    decide = fresh & ~fill
    apply(decide & ~undecided, b_newer, "newest_wins")
    stuck = (both | decide) & undecided
    out.undecide(f, stuck & no_times, "no_timestamps")
    out.undecide(f, stuck & ~no_times, "same_time")


def _rows(frame: pd.DataFrame) -> list:
    """``frame.itertuples(index=False)``, read column by column (boxing string-dtype values one at a time is slow)."""
    row = namedtuple("Row", frame.columns)
    columns = [frame[c].to_numpy(dtype=object).tolist() for c in frame.columns]
    return list(map(row._make, zip(*columns, strict=True)))


def _finish(out: _Out) -> DiffResult:
    decisions = pd.concat(out.decisions, ignore_index=True) if out.decisions else \
        pd.DataFrame({c: pd.Series([], dtype=object) for c in DECISION_COLUMNS})
    decisions = decisions.sort_values(["b24_key", "field", "target"], kind="stable").reset_index(drop=True)
    baseline = pd.concat(out.baseline, ignore_index=True) if out.baseline else pd.DataFrame(columns=BASELINE_COLUMNS)
    rejected: list[RejectedEdit] = []
    if out.rejected:
        frame = pd.concat(out.rejected, ignore_index=True).sort_values(["b24_key", "field"], kind="stable")
        rejected = [RejectedEdit(r.b24_key, r.onec_key, r.field, r.edited_on, jsonable(r.edited_value),
                                 jsonable(r.kept_value), r.owner, r.reason) for r in _rows(frame)]
    conflicts: list[Conflict] = []
    if out.undecided:
        frame = pd.concat(out.undecided, ignore_index=True).sort_values(["b24_key", "field"], kind="stable")
        for r in _rows(frame):
            detail = {"field": r.field} if r.reason != "invalid_value" else {"field": r.field, "value": r.value}
            conflicts.append(Conflict("field_undecided", r.b24_key.partition(":")[0], (r.b24_key, r.onec_key),
                                      r.reason, detail))
    conflicts.sort(key=lambda c: (c.kind, c.records, c.reason))
    return DiffResult(decisions, rejected, baseline.reset_index(drop=True), conflicts)
