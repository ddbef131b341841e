"""The plan: what apply will write, as a frozen, JSON-serializable value (see ``docs/plan-format.md``).

:func:`build_plan` turns a :class:`~b24sync.recon.match.MatchResult` and a
:class:`~b24sync.recon.diff.DiffResult` into :class:`Operation` objects, in apply order:

1. ``create`` for valid unmatched records (a Bitrix24 company with a valid INN or a contact with an
   e-mail → 1C counterparty with a deterministic ``Ref_Key``; a live 1C counterparty → Bitrix24
   company with requisite and address, or contact, by kind). Invalid ones are not created and are
   listed as issues with the reason;
2. ``link`` for pairs found by key or stamp (not yet in the state): the Bitrix24 record gets
   ``UF_CRM_1C_ID`` and, in the same operation, its field updates;
3. ``update``: one operation per target record with all its fields.

Bitrix24 phone/e-mail updates carry the exact multifield patch (``patch.PHONE``/``patch.EMAIL``):
values already present in any spelling are kept, values not in the target set are deleted
(unparseable ones are left alone), missing ones are appended, never twice. 1C updates carry the
contact-information rows to remove and add, by kind (``patch.КонтактнаяИнформация``).

``op_id`` hashes target, entity, key and fields, so the same change planned twice has the same id
and the journal dedupes it; ``plan_id`` hashes the operations.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers

from b24sync.recon import model as md
from b24sync.recon.diff import CONTACT_FIELDS, DiffResult, jsonable
from b24sync.recon.match import MatchResult
from b24sync.recon.model import Conflict, Issue, RejectedEdit
from b24sync.recon.normalize import normalize_emails, normalize_phones
from b24sync.recon.rules import FieldRules

__all__ = ["FORMAT_VERSION", "Operation", "Plan", "b24_multifield_patch", "build_plan", "make_operation",
           "onec_contact_patch", "with_operations"]

FORMAT_VERSION = 1
ACTIONS = ("create", "link", "update")
LINK_FIELD = "UF_CRM_1C_ID"
ORIGINATOR = "b24sync"
B24_MULTIFIELD = {"phones": "PHONE", "emails": "EMAIL"}
ONEC_CI = {  # canonical field → (Тип, predefined kind)
    "phones": ("Телефон", "ТелефонКонтрагента"),
    "emails": ("АдресЭлектроннойПочты", "EmailКонтрагента"),
    "legal_address": ("Адрес", "ЮрАдресКонтрагента"),
}
ONEC_KIND = {md.LEGAL: "ЮрЛицо", md.SOLE_PROPRIETOR: "ИндивидуальныйПредприниматель", md.INDIVIDUAL: "ФизЛицо"}
B24_PRESET = {md.LEGAL: 1, md.SOLE_PROPRIETOR: 2}


# --- the value ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """One write on one record.

    ``fields`` maps a field name (canonical, or a side's own name like ``UF_CRM_1C_ID``) to
    ``{"before", "after", "reason"}``; ``key`` holds ``b24_key``/``onec_key``; ``precondition`` the
    version the record must still have (``DATE_MODIFY`` / ``DataVersion``, or ``{"exists": False}``);
    ``patch`` the exact multifield / contact-information changes. All values are JSON-safe.
    """

    op_id: str
    action: str
    target: str
    entity: str
    target_id: str | None
    key: Mapping[str, Any]
    fields: Mapping[str, Mapping[str, Any]]
    reason: str
    precondition: Mapping[str, Any] = field(default_factory=dict)
    patch: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"op_id": self.op_id, "action": self.action, "target": self.target, "entity": self.entity,
               "target_id": self.target_id, "key": dict(self.key),
               "fields": {k: dict(v) for k, v in self.fields.items()}, "reason": self.reason}
        if self.precondition:
            out["precondition"] = dict(self.precondition)
        if self.patch:
            out["patch"] = _safe(self.patch)
        return _safe(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        return cls(op_id=data["op_id"], action=data["action"], target=data["target"], entity=data["entity"],
                   target_id=data.get("target_id"), key=dict(data["key"]), fields=dict(data["fields"]),
                   reason=data["reason"], precondition=dict(data.get("precondition") or {}),
                   patch=dict(data.get("patch") or {}))


@dataclass(frozen=True)
class Plan:
    """A complete, self-describing plan (``format_version`` 1)."""

    plan_id: str
    created_at: datetime
    operations: tuple[Operation, ...]
    conflicts: tuple[Conflict, ...] = ()
    rejected_edits: tuple[RejectedEdit, ...] = ()
    issues: tuple[Issue, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "plan_id": self.plan_id,
            "created_at": self.created_at.isoformat(),
            "operations": [op.to_dict() for op in self.operations],
            "conflicts": [_safe(c.to_dict()) for c in self.conflicts],
            "rejected_edits": [_safe(r.to_dict()) for r in self.rejected_edits],
            "issues": [i.to_dict() for i in self.issues],
            "summary": _safe(self.summary),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The plan as JSON text (UTF-8, Cyrillic kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported plan format_version {version!r} (expected {FORMAT_VERSION})")
        return cls(
            plan_id=data["plan_id"],
            created_at=datetime.fromisoformat(data["created_at"]),
            operations=tuple(Operation.from_dict(op) for op in data["operations"]),
            conflicts=tuple(Conflict(c["kind"], c["entity"], tuple(c["records"]), c["reason"], dict(c.get("detail")
                                     or {})) for c in data.get("conflicts", [])),
            rejected_edits=tuple(RejectedEdit(**r) for r in data.get("rejected_edits", [])),
            issues=tuple(Issue(**i) for i in data.get("issues", [])),
            summary=dict(data.get("summary") or {}),
            format_version=version,
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))

    @property
    def empty(self) -> bool:
        """True when there is nothing to write (conflicts and issues may still be reported)."""
        return not self.operations


_LEAVES = frozenset({str, int, bool, type(None)})


def _safe(value: Any) -> Any:
    """JSON-safe copy: tuples → lists, datetimes → ISO, Decimals → str, numpy scalars → Python."""
    kind = type(value)
    if kind in _LEAVES:  # the common leaves, as they are
        return value
    if kind is dict:  # leaves checked in place: a plan has hundreds of thousands of them
        return {(k if type(k) is str else str(k)): (v if type(v) in _LEAVES else _safe(v)) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _LEAVES else _safe(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


_DIGEST_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_KEY_JSON = json.JSONEncoder(sort_keys=True)


def _key_json(key: Mapping[str, Any]) -> str:
    """``_KEY_JSON.encode(key)``; the usual ``{b24_key, onec_key}`` of text or None is written directly."""
    if type(key) is dict and len(key) == 2:
        b, o = key.get("b24_key", _NO_KEY), key.get("onec_key", _NO_KEY)
        if (type(b) is str or b is None) and (type(o) is str or o is None):
            return (f'{{"b24_key": {"null" if b is None else _json_text(b)}, '
                    f'"onec_key": {"null" if o is None else _json_text(o)}}}')
    return _KEY_JSON.encode(key)


_NO_KEY = object()
_json_text = json.encoder.encode_basestring_ascii


def _digest(payload: Any, length: int = 24) -> str:
    text = _DIGEST_JSON.encode(payload)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _operation(action: str, target: str, entity: str, target_id: str | None, key: Mapping[str, Any],
               fields: Mapping[str, Mapping[str, Any]], reason: str, precondition: Mapping[str, Any] | None = None,
               patch: Mapping[str, Any] | None = None) -> Operation:
    key, fields = _safe(key), _safe(fields)
    op_id = _digest({"action": action, "target": target, "entity": entity, "key": key, "fields": fields})
    return Operation(op_id, action, target, entity, target_id, key, fields, reason, _safe(precondition or {}),
                     _safe(patch or {}))


make_operation = _operation
"""Build an :class:`Operation` with its deterministic ``op_id`` (for the document flows too)."""


# --- patches ---------------------------------------------------------------------------------------
_RU_E164 = re.compile(r"\+7[1-9]\d{9}", re.ASCII)


def _parse_e164(e164: str) -> phonenumbers.PhoneNumber:
    """``phonenumbers.parse(e164, None)``; a Russian ``+7`` and ten digits (what normalization writes) is
    built directly: parsing is half the cost of formatting a number, and gives the same number."""
    if _RU_E164.fullmatch(e164):
        return phonenumbers.PhoneNumber(country_code=7, national_number=int(e164[2:]))
    return phonenumbers.parse(e164, None)


def _b24_presentation(e164: str) -> str:
    try:
        return phonenumbers.format_number(_parse_e164(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def _onec_presentation(e164: str) -> str:
    """BSP's way: ``+7 (495) 123-45-67`` for Russian numbers, international format for others."""
    try:
        number = _parse_e164(e164)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 7:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "+7 " + national[2:] if national.startswith("8 ") else national
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _normalizer(name: str):
    return normalize_phones if name == "phones" else normalize_emails


def _split(raw: Sequence[tuple[Any, str]], target: Sequence[str], norm: Mapping[str, str]):
    """(kept, deleted, appended) for one record: raw ``(id, value)`` items against the target set."""
    wanted = set(target)
    kept, deleted, present = [], [], set()
    for item_id, value in raw:
        canonical = norm.get(value, "")
        if canonical == "" or canonical in wanted:  # unparseable values are not ours to delete
            kept.append((item_id, value))
            present.add(canonical)
        else:
            deleted.append((item_id, value))
    appended = [v for v in sorted(wanted) if v not in present]
    return kept, deleted, appended


def _norm_table(name: str, raws: Iterable[Sequence[tuple[Any, str]]]) -> dict[str, str]:
    values = pd.unique(np.array([v for raw in raws for _, v in raw], dtype=object))
    if not len(values):
        return {}
    return dict(zip(values.tolist(), _normalizer(name)(values).tolist(), strict=True))


def b24_multifield_patch(name: str, raw: Sequence[tuple[Any, str]], target: Sequence[str],
                         norm: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The ``PHONE``/``EMAIL`` list that turns ``raw`` into ``target`` (``name``: phones or emails)."""
    norm = norm if norm is not None else _norm_table(name, [raw])
    _, deleted, appended = _split(raw, target, norm)
    patch: list[dict[str, Any]] = [{"ID": int(item_id), "DELETE": "Y"} for item_id, _ in deleted]
    shown = _b24_presentation if name == "phones" else str
    patch += [{"VALUE": shown(v), "VALUE_TYPE": "WORK"} for v in appended]
    return patch


def onec_contact_patch(name: str, raw: Sequence[tuple[Any, str]], target: Sequence[str] | str,
                       norm: Mapping[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Contact-information rows of one kind to remove and add (``name``: phones, emails or legal_address)."""
    tip, kind = ONEC_CI[name]
    if name == "legal_address":
        add = [{"Тип": tip, "Вид": kind, "Представление": target}] if target else []
        return {"remove": [{"Тип": tip, "Вид": kind}], "add": add}
    norm = norm if norm is not None else _norm_table(name, [raw])
    _, deleted, appended = _split(raw, target, norm)
    remove = [{"LineNumber": int(line), "Тип": tip, "Представление": value} for line, value in deleted]
    add = []
    for v in appended:
        row = {"Тип": tip, "Вид": kind, "value": v}
        if name == "phones":
            row.update({"Представление": _onec_presentation(v), "НомерТелефона": v})
        else:
            row.update({"Представление": v, "АдресЭП": v})
        add.append(row)
    return {"remove": remove, "add": add}


# --- building ----------------------------------------------------------------------------------------
def _rows(frame: pd.DataFrame, keys: Iterable[str], index: pd.Index | None = None) -> pd.DataFrame:
    keys = list(keys)
    if not keys:
        return frame.iloc[0:0]
    index = _key_index(frame) if index is None else index
    pos = index.get_indexer(np.asarray(keys, dtype=object))
    return frame.iloc[pos[pos >= 0]]


def _key_index(frame: pd.DataFrame) -> pd.Index:
    """The frame's keys as an object index (no string re-typing of what is looked up in it)."""
    return pd.Index(frame["key"].to_numpy(dtype=object), dtype=object)


def _b24_among(pairs: pd.DataFrame, pair_pos: np.ndarray, b_index: pd.Index, keys: np.ndarray) -> np.ndarray:
    """``pairs["b24_key"].isin(keys)``, from the records' positions (``pair_pos``) when every pair's record
    is there: integers compared, not a million keys probed again."""
    if not len(pair_pos) or pair_pos.min() < 0:
        return _among(pairs["b24_key"], keys)
    chosen = np.zeros(len(b_index), dtype=bool)
    pos = b_index.get_indexer(np.asarray(keys, dtype=object))
    chosen[pos[pos >= 0]] = True
    return chosen[pair_pos]


def _among(values: pd.Series, keys: Iterable[Any]) -> np.ndarray:
    """``values.isin(keys)`` for distinct ``keys``: each value probed once into a table of the keys."""
    table = pd.Index(np.asarray(list(keys), dtype=object), dtype=object)
    return table.get_indexer(values.to_numpy(dtype=object)) >= 0


def _fields_for(entity: str, rules: FieldRules) -> tuple[str, ...]:
    synced = rules.synced()
    return tuple(f for f in synced if f in CONTACT_FIELDS) if entity == md.CONTACT else synced


def _create_fields(entity: str) -> tuple[str, ...]:
    """A created record gets every canonical value the source has, whatever the sync policies:
    a policy decides who wins a difference later, not what a new record starts with."""
    return tuple(f for f in md.SYNC_FIELDS if f in CONTACT_FIELDS) if entity == md.CONTACT else tuple(md.SYNC_FIELDS)


def _filled(value: Any) -> bool:
    return value is not None and value != "" and value != ()


def _named(rec: dict[str, Any], issues: list[Issue]) -> bool:
    """Both systems require a name on a new record: the legal name stands in for an empty short one;
    with neither (a person, or a firm named with spaces only) the record is not created."""
    if not rec["name"]:
        rec["name"] = rec["full_name"]
    if not rec["name"]:
        issues.append(Issue(rec["key"], "name", "", "not_created_no_name"))
    return bool(rec["name"])


def _creates(match: MatchResult, b24: pd.DataFrame, onec: pd.DataFrame, rules: FieldRules,
             namespace: uuid.UUID | str) -> tuple[list[Operation], list[Issue]]:
    ops: list[Operation] = []
    issues: list[Issue] = []
    for rec in _rows(b24, match.unmatched_b24).to_dict("records"):
        key, entity = rec["key"], str(rec["entity"])
        if entity == md.CONTACT:
            if not rec["emails"]:
                issues.append(Issue(key, "emails", "", "not_created_no_email"))
                continue
            kind = md.INDIVIDUAL
        else:
            kind = str(rec["kind"])
            problem = ("not_created_unknown_kind" if kind not in B24_PRESET else
                       "not_created_no_inn" if not rec["inn"] else
                       "not_created_invalid_inn" if not rec["inn_valid"] else "")
            if problem:
                issues.append(Issue(key, "inn", rec["inn"], problem))
                continue
        if not _named(rec, issues):
            continue
        # 1C is given the name as its legal name when there is none; Bitrix24 learns it in the same run
        invented = entity != md.CONTACT and not rec["full_name"] and "full_name" in rules.synced()
        if invented:
            rec["full_name"] = rec["name"]
        ref = md.deterministic_ref(key, namespace)
        onec_key = f"counterparty:{ref}"
        fields = {"kind": {"before": None, "after": kind, "reason": "new_in_bitrix24"},
                  "ЮрФизЛицо": {"before": None, "after": ONEC_KIND[kind], "reason": "new_in_bitrix24"}}
        patch: dict[str, Any] = {}
        rows: dict[str, list] = {"remove": [], "add": []}
        for name in _create_fields(entity):
            if _filled(rec[name]):
                fields[name] = {"before": None, "after": jsonable(rec[name]), "reason": "new_in_bitrix24"}
                if name in ONEC_CI:
                    rows["add"] += onec_contact_patch(name, (), rec[name], {})["add"]
        if rows["add"]:
            patch["КонтактнаяИнформация"] = rows
        keys = {"b24_key": key, "onec_key": onec_key}
        ops.append(_operation("create", md.ONEC, md.COUNTERPARTY, ref, keys, fields, "new_in_bitrix24",
                              {"exists": False}, patch))
        link = {LINK_FIELD: {"before": _link_ref(rec["link"]), "after": ref, "reason": "created_in_onec"}}
        if invented:
            link["full_name"] = {"before": "", "after": rec["full_name"], "reason": "created_in_onec"}
        ops.append(_operation("link", md.B24, entity, md.record_id(key), keys, link, "created_in_onec",
                              {"DATE_MODIFY": rec["version"]}))
    for rec in _rows(onec, match.unmatched_onec).to_dict("records"):
        key, kind = rec["key"], str(rec["kind"])
        if rec["deleted"]:
            issues.append(Issue(key, "DeletionMark", True, "deletion_marked"))
            continue
        if kind == md.INDIVIDUAL:
            if not rec["emails"]:
                issues.append(Issue(key, "emails", "", "not_created_no_email"))
                continue
            entity = md.CONTACT
        else:
            problem = ("not_created_unknown_kind" if kind not in B24_PRESET else
                       "not_created_no_inn" if not rec["inn"] else
                       "not_created_invalid_inn" if not rec["inn_valid"] else "")
            if problem:
                issues.append(Issue(key, "inn", rec["inn"], problem))
                continue
            entity = md.COMPANY
        if not _named(rec, issues):
            continue
        ref = md.record_id(key)
        fields = {"kind": {"before": None, "after": kind, "reason": "new_in_onec"}}
        if entity == md.COMPANY:
            fields["PRESET_ID"] = {"before": None, "after": B24_PRESET[kind], "reason": "new_in_onec"}
        patch = {}
        for name in _create_fields(entity):
            if _filled(rec[name]):
                fields[name] = {"before": None, "after": jsonable(rec[name]), "reason": "new_in_onec"}
                if name in B24_MULTIFIELD:
                    patch[B24_MULTIFIELD[name]] = b24_multifield_patch(name, (), rec[name], {})
        for name, value in (("ORIGINATOR_ID", ORIGINATOR), ("ORIGIN_ID", ref), (LINK_FIELD, ref)):
            fields[name] = {"before": None, "after": value, "reason": "new_in_onec"}
        ops.append(_operation("create", md.B24, entity, None, {"b24_key": None, "onec_key": key}, fields,
                              "new_in_onec", {"exists": False, "source": {"DataVersion": rec["version"]}}, patch))
    return ops, issues


def _records(frame: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    """``frame[cols].to_dict("records")`` for the party frame's text, category and object columns, column-wise."""
    values = [_list(frame[c]) for c in cols]
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


def _list(column: pd.Series) -> list:
    """A column's values as a plain list (iterating a string-dtype Series boxes each value slowly)."""
    return column.to_numpy(dtype=object).tolist()


def _link_ref(link: str) -> str:
    return md.record_id(link) if link else ""


def _updates(match: MatchResult, result: DiffResult, b24: pd.DataFrame, onec: pd.DataFrame) -> list[Operation]:
    decisions = result.decisions
    pairs = match.pairs
    # Bitrix24 records whose UF_CRM_1C_ID does not name their partner yet (new pairs, or a stale value)
    b_index = _key_index(b24)
    pair_pos = b_index.get_indexer(pairs["b24_key"].to_numpy(dtype=object))
    b_link = b24["link"].to_numpy(dtype=object)[pair_pos]
    stale = pairs[b_link != pairs["onec_key"].to_numpy(dtype=object)]
    new_pairs = match.new_pairs
    to_b = decisions[decisions["target"] == md.B24]
    to_o = decisions[decisions["target"] == md.ONEC]
    b_keys = pd.unique(np.concatenate([stale["b24_key"].to_numpy(dtype=object), to_b["b24_key"].to_numpy(dtype=object),
                                       new_pairs["b24_key"].to_numpy(dtype=object)]))
    cols = ["key", "entity", "version", "link", "raw_phones", "raw_emails"]
    b_rows = {r["key"]: r for r in _records(_rows(b24, b_keys, b_index), cols)}
    o_keys = to_o["onec_key"].unique()
    o_rows = {}
    if len(o_keys):  # the few records written: the million keys are probed into their table, not indexed
        o_hit = _among(onec["key"], o_keys)
        o_rows = {r["key"]: r for r in _records(onec[o_hit], cols)}
    wanted = pairs[_b24_among(pairs, pair_pos, b_index, b_keys) | _among(pairs["onec_key"], o_rows)]
    partner = dict(zip(_list(wanted["b24_key"]), _list(wanted["onec_key"]), strict=True))
    b_of = {o: b for b, o in partner.items()}

    b_fields: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in b_keys}
    for b_key, o_key in zip(_list(stale["b24_key"]), _list(stale["onec_key"]), strict=True):
        b_fields[b_key][LINK_FIELD] = {
            "before": _link_ref(b_rows[b_key]["link"]), "after": md.record_id(o_key), "reason": "link_field"}
    o_fields: dict[str, dict[str, dict[str, Any]]] = {}
    for b_key, o_key, name, target, before, after, reason in zip(
            *(_list(decisions[c]) for c in ("b24_key", "onec_key", "field", "target", "before", "after", "reason")),
            strict=True):
        bucket = b_fields[b_key] if target == md.B24 else o_fields.setdefault(o_key, {})
        bucket[name] = {"before": jsonable(before), "after": jsonable(after), "reason": reason}
    new_how = dict(zip(_list(new_pairs["b24_key"]), _list(new_pairs["matched_by"]), strict=True))
    ops: list[Operation] = []
    b_norm = {name: _norm_table(name, [b_rows[k][f"raw_{name}"] for k, f in b_fields.items() if name in f])
              for name in B24_MULTIFIELD}
    for b_key, fields in b_fields.items():
        rec = b_rows[b_key]
        patch = {B24_MULTIFIELD[n]: b24_multifield_patch(n, rec[f"raw_{n}"], fields[n]["after"], b_norm[n])
                 for n in B24_MULTIFIELD if n in fields}
        keys = {"b24_key": b_key, "onec_key": partner[b_key]}
        if b_key in new_how:
            action, reason = "link", f"matched_by_{new_how[b_key]}"
        else:
            action, reason = "update", _reason(fields)
        ops.append(_operation(action, md.B24, str(rec["entity"]), md.record_id(b_key), keys, fields, reason,
                              {"DATE_MODIFY": rec["version"]}, patch))
    o_norm = {name: _norm_table(name, [o_rows[k][f"raw_{name}"] for k, f in o_fields.items() if name in f])
              for name in ("phones", "emails")}
    for o_key, fields in o_fields.items():
        rec = o_rows[o_key]
        rows: dict[str, list] = {"remove": [], "add": []}
        for name in ONEC_CI:
            if name in fields:
                raw = rec[f"raw_{name}"] if name != "legal_address" else ()
                part = onec_contact_patch(name, raw, fields[name]["after"], o_norm.get(name))
                rows["remove"] += part["remove"]
                rows["add"] += part["add"]
        patch = {"КонтактнаяИнформация": rows} if rows["remove"] or rows["add"] else {}
        ops.append(_operation("update", md.ONEC, md.COUNTERPARTY, md.record_id(o_key),
                              {"b24_key": b_of.get(o_key), "onec_key": o_key}, fields, _reason(fields),
                              {"DataVersion": rec["version"]}, patch))
    return ops


def _reason(fields: Mapping[str, Mapping[str, Any]]) -> str:
    reasons = sorted({f["reason"] for f in fields.values()})
    return reasons[0] if len(reasons) == 1 else "several"


def _summary(ops: Sequence[Operation], conflicts: Sequence[Conflict], rejected: Sequence[RejectedEdit],
             issues: Sequence[Issue]) -> dict[str, Any]:
    per: dict[str, dict[str, dict[str, int]]] = {}
    for op in ops:
        bucket = per.setdefault(op.target, {}).setdefault(op.entity, dict.fromkeys(ACTIONS, 0))
        bucket[op.action] += 1
    return {
        "operations": per,
        "total_operations": len(ops),
        "conflicts": dict(sorted(Counter(c.kind for c in conflicts).items())),
        "total_conflicts": len(conflicts),
        "rejected_edits": len(rejected),
        "issues": len(issues),
    }


def with_operations(plan: Plan, operations: Sequence[Operation], issues: Iterable[Issue] = (),
                    drop: Iterable[Operation] = ()) -> Plan:
    """``plan`` with ``operations`` appended after its own (minus ``drop``) and ``issues`` added."""
    dropped = {op.op_id for op in drop}
    ops = [op for op in plan.operations if op.op_id not in dropped] + list(operations)
    all_issues = tuple(sorted([*plan.issues, *issues], key=lambda i: (i.record_key, i.field, i.reason, i.value)))
    return Plan(plan_id=_digest([op.op_id for op in ops]), created_at=plan.created_at, operations=tuple(ops),
                conflicts=plan.conflicts, rejected_edits=plan.rejected_edits, issues=all_issues,
                summary=_summary(ops, plan.conflicts, plan.rejected_edits, all_issues))


def build_plan(match: MatchResult, decisions: DiffResult, b24: pd.DataFrame, onec: pd.DataFrame,
               rules: FieldRules | None = None, *, issues: Iterable[Issue] = (), created_at: datetime | None = None,
               ref_namespace: uuid.UUID | str = md.DEFAULT_REF_NAMESPACE) -> Plan:
    """Assemble the plan.

    Args:
        match: the pairs, unmatched records and conflicts.
        decisions: the :func:`~b24sync.recon.diff.diff` result for ``match.pairs``.
        b24, onec: the canonical frames.
        rules: field policies (``none`` fields are not written by creates either).
        issues: normalization issues to carry into the report (creation refusals are added).
        created_at: the plan's time (default: now, UTC).
        ref_namespace: namespace of the deterministic ``Ref_Key`` of counterparties created in 1C.
    """
    rules = rules or FieldRules()
    create_ops, create_issues = _creates(match, b24, onec, rules, ref_namespace)
    update_ops = _updates(match, decisions, b24, onec)
    order = {a: i for i, a in enumerate(ACTIONS)}
    ops = sorted(create_ops + update_ops, key=lambda op: (order[op.action], op.target, op.entity,
                                                          _key_json(op.key), op.op_id))
    conflicts = tuple(sorted([*match.conflicts, *decisions.conflicts], key=lambda c: (c.kind, c.records, c.reason)))
    all_issues = tuple(sorted([*issues, *create_issues], key=lambda i: (i.record_key, i.field, i.reason, i.value)))
    rejected = tuple(decisions.rejected_edits)
    plan_id = _digest([op.op_id for op in ops])
    return Plan(plan_id=plan_id, created_at=created_at or datetime.now(UTC), operations=tuple(ops),
                conflicts=conflicts, rejected_edits=rejected, issues=all_issues,
                summary=_summary(ops, conflicts, rejected, all_issues))
