"""The canonical party frame both sides are normalized into, and the small records around it.

A *party* is one Bitrix24 company or contact, or one 1C counterparty (``Catalog_Контрагенты``),
as one row of a pandas DataFrame with exactly the columns of :data:`COLUMNS`. Both sides use the
same columns, so matching and diffing are merges and vectorized comparisons, never per-row code.

Conventions: text columns are never missing (``""`` means empty) and are whitespace-normalized;
sets (``phones``, ``emails``) are tuples, sorted and unique (``()`` when empty); ``modified_at``
is a UTC timestamp or ``NaT``. Nothing here does I/O.

The machine codes in :class:`Issue`, :class:`Conflict` and :class:`RejectedEdit` (``reason``,
``kind``) are stable identifiers for scripts and the state; :meth:`message` renders the text a
person reads from the templates in :mod:`b24sync.messages`, in the language of the moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from b24sync import messages as m
from b24sync.i18n import t

__all__ = [
    "BOOL_COLUMNS",
    "COLUMNS",
    "Column",
    "Conflict",
    "DEFAULT_REF_NAMESPACE",
    "ENTITIES",
    "Issue",
    "KINDS",
    "RejectedEdit",
    "SET_FIELDS",
    "SIDES",
    "SYNC_FIELDS",
    "TEXT_COLUMNS",
    "conform",
    "deterministic_ref",
    "empty_party_frame",
    "record_id",
]

# --- controlled vocabularies ------------------------------------------------------------------
B24 = "bitrix24"
ONEC = "onec"
SIDES = (B24, ONEC)

COMPANY = "company"
CONTACT = "contact"
COUNTERPARTY = "counterparty"
ENTITIES = (COMPANY, CONTACT, COUNTERPARTY)

LEGAL = "legal"
SOLE_PROPRIETOR = "sole_proprietor"
INDIVIDUAL = "individual"
UNKNOWN = "unknown"
KINDS = (LEGAL, SOLE_PROPRIETOR, INDIVIDUAL, UNKNOWN)

SIDE_DTYPE = pd.CategoricalDtype(list(SIDES))
ENTITY_DTYPE = pd.CategoricalDtype(list(ENTITIES))
KIND_DTYPE = pd.CategoricalDtype(list(KINDS))
STR_DTYPE = pd.StringDtype(na_value=np.nan)  # pandas 3's default ``str``
TIME_DTYPE = "datetime64[ns, UTC]"

#: Fields that are synchronized between the sides, in the order plans list them.
SYNC_FIELDS = ("name", "full_name", "inn", "kpp", "phones", "emails", "legal_address", "manager")
#: Sync fields whose value is a sorted tuple (compared as sets).
SET_FIELDS = frozenset({"phones", "emails"})


@dataclass(frozen=True)
class Column:
    """One column of the canonical party frame."""

    name: str
    dtype: Any
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("key", STR_DTYPE, "Unique per side: Bitrix24 ``company:42`` / ``contact:17``, 1C "
           "``counterparty:<Ref_Key>`` (GUID, lower-case)."),
    Column("side", SIDE_DTYPE, "``bitrix24`` or ``onec``."),
    Column("entity", ENTITY_DTYPE, "``company``, ``contact`` (Bitrix24) or ``counterparty`` (1C)."),
    Column("kind", KIND_DTYPE, "``legal``, ``sole_proprietor``, ``individual`` or ``unknown``: from the "
           "requisite preset / ``ЮрФизЛицо`` and the INN length."),
    Column("name", STR_DTYPE, "Short name: company ``TITLE``; contact ``LAST_NAME NAME SECOND_NAME``; 1C "
           "``Description``."),
    Column("full_name", STR_DTYPE, "Legal name: requisite ``RQ_COMPANY_FULL_NAME``; 1C ``НаименованиеПолное``."),
    Column("inn", STR_DTYPE, "INN as digits (whitespace removed), ``\"\"`` when absent; see ``inn_valid``."),
    Column("kpp", STR_DTYPE, "KPP (legal entities; branches differ by it), ``\"\"`` when absent."),
    Column("phones", object, "Tuple of E.164 strings, sorted, unique; invalid phones are left out (and "
           "reported as issues)."),
    Column("emails", object, "Tuple of lower-case validated e-mail addresses, sorted, unique."),
    Column("legal_address", STR_DTYPE, "Legal address as one whitespace-normalized line."),
    Column("manager", STR_DTYPE, "Lower-case e-mail of the responsible user: the key that maps a Bitrix24 user "
           "to a 1C user."),
    Column("modified_at", TIME_DTYPE, "Last modification (UTC) or NaT: Bitrix24 ``DATE_MODIFY``; 1C has none "
           "unless the extract supplies when it first saw the current ``DataVersion``."),
    Column("version", STR_DTYPE, "Precondition for apply: Bitrix24 ``DATE_MODIFY`` (ISO 8601, UTC) / 1C "
           "``DataVersion``."),
    Column("link", STR_DTYPE, "The other side's key stored on this record: Bitrix24 ``UF_CRM_1C_ID`` → "
           "``counterparty:<ref>``; on 1C the stored Bitrix24 key, if the base keeps one."),
    Column("origin", STR_DTYPE, "Bitrix24 ``ORIGIN_ID`` when ``ORIGINATOR_ID == \"b24sync\"`` (the record was "
           "created from that 1C counterparty), as ``counterparty:<ref>``."),
    Column("deleted", bool, "1C ``DeletionMark`` (always False on Bitrix24, where deletion removes the record)."),
    Column("inn_valid", bool, "The INN passes its checksum and has the length the kind requires (10 legal, "
           "12 sole proprietor / person)."),
    Column("raw_phones", object, "Tuple of ``(value_id, raw_value)`` as typed on that side: Bitrix24 "
           "multifield ``ID`` + ``VALUE``, 1C row ``LineNumber`` + ``Представление``."),
    Column("raw_emails", object, "Like ``raw_phones``, for e-mail addresses."),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
TEXT_COLUMNS = tuple(c.name for c in COLUMNS if c.dtype is STR_DTYPE)
BOOL_COLUMNS = ("deleted", "inn_valid")
TUPLE_COLUMNS = ("phones", "emails", "raw_phones", "raw_emails")

#: Namespace of the deterministic 1C ``Ref_Key`` given to counterparties created from Bitrix24.
DEFAULT_REF_NAMESPACE = uuid.UUID("6f1c2f0e-5b1a-4c3e-9a7d-b24a5c0e1c11")


def deterministic_ref(b24_key: str, namespace: uuid.UUID | str = DEFAULT_REF_NAMESPACE) -> str:
    """The ``Ref_Key`` a 1C counterparty created from ``b24_key`` gets (UUID5, lower-case).

    Use one namespace per portal, so a re-run after a lost state finds the record instead of
    creating it twice.
    """
    ns = namespace if isinstance(namespace, uuid.UUID) else uuid.UUID(str(namespace))
    return str(uuid.uuid5(ns, b24_key))


def record_id(key: str) -> str:
    """``company:42`` → ``42``; ``counterparty:<ref>`` → ``<ref>``."""
    return key.partition(":")[2]


def empty_party_frame() -> pd.DataFrame:
    """A party frame with no rows and the canonical columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in COLUMNS})


