"""Both sides' extracted frames → the canonical party frame (:mod:`b24sync.recon.model`).

Values are normalized once per *unique* raw value and mapped back, so a million records cost
what their distinct phones, e-mails and INNs cost:

- phones → E.164 with ``phonenumbers`` (region RU, ``8XXXXXXXXXX`` → +7). Plain Russian numbers
  in any of the usual spellings take a vectorized path that applies ``phonenumbers``' own RU
  metadata patterns; everything else (other countries, extensions, odd text) goes through
  ``phonenumbers.parse`` itself. Both paths give the same answer (a unit test checks it);
- e-mails → stripped, validated with ``email-validator`` (``check_deliverability=False``) and
  lower-cased. ASCII local parts are checked by the dot-atom grammar in bulk and the domain by
  ``email-validator`` once per distinct domain; anything else is validated whole;
- INN → digits only, checksum as ``stdnum.ru.inn`` computes it (vectorized with numpy; a unit
  test checks agreement with stdnum), length 10 for legal entities and 12 for persons.

Bad input never raises: the value is left out (phones, e-mails) or marked (``inn_valid``) and an
:class:`~b24sync.recon.model.Issue` names the record, the field and the raw value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

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
_KPP = r"\d{4}[\dA-Z]{2}\d{3}"


class Normalized(NamedTuple):
    """A canonical party frame and the issues found while building it."""

    frame: pd.DataFrame
    issues: list[Issue]


# --- values -----------------------------------------------------------------------------------
def normalize_text(values: pd.Series) -> pd.Series:
    """Whitespace-normalized text (runs collapsed, ends stripped); missing → ``""``."""
    s = values.astype(md.STR_DTYPE).fillna("")
    uniq = pd.Series(s.unique(), dtype=md.STR_DTYPE)
    clean = uniq.str.replace(r"\s+", " ", regex=True).str.strip()
    if (clean == uniq).all():
        return s
    return s.map(pd.Series(clean.to_numpy(), index=uniq.to_numpy())).astype(md.STR_DTYPE)


@cache
def _ru_valid_pattern() -> re.Pattern[str]:
    meta = phonenumbers.PhoneMetadata.metadata_for_region("RU")
    types = [getattr(meta, name) for name in (
        "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
        "fixed_line", "mobile")]
    alternatives = "|".join(f"(?:{d.national_number_pattern})" for d in types
                            if d is not None and d.national_number_pattern)
    return re.compile(f"(?=(?:{meta.general_desc.national_number_pattern})$)(?:{alternatives})")


def phone_slow(text: str) -> str:
    """One raw phone → E.164 through ``phonenumbers.parse`` itself (``""`` if not a valid number)."""
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _unique_strings(values: pd.Series) -> pd.Series:
    present = values[values.notna()].astype(md.STR_DTYPE)
    return pd.Series(present.unique(), dtype=md.STR_DTYPE)


def _phone_table(uniq: pd.Series) -> pd.Series:
    """Unique raw phones → E.164 or ``""`` (index: the raw value)."""
    s = uniq.str.strip()
    digits = s.str.replace(r"\D", "", regex=True)
    plus = s.str.startswith("+")
    n = digits.str.len()
    plain = s.str.fullmatch(r"\+?[\d\s().\-]+")
    first = digits.str[:1]
    national = pd.Series("", index=s.index, dtype=md.STR_DTYPE)
    take_tail = plain & (n == 11) & ((plus & (first == "7")) | (~plus & first.isin(["7", "8"])))
    national = national.mask(take_tail, digits.str[1:])
    national = national.mask(plain & ~plus & (n == 10), digits)
    fast = (national != "") & national.str.match(_ru_valid_pattern())
    out = pd.Series("", index=s.index, dtype=md.STR_DTYPE).mask(fast, "+7" + national)
    slow = ~fast & (s != "")
    if slow.any():
        out[slow] = [phone_slow(x) for x in s[slow]]
    out.index = uniq.to_numpy()
    return out


def normalize_phones(values: pd.Series) -> pd.Series:
    """Raw phones → E.164 strings, ``""`` for anything that is not a valid number."""
    table = _phone_table(_unique_strings(values))
    return values.map(table).fillna("").astype(md.STR_DTYPE)


_DOT_ATOM = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def email_slow(text: str) -> str:
    """One raw address → lower-case normalized address (``""`` if invalid)."""
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


def _email_table(uniq: pd.Series) -> pd.Series:
    s = uniq.str.strip().str.lower()
    parts = s.str.rpartition("@")
    local, domain = parts[0].astype(md.STR_DTYPE), parts[2].astype(md.STR_DTYPE)
    fast = (s.str.count("@") == 1) & local.str.fullmatch(_DOT_ATOM) & (local.str.len() <= 64) & (s.str.len() <= 254)
    out = pd.Series("", index=s.index, dtype=md.STR_DTYPE)
    if fast.any():
        domains = pd.Series(domain[fast].unique(), dtype=md.STR_DTYPE)
        checked = pd.Series([_domain(d) for d in domains], index=domains.to_numpy(), dtype=md.STR_DTYPE)
        norm_domain = domain[fast].map(checked)
        ok = norm_domain != ""
        out[fast] = (local[fast] + "@" + norm_domain).where(ok, "")
    slow = ~fast & (s != "")
    if slow.any():
        out[slow] = [email_slow(x) for x in uniq[slow]]
    out.index = uniq.to_numpy()
    return out


def normalize_emails(values: pd.Series) -> pd.Series:
    """Raw e-mail addresses → validated lower-case addresses, ``""`` when invalid."""
    table = _email_table(_unique_strings(values))
    return values.map(table).fillna("").astype(md.STR_DTYPE)


_W10 = np.array([2, 4, 10, 3, 5, 9, 4, 6, 8])
_W11 = np.array([7, 2, 4, 10, 3, 5, 9, 4, 6, 8])
_W12 = np.array([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8])


def _digits_matrix(values: pd.Series, width: int) -> np.ndarray:
    joined = "".join(values.tolist()).encode("ascii")
    return (np.frombuffer(joined, dtype=np.uint8).reshape(-1, width) - 48).astype(np.int64)


def _checksum_ok(inns: pd.Series) -> pd.Series:
    """Checksum per INN of 10 or 12 ASCII digits (others: False). The algorithm of stdnum.ru.inn."""
    ok = pd.Series(False, index=inns.index)
    lengths = inns.str.len()
    digits_only = inns.str.fullmatch(r"[0-9]+")
    ten = digits_only & (lengths == 10)
    if ten.any():
        d = _digits_matrix(inns[ten], 10)
        ok[ten] = ((d[:, :9] @ _W10) % 11 % 10) == d[:, 9]
    twelve = digits_only & (lengths == 12)
    if twelve.any():
        d = _digits_matrix(inns[twelve], 12)
        ok[twelve] = (((d[:, :10] @ _W11) % 11 % 10) == d[:, 10]) & (((d[:, :11] @ _W12) % 11 % 10) == d[:, 11])
    return ok


def inn_problems(inns: pd.Series, kinds: pd.Series) -> pd.Series:
    """Per INN: ``""`` if valid for its kind, else ``not_digits``, ``inn_wrong_length`` or ``bad_inn_checksum``.

    ``inns`` must be whitespace-free strings; an empty INN gets ``""`` (absence is judged elsewhere).
    """
    uniq = pd.Series(inns.unique(), dtype=md.STR_DTYPE)
    table = pd.Series(_checksum_ok(uniq).to_numpy(), index=uniq.to_numpy())
    checksum = inns.map(table).fillna(False).astype(bool)
    n = inns.str.len()
    kinds = kinds.astype(object)
    expected = np.select([kinds == md.LEGAL, kinds.isin([md.SOLE_PROPRIETOR, md.INDIVIDUAL])], [10, 12], 0)
    wrong_length = ~n.isin([10, 12]) | ((expected != 0) & (n != expected))
    problem = np.select(
        [inns == "", ~inns.str.fullmatch(r"[0-9]+"), wrong_length, ~checksum],
        ["", "not_digits", "inn_wrong_length", "bad_inn_checksum"], "")
    return pd.Series(problem, index=inns.index, dtype=md.STR_DTYPE)


def _kind_from_inn(inns: pd.Series) -> np.ndarray:
    n = inns.str.len()
    return np.select([n == 10, n == 12], [md.LEGAL, md.SOLE_PROPRIETOR], md.UNKNOWN)


def _empty_tuples(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [()] * n
    return out


def group_tuples(n: int, pos: np.ndarray, values: np.ndarray, order_by: np.ndarray | None = None,
                 unique: bool = False) -> np.ndarray:
    """An object array of ``n`` tuples: row ``i`` holds ``values[pos == i]``.

    Items are ordered by ``order_by`` (default: the values themselves), and de-duplicated when
    ``unique``. Work is done in integer sorts and one ``tuple`` per group of each size.
    """
    out = _empty_tuples(n)
    if len(pos) == 0:
        return out
    pos = np.asarray(pos, dtype=np.int64)
    values = np.asarray(values, dtype=object)
    if order_by is None:
        order_by, _ = pd.factorize(values, sort=True)
    order = np.lexsort((order_by, pos))
    p, v, o = pos[order], values[order], np.asarray(order_by)[order]
    if unique:
        keep = np.r_[True, (p[1:] != p[:-1]) | (o[1:] != o[:-1])]
        p, v = p[keep], v[keep]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    counts = np.diff(np.r_[starts, len(p)])
    for k in np.unique(counts):
        sel = starts[counts == k]
        block = v[sel[:, None] + np.arange(k)]
        out[p[sel]] = np.fromiter(map(tuple, block), dtype=object, count=len(sel))
    return out


def _pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.fromiter(zip(first.tolist(), second.tolist(), strict=True), dtype=object, count=len(first))


def _col(frame: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype=object)


def _text(frame: pd.DataFrame, name: str) -> pd.Series:
    return normalize_text(_col(frame, name))


def _compact(values: pd.Series) -> pd.Series:
    """Text with every whitespace character removed (INN, KPP), upper-case."""
    return values.astype(md.STR_DTYPE).fillna("").str.replace(r"\s+", "", regex=True).str.upper()


def _join_text(*parts: pd.Series, sep: str = " ") -> pd.Series:
    frame = pd.concat([normalize_text(p) for p in parts], axis=1)
    joined = frame.iloc[:, 0]
    for i in range(1, frame.shape[1]):
        nxt = frame.iloc[:, i]
        joined = joined.where(nxt == "", joined.where(joined == "", joined + sep) + nxt)
    return normalize_text(joined)


def _first_filled(*parts: pd.Series) -> pd.Series:
    """Per row, the first of ``parts`` that is not empty after whitespace normalization."""
    out = normalize_text(parts[0])
    for part in parts[1:]:
        out = out.where(out != "", normalize_text(part))
    return out


def _ref_keys(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stored 1C references (bare GUID or ``counterparty:GUID``) → ``counterparty:guid``, and a bad mask."""
    s = raw.astype(md.STR_DTYPE).fillna("").str.strip().str.lower()
    s = s.str.replace(r"^counterparty:", "", regex=True)
    good = s.str.fullmatch(_GUID)
    out = ("counterparty:" + s).where(good, "")
    return out.astype(md.STR_DTYPE), (s != "") & ~good


