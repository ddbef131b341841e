"""Both sides' extracted frames → the canonical party frame (:mod:`b24sync.recon.model`).

A million records must not cost a million Python calls per column. The regular majority of values
(clean names, digit INNs, plain phones, dot-atom e-mails, lower-case GUIDs) is decided in bulk by
the array kernels of :mod:`b24sync.recon.bulk`, which give exactly what the per-value functions
below give (values needing no change stay the same objects, so the frame shares the input's
memory); everything else is normalized once per *unique* raw value and mapped back:

- phones → E.164 with ``phonenumbers`` (region RU, ``8`` + ten digits → +7). Plain Russian numbers
  in any of the usual spellings take a vectorized path that applies ``phonenumbers``' own RU
  metadata patterns; everything else (other countries, extensions, odd text) goes through
  ``phonenumbers.parse`` itself. Both paths give the same answer (a unit test checks it);
- e-mails → stripped, validated with ``email-validator`` (``check_deliverability=False``) and
  lower-cased. ASCII local parts are checked by the dot-atom grammar in bulk and the domain by
  ``email-validator`` once per distinct domain; anything else is validated whole;
- INN → digits only, checksum as ``stdnum.ru.inn`` computes it (vectorized with numpy; a unit
  test checks agreement with stdnum), length 10 for legal entities and 12 for persons;
- KPP → whitespace removed, upper-case; a malformed one, or one on a sole proprietor or a person,
  is left out.

Letters in a phone are never read as keypad digits, and 1C's empty reference (the all-zero GUID) in
``UF_CRM_1C_ID``/``ORIGIN_ID`` is no link. Bad input never raises: the value is left out (phones,
e-mails, KPP) or marked (``inn_valid``) and an
:class:`~b24sync.recon.model.Issue` names the record, the field and the raw value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import chain, repeat
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from b24sync.recon import bulk
from b24sync.recon import model as md
from b24sync.recon.model import Issue

__all__ = [
    "Normalized",
    "inn_problems",
    "normalize_bitrix24",
    "normalize_emails",
    "normalize_onec",
    "normalize_phones",
    "normalize_text",
]

B24_ORIGINATOR = "b24sync"
PRESET_LEGAL, PRESET_SOLE = 1, 2
ENTITY_TYPE_CONTACT, ENTITY_TYPE_COMPANY, ENTITY_TYPE_REQUISITE = 3, 4, 8
ADDRESS_TYPE_LEGAL = 6

ONEC_KINDS = {
    "ЮрЛицо": md.LEGAL,
    "ЮрЛицоНеРезидент": md.LEGAL,
    "ИндивидуальныйПредприниматель": md.SOLE_PROPRIETOR,
    "ФизЛицо": md.INDIVIDUAL,
}
CI_PHONE, CI_EMAIL, CI_ADDRESS = "Телефон", "АдресЭлектроннойПочты", "Адрес"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_EMPTY_GUID = "00000000-0000-0000-0000-000000000000"  # 1C's «no reference»
_KPP = r"\d{4}[\dA-Z]{2}\d{3}"


class Normalized(NamedTuple):
    """A canonical party frame and the issues found while building it."""

    frame: pd.DataFrame
    issues: list[Issue]


# --- values -----------------------------------------------------------------------------------
def _objects(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series | pd.Index):
        return values.to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


def per_unique(values: Any, fn: Callable[[Any], Any], missing: Any = "") -> np.ndarray:
    """``fn`` applied once per distinct value (missing values → ``missing``), as an object array."""
    arr = _objects(values)
    codes, uniq = pd.factorize(arr)
    mapped = np.empty(len(uniq) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniq]
    mapped[-1] = missing
    return mapped[codes]


def _bulk(values: Any, kernel: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], fn: Callable[[Any], Any],
          missing: Any = "") -> np.ndarray:
    """``per_unique(values, fn, missing)``, with the ``str`` values ``kernel`` can decide decided in bulk."""
    arr = _objects(values)
    out, decided = kernel(arr)  # the kernels go chunk by chunk and decide only exact ``str`` values
    return bulk.fill_undecided(out, decided, arr, fn, missing)


def _as_text(values: Any) -> np.ndarray:
    """``per_unique(values, str)``: ``str`` values as they are (missing → ``""``)."""
    arr = _objects(values)
    strs = bulk.exact_str(arr)
    if strs.all():
        return arr.copy()
    return bulk.fill_undecided(np.where(strs, arr, None), strs, arr, str)


def _clean(text: Any) -> str:
    return " ".join(str(text).split())


def normalize_text(values: Any) -> np.ndarray:
    """Whitespace-normalized text (runs collapsed, ends stripped); missing → ``""``."""
    return _bulk(values, bulk.clean_text, _clean)


@cache
def _ru_valid_pattern() -> re.Pattern[str]:
    meta = phonenumbers.PhoneMetadata.metadata_for_region("RU")
    types = [getattr(meta, name) for name in (
        "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
        "fixed_line", "mobile")]
    alternatives = "|".join(f"(?:{d.national_number_pattern})" for d in types
                            if d is not None and d.national_number_pattern)
    return re.compile(f"(?=(?:{meta.general_desc.national_number_pattern})$)(?:{alternatives})", re.ASCII)


def phone_slow(text: str) -> str:
    """One raw phone → E.164 through ``phonenumbers.parse`` itself (``""`` if not a valid number)."""
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    typed = "".join(str(int(c)) for c in text if c.isdecimal())
    if str(number.national_number) not in typed:  # letters read as keypad digits (8-800-FLOWERS, 8495ABC4567)
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PLAIN_PHONE = re.compile(r"\+?[\d\s().\-]+", re.ASCII)
_PUNCTUATION = b" ()-.+\t\n\r\x0b\x0c"


@cache
def _ru_valid_bytes() -> re.Pattern[bytes]:
    return re.compile(_ru_valid_pattern().pattern.encode("ascii"))


def normalize_phone(text: Any) -> str:
    """One raw phone → E.164, ``""`` when it is not a valid number.

    A plain Russian number (digits, spaces, ``()-.``, 10 digits, or 11 after ``+7``/``7``/``8``) is
    checked against ``phonenumbers``' RU patterns directly; anything else is parsed by ``phonenumbers``.
    """
    s = str(text).strip()
    if not s:
        return ""
    if _PLAIN_PHONE.fullmatch(s):
        digits = s.encode("ascii").translate(None, _PUNCTUATION)
        plus = s[0] == "+"
        national = b""
        if len(digits) == 11 and (digits[0] == 55 if plus else digits[0] in (55, 56)):  # "7" / "7" or "8"
            national = digits[1:]
        elif len(digits) == 10 and not plus:
            national = digits
        if national and _ru_valid_bytes().fullmatch(national):
            return "+7" + national.decode("ascii")
    return phone_slow(s)


def _phone_kernel(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return bulk.ru_phones(strings, _ru_valid_bytes())


def normalize_phones(values: Any) -> np.ndarray:
    """Raw phones → E.164 strings, ``""`` for anything that is not a valid number (per unique value)."""
    return _bulk(values, _phone_kernel, normalize_phone)


_DOT_ATOM = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII)


def email_slow(text: str) -> str:
    """One raw address validated whole by ``email-validator`` → lower-case (``""`` if invalid)."""
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except (EmailNotValidError, UnicodeError, ValueError):
        return ""


@cache
def _domain(domain: str) -> str:
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain.lower()
    except (EmailNotValidError, UnicodeError, ValueError):
        return ""


def normalize_email(text: Any) -> str:
    """One raw address → validated lower-case address, ``""`` when invalid.

    An ASCII dot-atom local part is checked by its grammar and the domain by ``email-validator``
    (once per distinct domain); anything else is validated whole.
    """
    raw = str(text).strip()
    s = raw.lower()
    if not s:
        return ""
    local, at, domain = s.rpartition("@")
    if at and "@" not in local and len(local) <= 64 and len(s) <= 254 and _DOT_ATOM.fullmatch(local):
        checked = _domain(domain)
        return f"{local}@{checked}" if checked else ""
    return email_slow(raw)


def _email_kernel(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return bulk.dot_atom_emails(strings, _domain)


def normalize_emails(values: Any) -> np.ndarray:
    """Raw e-mail addresses → validated lower-case addresses, ``""`` when invalid (per unique value)."""
    return _bulk(values, _email_kernel, normalize_email)


_W10 = np.array([2, 4, 10, 3, 5, 9, 4, 6, 8])
_W11 = np.array([7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
_W12 = np.array([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])


def _digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    joined = "".join(values.tolist()).encode("ascii")
    return (np.frombuffer(joined, dtype=np.uint8).reshape(-1, width) - 48).astype(np.int64)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _checksum_ok(inns: np.ndarray) -> np.ndarray:
    """Per INN: 10 or 12 ASCII digits with the check digits of stdnum.ru.inn (vectorized)."""
    lengths = np.fromiter(map(len, inns), dtype=np.int64, count=len(inns))
    digits = np.fromiter(map(_ascii_digits, inns), dtype=bool, count=len(inns))
    ok = np.zeros(len(inns), dtype=bool)
    ten = digits & (lengths == 10)
    if ten.any():
        d = _digits_matrix(inns[ten], 10)
        ok[ten] = ((d[:, :9] @ _W10) % 11 % 10) == d[:, 9]
    twelve = digits & (lengths == 12)
    if twelve.any():
        d = _digits_matrix(inns[twelve], 12)
        ok[twelve] = (((d[:, :10] @ _W11) % 11 % 10) == d[:, 10]) & (((d[:, :11] @ _W12) % 11 % 10) == d[:, 11])
    return ok


def _inn_facts(inns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per INN string, in bulk: length, all ASCII digits, all zeros, checksum of ``_checksum_ok``."""
    size = len(inns)
    lengths = np.zeros(size, dtype=np.int64)
    digits, zeros, ok = (np.zeros(size, dtype=bool) for _ in range(3))
    for start in range(0, size, bulk.CHUNK):
        part = slice(start, min(start + bulk.CHUNK, size))
        c = bulk.Codes(inns[part].tolist())
        lengths[part] = c.lengths
        digits[part] = (c.count(~c.lookup(bulk.DIGIT)) == 0) & (c.lengths > 0)
        zeros[part] = c.count(c.codes != 48) == 0
        checked = np.zeros(len(c.lengths), dtype=bool)
        for width in (10, 12):
            rows = np.flatnonzero(digits[part] & (c.lengths == width))
            if len(rows):
                d = c.block(rows, width).astype(np.int64) - 48
                if width == 10:
                    checked[rows] = ((d[:, :9] @ _W10) % 11 % 10) == d[:, 9]
                else:
                    checked[rows] = (((d[:, :10] @ _W11) % 11 % 10) == d[:, 10]) & (
                        ((d[:, :11] @ _W12) % 11 % 10) == d[:, 11])
        ok[part] = checked
    return lengths, digits, zeros, ok