def _empty_tuples(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [()] * n
    return out


def _all_str(values: np.ndarray) -> bool:
    return set(map(type, values)) == {str}


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the canonical columns, in order, with their dtypes.

    Missing columns are added empty (``""``, ``()``, False, NaT); missing text becomes ``""``;
    a column of the wrong type is cast. Extra columns are dropped.
    """
    n = len(frame)
    out: dict[str, Any] = {}
    for col in COLUMNS:
        if col.name in frame.columns:
            series = frame[col.name]
        elif col.name in TUPLE_COLUMNS:
            series = pd.Series(_empty_tuples(n), index=frame.index)
        elif col.name in BOOL_COLUMNS:
            series = pd.Series(False, index=frame.index)
        elif col.dtype == TIME_DTYPE:
            series = pd.Series(pd.NaT, index=frame.index, dtype=TIME_DTYPE)
        else:
            series = pd.Series("", index=frame.index, dtype=STR_DTYPE)
        if col.dtype is STR_DTYPE:
            if series.dtype == object and _all_str(series.to_numpy()):
                series = series.astype(STR_DTYPE)  # nothing missing: no second pass to fill
            else:
                series = series.astype(STR_DTYPE).fillna("")
        elif col.name in BOOL_COLUMNS:
            series = series.fillna(False).astype(bool)
        elif col.name in TUPLE_COLUMNS:
            series = series.astype(object)
            missing = series.isna().to_numpy()
            if missing.any():
                series = series.copy()
                series[missing] = pd.Series(_empty_tuples(int(missing.sum())), index=series.index[missing])
        elif col.dtype == TIME_DTYPE:
            series = pd.to_datetime(series, utc=True)
        else:
            series = series.astype(col.dtype)
        out[col.name] = series
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


# --- records -----------------------------------------------------------------------------------
def _render(template_map: Mapping[str, str], code: str, values: Mapping[str, Any]) -> str:
    template = template_map.get(code, m.RECON_UNKNOWN_REASON)
    safe = _SafeDict({"reason": code, **values})
    return t(template).format_map(safe)


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "?"


@dataclass(frozen=True)
class Issue:
    """A value that could not be used: bad input never raises, it becomes an issue in the report.

    ``reason`` is a machine code (``invalid_phone``, ``bad_inn_checksum`` …); see
    :data:`b24sync.messages.RECON_ISSUES` for the list and the wording.
    """

    record_key: str
    field: str
    value: str
    reason: str

    def message(self) -> str:
        return _render(m.RECON_ISSUES, self.reason,
                       {"record": self.record_key, "field": self.field, "value": self.value})

    def to_dict(self) -> dict[str, Any]:
        return {"record_key": self.record_key, "field": self.field, "value": self.value, "reason": self.reason}


@dataclass(frozen=True)
class Conflict:
    """An ambiguity b24sync refuses to guess; nothing is written for ``records``.

    ``kind`` is the class (``duplicate_inn``, ``broken_link`` …), ``reason`` the precise machine
    code (``same_kpp``, ``record_deleted`` …), ``detail`` the values that explain it (the INN, the
    e-mail, the field). ``records`` are party keys of either side, sorted.
    """

    kind: str
    entity: str
    records: tuple[str, ...]
    reason: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        return _render(m.RECON_CONFLICTS, self.reason,
                       {"records": ", ".join(self.records), "count": len(self.records), **self.detail})

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "entity": self.entity, "records": list(self.records), "reason": self.reason,
                "detail": dict(self.detail)}


@dataclass(frozen=True)
class RejectedEdit:
    """An edit b24sync reverts or does not propagate, recorded so no change disappears silently.

    ``edited_on`` is the side where ``edited_value`` was typed; ``kept_value`` is what both sides
    hold after the apply. ``reason``: ``non_owner_edit``, ``both_changed``, ``clear_not_allowed``,
    ``older_edit``. Values are JSON-safe (sets as lists).
    """

    b24_key: str
    onec_key: str
    field: str
    edited_on: str
    edited_value: Any
    kept_value: Any
    owner: str
    reason: str

    def message(self) -> str:
        return _render(m.RECON_REJECTED, self.reason, {
            "b24_key": self.b24_key, "onec_key": self.onec_key, "field": self.field,
            "side": self.edited_on, "edited": _show(self.edited_value), "kept": _show(self.kept_value),
            "owner": self.owner,
        })

    def to_dict(self) -> dict[str, Any]:
        return {"b24_key": self.b24_key, "onec_key": self.onec_key, "field": self.field,
                "edited_on": self.edited_on, "edited_value": self.edited_value, "kept_value": self.kept_value,
                "owner": self.owner, "reason": self.reason}


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "—"
    return str(value) if value not in (None, "") else "—"
