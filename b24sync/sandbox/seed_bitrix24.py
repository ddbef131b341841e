"""The Bitrix24 projection of the party world: what a sales team's portal looks like after two years.

Organisations become companies with a requisite and a legal address, individuals become
contacts (some linked to their employer's company), plus deals with product rows and leads.
Values carry the noise of manual entry (phones in any format, e-mails in any case, titles with
or without quotes) and a recorded set of planted anomalies (:mod:`b24sync.sandbox.seed_spec`).
IDs are positions, as :class:`~b24sync.sandbox.bitrix24.api.PortalSeed` defines them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from b24sync.sandbox import noise, ru_data, ru_people
from b24sync.sandbox.bitrix24.api import BUILTIN_PRODUCT_IDS, BUILTIN_USER_IDS, PortalSeed
from b24sync.sandbox.bitrix24.methods.reference import MEASURES
from b24sync.sandbox.bitrix24.methods.reference import PRODUCTS as CATALOG
from b24sync.sandbox.parties import INDIVIDUAL, LEGAL, SOLE_PROPRIETOR, distinct, gc_paused, stream
from b24sync.sandbox.seed_spec import (
    BAD_INN_CHECKSUM,
    BRANCH_PAIR,
    DUPLICATE_INN,
    MISSING_REQUISITE,
    SHARED_EMAIL,
    UNKNOWN_PRODUCT,
    WRONG_INN_LENGTH,
    Planted,
    SeedSpec,
)

_MAX_QUANTITY = {"шт": 20, "м": 300, "уп": 50, "ч": 40, "мес": 12, "усл": 3}


@dataclass(frozen=True)
class Product:
    """A built-in catalog product as deal rows quote it (product ``i`` of :data:`PRODUCTS` has ID ``i + 1``)."""

    name: str
    price: int  # list price, kopecks
    measure_code: int
    measure_name: str
    max_quantity: int


PRODUCTS: tuple[Product, ...] = tuple(
    Product(name, round(price * 100), MEASURES[measure], measure, _MAX_QUANTITY.get(measure, 10))
    for name, price, measure in CATALOG
)
"""The emulator's own catalog, so deal rows name the product their PRODUCT_ID points at."""

_PUBLIC_DOMAINS = frozenset(d for d, _ in ru_data.PUBLIC_MAIL_DOMAINS)
_STAGES = (("NEW", 0.12), ("PREPARATION", 0.12), ("EXECUTING", 0.14), ("WON", 0.38), ("LOSE", 0.24))
_LEAD_STATUSES = (("NEW", 0.25), ("IN_PROCESS", 0.25), ("PROCESSED", 0.15), ("CONVERTED", 0.2), ("JUNK", 0.15))
_FREE_TEXT_ROWS = (("Монтаж оборудования на объекте клиента", 4500.0, "усл"),
                   ("Выезд инженера за МКАД", 1800.0, "усл"),
                   ("Изготовление таблички с логотипом", 2300.0, "шт"))
"""Rows typed by hand into a deal (``PRODUCT_ID`` 0): 1C has no item for them."""


@dataclass
class Bitrix24Projection:
    """The seed plus what tests and the demo need to explain it.

    ``company_party[i]`` / ``contact_party[i]`` is the party behind company / contact ``i + 1``
    (a planted duplicate points at the same party as its original).
    """

    seed: PortalSeed
    planted: list[Planted]
    company_party: list[int] = field(default_factory=list)
    contact_party: list[int] = field(default_factory=list)


def bitrix24_seed(
    parties: pd.DataFrame, spec: SeedSpec, seed: int = 0, *, custom_stage: str | None = None
) -> tuple[PortalSeed, list[Planted]]:
    """The portal content for the parties with ``in_b24``, and the anomalies planted in it.

    ``custom_stage`` (e.g. ``"C0:UC_CONTRACT"`` or ``"UC_SIGNED"``) puts ``spec.custom_stage_rate``
    of the deals at that stage; ``None`` uses the standard stages only.
    """
    result = project_bitrix24(parties, spec, seed, custom_stage=custom_stage)
    return result.seed, result.planted


def project_bitrix24(
    parties: pd.DataFrame, spec: SeedSpec, seed: int = 0, *, custom_stage: str | None = None
) -> Bitrix24Projection:
    """:func:`bitrix24_seed` with the record → party mapping kept."""
    with gc_paused():
        return _Builder(parties, spec, seed, custom_stage).build()