def inn_problems(inns: Any, kinds: Any) -> np.ndarray:
    """Per INN: ``""`` if valid for its kind, else ``not_digits``, ``inn_wrong_length``, ``inn_all_zeros`` or
    ``bad_inn_checksum``.

    ``inns`` are whitespace-free strings; an empty INN gets ``""`` (absence is judged elsewhere).
    Legal entities need 10 digits, sole proprietors and people 12. All zeros pass the checksum but are
    the placeholder typed for «unknown», and would pair unrelated firms.
    """
    arr = _objects(inns)
    if len(arr) and bulk.exact_str(arr).all():
        n, digits, zeros, checksum = _inn_facts(arr)
    else:
        codes, uniq = pd.factorize(arr)
        uniq = uniq.astype(object)
        u_len = np.fromiter(map(len, uniq), dtype=np.int64, count=len(uniq))
        u_digits = np.fromiter(map(_ascii_digits, uniq), dtype=bool, count=len(uniq))
        u_ok = _checksum_ok(uniq)
        u_zeros = np.fromiter((not u.strip("0") for u in uniq), dtype=bool, count=len(uniq))
        n, digits, checksum, zeros = u_len[codes], u_digits[codes], u_ok[codes], u_zeros[codes]
    kinds = _objects(kinds)
    expected = np.select([kinds == md.LEGAL, (kinds == md.SOLE_PROPRIETOR) | (kinds == md.INDIVIDUAL)], [10, 12], 0)
    wrong_length = ~np.isin(n, (10, 12)) | ((expected != 0) & (n != expected))
    return np.select([n == 0, ~digits, wrong_length, zeros, ~checksum],
                     ["", "not_digits", "inn_wrong_length", "inn_all_zeros", "bad_inn_checksum"], "").astype(object)