class _Issues:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, keys: pd.Series, field: str, values: pd.Series, reason: str | pd.Series,
            mask: pd.Series | np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        reasons = reason[mask].to_numpy() if isinstance(reason, pd.Series) else reason
        self.parts.append(pd.DataFrame({
            "record_key": np.asarray(keys, dtype=object)[mask], "field": field,
            "value": pd.Series(np.asarray(values, dtype=object)[mask]).astype(str).to_numpy(), "reason": reasons}))

    def collect(self) -> list[Issue]:
        if not self.parts:
            return []
        frame = pd.concat(self.parts, ignore_index=True).sort_values(["record_key", "field", "value"], kind="stable")
        return [Issue(*row) for row in frame.itertuples(index=False, name=None)]


def _multivalue(n: int, pos: np.ndarray, ids: np.ndarray, raw: pd.Series, keys: np.ndarray, field: str,
                normalizer, reason: str, issues: _Issues) -> tuple[np.ndarray, np.ndarray]:
    """Raw values of one multi-valued field → (normalized sets, raw ``(id, value)`` tuples)."""
    raw = raw.astype(md.STR_DTYPE).fillna("")
    ids = pd.to_numeric(pd.Series(ids), errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    present = (raw.str.strip() != "").to_numpy()
    pos, ids, raw = pos[present], ids[present], raw[present].reset_index(drop=True)
    norm = normalizer(raw)
    bad = (norm == "").to_numpy()
    issues.add(pd.Series(keys[pos]), field, raw, reason, bad)
    good = ~bad
    sets = group_tuples(n, pos[good], norm.to_numpy(dtype=object)[good], unique=True)
    raws = group_tuples(n, pos, _pairs(ids, raw.to_numpy(dtype=object)), order_by=ids)
    return sets, raws


def _b24_multifield(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    values = _col(frame, name, None).reset_index(drop=True)
    exploded = values.explode()
    exploded = exploded[exploded.notna()]
    pos = exploded.index.to_numpy(dtype=np.int64)
    return pos, exploded.str.get("ID").to_numpy(dtype=object), exploded.str.get("VALUE").reset_index(drop=True)


def _users(users: pd.DataFrame | Mapping[Any, str] | None, id_col: str) -> pd.Series:
    if users is None:
        return pd.Series(dtype=md.STR_DTYPE)
    if isinstance(users, Mapping):
        series = pd.Series(users, dtype=object)
    else:
        email_col = next((c for c in ("EMAIL", "email", "АдресЭП") if c in users.columns), None)
        if email_col is None or id_col not in users.columns:
            return pd.Series(dtype=md.STR_DTYPE)
        series = pd.Series(users[email_col].to_numpy(), index=users[id_col].to_numpy())
    series.index = series.index.astype(str).str.lower()
    return series.astype(md.STR_DTYPE).fillna("").str.strip().str.lower()


def _modified(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Aware datetimes (or ISO strings) → UTC timestamps and the ISO ``version`` string."""
    stamps = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    if isinstance(stamps, pd.DatetimeIndex):
        stamps = pd.Series(stamps, index=values.index)
    text = np.datetime_as_string(stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]"), unit="s")
    version = pd.Series(text, index=values.index, dtype=md.STR_DTYPE)
    version = (version + "+00:00").where(stamps.notna(), "")
    return stamps.astype(md.TIME_DTYPE), version


# --- Bitrix24 ---------------------------------------------------------------------------------
def _b24_requisites(companies: pd.DataFrame, requisites: pd.DataFrame | None, addresses: pd.DataFrame | None,
                    keys: np.ndarray, issues: _Issues) -> pd.DataFrame:
    """Per company row (aligned): preset, inn, kpp, full_name, legal_address, ambiguous flag."""
    n = len(companies)
    out = pd.DataFrame({"preset": np.zeros(n, dtype=np.int64), "inn": "", "kpp": "", "full_name": "",
                        "legal_address": ""}).astype({c: md.STR_DTYPE for c in ("inn", "kpp", "full_name",
                                                                                  "legal_address")})
    if requisites is None or requisites.empty or n == 0:
        return out
    rq = requisites[pd.to_numeric(_col(requisites, "ENTITY_TYPE_ID", 0)) == ENTITY_TYPE_COMPANY]
    if "ACTIVE" in rq.columns:
        rq = rq[rq["ACTIVE"].fillna(True).astype(bool)]
    if rq.empty:
        return out
    rq = pd.DataFrame({
        "rq_id": pd.to_numeric(rq["ID"]).to_numpy(),
        "company": pd.to_numeric(rq["ENTITY_ID"]).to_numpy(),
        "sort": pd.to_numeric(_col(rq, "SORT", 0)).fillna(0).to_numpy(),
        "preset": pd.to_numeric(_col(rq, "PRESET_ID", 0)).fillna(0).astype(np.int64).to_numpy(),
        "inn": _compact(_col(rq, "RQ_INN")).to_numpy(),
        "kpp": _compact(_col(rq, "RQ_KPP")).to_numpy(),
        "full_name": _first_filled(_col(rq, "RQ_COMPANY_FULL_NAME"), _col(rq, "RQ_NAME"),
                                   _col(rq, "RQ_COMPANY_NAME")).to_numpy(),
    })
    rq = rq.astype({c: md.STR_DTYPE for c in ("inn", "kpp", "full_name")})
    row_of = pd.Series(np.arange(n), index=pd.to_numeric(companies["ID"]).to_numpy())
    rq["row"] = rq["company"].map(row_of)
    rq = rq[rq["row"].notna()].astype({"row": np.int64}).sort_values(["row", "sort", "rq_id"], kind="stable")
    distinct = rq[rq["inn"] != ""].groupby("row")["inn"].nunique()
    ambiguous_rows = distinct.index[distinct > 1].to_numpy()
    first = rq.drop_duplicates("row")
    if len(ambiguous_rows):
        amb = rq[rq["row"].isin(ambiguous_rows) & (rq["inn"] != "")].drop_duplicates(["row", "inn"])
        joined = amb.groupby("row")["inn"].agg(", ".join)
        issues.add(pd.Series(keys[joined.index.to_numpy()]), "inn", joined, "ambiguous_requisites",
                   np.ones(len(joined), dtype=bool))
    rows = first["row"].to_numpy()
    out.loc[rows, "preset"] = first["preset"].to_numpy()
    for col in ("inn", "kpp", "full_name"):
        out.loc[rows, col] = first[col].to_numpy()
    if len(ambiguous_rows):
        out.loc[ambiguous_rows, ["inn", "kpp"]] = ""
    if addresses is not None and not addresses.empty:
        ad = addresses[(pd.to_numeric(_col(addresses, "TYPE_ID", 0)) == ADDRESS_TYPE_LEGAL)
                       & (pd.to_numeric(_col(addresses, "ENTITY_TYPE_ID", 0)) == ENTITY_TYPE_REQUISITE)]
        line = _join_text(*(_col(ad, c) for c in ("POSTAL_CODE", "COUNTRY", "PROVINCE", "REGION", "CITY",
                                                 "ADDRESS_1", "ADDRESS_2")), sep=", ")
        by_rq = pd.Series(line.to_numpy(), index=pd.to_numeric(ad["ENTITY_ID"]).to_numpy())
        by_rq = by_rq[~by_rq.index.duplicated()]
        out.loc[rows, "legal_address"] = first["rq_id"].map(by_rq).fillna("").to_numpy()
    return out


def _b24_frame(frame: pd.DataFrame, entity: str, users: pd.Series, issues: _Issues) -> tuple[pd.DataFrame, np.ndarray]:
    frame = frame.reset_index(drop=True)
    n = len(frame)
    ids = pd.to_numeric(frame["ID"]).astype(np.int64).astype(str)
    keys = (entity + ":" + ids).astype(md.STR_DTYPE)
    key_arr = keys.to_numpy(dtype=object)
    phones_pos, phone_ids, phone_raw = _b24_multifield(frame, "PHONE")
    phones, raw_phones = _multivalue(n, phones_pos, phone_ids, phone_raw, key_arr, "phones", normalize_phones,
                                     "invalid_phone", issues)
    email_pos, email_ids, email_raw = _b24_multifield(frame, "EMAIL")
    emails, raw_emails = _multivalue(n, email_pos, email_ids, email_raw, key_arr, "emails", normalize_emails,
                                     "invalid_email", issues)
    assigned = _col(frame, "ASSIGNED_BY_ID", None)
    assigned_text = pd.to_numeric(assigned, errors="coerce").astype("Int64").astype(str).str.lower()
    manager = assigned_text.map(users).fillna("").astype(md.STR_DTYPE)
    issues.add(keys, "manager", assigned, "unknown_manager", (manager == "") & assigned.notna().to_numpy())
    modified_at, version = _modified(_col(frame, "DATE_MODIFY", None))
    link, bad_link = _ref_keys(_col(frame, "UF_CRM_1C_ID"))
    issues.add(keys, "UF_CRM_1C_ID", _col(frame, "UF_CRM_1C_ID"), "invalid_link", bad_link)
    ours = _col(frame, "ORIGINATOR_ID").astype(md.STR_DTYPE).fillna("").str.strip() == B24_ORIGINATOR
    origin, bad_origin = _ref_keys(_col(frame, "ORIGIN_ID").where(ours.to_numpy(), ""))
    issues.add(keys, "ORIGIN_ID", _col(frame, "ORIGIN_ID"), "invalid_link", bad_origin)
    out = pd.DataFrame({
        "key": keys, "side": md.B24, "entity": entity, "phones": phones, "emails": emails, "manager": manager,
        "modified_at": modified_at, "version": version, "link": link, "origin": origin, "deleted": False,
        "raw_phones": raw_phones, "raw_emails": raw_emails,
    })
    return out, key_arr


def normalize_bitrix24(companies: pd.DataFrame, requisites: pd.DataFrame | None, addresses: pd.DataFrame | None,
                       contacts: pd.DataFrame, users: pd.DataFrame | Mapping[Any, str] | None) -> Normalized:
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
    parts = []
    if companies is not None and len(companies):
        companies = companies.reset_index(drop=True)
        base, keys = _b24_frame(companies, md.COMPANY, user_email, issues)
        rq = _b24_requisites(companies, requisites, addresses, keys, issues)
        inn = rq["inn"]
        preset = rq["preset"].to_numpy()
        kind = np.select([preset == PRESET_LEGAL, preset == PRESET_SOLE], [md.LEGAL, md.SOLE_PROPRIETOR],
                         _kind_from_inn(inn))
        kind_s = pd.Series(kind, index=inn.index)
        problems = inn_problems(inn, kind_s)
        issues.add(base["key"], "inn", inn, problems, problems != "")
        issues.add(base["key"], "inn", inn, "no_inn", inn == "")
        bad_kpp = (rq["kpp"] != "") & ~rq["kpp"].str.fullmatch(_KPP)
        issues.add(base["key"], "kpp", rq["kpp"], "invalid_kpp", bad_kpp)
        base = base.assign(kind=kind, name=_text(companies, "TITLE"), full_name=rq["full_name"], inn=inn,
                           kpp=rq["kpp"], legal_address=rq["legal_address"], inn_valid=(inn != "") & (problems == ""))
        parts.append(base)
    if contacts is not None and len(contacts):
        contacts = contacts.reset_index(drop=True)
        base, _ = _b24_frame(contacts, md.CONTACT, user_email, issues)
        name = _join_text(_col(contacts, "LAST_NAME"), _col(contacts, "NAME"), _col(contacts, "SECOND_NAME"))
        base = base.assign(kind=md.INDIVIDUAL, name=name, inn_valid=False)
        parts.append(base)
    frame = md.conform(pd.concat(parts, ignore_index=True)) if parts else md.empty_party_frame()
    return Normalized(frame, issues.collect())


# --- 1C -----------------------------------------------------------------------------------------
def _ci_rows(counterparties: pd.DataFrame) -> pd.DataFrame:
    values = _col(counterparties, "КонтактнаяИнформация", None).reset_index(drop=True)
    exploded = values.explode()
    exploded = exploded[exploded.notna()]
    get = exploded.str.get
    rows = pd.DataFrame({
        "pos": exploded.index.to_numpy(dtype=np.int64),
        "type": get("Тип").to_numpy(dtype=object),
        "kind": get("Вид_Key").to_numpy(dtype=object),
        "line": get("LineNumber").to_numpy(dtype=object),
        "shown": get("Представление").to_numpy(dtype=object),
        "phone": get("НомерТелефона").to_numpy(dtype=object),
        "email": get("АдресЭП").to_numpy(dtype=object),
    })
    rows["line"] = pd.to_numeric(rows["line"], errors="coerce").fillna(0).astype(np.int64)
    for col in ("type", "kind", "shown", "phone", "email"):
        rows[col] = rows[col].astype(md.STR_DTYPE).fillna("")
    rows["kind"] = rows["kind"].str.lower()
    return rows


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
        frame = frame[~frame["IsFolder"].fillna(False).astype(bool)]
    frame = frame.reset_index(drop=True)
    n = len(frame)
    if n == 0:
        return Normalized(md.empty_party_frame(), [])
    ref = frame["Ref_Key"].astype(md.STR_DTYPE).str.strip().str.lower()
    keys = ("counterparty:" + ref).astype(md.STR_DTYPE)
    key_arr = keys.to_numpy(dtype=object)
    yur = frame["ЮрФизЛицо"].astype(md.STR_DTYPE).fillna("") if "ЮрФизЛицо" in frame.columns else \
        pd.Series("", index=frame.index, dtype=md.STR_DTYPE)
    kind = yur.map(ONEC_KINDS).fillna(md.UNKNOWN)
    issues.add(keys, "kind", yur, "unknown_kind", (kind == md.UNKNOWN).to_numpy())
    inn = _compact(_col(frame, "ИНН"))
    kpp = _compact(_col(frame, "КПП"))
    problems = inn_problems(inn, kind)
    issues.add(keys, "inn", inn, problems, problems != "")
    issues.add(keys, "inn", inn, "no_inn", (inn == "") & kind.isin([md.LEGAL, md.SOLE_PROPRIETOR]))
    issues.add(keys, "kpp", kpp, "invalid_kpp", (kpp != "") & ~kpp.str.fullmatch(_KPP))

    rows = _ci_rows(frame)
    phones_rows = rows[rows["type"] == CI_PHONE]
    raw = phones_rows["shown"].where(phones_rows["shown"].str.strip() != "", phones_rows["phone"])
    phones, raw_phones = _multivalue(n, phones_rows["pos"].to_numpy(), phones_rows["line"].to_numpy(),
                                     raw.reset_index(drop=True), key_arr, "phones", normalize_phones,
                                     "invalid_phone", issues)
    email_rows = rows[rows["type"] == CI_EMAIL]
    raw = email_rows["shown"].where(email_rows["shown"].str.strip() != "", email_rows["email"])
    emails, raw_emails = _multivalue(n, email_rows["pos"].to_numpy(), email_rows["line"].to_numpy(),
                                     raw.reset_index(drop=True), key_arr, "emails", normalize_emails,
                                     "invalid_email", issues)
    legal = pd.Series("", index=frame.index, dtype=md.STR_DTYPE)
    if legal_address_kind:
        addr = rows[(rows["type"] == CI_ADDRESS) & (rows["kind"] == legal_address_kind.lower())]
        addr = addr.sort_values(["pos", "line"], kind="stable").drop_duplicates("pos")
        legal.iloc[addr["pos"].to_numpy()] = normalize_text(addr["shown"]).to_numpy()

    manager = pd.Series("", index=frame.index, dtype=md.STR_DTYPE)
    if manager_by_ref is not None:
        by_ref = pd.Series(manager_by_ref, dtype=object) if isinstance(manager_by_ref, Mapping) else manager_by_ref
        by_ref.index = by_ref.index.astype(str).str.lower()
        user_ref = ref.map(by_ref.astype(md.STR_DTYPE).str.lower())
        manager = user_ref.map(_users(users, "Ref_Key")).fillna("").astype(md.STR_DTYPE)
        issues.add(keys, "manager", user_ref, "unknown_manager", (manager == "") & user_ref.notna().to_numpy())
    link = pd.Series("", index=frame.index, dtype=md.STR_DTYPE)
    if link_by_ref is not None:
        by_ref = pd.Series(link_by_ref, dtype=object) if isinstance(link_by_ref, Mapping) else link_by_ref
        by_ref.index = by_ref.index.astype(str).str.lower()
        link = ref.map(by_ref).fillna("").astype(md.STR_DTYPE)
    modified_at = pd.to_datetime(_col(frame, "modified_at", None), utc=True, errors="coerce", format="mixed")
    out = pd.DataFrame({
        "key": keys, "side": md.ONEC, "entity": md.COUNTERPARTY, "kind": kind,
        "name": _text(frame, "Description"), "full_name": _text(frame, "НаименованиеПолное"),
        "inn": inn, "kpp": kpp, "phones": phones, "emails": emails, "legal_address": legal, "manager": manager,
        "modified_at": modified_at, "version": _col(frame, "DataVersion").astype(md.STR_DTYPE).fillna(""),
        "link": link, "origin": "", "deleted": _col(frame, "DeletionMark", False).fillna(False).astype(bool),
        "inn_valid": (inn != "") & (problems == ""), "raw_phones": raw_phones, "raw_emails": raw_emails,
    })
    return Normalized(md.conform(out), issues.collect())
