"""Pair Bitrix24 parties with 1C counterparties, without ever guessing.

Order (a record paired at one step is not looked at by later ones):

1. **stored links** (the state's ``[b24_key, onec_key]``) win;
2. **stamped links**: the 1C reference on the Bitrix24 record (``UF_CRM_1C_ID``, or ``ORIGIN_ID``
   of a record b24sync created), the Bitrix24 key kept on a 1C record, or the deterministic
   ``Ref_Key`` b24sync gives the counterparties it creates;
3. **INN + KPP** for legal entities (``inn_kpp``), then **INN alone** when that INN is on exactly
   one live record on each side (``inn``; sole proprietors, whose KPP is empty, always match so);
4. **normalized e-mail** for individuals (``email``).

Ambiguity becomes a :class:`~b24sync.recon.model.Conflict` and its unlinked records are left out
of pairs and of creation: two records of one side with one INN and the same or a missing KPP, one
e-mail on two records of one side, a key that points at several records across the sides or at
one already linked to another record, an INN with a bad checksum or length, a link to a record
that no longer exists or is marked for deletion in 1C, links that disagree. Records already
linked by the state keep their pair even when a new duplicate appears beside them (the new record
is the one held back). Deletion-marked 1C records are never matched by key nor created.

All steps are merges and group-bys over the frames; the only Python loop is over the conflicts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from b24sync.recon import model as md
from b24sync.recon.model import Conflict
from b24sync.recon.normalize import inn_problems

__all__ = ["MATCHED_BY", "MatchResult", "match"]

MATCHED_BY = ("stored_link", "record_link", "origin", "deterministic_ref", "inn_kpp", "inn", "email")
_COMPANY_KINDS = (md.LEGAL, md.SOLE_PROPRIETOR)


@dataclass(frozen=True, eq=False)
class MatchResult:
    """What :func:`match` found.

    Attributes:
        pairs: ``[b24_key, onec_key, matched_by]``, one row per pair (``matched_by`` in :data:`MATCHED_BY`).
        unmatched_b24: Bitrix24 keys with no partner and no conflict (candidates for creation in 1C).
        unmatched_onec: live 1C keys with no partner and no conflict (candidates for creation in Bitrix24).
        conflicts: ambiguities, sorted by kind and records.
    """

    pairs: pd.DataFrame
    unmatched_b24: pd.Series
    unmatched_onec: pd.Series
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def new_pairs(self) -> pd.DataFrame:
        """Pairs not yet in the state (everything but ``stored_link``)."""
        return self.pairs[self.pairs["matched_by"] != "stored_link"]


class _Side:
    """Per-record status of one side: free, paired or excluded (held back by a conflict)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self.index = pd.Index(self.frame["key"].to_numpy(dtype=object), dtype=object)  # no string re-typing
        self.paired = np.zeros(len(frame), dtype=bool)
        self.excluded = np.zeros(len(frame), dtype=bool)
        self.deleted = self.frame["deleted"].to_numpy(dtype=bool)

    def pos(self, keys: pd.Series | np.ndarray) -> np.ndarray:
        return self.index.get_indexer(np.asarray(keys, dtype=object))

    def free(self) -> np.ndarray:
        return ~(self.paired | self.excluded | self.deleted)

    def mark(self, keys, which: str) -> None:
        pos = self.pos(keys)
        getattr(self, which)[pos[pos >= 0]] = True

    def codes(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``keys`` (-1 when absent) and an integer per key that is equal exactly when the keys
        are: the position, or a number past the end for a key this side does not have."""
        pos = self.pos(keys)
        code = pos.astype(np.int64)
        absent = pos < 0
        if absent.any():
            extra, _ = pd.factorize(keys[absent], use_na_sentinel=False)
            code[absent] = len(self.frame) + extra
        return pos, code


class _Conflicts:
    def __init__(self) -> None:
        self.items: list[Conflict] = []

    def add_groups(self, frame: pd.DataFrame, kind: str, reason: str | pd.Series,
                   detail_cols: tuple[str, ...] = ()) -> None:
        """``frame`` has ``group`` and ``key`` columns (plus detail columns); one conflict per group.

        The conflict's entity is that of its first Bitrix24 record (``company``/``contact``), else
        ``counterparty``: keys carry their entity as the prefix.
        """
        if frame.empty:
            return
        frame = frame.assign(reason=reason).sort_values(["group", "key"], kind="stable")
        frame = frame.drop_duplicates(["group", "key"])
        first = frame.drop_duplicates("group").set_index("group")
        records = frame.groupby("group", sort=True)["key"].agg(tuple)
        for group, keys in records.items():
            row = first.loc[group]
            detail = {c: _plain(row[c]) for c in detail_cols}
            entity = next((k.partition(":")[0] for k in keys if not k.startswith("counterparty:")), md.COUNTERPARTY)
            self.items.append(Conflict(kind, entity, tuple(keys), str(row["reason"]), detail))

    def sorted(self) -> list[Conflict]:
        return sorted(self.items, key=lambda c: (c.kind, c.records, c.reason))


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _pairs_frame(b: np.ndarray, o: np.ndarray, how: str | np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"b24_key": pd.Series(b, dtype=md.STR_DTYPE), "onec_key": pd.Series(o, dtype=md.STR_DTYPE),
                         "matched_by": how})


def match(b24: pd.DataFrame, onec: pd.DataFrame, links: pd.DataFrame | None = None, *,
          ref_namespace: uuid.UUID | str | None = None) -> MatchResult:
    """Pair the two sides' party frames.

    Args:
        b24: canonical Bitrix24 frame (companies and contacts).
        onec: canonical 1C frame.
        links: stored links ``[b24_key, onec_key]``. In an incremental run pass the links of the records
            in scope, and both records of each such link (a link whose two records are both absent is
            ignored; one absent record means it was deleted).
        ref_namespace: namespace of the deterministic ``Ref_Key`` (see :func:`~b24sync.recon.model.deterministic_ref`);
            when given, a 1C record whose ``Ref_Key`` is the one b24sync would give a Bitrix24 record is its pair.
    """
    bs, os_ = _Side(b24), _Side(onec)
    conflicts = _Conflicts()
    pairs = [_stored(bs, os_, links, conflicts)]
    pairs.append(_stamped(bs, os_, conflicts, ref_namespace))
    _invalid_inn(bs, conflicts)
    _invalid_inn(os_, conflicts)
    pairs.append(_by_inn(bs, os_, conflicts))
    pairs.append(_by_email(bs, os_, conflicts))
    result = pd.concat([p for p in pairs if len(p)] or [_pairs_frame(np.array([]), np.array([]), "")],
                       ignore_index=True)
    result = _sorted_pairs(result, bs)
    return MatchResult(
        pairs=result,
        unmatched_b24=pd.Series(bs.frame["key"][bs.free()].to_numpy(), name="key", dtype=md.STR_DTYPE),
        unmatched_onec=pd.Series(os_.frame["key"][os_.free()].to_numpy(), name="key", dtype=md.STR_DTYPE),
        conflicts=conflicts.sorted(),
    )


def _sorted_pairs(pairs: pd.DataFrame, bs: _Side) -> pd.DataFrame:
    """``pairs`` sorted by Bitrix24 key, then 1C key (stable).

    A Bitrix24 record is in one pair at most, so the Bitrix24 key alone decides; it is sorted as numpy
    UTF-8 strings, whose byte order is the code point order Python compares ``str`` by. Anything unusual
    (a repeated key, text numpy cannot encode) is sorted by pandas as before.
    """
    keys = pairs["b24_key"].to_numpy(dtype=object)
    pos = bs.pos(keys)
    if len(pos) and (pos.min() >= 0) and np.bincount(pos).max() == 1:
        try:
            order = np.argsort(keys.astype(np.dtypes.StringDType()), kind="stable")
        except (UnicodeEncodeError, TypeError, ValueError):
            pass
        else:
            return pairs.take(order).reset_index(drop=True)
    return pairs.sort_values(["b24_key", "onec_key"], kind="stable").reset_index(drop=True)


def _repeated(codes: np.ndarray) -> np.ndarray:
    """Per element: its code occurs more than once (``duplicated(keep=False)`` on the keys)."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    return np.bincount(codes)[codes] > 1


# --- 1. stored links ---------------------------------------------------------------------------
def _stored(bs: _Side, os_: _Side, links: pd.DataFrame | None, conflicts: _Conflicts) -> pd.DataFrame:
    if links is None or links.empty:
        return _pairs_frame(np.array([]), np.array([]), "stored_link")
    ln = links[["b24_key", "onec_key"]].astype(md.STR_DTYPE).reset_index(drop=True)
    # keys → integers once (their positions): dropping repeated links and finding keys linked twice are
    # then integer operations, not more hashing of a million strings
    bpos, bcode = bs.codes(ln["b24_key"].to_numpy(dtype=object))
    opos, ocode = os_.codes(ln["onec_key"].to_numpy(dtype=object))
    if _repeated(bcode).any():
        _, first = np.unique(bcode * (int(ocode.max()) + 1) + ocode, return_index=True)
        keep = np.sort(first)
        ln, bpos, opos, bcode, ocode = ln.iloc[keep].reset_index(drop=True), bpos[keep], opos[keep], bcode[keep], \
            ocode[keep]
    dup_b = pd.Series(_repeated(bcode))
    dup_o = pd.Series(_repeated(ocode))
    dup = ln[dup_b | dup_o]
    if len(dup):
        # a connected group: the b24 key for a repeated b24 key, else the onec key
        group = dup["b24_key"].where(dup_b[dup_b | dup_o], dup["onec_key"])
        long = pd.concat([pd.DataFrame({"group": group, "key": dup["b24_key"]}),
                          pd.DataFrame({"group": group, "key": dup["onec_key"]})], ignore_index=True)
        conflicts.add_groups(long, "duplicate_link", "stored_twice")
        bs.mark(dup["b24_key"], "excluded")
        os_.mark(dup["onec_key"], "excluded")
        single = ~(dup_b | dup_o).to_numpy()
        ln, bpos, opos = ln[single], bpos[single], opos[single]
    b_here, o_here = bpos >= 0, opos >= 0
    o_deleted = np.zeros(len(ln), dtype=bool)
    o_deleted[o_here] = os_.deleted[opos[o_here]]
    _broken(ln[b_here & ~o_here], "onec_key", "record_missing", bs, conflicts)
    _broken(ln[b_here & o_here & o_deleted], "onec_key", "record_deleted", bs, conflicts)
    missing_b = ~b_here & o_here & ~o_deleted
    if missing_b.any():
        part = ln[missing_b]
        conflicts.add_groups(pd.DataFrame({"group": part["onec_key"], "key": part["onec_key"],
                                           "target": part["b24_key"]}), "broken_link", "record_missing",
                             ("target",))
        os_.mark(part["onec_key"], "excluded")
    ok = b_here & o_here & ~o_deleted
    bs.paired[bpos[ok]] = True
    os_.paired[opos[ok]] = True
    return _pairs_frame(ln["b24_key"][ok].to_numpy(), ln["onec_key"][ok].to_numpy(), "stored_link")


def _broken(part: pd.DataFrame, target_col: str, reason: str, bs: _Side, conflicts: _Conflicts) -> None:
    if part.empty:
        return
    conflicts.add_groups(pd.DataFrame({"group": part["b24_key"].to_numpy(), "key": part["b24_key"].to_numpy(),
                                       "target": part[target_col].to_numpy()}),
                         "broken_link", reason, ("target",))
    bs.mark(part["b24_key"], "excluded")


# --- 2. links stamped on the records -------------------------------------------------------------
def _stamped(bs: _Side, os_: _Side, conflicts: _Conflicts, ref_namespace) -> pd.DataFrame:
    b, o = bs.frame, os_.frame
    bfree = ~(bs.paired | bs.excluded)
    ofree = ~(os_.paired | os_.excluded)
    parts = []
    for col, how in (("link", "record_link"), ("origin", "origin")):
        sel = bfree & (b[col] != "").to_numpy()
        parts.append(pd.DataFrame({"b24_key": b["key"][sel].to_numpy(), "onec_key": b[col][sel].to_numpy(),
                                   "how": how, "from_b24": True}))
    sel = ofree & (o["link"] != "").to_numpy()
    parts.append(pd.DataFrame({"b24_key": o["link"][sel].to_numpy(), "onec_key": o["key"][sel].to_numpy(),
                               "how": "record_link", "from_b24": False}))
    if ref_namespace is not None and bfree.any() and len(o):
        keys = b["key"][bfree].to_numpy(dtype=object)
        refs = np.array(["counterparty:" + md.deterministic_ref(k, ref_namespace) for k in keys], dtype=object)
        hit = os_.pos(refs) >= 0
        parts.append(pd.DataFrame({"b24_key": keys[hit], "onec_key": refs[hit], "how": "deterministic_ref",
                                   "from_b24": True}))
    cand = pd.concat(parts, ignore_index=True)
    if cand.empty:
        return _pairs_frame(np.array([]), np.array([]), "record_link")
    bpos, opos = bs.pos(cand["b24_key"]), os_.pos(cand["onec_key"])
    from_b = cand["from_b24"].to_numpy()
    # the record the reference was read from exists; its target must exist, be live and be free
    target_missing = np.where(from_b, opos < 0, bpos < 0)
    safe_b, safe_o = np.maximum(bpos, 0), np.maximum(opos, 0)
    target_deleted = from_b & (opos >= 0) & os_.deleted[safe_o]
    target_taken = ~target_missing & ~target_deleted & np.where(
        from_b, os_.paired[safe_o] | os_.excluded[safe_o], bs.paired[safe_b] | bs.excluded[safe_b])
    for mask, kind, reason in ((target_missing, "broken_link", "record_missing"),
                               (target_deleted, "broken_link", "record_deleted"),
                               (target_taken, "duplicate_link", "already_linked")):
        if not mask.any():
            continue
        part = cand[mask]
        stamped = part["b24_key"].where(part["from_b24"], part["onec_key"])
        target = part["onec_key"].where(part["from_b24"], part["b24_key"])
        long = pd.DataFrame({"group": stamped, "key": stamped, "target": target})
        if reason == "already_linked":
            long = pd.concat([long, pd.DataFrame({"group": stamped, "key": target, "target": target})])
        conflicts.add_groups(long, kind, reason, ("target",))
        bs.mark(part["b24_key"][part["from_b24"]], "excluded")
        os_.mark(part["onec_key"][~part["from_b24"]], "excluded")
    good = ~(target_missing | target_deleted | target_taken)
    cand = cand[good]
    order = {h: i for i, h in enumerate(MATCHED_BY)}
    cand = cand.assign(rank=cand["how"].map(order)).sort_values("rank", kind="stable")
    cand = cand.drop_duplicates(["b24_key", "onec_key"])
    many_b = cand["b24_key"].duplicated(keep=False)
    many_o = cand["onec_key"].duplicated(keep=False)
    bad = many_b | many_o
    if bad.any():
        part = cand[bad]
        group = part["b24_key"].where(many_b[bad], part["onec_key"])
        long = pd.concat([pd.DataFrame({"group": group, "key": part["b24_key"]}),
                          pd.DataFrame({"group": group, "key": part["onec_key"]})], ignore_index=True)
        conflicts.add_groups(long, "duplicate_link", "stamped_twice")
        bs.mark(part["b24_key"], "excluded")
        os_.mark(part["onec_key"], "excluded")
    cand = cand[~bad]
    # a record may also have been excluded above through another of its stamps
    ok = ~bs.excluded[bs.pos(cand["b24_key"])] & ~os_.excluded[os_.pos(cand["onec_key"])]
    cand = cand[ok]
    bs.mark(cand["b24_key"], "paired")
    os_.mark(cand["onec_key"], "paired")
    return _pairs_frame(cand["b24_key"].to_numpy(), cand["onec_key"].to_numpy(), cand["how"].to_numpy())


# --- 3. INN (+ KPP) ------------------------------------------------------------------------------
def _company_class(side: _Side) -> np.ndarray:
    """Bitrix24 companies and 1C counterparties of a legal or sole-proprietor kind."""
    f = side.frame
    return f["kind"].isin(_COMPANY_KINDS).to_numpy() & (f["entity"] != md.CONTACT).to_numpy()


def _invalid_inn(side: _Side, conflicts: _Conflicts) -> None:
    f = side.frame
    cls = (f["entity"] == md.COMPANY).to_numpy() | f["kind"].isin(_COMPANY_KINDS).to_numpy()
    cls &= (f["entity"] != md.CONTACT).to_numpy()
    bad = side.free() & cls & (f["inn"] != "").to_numpy() & ~f["inn_valid"].to_numpy()
    if not bad.any():
        return
    part = f[bad]
    problems = inn_problems(part["inn"], part["kind"])
    problems = np.where(problems != "", problems, "inn_wrong_length")
    conflicts.add_groups(pd.DataFrame({"group": part["key"], "key": part["key"], "inn": part["inn"]}),
                         "invalid_inn", problems, ("inn",))
    side.excluded[bad] = True


def _inn_rows(side: _Side, mask: np.ndarray) -> pd.DataFrame:
    f = side.frame
    return pd.DataFrame({"key": f["key"][mask].to_numpy(), "inn": f["inn"][mask].to_numpy(),
                         "kpp": f["kpp"][mask].to_numpy(), "free": side.free()[mask]})


def _shared_inn(side: _Side, live: np.ndarray) -> np.ndarray:
    """Per record of the side: a live record whose INN is on another live record too."""
    out = np.zeros(len(side.frame), dtype=bool)
    out[live] = side.frame["inn"][live].duplicated(keep=False).to_numpy()
    return out


def _side_duplicates(side: _Side, other: _Side, live: np.ndarray, other_live: np.ndarray, shared: np.ndarray,
                     conflicts: _Conflicts) -> None:
    """One INN with the same or a missing KPP on several live records of one side (``shared``).

    Free records of the other side with that INN (and that KPP or none) join the conflict: which
    of the duplicates they belong to cannot be told either.
    """
    multi = _inn_rows(side, shared)
    if multi.empty:
        return
    empty_kpp = (multi["kpp"] == "").groupby(multi["inn"]).transform("any")
    missing = multi[empty_kpp.to_numpy()]
    same = multi[~empty_kpp.to_numpy()]
    same = same[same.duplicated(["inn", "kpp"], keep=False)]
    there = _inn_rows(other, other_live & other.free())
    there = there[there["free"]]
    for part, reason in ((missing.assign(group=missing["inn"]), "missing_kpp"),
                         (same.assign(group=same["inn"] + "/" + same["kpp"]), "same_kpp")):
        part = part[part.groupby("group")["free"].transform("any").to_numpy()]
        if part.empty:
            continue
        heads = part.drop_duplicates("group")[["group", "inn", "kpp"]]
        if reason == "missing_kpp":
            extra = heads.drop(columns="kpp").merge(there, on="inn")
        else:
            extra = pd.concat([heads.merge(there, on=["inn", "kpp"]),
                               heads.drop(columns="kpp").merge(there[there["kpp"] == ""].drop(columns="kpp"),
                                                               on="inn").assign(kpp="")])
            extra["kpp"] = heads.set_index("group")["kpp"].reindex(extra["group"]).to_numpy()
        conflicts.add_groups(pd.concat([part, extra], ignore_index=True), "duplicate_inn", reason, ("inn", "kpp"))
        side.mark(part["key"][part["free"]], "excluded")
        other.mark(extra["key"], "excluded")


def _by_inn(bs: _Side, os_: _Side, conflicts: _Conflicts) -> pd.DataFrame:
    b, o = bs.frame, os_.frame
    b_live = _company_class(bs) & b["inn_valid"].to_numpy() & ~bs.deleted
    o_live = _company_class(os_) & o["inn_valid"].to_numpy() & ~os_.deleted
    b_shared, o_shared = _shared_inn(bs, b_live), _shared_inn(os_, o_live)  # an INN counted more than once
    _side_duplicates(bs, os_, b_live, o_live, b_shared, conflicts)
    _side_duplicates(os_, bs, o_live, b_live, o_shared, conflicts)

    def free_rows(side: _Side, live: np.ndarray, unique: np.ndarray | None = None) -> pd.DataFrame:
        f = side.frame
        m = live & side.free()
        if unique is not None:
            m &= unique
        return pd.DataFrame({"key": f["key"][m], "inn": f["inn"][m], "kpp": f["kpp"][m],
                             "entity": f["entity"][m].astype(object)})

    bf, of = free_rows(bs, b_live), free_rows(os_, o_live)
    exact = bf[bf["kpp"] != ""].merge(of[of["kpp"] != ""], on=["inn", "kpp"], suffixes=("_b", "_o"))
    out = [_pairs_frame(exact["key_b"].to_numpy(), exact["key_o"].to_numpy(), "inn_kpp")]
    bs.mark(exact["key_b"], "paired")
    os_.mark(exact["key_o"], "paired")

    # INN alone: an INN on exactly one live record of each side
    unique_b, unique_o = free_rows(bs, b_live, ~b_shared), free_rows(os_, o_live, ~o_shared)
    by_inn = unique_b.merge(unique_o, on="inn", suffixes=("_b", "_o"))
    out.append(_pairs_frame(by_inn["key_b"].to_numpy(), by_inn["key_o"].to_numpy(), "inn"))
    bs.mark(by_inn["key_b"], "paired")
    os_.mark(by_inn["key_o"], "paired")

    # what is left and still shares an INN with the other side cannot be paired without guessing
    bf, of = free_rows(bs, b_live), free_rows(os_, o_live)
    both = bf.merge(of, on="inn", suffixes=("_b", "_o"))
    if len(both):
        long = pd.concat([pd.DataFrame({"group": both["inn"], "key": both["key_b"], "inn": both["inn"]}),
                          pd.DataFrame({"group": both["inn"], "key": both["key_o"], "inn": both["inn"]})])
        conflicts.add_groups(long, "ambiguous_match", "inn_on_both_sides", ("inn",))
        bs.mark(both["key_b"], "excluded")
        os_.mark(both["key_o"], "excluded")
    _key_taken(bs, os_, free_rows(bs, b_live), b_live, o_live, conflicts)
    _key_taken(os_, bs, free_rows(os_, o_live), o_live, b_live, conflicts)
    return pd.concat(out, ignore_index=True)


def _key_taken(side: _Side, other: _Side, rows: pd.DataFrame, live: np.ndarray, other_live: np.ndarray,
               conflicts: _Conflicts) -> None:
    """A free record whose INN (with its KPP, or any KPP when it has none) is on a linked record there."""
    if rows.empty:
        return
    f = other.frame
    taken = other_live & other.paired
    taken[taken] = f["inn"][taken].isin(rows["inn"].unique()).to_numpy()  # only those INNs can meet
    there = pd.DataFrame({"other": f["key"][taken], "inn": f["inn"][taken], "kpp": f["kpp"][taken]})
    exact = rows.merge(there, on=["inn", "kpp"])
    loose = rows[rows["kpp"] == ""].drop(columns="kpp").merge(there.drop(columns="kpp"), on="inn")
    hit = pd.concat([exact, loose], ignore_index=True)
    if hit.empty:
        return
    long = pd.concat([pd.DataFrame({"group": hit["key"], "key": hit["key"], "target": hit["other"]}),
                      pd.DataFrame({"group": hit["key"], "key": hit["other"], "target": hit["other"]})])
    conflicts.add_groups(long, "duplicate_link", "already_linked", ("target",))
    side.mark(hit["key"], "excluded")


# --- 4. e-mail (individuals) ---------------------------------------------------------------------
def _emails_long(side: _Side, mask: np.ndarray) -> pd.DataFrame:
    f = side.frame
    sub = pd.DataFrame({"key": f["key"][mask].to_numpy(), "email": f["emails"][mask].to_numpy(),
                        "entity": f["entity"][mask].astype(object).to_numpy(), "free": side.free()[mask]})
    sub = sub.explode("email")
    return sub[sub["email"].notna()].astype({"email": md.STR_DTYPE})


def _by_email(bs: _Side, os_: _Side, conflicts: _Conflicts) -> pd.DataFrame:
    b, o = bs.frame, os_.frame
    b_cls = (b["entity"] == md.CONTACT).to_numpy() & ~bs.deleted
    o_cls = (o["kind"] == md.INDIVIDUAL).to_numpy() & ~os_.deleted
    for side, other, cls, other_cls in ((bs, os_, b_cls, o_cls), (os_, bs, o_cls, b_cls)):
        long = _emails_long(side, cls)
        shared = long[long.duplicated("email", keep=False)].drop_duplicates(["email", "key"])
        shared = shared[shared.duplicated("email", keep=False)]
        shared = shared[shared.groupby("email")["free"].transform("any").to_numpy()]
        if shared.empty:
            continue
        there = _emails_long(other, other_cls & other.free())
        extra = there[there["email"].isin(shared["email"].unique())]
        group = pd.concat([shared, extra], ignore_index=True)
        conflicts.add_groups(group.assign(group=group["email"]), "duplicate_email", "shared_email", ("email",))
        side.mark(shared["key"][shared["free"]], "excluded")
        other.mark(extra["key"], "excluded")
    bl = _emails_long(bs, b_cls & bs.free())
    ol = _emails_long(os_, o_cls & os_.free())
    cand = bl.merge(ol, on="email", suffixes=("_b", "_o")).drop_duplicates(["key_b", "key_o"])
    many = cand["key_b"].duplicated(keep=False) | cand["key_o"].duplicated(keep=False)
    if many.any():
        part = cand[many]
        # one conflict per connected set: group by the smallest b24 key reaching each record
        group = part.groupby("key_o")["key_b"].transform("min")
        group = group.groupby(part["key_b"]).transform("min")
        long = pd.concat([pd.DataFrame({"group": group, "key": part["key_b"]}),
                          pd.DataFrame({"group": group, "key": part["key_o"]})], ignore_index=True)
        conflicts.add_groups(long, "ambiguous_match", "several_emails_match")
        bs.mark(part["key_b"], "excluded")
        os_.mark(part["key_o"], "excluded")
    cand = cand[~many]
    bs.mark(cand["key_b"], "paired")
    os_.mark(cand["key_o"], "paired")
    # free individuals whose e-mail belongs to a linked record on the other side
    for side, other, cls, other_cls in ((bs, os_, b_cls, o_cls), (os_, bs, o_cls, b_cls)):
        mine = _emails_long(side, cls & side.free())
        theirs = _emails_long(other, other_cls & other.paired)
        theirs = theirs[theirs["email"].isin(mine["email"].unique()).to_numpy()]  # only those can meet
        hit = mine.merge(theirs[["key", "email"]].rename(columns={"key": "other"}), on="email")
        if hit.empty:
            continue
        long = pd.concat([pd.DataFrame({"group": hit["key"], "key": hit["key"], "target": hit["other"]}),
                          pd.DataFrame({"group": hit["key"], "key": hit["other"], "target": hit["other"]})])
        conflicts.add_groups(long, "duplicate_link", "already_linked", ("target",))
        side.mark(hit["key"], "excluded")
    return _pairs_frame(cand["key_b"].to_numpy(), cand["key_o"].to_numpy(), "email")