def _kind_from_inn(inns: np.ndarray) -> np.ndarray:
    n = np.fromiter(map(len, inns), dtype=np.int64, count=len(inns))
    return np.select([n == 10, n == 12], [md.LEGAL, md.SOLE_PROPRIETOR], md.UNKNOWN).astype(object)


def _empty_tuples(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out.fill(())
    return out


def _singletons(values: np.ndarray) -> np.ndarray:
    return np.fromiter(zip(values.tolist()), dtype=object, count=len(values))


def group_tuples(n: int, pos: np.ndarray, values: np.ndarray, order_by: np.ndarray | None = None,
                 unique: bool = False) -> np.ndarray:
    """An object array of ``n`` tuples: row ``i`` holds ``values[pos == i]``.

    Items are ordered by ``order_by`` (default: the values themselves) and de-duplicated when
    ``unique``. Rows with one item (the usual case) are filled directly; the others by integer
    sorts and one ``tuple`` per group of each size.
    """
    out = _empty_tuples(n)
    if len(pos) == 0:
        return out
    pos = np.asarray(pos, dtype=np.int64)
    values = np.asarray(values, dtype=object)
    counts = np.bincount(pos, minlength=n)
    single = counts[pos] == 1
    out[pos[single]] = _singletons(values[single])
    if single.all():
        return out
    multi = ~single
    pos, values = pos[multi], values[multi]
    if order_by is None:
        order_by, _ = pd.factorize(values, sort=True)
    else:
        order_by = np.asarray(order_by)[multi]
    order = np.lexsort((order_by, pos))
    p, v, o = pos[order], values[order], np.asarray(order_by)[order]
    if unique:
        keep = np.r_[True, (p[1:] != p[:-1]) | (o[1:] != o[:-1])]
        p, v = p[keep], v[keep]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    sizes = np.diff(np.r_[starts, len(p)])
    for k in np.unique(sizes):
        sel = starts[sizes == k]
        block = v[sel[:, None] + np.arange(k)]
        out[p[sel]] = np.fromiter(map(tuple, block), dtype=object, count=len(sel))
    return out


def _pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.fromiter(zip(first.tolist(), second.tolist(), strict=True), dtype=object, count=len(first))


def _col(frame: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object)


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    return normalize_text(_col(frame, name))


def _compact_one(text: Any) -> str:
    return "".join(str(text).split()).upper()


def _compact(values: Any) -> np.ndarray:
    """Text with every whitespace character removed (INN, KPP), upper-case; missing → ``""``."""
    return _bulk(values, bulk.compact, _compact_one)


_SEP = "\x1f"


def _all_blank(values: Any) -> bool:
    """Every value is missing or ``""``."""
    arr = _objects(values)
    rest = arr[arr != ""]
    return not len(rest) or (bool(pd.isna(rest[:1])[0]) and bool(pd.isna(rest).all()))


def _join_text(*parts: Any, sep: str = " ") -> np.ndarray:
    """Per row, the non-empty parts joined by ``sep`` (each part whitespace-normalized)."""
    used = [p for p in parts if not _all_blank(p)]
    if not used:
        return np.full(len(_objects(parts[0])), "", dtype=object)
    if len(used) == 1:
        return normalize_text(used[0])
    if not any(_SEP in s for s in map(str, _unusual(used))):
        # no part can be split by the separator: joining the cleaned non-empty parts is the same thing
        out = normalize_text(used[0])
        for part in used[1:]:
            text = normalize_text(part)
            filled, head = text != "", out != ""
            both = np.flatnonzero(filled & head)
            out[both] = out[both] + sep + text[both]
            only = filled & ~head
            out[only] = text[only]
        return out
    joined = per_unique(used[0], str)
    for part in used[1:]:
        joined = joined + _SEP + per_unique(part, str)
    return per_unique(joined, lambda s: sep.join(x for x in map(_clean, s.split(_SEP)) if x))


def _unusual(parts: list[Any]) -> list[Any]:
    """The values of ``parts`` that may contain ``_SEP``: one joined string of the ``str`` values, and each
    other filled value (numbers, objects)."""
    out: list[Any] = []
    for part in parts:
        arr = _objects(part)
        strs = bulk.exact_str(arr)
        out.append("".join(arr[strs].tolist()))
        out += [v for v in arr[~strs & ~pd.isna(arr)].tolist()]
    return out


def _first_filled(*parts: Any) -> np.ndarray:
    """Per row, the first of ``parts`` that is not empty after whitespace normalization."""
    out = normalize_text(parts[0])
    for part in parts[1:]:
        empty = out == ""
        if not empty.any():
            break
        out[empty] = normalize_text(_objects(part)[empty])
    return out


def _ref_one(text: Any) -> str:
    s = str(text).strip().lower()
    s = s.removeprefix("counterparty:")
    if not s or s == _EMPTY_GUID:
        return ""
    return f"counterparty:{s}" if _GUID.fullmatch(s) else "?"


def _ref_keys(raw: Any) -> tuple[np.ndarray, np.ndarray]:
    """Stored 1C references (bare GUID or ``counterparty:GUID``) → ``counterparty:guid``, and a bad mask."""
    keys = _bulk(raw, bulk.stamped_refs, _ref_one)
    bad = keys == "?"
    return np.where(bad, "", keys).astype(object), bad


class _Issues:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, keys: Any, field: str, values: Any, reason: Any, mask: Any) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        reasons = _objects(reason)[mask] if not isinstance(reason, str) else reason
        self.parts.append(pd.DataFrame({
            "record_key": _objects(keys)[mask], "field": field,
            "value": [("" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v))
                      for v in _objects(values)[mask]],
            "reason": reasons}))

    def collect(self) -> list[Issue]:
        if not self.parts:
            return []
        frame = pd.concat(self.parts, ignore_index=True).sort_values(["record_key", "field", "value"], kind="stable")
        return [Issue(*row) for row in frame.itertuples(index=False, name=None)]