# --- helpers ---------------------------------------------------------------------------------------


def iso_times(values: np.ndarray, offset: str) -> list[str]:
    """Naive local datetime64 values as Bitrix24 renders them: ``2024-08-15T10:38:21+03:00``."""
    return [f"{s}{offset}" for s in np.datetime_as_string(values.astype("datetime64[s]"), unit="s").tolist()]


def _offset(as_of: datetime) -> str:
    delta = as_of.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _between(start: np.ndarray, end: np.datetime64, share: np.ndarray) -> np.ndarray:
    span = (end - start).astype(np.int64)
    return start + (span * share).astype(np.int64).astype("timedelta64[s]")


def _flatten(lists: list[list[str]]) -> tuple[list[str], np.ndarray]:
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    return [v for x in lists for v in x], counts


def _phone_fields(lists: list[list[str]], rng: np.random.Generator, home: bool) -> list[list[dict[str, str]]]:
    """``PHONE`` multifields in messy formats; mobiles are MOBILE, landlines WORK (or HOME for people)."""
    flat, counts = _flatten(lists)
    messy = noise.format_phones_messy(flat, rng)
    coin = (rng.random(len(flat)) < 0.5).tolist()
    items = [
        {"VALUE": m, "VALUE_TYPE": "MOBILE" if e.startswith("+79") else ("HOME" if home and c else "WORK")}
        for e, m, c in zip(flat, messy, coin, strict=True)
    ]
    return _regroup(items, counts)


def _email_fields(lists: list[list[str]], rng: np.random.Generator, home: bool) -> list[list[dict[str, str]]]:
    """``EMAIL`` multifields with mixed case; personal mailboxes of people are often typed HOME."""
    flat, counts = _flatten(lists)
    mixed = noise.mix_case_emails(flat, rng)
    coin = (rng.random(len(flat)) < 0.5).tolist()
    items = [
        {"VALUE": m, "VALUE_TYPE": "HOME" if home and c and e.partition("@")[2] in _PUBLIC_DOMAINS else "WORK"}
        for e, m, c in zip(flat, mixed, coin, strict=True)
    ]
    return _regroup(items, counts)


def _regroup(items: list, counts: np.ndarray) -> list[list]:
    ends = np.cumsum(counts)
    return [items[a:b] for a, b in zip((ends - counts).tolist(), ends.tolist(), strict=True)]