def _int_ids(ids: Any, where: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """Item ids (at ``where``) as int64 (not a number → -1), and as the Python ints the raw tuples hold:
    the very objects given when they are ints already."""
    if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
        ints = (ids if where is None else ids[where]).astype(np.int64)
        return ints, ints.tolist()
    values = _objects(ids)
    if where is not None:
        values = values[where]
    if set(map(type, values)) <= {int}:
        try:
            return np.fromiter(values, dtype=np.int64, count=len(values)), values
        except OverflowError:
            pass
    ints = pd.to_numeric(pd.Series(values), errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    return ints, ints.tolist()


def _multivalue(n: int, pos: np.ndarray, ids: Any, raw: Any, keys: np.ndarray, field: str,
                normalize_one: Callable[[Any], str], kernel: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                reason: str, issues: _Issues) -> tuple[np.ndarray, np.ndarray]:
    """Raw values of one multi-valued field → (normalized sets, raw ``(id, value)`` tuples).

    Each value is converted to text (missing → ``""``) and tested for blankness; the texts are normalized
    by ``kernel`` in bulk where it can decide, else once per distinct text by ``normalize_one``.
    """
    raw = _as_text(raw)
    blank = (raw == "") | np.fromiter(map(str.isspace, raw), dtype=bool, count=len(raw))
    present = None
    if blank.any():
        present = np.flatnonzero(~blank)
        pos, raw = pos[present], raw[present]
    ids, id_objects = _int_ids(ids, present)
    values, decided = kernel(raw)
    values = bulk.fill_undecided(values, decided, raw, normalize_one)
    bad = values == ""
    issues.add(keys[pos], field, raw, reason, bad)
    if len(pos) == n and bool((pos == np.arange(n)).all()):
        # one item per record, in record order (the usual case): the tuples are made in one pass each
        sets = _empty_tuples(n)
        ok = np.flatnonzero(~bad)
        sets[ok] = _singletons(values[ok])
        raws = np.fromiter(zip(zip(id_objects, raw.tolist(), strict=True)), dtype=object, count=n)
        return sets, raws
    sets = group_tuples(n, pos[~bad], values[~bad], unique=True)
    raws = group_tuples(n, pos, _pairs(ids, raw), order_by=ids)
    return sets, raws


class _Items:
    """The items of a column of lists (Bitrix24 multifields, 1C contact information), one per row, with
    the position of the record each came from: what ``explode`` and dropping the missing items give."""

    def __init__(self, column: pd.Series) -> None:
        cells = column.to_numpy(dtype=object)
        lists = set(map(type, cells)) <= {list}
        missing = np.zeros(len(cells), dtype=bool) if lists else pd.isna(cells)
        filled = cells[~missing] if missing.any() else cells
        if lists or set(map(type, filled)) <= {list}:
            # the usual shape: lists (or nothing) → flattened in C, no Series of a million objects
            lengths = np.zeros(len(cells), dtype=np.int64)
            lengths[~missing] = np.fromiter(map(len, filled), dtype=np.int64, count=len(filled))
            self.items = np.fromiter(chain.from_iterable(filled.tolist()), dtype=object, count=int(lengths.sum()))
            self.pos = np.repeat(np.arange(len(cells)), lengths)
            if set(map(type, self.items)) != {dict}:
                keep = ~pd.isna(self.items)
                self.items, self.pos = self.items[keep], self.pos[keep]
        else:
            exploded = column.reset_index(drop=True).explode()
            exploded = exploded[exploded.notna()]
            self.items = exploded.to_numpy(dtype=object)
            self.pos = exploded.index.to_numpy(dtype=np.int64)
        self.dicts = set(map(type, self.items)) <= {dict}

    def get(self, name: str, where: np.ndarray | None = None) -> np.ndarray:
        """``item.get(name)`` per item (``None`` for an item that is not a dict), at ``where`` if given."""
        items = self.items if where is None else self.items[where]
        if self.dicts:
            return np.fromiter(map(dict.get, items, repeat(name)), dtype=object, count=len(items))
        return np.array([d.get(name) if isinstance(d, dict) else None for d in items], dtype=object)


def _b24_multifield(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    items = _Items(_col(frame, name, None))
    return items.pos, items.get("ID"), items.get("VALUE")


def _users(users: pd.DataFrame | Mapping[Any, str] | None, id_col: str) -> pd.Series:
    """User id (as the side spells it: int on Bitrix24, lower-case GUID in 1C) → lower-case e-mail."""
    if users is None:
        return pd.Series(dtype=object)
    if isinstance(users, Mapping):
        series = pd.Series(users, dtype=object)
    else:
        email_col = next((c for c in ("EMAIL", "email", "АдресЭП") if c in users.columns), None)
        if email_col is None or id_col not in users.columns:
            return pd.Series(dtype=object)
        series = pd.Series(users[email_col].to_numpy(dtype=object), index=users[id_col].to_numpy())
    if series.index.dtype == object:
        series.index = pd.Index([str(k).strip().lower() for k in series.index], dtype=object)
    return pd.Series(per_unique(series, lambda s: str(s).strip().lower()), index=series.index)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _epoch_us(value: Any) -> int | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    return (value - _EPOCH) // _US


def _modified(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Aware datetimes (a tz-aware column, or objects/ISO strings) → UTC timestamps and the ISO ``version``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        stamps = values.dt.tz_convert("UTC")
    else:
        micros = per_unique(values, _epoch_us, missing=None)
        stamps = pd.to_datetime(pd.Series(micros, dtype="float64"), unit="us", utc=True)
    stamps = stamps.astype(md.TIME_DTYPE)
    return stamps.reset_index(drop=True), _iso_seconds(stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[s]"))


def _iso_seconds(seconds: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS+00:00`` per timestamp (``""`` for NaT), as ``np.datetime_as_string`` writes it;
    years 1‥9999 are written by integer arithmetic (Gregorian calendar), the rest by numpy itself."""
    out = np.empty(len(seconds), dtype=object)
    out.fill("")
    valid = ~np.isnat(seconds)
    epoch = seconds.astype(np.int64)
    days, clock = np.divmod(epoch, 86400)
    # civil date from days since 1970-01-01 (H. Hinnant's algorithm)
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    plain = valid & (year >= 1) & (year <= 9999)
    if plain.any():
        out[plain] = bulk.fixed_lines([
            (year[plain], 4), b"-", (month[plain], 2), b"-", (day[plain], 2), b"T", (clock[plain] // 3600, 2), b":",
            (clock[plain] // 60 % 60, 2), b":", (clock[plain] % 60, 2), b"+00:00"])
    odd = valid & ~plain
    if odd.any():
        out[odd] = np.char.add(np.datetime_as_string(seconds[odd], unit="s"), "+00:00").astype(object)
    return out


# --- Bitrix24 ---------------------------------------------------------------------------------
def _prefixed(prefix: str, values: np.ndarray) -> np.ndarray:
    """``prefix + value`` per value, as ``np.char.add`` over fixed-width text gives it, without the round trip."""
    if bulk.exact_str(values).all() and "\x00" not in "".join(values.tolist()):
        return prefix + values  # object arrays add element-wise
    return np.char.add(prefix, values.astype(str)).astype(object)  # trailing NULs dropped, as before


def _int_keys(prefix: str, ids: np.ndarray) -> np.ndarray:
    """``prefix`` + the decimal id per id (int64), written in bulk by digit count."""
    if not len(ids) or ids.min() < 0 or not prefix.isascii() or "\n" in prefix:
        return _prefixed(prefix, ids.astype(str).astype(object))
    widths = np.ones(len(ids), dtype=np.int64)
    for power in range(1, 19):
        widths += ids >= 10 ** power
    out = np.empty(len(ids), dtype=object)
    for width in np.unique(widths).tolist():
        rows = widths == width
        out[rows] = bulk.fixed_lines([prefix.encode("ascii"), (ids[rows], width)])
    return out


def _kpp_bad(kpp: np.ndarray) -> np.ndarray:
    return per_unique(kpp, lambda k: bool(k) and not _KPP_RE.fullmatch(k), missing=False).astype(bool)


def _checked_kpp(keys: np.ndarray, kpp: np.ndarray, kind: np.ndarray, issues: _Issues) -> np.ndarray:
    """KPP as used: a malformed one, or one on a sole proprietor or a person (who have none), is left out
    and reported, like an invalid phone: 1C refuses to store either, and a typo must not win."""
    bad = _kpp_bad(kpp)
    issues.add(keys, "kpp", kpp, "invalid_kpp", bad)
    foreign = ~bad & (kpp != "") & ((kind == md.SOLE_PROPRIETOR) | (kind == md.INDIVIDUAL))
    issues.add(keys, "kpp", kpp, "kpp_not_for_kind", foreign)
    return np.where(bad | foreign, "", kpp).astype(object)


_KPP_RE = re.compile(_KPP, re.ASCII)


def _b24_requisites(companies: pd.DataFrame, requisites: pd.DataFrame | None, addresses: pd.DataFrame | None,
                    keys: np.ndarray, issues: _Issues) -> dict[str, np.ndarray]:
    """Per company row (aligned): preset, inn, kpp, full_name, legal_address."""
    n = len(companies)
    out = {"preset": np.zeros(n, dtype=np.int64), **{c: np.full(n, "", dtype=object)
                                                     for c in ("inn", "kpp", "full_name", "legal_address")}}
    if requisites is None or requisites.empty or n == 0:
        return out
    rq = requisites[pd.to_numeric(_col(requisites, "ENTITY_TYPE_ID", 0)).to_numpy() == ENTITY_TYPE_COMPANY]
    if "ACTIVE" in rq.columns:
        rq = rq[rq["ACTIVE"].fillna(True).astype(bool).to_numpy()]
    if rq.empty:
        return out
    row_of = pd.Index(pd.to_numeric(companies["ID"]).to_numpy())
    rq = pd.DataFrame({
        "rq_id": pd.to_numeric(rq["ID"]).to_numpy(),
        "row": row_of.get_indexer(pd.to_numeric(rq["ENTITY_ID"]).to_numpy()),
        "sort": pd.to_numeric(_col(rq, "SORT", 0)).fillna(0).to_numpy(),
        "preset": pd.to_numeric(_col(rq, "PRESET_ID", 0)).fillna(0).astype(np.int64).to_numpy(),
        "inn": _compact(_col(rq, "RQ_INN")),
        "kpp": _compact(_col(rq, "RQ_KPP")),
        # the full legal name only: falling back to the short RQ_COMPANY_NAME would invent a value 1C never had
        "full_name": _first_filled(_col(rq, "RQ_COMPANY_FULL_NAME"), _col(rq, "RQ_NAME")),
    })
    rq = rq[rq["row"].to_numpy() >= 0]
    if not rq["row"].is_monotonic_increasing or rq["row"].duplicated().any():
        rq = rq.sort_values(["row", "sort", "rq_id"], kind="stable")
    first = rq.drop_duplicates("row")
    rows = first["row"].to_numpy()
    out["preset"][rows] = first["preset"].to_numpy()
    for col in ("inn", "kpp", "full_name"):
        out[col][rows] = first[col].to_numpy(dtype=object)
    several = rq[rq["row"].duplicated(keep=False).to_numpy() & (rq["inn"] != "").to_numpy()]
    if len(several):
        distinct = several.drop_duplicates(["row", "inn"])
        amb = distinct[distinct["row"].duplicated(keep=False)]
        if len(amb):
            joined = amb.groupby("row")["inn"].agg(", ".join)
            amb_rows = joined.index.to_numpy()
            issues.add(keys[amb_rows], "inn", joined.to_numpy(dtype=object), "ambiguous_requisites",
                       np.ones(len(joined), dtype=bool))
            out["inn"][amb_rows] = ""
            out["kpp"][amb_rows] = ""
    if addresses is not None and not addresses.empty:
        legal = (pd.to_numeric(_col(addresses, "TYPE_ID", 0)).to_numpy() == ADDRESS_TYPE_LEGAL) & (
            pd.to_numeric(_col(addresses, "ENTITY_TYPE_ID", 0)).to_numpy() == ENTITY_TYPE_REQUISITE)
        ad = addresses[legal]
        line = _join_text(*(_col(ad, c, None) for c in ("POSTAL_CODE", "COUNTRY", "PROVINCE", "REGION", "CITY",
                                                        "ADDRESS_1", "ADDRESS_2")), sep=", ")
        by_rq = pd.Series(line, index=pd.to_numeric(ad["ENTITY_ID"]).to_numpy())
        by_rq = by_rq[~by_rq.index.duplicated()]
        pos = by_rq.index.get_indexer(first["rq_id"].to_numpy())
        found = pos >= 0
        out["legal_address"][rows[found]] = by_rq.to_numpy(dtype=object)[pos[found]]
    return out


def _b24_frame(frame: pd.DataFrame, entity: str, users: pd.Series, issues: _Issues) -> dict[str, Any]:
    n = len(frame)
    ids = pd.to_numeric(frame["ID"]).astype(np.int64).to_numpy()
    keys = _int_keys(f"{entity}:", ids)
    phones_pos, phone_ids, phone_raw = _b24_multifield(frame, "PHONE")
    phones, raw_phones = _multivalue(n, phones_pos, phone_ids, phone_raw, keys, "phones", normalize_phone,
                                     _phone_kernel, "invalid_phone", issues)
    email_pos, email_ids, email_raw = _b24_multifield(frame, "EMAIL")
    emails, raw_emails = _multivalue(n, email_pos, email_ids, email_raw, keys, "emails", normalize_email,
                                     _email_kernel, "invalid_email", issues)
    assigned = pd.to_numeric(_col(frame, "ASSIGNED_BY_ID", None), errors="coerce")
    manager = assigned.map(users).fillna("").to_numpy(dtype=object) if len(users) else np.full(n, "", dtype=object)
    issues.add(keys, "manager", assigned.to_numpy(dtype=object), "unknown_manager",
               (manager == "") & assigned.notna().to_numpy())
    modified_at, version = _modified(_col(frame, "DATE_MODIFY", None))
    link, bad_link = _ref_keys(_col(frame, "UF_CRM_1C_ID", None))
    issues.add(keys, "UF_CRM_1C_ID", _col(frame, "UF_CRM_1C_ID", None), "invalid_link", bad_link)
    ours = per_unique(_col(frame, "ORIGINATOR_ID", None), lambda v: str(v).strip() == B24_ORIGINATOR, False)
    origin_raw = np.where(ours.astype(bool), _objects(_col(frame, "ORIGIN_ID", None)), None)
    origin, bad_origin = _ref_keys(origin_raw)
    issues.add(keys, "ORIGIN_ID", origin_raw, "invalid_link", bad_origin)
    return {
        "key": keys, "side": md.B24, "entity": entity, "phones": phones, "emails": emails, "manager": manager,
        "modified_at": modified_at, "version": version, "link": link, "origin": origin, "deleted": False,
        "raw_phones": raw_phones, "raw_emails": raw_emails,
    }


def normalize_bitrix24(companies: pd.DataFrame | None, requisites: pd.DataFrame | None,
                       addresses: pd.DataFrame | None, contacts: pd.DataFrame | None,
                       users: pd.DataFrame | Mapping[Any, str] | None) -> Normalized:
    """Bitrix24 companies (with requisites and legal addresses) and contacts → one party frame.

    Args:
        companies: ``crm.company.list`` rows: ``ID, TITLE, PHONE, EMAIL, ASSIGNED_BY_ID, DATE_MODIFY,
            ORIGINATOR_ID, ORIGIN_ID, UF_CRM_1C_ID`` (multifields as lists of ``{"ID", "VALUE",
            "VALUE_TYPE"}``).
        requisites: ``crm.requisite.list`` rows (``ENTITY_TYPE_ID`` 4 are used; the first by ``SORT``,
            ``ID`` wins; several requisites with different INNs make the INN ambiguous → empty + issue).
        addresses: ``crm.address.list`` rows; ``TYPE_ID`` 6 of a requisite is the legal address.
        contacts: ``crm.contact.list`` rows: ``ID, NAME, SECOND_NAME, LAST_NAME, PHONE, EMAIL, …``.
        users: ``user.get`` rows (``ID``, ``EMAIL``) or a mapping user id → e-mail.

    Returns:
        The canonical frame (companies first, then contacts) and the issues found.
    """
    issues = _Issues()
    user_email = _users(users, "ID")
    if len(user_email):
        user_email.index = pd.to_numeric(pd.Series(user_email.index), errors="coerce").to_numpy()
    parts = []
    if companies is not None and len(companies):
        companies = companies.reset_index(drop=True)
        base = _b24_frame(companies, md.COMPANY, user_email, issues)
        keys = base["key"]
        rq = _b24_requisites(companies, requisites, addresses, keys, issues)
        inn, preset = rq["inn"], rq["preset"]
        kind = np.select([preset == PRESET_LEGAL, preset == PRESET_SOLE], [md.LEGAL, md.SOLE_PROPRIETOR],
                         _kind_from_inn(inn)).astype(object)
        problems = inn_problems(inn, kind)
        issues.add(keys, "inn", inn, problems, problems != "")
        issues.add(keys, "inn", inn, "no_inn", inn == "")
        kpp = _checked_kpp(keys, rq["kpp"], kind, issues)
        base.update(kind=kind, name=_text(companies, "TITLE"), full_name=rq["full_name"], inn=inn, kpp=kpp,
                    legal_address=rq["legal_address"], inn_valid=(inn != "") & (problems == ""))
        parts.append(pd.DataFrame(base))
    if contacts is not None and len(contacts):
        contacts = contacts.reset_index(drop=True)
        base = _b24_frame(contacts, md.CONTACT, user_email, issues)
        name = _join_text(_col(contacts, "LAST_NAME", None), _col(contacts, "NAME", None),
                          _col(contacts, "SECOND_NAME", None))
        base.update(kind=md.INDIVIDUAL, name=name, inn_valid=False)
        parts.append(pd.DataFrame(base))
    frame = md.conform(pd.concat(parts, ignore_index=True)) if parts else md.empty_party_frame()
    return Normalized(frame, issues.collect())


# --- 1C -----------------------------------------------------------------------------------------
def _blank_text(values: np.ndarray) -> np.ndarray:
    """Per value: ``not str(v).strip()`` (missing → True)."""
    strs = bulk.exact_str(values)
    out = np.empty(len(values), dtype=bool)
    text = values[strs]
    out[strs] = (text == "") | np.fromiter(map(str.isspace, text), dtype=bool, count=len(text))
    if not strs.all():
        out[~strs] = per_unique(values[~strs], lambda v: not str(v).strip(), True).astype(bool)
    return out


def _line_numbers(values: np.ndarray) -> np.ndarray:
    """``LineNumber`` as int64 (not a number → 0)."""
    if set(map(type, values)) <= {int}:
        try:
            return np.fromiter(values, dtype=np.int64, count=len(values))
        except OverflowError:
            pass
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").fillna(0).astype(np.int64).to_numpy()


def _lower_stripped(values: Any) -> np.ndarray:
    return _bulk(values, bulk.lower_stripped, lambda v: str(v).strip().lower())


def _by_ref(mapping: Mapping[str, str] | pd.Series) -> pd.Series:
    series = pd.Series(mapping, dtype=object) if isinstance(mapping, Mapping) else mapping.astype(object)
    index = pd.Index(_lower_stripped(series.index.to_numpy(dtype=object)))
    if not index.is_unique:  # the hash table built here serves the lookups too
        keep = ~index.duplicated()
        series, index = series[keep], index[keep]
    return pd.Series(per_unique(series, lambda v: str(v).strip()), index=index)


def _lookup(keys: np.ndarray, table: pd.Series) -> pd.Series:
    """``pd.Series(keys).map(table)`` (``table`` has a unique index); no hashing when the two are aligned."""
    index = table.index.to_numpy(dtype=object)
    if len(index) == len(keys) and bool((index == keys).all()):
        return pd.Series(table.to_numpy(dtype=object))
    return pd.Series(keys).map(table)


def normalize_onec(counterparties: pd.DataFrame, users: pd.DataFrame | Mapping[str, str] | None = None, *,
                   manager_by_ref: Mapping[str, str] | pd.Series | None = None, legal_address_kind: str = "",
                   link_by_ref: Mapping[str, str] | pd.Series | None = None) -> Normalized:
    """1C ``Catalog_Контрагенты`` (typed OData rows) → the canonical party frame.

    Args:
        counterparties: ``Ref_Key, DataVersion, DeletionMark, Description, НаименованиеПолное, ИНН, КПП,
            ЮрФизЛицо, КонтактнаяИнформация`` (rows with ``Тип``, ``Вид_Key``, ``Представление``,
            ``НомерТелефона``, ``АдресЭП``, ``LineNumber``). Optional ``modified_at`` (when the extract first
            saw the current ``DataVersion``) feeds the ``newest`` policy. Groups (``IsFolder``) are skipped.
        users: 1C users with their e-mail: a frame ``Ref_Key`` + ``email`` (or ``EMAIL``/``АдресЭП``), or a
            mapping user ref → e-mail.
        manager_by_ref: counterparty ``Ref_Key`` → responsible user ``Ref_Key`` (``ОсновнойМенеджер_Key`` of
            the counterparty or of its partner, as the install keeps it).
        legal_address_kind: ``Ref_Key`` of the predefined contact-information kind ``ЮрАдресКонтрагента``.
        link_by_ref: counterparty ``Ref_Key`` → Bitrix24 key (``company:42``) where the base stores one.
    """
    issues = _Issues()
    frame = counterparties
    if "IsFolder" in frame.columns:
        frame = frame[~frame["IsFolder"].fillna(False).astype(bool).to_numpy()]
    frame = frame.reset_index(drop=True)
    n = len(frame)
    if n == 0:
        return Normalized(md.empty_party_frame(), [])
    ref = _lower_stripped(frame["Ref_Key"])
    keys = _prefixed("counterparty:", ref)
    yur = _as_text(_col(frame, "ЮрФизЛицо", None))
    kind = pd.Series(yur).map(ONEC_KINDS).fillna(md.UNKNOWN).to_numpy(dtype=object)
    issues.add(keys, "kind", yur, "unknown_kind", kind == md.UNKNOWN)
    inn, kpp = _compact(_col(frame, "ИНН", None)), _compact(_col(frame, "КПП", None))
    problems = inn_problems(inn, kind)
    issues.add(keys, "inn", inn, problems, problems != "")
    issues.add(keys, "inn", inn, "no_inn", (inn == "") & ((kind == md.LEGAL) | (kind == md.SOLE_PROPRIETOR)))
    kpp = _checked_kpp(keys, kpp, kind, issues)

    ci = _Items(_col(frame, "КонтактнаяИнформация", None))
    typ, shown, line = ci.get("Тип"), ci.get("Представление"), _line_numbers(ci.get("LineNumber"))
    found = {}
    for name, tip, fallback, one, kernel, reason in (
            ("phones", CI_PHONE, "НомерТелефона", normalize_phone, _phone_kernel, "invalid_phone"),
            ("emails", CI_EMAIL, "АдресЭП", normalize_email, _email_kernel, "invalid_email")):
        sel = np.flatnonzero(typ == tip)
        raw = shown[sel]
        blank = _blank_text(raw)  # an empty presentation: the value is in the row's own field
        if blank.any():
            raw[blank] = ci.get(fallback, sel[blank])
        found[name] = _multivalue(n, ci.pos[sel], line[sel], raw, keys, name, one, kernel, reason, issues)
    (phones, raw_phones), (emails, raw_emails) = found["phones"], found["emails"]
    legal = np.full(n, "", dtype=object)
    if legal_address_kind:
        sel = np.flatnonzero(typ == CI_ADDRESS)
        sel = sel[per_unique(ci.get("Вид_Key", sel), lambda v: str(v).lower()) == legal_address_kind.lower()]
        pos, lines = ci.pos[sel], line[sel]
        if not np.all((pos[1:] > pos[:-1]) | ((pos[1:] == pos[:-1]) & (lines[1:] >= lines[:-1]))):
            order = np.lexsort((lines, pos))  # stable: the first row by LineNumber, then as listed
            sel, pos = sel[order], pos[order]
        first = np.r_[True, pos[1:] != pos[:-1]] if len(pos) else np.zeros(0, dtype=bool)
        legal[pos[first]] = normalize_text(shown[sel[first]])

    manager = np.full(n, "", dtype=object)
    if manager_by_ref is not None:
        user_ref = _lookup(ref, _by_ref(manager_by_ref))
        user_ref = pd.Series(per_unique(user_ref, lambda v: str(v).strip().lower(), None))
        manager = user_ref.map(_users(users, "Ref_Key")).fillna("").to_numpy(dtype=object)
        issues.add(keys, "manager", user_ref, "unknown_manager", (manager == "") & user_ref.notna().to_numpy())
    link = np.full(n, "", dtype=object)
    if link_by_ref is not None:
        link = _lookup(ref, _by_ref(link_by_ref)).fillna("").to_numpy(dtype=object)
    if "modified_at" in frame.columns:
        modified_at, _ = _modified(frame["modified_at"])
    else:
        modified_at = pd.Series(pd.NaT, index=frame.index, dtype=md.TIME_DTYPE)
    out = pd.DataFrame({
        "key": keys, "side": md.ONEC, "entity": md.COUNTERPARTY, "kind": kind,
        "name": _text(frame, "Description"), "full_name": _text(frame, "НаименованиеПолное"),
        "inn": inn, "kpp": kpp, "phones": phones, "emails": emails, "legal_address": legal, "manager": manager,
        "modified_at": modified_at, "version": _as_text(_col(frame, "DataVersion", None)),
        "link": link, "origin": "", "deleted": _col(frame, "DeletionMark", False).fillna(False).astype(bool).to_numpy(),
        "inn_valid": (inn != "") & (problems == ""), "raw_phones": raw_phones, "raw_emails": raw_emails,
    })
    return Normalized(md.conform(out), issues.collect())