def _money(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def _break_checksum(inn: str, rng: np.random.Generator) -> str:
    """Same length, wrong check digit: what a one-digit typo in the last position does."""
    return inn[:-1] + str((int(inn[-1]) + int(rng.integers(1, 10))) % 10)


def _break_length(inn: str, rng: np.random.Generator) -> str:
    """A digit lost (9 digits) or typed twice (11 digits)."""
    if rng.random() < 0.5:
        return inn[:-1]
    i = int(rng.integers(0, len(inn)))
    return inn[: i + 1] + inn[i:]


# --- the builder ------------------------------------------------------------------------------------


class _Builder:
    """Holds the intermediate arrays of one projection; ``build`` runs the steps in order."""

    def __init__(self, parties: pd.DataFrame, spec: SeedSpec, seed: int, custom_stage: str | None) -> None:
        self.spec = spec
        self.seed = seed
        self.custom_stage = custom_stage
        self.offset = _offset(spec.as_of)
        self.as_of = np.datetime64(spec.as_of.replace(tzinfo=None), "s")
        self.world = parties.reset_index(drop=True)
        b24 = parties[parties["in_b24"].to_numpy(dtype=bool)].reset_index(drop=True)
        self.b24 = b24
        self.created = b24["created_at"].dt.tz_localize(None).to_numpy(dtype="datetime64[s]")
        self.row_of_party = pd.Series(np.arange(len(b24)), index=b24["party_id"].to_numpy())
        self.planted: list[Planted] = []

    def build(self) -> Bitrix24Projection:
        companies, requisites, addresses, company_party = self._companies()
        contacts, contact_party = self._contacts()
        deals = self._deals(len(companies), contacts)
        leads = self._leads()
        seed = PortalSeed(
            companies=companies,
            contacts=contacts,
            requisites=requisites,
            addresses=addresses,
            deals=deals,
            leads=leads,
        )
        return Bitrix24Projection(seed, self.planted, company_party, contact_party)

    # -- companies, requisites, addresses --

    def _pick_anomalies(self, firm_rows: np.ndarray) -> dict[str, np.ndarray]:
        """Distinct ordinary legal entities for each company-level anomaly."""
        b24, spec = self.b24, self.spec
        rng = stream(self.seed, "b24.anomalies")
        in_group = b24["head_party_id"].notna().to_numpy() | b24["party_id"].isin(b24["head_party_id"]).to_numpy()
        pool = rng.permutation(np.flatnonzero((b24["kind"].to_numpy() == LEGAL) & ~in_group))
        wanted = {
            DUPLICATE_INN: spec.planted_count(spec.duplicate_inn_rate, len(firm_rows)),
            BAD_INN_CHECKSUM: spec.planted_count(spec.bad_inn_checksum_rate, len(firm_rows)),
            WRONG_INN_LENGTH: spec.planted_count(spec.wrong_inn_length_rate, len(firm_rows)),
            MISSING_REQUISITE: spec.planted_count(spec.missing_requisite_rate, len(firm_rows)),
        }
        if sum(wanted.values()) > len(pool):
            raise ValueError(f"too few legal entities in Bitrix24 ({len(pool)}) to plant {wanted}")
        picked, start = {}, 0
        for kind, count in wanted.items():
            picked[kind] = pool[start : start + count]
            start += count
        return picked

    def _companies(self) -> tuple[list[dict], list[dict], list[dict], list[int]]:
        b24 = self.b24
        kind = b24["kind"].to_numpy()
        firm_rows = np.flatnonzero(kind != INDIVIDUAL)
        picked = self._pick_anomalies(firm_rows)
        rng = stream(self.seed, "b24.companies")

        # A duplicate is the same party entered again later, by the same or another manager.
        dups = picked[DUPLICATE_INN]
        rows = np.concatenate([firm_rows, dups])
        is_dup = np.concatenate([np.zeros(len(firm_rows), bool), np.ones(len(dups), bool)])
        created = self.created[rows].copy()
        created[is_dup] = _between(created[is_dup], self.as_of, rng.uniform(0.05, 1.0, len(dups)))
        order = np.lexsort((is_dup, created))
        rows, is_dup, created = rows[order], is_dup[order], created[order]
        position = np.arange(1, len(rows) + 1)
        pos_of_row = np.zeros(len(b24), dtype=np.int64)
        pos_of_row[rows[~is_dup]] = position[~is_dup]
        self.company_pos_of_row = pos_of_row

        sub = b24.iloc[rows]
        k = sub["kind"].to_numpy()
        legal, sole = k == LEGAL, k == SOLE_PROPRIETOR
        titles = np.empty(len(rows), dtype=object)
        li, si = np.flatnonzero(legal), np.flatnonzero(sole)
        titles[li] = noise.messy_org_titles(sub["legal_form"].to_numpy()[li], sub["brand"].to_numpy()[li], rng)
        titles[si] = noise.messy_ip_titles(
            sub["last_name"].to_numpy()[si], sub["first_name"].to_numpy()[si], sub["middle_name"].to_numpy()[si], rng
        )
        branch = sub["head_party_id"].notna().to_numpy()
        titles[branch] = sub["name"].to_numpy()[branch]

        phones = sub["phones"].tolist()
        for i in np.flatnonzero(is_dup).tolist():
            phones[i] = phones[i][:1]  # the second entry was made in a hurry: one phone at most
        phone_fields = _phone_fields(phones, rng, home=False)
        email_fields = _email_fields(sub["emails"].tolist(), rng, home=False)
        modified = _between(created, self.as_of, rng.random(len(rows)) * (rng.random(len(rows)) < 0.6))
        managers = sub["manager"].to_numpy().copy()
        managers[is_dup] = rng.choice(np.asarray(BUILTIN_USER_IDS), size=int(is_dup.sum()))
        ctype = ru_people.choose(ru_data.COMPANY_TYPES, len(rows), rng).tolist()
        industry = np.asarray(ru_data.INDUSTRIES, dtype=object)[rng.integers(0, len(ru_data.INDUSTRIES), len(rows))]
        created_s, modified_s = iso_times(created, self.offset), iso_times(modified, self.offset)
        self.company_created = np.concatenate([[self.as_of], created]).astype("datetime64[s]")  # by position
        self.company_manager = managers.tolist()
        self.company_title = titles.tolist()

        companies = []
        for i in range(len(rows)):
            rec: dict[str, Any] = {
                "TITLE": titles[i],
                "COMPANY_TYPE": ctype[i],
                "INDUSTRY": industry[i],
                "OPENED": "Y",
                "ASSIGNED_BY_ID": int(managers[i]),
                "CURRENCY_ID": "RUB",
                "DATE_CREATE": created_s[i],
                "DATE_MODIFY": modified_s[i],
            }
            if phone_fields[i]:
                rec["PHONE"] = phone_fields[i]
            if email_fields[i]:
                rec["EMAIL"] = email_fields[i]
            companies.append(rec)

        requisites, addresses = self._requisites(sub, position, is_dup, picked, created_s, modified_s, rng)
        self._plant_company_anomalies(sub, position, is_dup, picked)
        return companies, requisites, addresses, sub["party_id"].astype(int).tolist()

    def _requisites(
        self,
        sub: pd.DataFrame,
        position: np.ndarray,
        is_dup: np.ndarray,
        picked: dict[str, np.ndarray],
        created_s: list[str],
        modified_s: list[str],
        rng: np.random.Generator,
    ) -> tuple[list[dict], list[dict]]:
        """One requisite per company (except the planted ones without), each with a legal address."""
        b24_rows = sub.index.to_numpy()
        skip = np.isin(b24_rows, picked[MISSING_REQUISITE]) & ~is_dup
        bad = np.isin(b24_rows, picked[BAD_INN_CHECKSUM]) & ~is_dup
        short = np.isin(b24_rows, picked[WRONG_INN_LENGTH]) & ~is_dup
        actual = (rng.random(len(sub)) < 0.2).tolist()
        cols = {c: sub[c].tolist() for c in sub.columns if c not in ("phones", "emails", "created_at")}
        requisites: list[dict] = []
        addresses: list[dict] = []
        self.requisite_of_company: dict[int, int] = {}
        for i in range(len(sub)):
            if skip[i]:
                continue
            legal = cols["kind"][i] == LEGAL
            inn = cols["inn"][i]
            if bad[i]:
                inn = _break_checksum(inn, rng)
            elif short[i]:
                inn = _break_length(inn, rng)
            req: dict[str, Any] = {
                "ENTITY_TYPE_ID": 4,
                "ENTITY_ID": int(position[i]),
                "PRESET_ID": 1 if legal else 2,
                "NAME": "Организация" if legal else "ИП",
                "ACTIVE": "Y",
                "RQ_INN": inn,
                "RQ_COMPANY_NAME": cols["name"][i],
                "RQ_COMPANY_FULL_NAME": cols["full_name"][i],
                "DATE_CREATE": created_s[i],
                "DATE_MODIFY": modified_s[i],
            }
            if legal:
                req["RQ_KPP"] = cols["kpp"][i]
                req["RQ_OGRN"] = cols["ogrn"][i]
                req["RQ_DIRECTOR"] = cols["director"][i]
            else:
                req["RQ_OGRNIP"] = cols["ogrnip"][i]
                req["RQ_LAST_NAME"] = cols["last_name"][i]
                req["RQ_FIRST_NAME"] = cols["first_name"][i]
                req["RQ_SECOND_NAME"] = cols["middle_name"][i]
                req["RQ_NAME"] = f"{cols['last_name'][i]} {cols['first_name'][i]} {cols['middle_name'][i]}"
            requisites.append(req)
            req_pos = len(requisites)
            self.requisite_of_company[int(position[i])] = req_pos
            line = f"{cols['street'][i]}, д. {cols['house'][i]}"
            if cols["building"][i]:
                line += f", {cols['building'][i]}"
            address: dict[str, Any] = {
                "TYPE_ID": 6,
                "ENTITY_TYPE_ID": 8,
                "ENTITY_ID": req_pos,
                "ADDRESS_1": line,
                "CITY": cols["city"][i],
                "POSTAL_CODE": cols["postal_code"][i],
                "COUNTRY": "Россия",
                "COUNTRY_CODE": "RU",
            }
            if cols["unit"][i]:
                address["ADDRESS_2"] = cols["unit"][i]
            if cols["region"][i] != cols["city"][i]:
                address["PROVINCE"] = cols["region"][i]
            addresses.append(address)
            if actual[i]:
                addresses.append({**address, "TYPE_ID": 1})  # the office is at the legal address
        return requisites, addresses

    def _plant_company_anomalies(
        self, sub: pd.DataFrame, position: np.ndarray, is_dup: np.ndarray, picked: dict[str, np.ndarray]
    ) -> None:
        pos_of_row = self.company_pos_of_row
        copy_of_row = np.zeros(len(self.b24), dtype=np.int64)
        copy_of_row[sub.index.to_numpy()[is_dup]] = position[is_dup]
        inn = self.b24["inn"]
        for r in picked[DUPLICATE_INN].tolist():
            pair = (int(pos_of_row[r]), int(copy_of_row[r]))
            self.planted.append(Planted(DUPLICATE_INN, "company", pair, {"inn": inn[r], "party_id": self._pid(r)}))
        req = self.requisite_of_company
        for kind in (BAD_INN_CHECKSUM, WRONG_INN_LENGTH):
            for r in picked[kind].tolist():
                pos = int(pos_of_row[r])
                detail = {"requisite_id": req[pos], "true_inn": inn[r], "party_id": self._pid(r)}
                self.planted.append(Planted(kind, "company", (pos,), detail))
        for r in picked[MISSING_REQUISITE].tolist():
            pos = int(pos_of_row[r])
            self.planted.append(
                Planted(MISSING_REQUISITE, "company", (pos,), {"inn": inn[r], "party_id": self._pid(r)})
            )
        heads = self.b24["head_party_id"]
        kpp = self.b24["kpp"]
        for r in np.flatnonzero(heads.notna().to_numpy()).tolist():
            head_row = int(self.row_of_party[int(heads.iloc[r])])
            pair = (int(pos_of_row[head_row]), int(pos_of_row[r]))
            detail = {
                "inn": inn[r],
                "kpp": (kpp[head_row], kpp[r]),
                "party_ids": (self._pid(head_row), self._pid(r)),
            }
            self.planted.append(Planted(BRANCH_PAIR, "company", pair, detail))

    def _pid(self, row: int) -> int:
        return int(self.b24["party_id"].iloc[row])

    # -- contacts --

    def _contacts(self) -> tuple[list[dict], list[int]]:
        b24, spec = self.b24, self.spec
        rows = np.flatnonzero(b24["kind"].to_numpy() == INDIVIDUAL)
        sub = b24.iloc[rows]
        rng = stream(self.seed, "b24.contacts")
        n = len(rows)
        created = self.created[rows]
        modified = _between(created, self.as_of, rng.random(n) * (rng.random(n) < 0.6))
        created_s, modified_s = iso_times(created, self.offset), iso_times(modified, self.offset)
        phone_fields = _phone_fields(sub["phones"].tolist(), rng, home=True)
        email_fields = _email_fields(sub["emails"].tolist(), rng, home=True)
        employer = sub["employer_party_id"].to_numpy(dtype="float64", na_value=np.nan)
        company_id = np.zeros(n, dtype=np.int64)
        known = ~np.isnan(employer)
        if known.any():
            emp_rows = self.row_of_party.reindex(employer[known].astype(np.int64)).to_numpy()
            ok = ~np.isnan(emp_rows)
            idx = np.flatnonzero(known)[ok]
            company_id[idx] = self.company_pos_of_row[emp_rows[ok].astype(np.int64)]
        self.contact_company = company_id
        source = ru_people.choose(ru_data.SOURCES, n, rng).tolist()
        no_patronymic = (rng.random(n) < 0.15).tolist()
        cols = {c: sub[c].tolist() for c in ("first_name", "middle_name", "last_name", "manager", "position")}

        # Shared e-mail: the second contact of each pair got the first one's address, typed differently.
        n_shared = spec.planted_count(spec.shared_email_rate, n)
        with_email = rng.permutation(np.flatnonzero([bool(f) for f in email_fields]))
        if 2 * n_shared > len(with_email):
            raise ValueError(f"too few contacts with e-mail ({len(with_email)}) to plant {n_shared} shared ones")
        for a, b in zip(with_email[:n_shared].tolist(), with_email[n_shared : 2 * n_shared].tolist(), strict=True):
            canonical = sub["emails"].iloc[a][0]
            typed = noise.mix_case_email(canonical, rng, differ_from=email_fields[a][0]["VALUE"])
            email_fields[b] = [{"VALUE": typed, "VALUE_TYPE": "HOME"}]
            pair = tuple(sorted((a + 1, b + 1)))
            self.planted.append(
                Planted(
                    SHARED_EMAIL,
                    "contact",
                    pair,
                    {"email": canonical, "party_ids": (self._pid(rows[a]), self._pid(rows[b]))},
                )
            )

        contacts = []
        for i in range(n):
            rec: dict[str, Any] = {
                "NAME": cols["first_name"][i],
                "LAST_NAME": cols["last_name"][i],
                "TYPE_ID": "CLIENT",
                "SOURCE_ID": source[i],
                "OPENED": "Y",
                "ASSIGNED_BY_ID": int(cols["manager"][i]),
                "DATE_CREATE": created_s[i],
                "DATE_MODIFY": modified_s[i],
            }
            if not no_patronymic[i]:
                rec["SECOND_NAME"] = cols["middle_name"][i]
            if company_id[i]:
                rec["COMPANY_ID"] = int(company_id[i])
                if isinstance(cols["position"][i], str):
                    rec["POST"] = cols["position"][i]
            if phone_fields[i]:
                rec["PHONE"] = phone_fields[i]
            if email_fields[i]:
                rec["EMAIL"] = email_fields[i]
            contacts.append(rec)
        return contacts, sub["party_id"].astype(int).tolist()

    # -- deals and leads --

    def _deals(self, n_companies: int, contacts: list[dict]) -> list[dict]:
        spec, n = self.spec, self.spec.deals
        n_contacts = len(contacts)
        if n == 0:
            return []
        if n_companies == 0 and n_contacts == 0:
            raise ValueError("deals need at least one company or contact")
        rng = stream(self.seed, "b24.deals")
        p_company = 0.7 if n_contacts and n_companies else (1.0 if n_companies else 0.0)
        by_company = rng.random(n) < p_company
        company = np.where(by_company, rng.integers(1, max(n_companies, 1) + 1, n), 0)
        contact = np.where(by_company, 0, rng.integers(1, max(n_contacts, 1) + 1, n))

        # A company's deal often names an employee as the contact; a contact's deal, the employer.
        employee_of = np.zeros(n_companies + 1, dtype=np.int64)
        cc = self.contact_company
        has = np.flatnonzero(cc)
        employee_of[cc[has][::-1]] = has[::-1] + 1  # first employee wins
        with_contact = by_company & (rng.random(n) < 0.5)
        contact[with_contact] = employee_of[company[with_contact]]
        with_company = ~by_company & (rng.random(n) < 0.5)
        company[with_company] = cc[contact[with_company] - 1]

        contact_created = self.created[self.b24["kind"].to_numpy() == INDIVIDUAL]
        if not n_contacts:
            contact_created = np.array([self.as_of], dtype="datetime64[s]")
        cust_created = np.where(by_company, self.company_created[company], contact_created[np.maximum(contact, 1) - 1])
        created = _between(cust_created, self.as_of, rng.random(n))
        modified = _between(created, self.as_of, rng.random(n))
        stages = ru_people.choose(_STAGES, n, rng)
        if self.custom_stage is not None:
            stages[rng.random(n) < spec.custom_stage_rate] = self.custom_stage
        n_rows = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.35, 0.3, 0.2, 0.1, 0.05])
        # Up to five distinct products per deal; prices vary ±10 % around the list price, in kopecks.
        chosen = np.argsort(rng.random((n, len(PRODUCTS))), axis=1)[:, :5]
        base = np.array([p.price for p in PRODUCTS])[chosen]
        max_q = np.array([p.max_quantity for p in PRODUCTS])[chosen]
        varied = base * rng.uniform(0.9, 1.1, chosen.shape)
        whole = np.round(varied / 100).astype(np.int64) * 100 - np.where(rng.random(chosen.shape) < 0.3, 10, 0)
        price = np.where(base >= 10_000, whole, np.maximum(np.round(varied / 10).astype(np.int64) * 10, 10))
        qty = np.minimum(1 + (rng.random(chosen.shape) ** 2 * max_q).astype(np.int64), max_q)
        used = np.arange(5) < n_rows[:, None]
        totals = (price * qty * used).sum(axis=1).tolist()
        chosen_l, price_l, qty_l, count_l = chosen.tolist(), price.tolist(), qty.tolist(), n_rows.tolist()
        title_style = rng.integers(0, len(ru_data.DEAL_TITLES), n).tolist()
        number = rng.integers(100, 10_000, n).tolist()
        close_in = rng.integers(7, 90, n)
        created_s, modified_s = iso_times(created, self.offset), iso_times(modified, self.offset)
        begin = np.datetime_as_string(created.astype("datetime64[D]")).tolist()
        close = np.datetime_as_string(created.astype("datetime64[D]") + close_in.astype("timedelta64[D]")).tolist()
        managers = self._deal_managers(company, contact, contacts, rng)
        builtin = list(BUILTIN_PRODUCT_IDS)
        free_text = self._free_text_deals(stages)

        deals = []
        for i in range(n):
            rows = []
            for j, kop, q in zip(chosen_l[i][: count_l[i]], price_l[i], qty_l[i], strict=False):
                product = PRODUCTS[j]
                rows.append(
                    {
                        "PRODUCT_ID": builtin[j],
                        "PRODUCT_NAME": product.name,
                        "PRICE": kop / 100,
                        "QUANTITY": q,
                        "MEASURE_CODE": product.measure_code,
                        "MEASURE_NAME": product.measure_name,
                    }
                )
            if i in free_text:
                name, rub, measure = _FREE_TEXT_ROWS[free_text[i]]
                rows.append({"PRODUCT_ID": 0, "PRODUCT_NAME": name, "PRICE": rub, "QUANTITY": 1,
                             "MEASURE_CODE": MEASURES[measure], "MEASURE_NAME": measure})
                totals[i] += round(rub * 100)
            customer = self._customer_name(int(company[i]), int(contact[i]), contacts)
            title = ru_data.DEAL_TITLES[title_style[i]].format(
                product=rows[0]["PRODUCT_NAME"],
                number=number[i],
                yy=created_s[i][2:4],
                year=created_s[i][:4],
                customer=customer,
            )
            stage = str(stages[i])
            rec: dict[str, Any] = {
                "TITLE": title,
                "TYPE_ID": "SALE",
                "CATEGORY_ID": 0,
                "STAGE_ID": stage,
                "CLOSED": "Y" if stage in ("WON", "LOSE") else "N",
                "CURRENCY_ID": "RUB",
                "OPPORTUNITY": _money(totals[i]),
                "IS_MANUAL_OPPORTUNITY": "N",
                "ASSIGNED_BY_ID": managers[i],
                "BEGINDATE": begin[i],
                "CLOSEDATE": close[i],
                "OPENED": "Y",
                "DATE_CREATE": created_s[i],
                "DATE_MODIFY": modified_s[i],
                "PRODUCT_ROWS": rows,
            }
            if company[i]:
                rec["COMPANY_ID"] = int(company[i])
            if contact[i]:
                rec["CONTACT_ID"] = int(contact[i])
            deals.append(rec)
        return deals

    def _free_text_deals(self, stages: np.ndarray) -> dict[int, int]:
        """Deal index → free-text row: a quarter of the deals at the custom stage (at least one)."""
        if self.custom_stage is None or not self.spec.anomalies:
            return {}
        at_stage = np.flatnonzero(stages == self.custom_stage)
        if not len(at_stage):
            return {}
        rng = stream(self.seed, "b24.deals.free_text")
        chosen = sorted(rng.choice(at_stage, size=max(1, len(at_stage) // 4), replace=False).tolist())
        self.planted.append(Planted(UNKNOWN_PRODUCT, "deal", tuple(i + 1 for i in chosen), {}))
        return {i: int(rng.integers(0, len(_FREE_TEXT_ROWS))) for i in chosen}

    def _deal_managers(
        self, company: np.ndarray, contact: np.ndarray, contacts: list[dict], rng: np.random.Generator
    ) -> list[int]:
        other = rng.choice(np.asarray(BUILTIN_USER_IDS), size=len(company)).tolist()
        keep = (rng.random(len(company)) < 0.85).tolist()
        out = []
        for c, p, o, k in zip(company.tolist(), contact.tolist(), other, keep, strict=True):
            owner = self.company_manager[c - 1] if c else contacts[p - 1]["ASSIGNED_BY_ID"]
            out.append(int(owner) if k else int(o))
        return out

    def _customer_name(self, company: int, contact: int, contacts: list[dict]) -> str:
        if company:
            return self.company_title[company - 1]
        rec = contacts[contact - 1]
        return f"{rec['LAST_NAME']} {rec['NAME'][:1]}."

    def _leads(self) -> list[dict]:
        n = self.spec.leads
        if n == 0:
            return []
        rng = stream(self.seed, "b24.leads")
        people = ru_people.persons(n, rng)
        has_company = rng.random(n) < 0.6
        forms = ru_people.choose(tuple((f[0], f[2]) for f in ru_data.LEGAL_FORMS), n, rng)
        brands, _ = ru_people.brands(n, rng)
        company_titles = noise.messy_org_titles(forms, brands, rng)
        national = np.where(
            rng.random(n) < 0.85,
            np.asarray(ru_data.MOBILE_PREFIXES)[rng.integers(0, len(ru_data.MOBILE_PREFIXES), n)] * 10_000_000
            + rng.integers(0, 10_000_000, n),
            4950_000_000 + rng.integers(2_000_000, 10_000_000, n),
        )
        phones = [[f"+7{v}"] if keep else [] for v, keep in zip(national.tolist(), rng.random(n) >= 0.1, strict=True)]
        locals_ = ru_people.personal_locals(people.first_lat, people.last_lat, rng)
        domains = ru_people.choose(ru_data.PUBLIC_MAIL_DOMAINS, n, rng)
        taken = [e for lst in self.world["emails"].tolist() for e in lst]
        fresh = [f"{a}@{b}" for a, b in zip(locals_.tolist(), domains.tolist(), strict=True)]
        fresh = distinct(taken + fresh, lambda v, k, _row: f"{v.partition('@')[0]}{k}@{v.partition('@')[2]}", rng)
        emails = [[e] if keep else [] for e, keep in zip(fresh[len(taken) :], rng.random(n) >= 0.2, strict=True)]
        phone_fields = _phone_fields(phones, rng, home=False)
        email_fields = _email_fields(emails, rng, home=True)
        created = np.sort(self.as_of - rng.integers(3600, self.spec.history_days * 86400, n).astype("timedelta64[s]"))
        modified = _between(created, self.as_of, rng.random(n))
        created_s, modified_s = iso_times(created, self.offset), iso_times(modified, self.offset)
        statuses = ru_people.choose(_LEAD_STATUSES, n, rng).tolist()
        sources = ru_people.choose(ru_data.SOURCES, n, rng).tolist()
        managers = rng.choice(np.asarray(BUILTIN_USER_IDS), size=n).tolist()
        amount = np.where(rng.random(n) < 0.4, 0, rng.integers(5, 500, n) * 1000).tolist()
        style = rng.integers(0, len(ru_data.LEAD_TITLES), n).tolist()
        product = rng.integers(0, len(PRODUCTS), n).tolist()

        leads = []
        for i in range(n):
            rec: dict[str, Any] = {
                "TITLE": ru_data.LEAD_TITLES[style[i]].format(product=PRODUCTS[product[i]].name),
                "NAME": people.first[i],
                "SECOND_NAME": people.middle[i],
                "LAST_NAME": people.last[i],
                "STATUS_ID": statuses[i],
                "SOURCE_ID": sources[i],
                "CURRENCY_ID": "RUB",
                "OPPORTUNITY": _money(amount[i] * 100),
                "ASSIGNED_BY_ID": managers[i],
                "OPENED": "Y",
                "DATE_CREATE": created_s[i],
                "DATE_MODIFY": modified_s[i],
            }
            if has_company[i]:
                rec["COMPANY_TITLE"] = company_titles[i]
            if phone_fields[i]:
                rec["PHONE"] = phone_fields[i]
            if email_fields[i]:
                rec["EMAIL"] = email_fields[i]
            leads.append(rec)
        return leads
