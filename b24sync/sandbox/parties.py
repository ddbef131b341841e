"""The canonical "world" of counterparties from which every sandbox system is projected.

One row per real-world party with clean, valid data: INN/KPP/OGRN with correct check digits and
consistent with the party's city, canonical E.164 phones and lower-case e-mails, a structured
address. The Bitrix24 and 1C projections add human noise and planted anomalies on top, so a
test always knows the true value behind a messy one. Columns (all ``str`` or ``None`` unless said):

``party_id`` (int, 1-based, in creation order), ``kind`` (``legal`` / ``sole_proprietor`` /
``individual``), ``name``, ``full_name``, ``legal_form`` (ООО/АО/ПАО/ИП), ``brand`` (the quoted part
of an organisation's name), ``last_name``, ``first_name``, ``middle_name``, ``gender`` (M/F),
``director`` (legal entities), ``position`` (employees), ``inn``, ``kpp``, ``ogrn``, ``ogrnip``,
``head_party_id`` (Int64: a branch's head office), ``employer_party_id`` (Int64: an individual's
employer), ``phones`` / ``emails`` (lists), ``website``, ``city``, ``region``, ``postal_code``,
``street``, ``house``, ``building``, ``unit``, ``address`` (the one-line form), ``manager`` (int,
a built-in Bitrix24 user), ``created_at`` (aware Timestamp, +03:00), ``in_b24`` / ``in_onec``
(bool: the controlled overlap between the two systems).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from b24sync.sandbox import ru_data, ru_ids, ru_people
from b24sync.sandbox.bitrix24.api import BUILTIN_USER_IDS, MOSCOW
from b24sync.sandbox.seed_spec import SeedSpec

LEGAL = "legal"
SOLE_PROPRIETOR = "sole_proprietor"
INDIVIDUAL = "individual"
KINDS = (LEGAL, SOLE_PROPRIETOR, INDIVIDUAL)

_MANAGER_WEIGHTS = np.array([0.1, 0.25, 0.25, 0.2, 0.2])


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per concern, so changing how emails are drawn leaves INNs unchanged."""
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    return np.random.default_rng([seed, key])


def _obj(n: int, fill: object = None) -> np.ndarray:
    return np.full(n, fill, dtype=object)


def _timestamps(n: int, as_of: datetime, days: int, rng: np.random.Generator) -> np.ndarray:
    """Naive local datetime64[s] spread over ``days`` before ``as_of``, within office hours 08–20."""
    midnight = np.datetime64(as_of.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None), "s")
    day = rng.integers(1, max(days, 1) + 1, size=n)
    sec = rng.integers(8 * 3600, 20 * 3600, size=n)
    return midnight - day.astype("timedelta64[D]") + sec.astype("timedelta64[s]")


def distinct(values: list[str], rename: Callable[[str, int, int], str], rng: np.random.Generator) -> list[str]:
    """Make strings distinct in one vectorized pass: the k-th repeat (k ≥ 1) of the value at
    ``row`` becomes ``rename(value, k, row)``.

    Chance collisions are realistic in a million namesakes but would plant anomalies nobody
    recorded, so identifiers that must be unique (domains, e-mail addresses) go through here.
    A renamed value could still meet another original; those rare leftovers get random digits.
    """
    series = pd.Series(values, dtype=object)
    nth = series.groupby(series, sort=False).cumcount().to_numpy()
    out = list(values)
    for i in np.flatnonzero(nth).tolist():
        out[i] = rename(out[i], int(nth[i]), i)
    for _ in range(50):
        dup = np.flatnonzero(pd.Series(out, dtype=object).duplicated().to_numpy())
        if not len(dup):
            return out
        for i, digit in zip(dup.tolist(), rng.integers(0, 10, len(dup)).tolist(), strict=True):
            out[i] = rename(out[i], digit, i)
    raise ValueError("could not make values distinct")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of lists and dicts.

    None of them form cycles, yet each allocation burst triggers full collections that scan every
    live container: with the collector paused a million parties build about three times faster.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _split(flat: list, counts: np.ndarray) -> list[list]:
    ends = np.cumsum(counts)
    return [flat[a:b] for a, b in zip((ends - counts).tolist(), ends.tolist(), strict=True)]


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


@dataclass
class _Layout:
    """Who is what: kinds in creation order, branch and employment links (row indices, -1 = none)."""

    kind: np.ndarray
    is_legal: np.ndarray
    is_sole: np.ndarray
    is_ind: np.ndarray
    head_of: np.ndarray
    employer: np.ndarray
    branch_rows: np.ndarray
    branch_head: np.ndarray
    own_legal: np.ndarray  # legal entities that are not branches: they own their INN

    @property
    def is_branch(self) -> np.ndarray:
        return self.head_of >= 0


def _layout(spec: SeedSpec, seed: int) -> _Layout:
    n_legal = spec.legal_entities
    n = spec.parties
    rng = stream(seed, "kinds")
    # Rows are in creation order (party_id = row + 1), so kinds are shuffled, not blocked.
    kind = rng.permutation(np.repeat(np.array(KINDS, dtype=object), [n_legal, spec.sole_proprietors, spec.individuals]))
    is_legal, is_sole, is_ind = kind == LEGAL, kind == SOLE_PROPRIETOR, kind == INDIVIDUAL

    # A few legal entities are branches of another one (same INN and OGRN, own KPP).
    n_heads = spec.planted_count(spec.branch_rate, n_legal)
    if 2 * n_heads > n_legal:
        raise ValueError(f"{n_legal} legal entities are too few for {n_heads} branch pairs")
    legal_rows = rng.permutation(np.flatnonzero(is_legal))
    heads = legal_rows[:n_heads]
    n_second = min(n_heads // 3, n_legal - 2 * n_heads)
    branch_rows = legal_rows[n_heads : 2 * n_heads + n_second]
    branch_head = np.concatenate([heads, heads[:n_second]])
    head_of = np.full(n, -1, dtype=np.int64)
    head_of[branch_rows] = branch_head

    # Some individuals are employees (contact persons) of an organisation.
    employer = np.full(n, -1, dtype=np.int64)
    firms = np.flatnonzero((is_legal & (head_of < 0)) | is_sole)
    if len(firms):
        employed = np.flatnonzero(is_ind & (rng.random(n) < spec.employee_rate))
        employer[employed] = rng.choice(firms, size=len(employed))
    own_legal = np.flatnonzero(is_legal & (head_of < 0))
    return _Layout(kind, is_legal, is_sole, is_ind, head_of, employer, branch_rows, branch_head, own_legal)


def _names(lay: _Layout, people: ru_people.Persons, city_name: np.ndarray, rng: np.random.Generator) -> dict:
    n = len(lay.kind)
    p_forms = np.array([f[2] for f in ru_data.LEGAL_FORMS])
    form_idx = rng.choice(len(ru_data.LEGAL_FORMS), size=n, p=p_forms / p_forms.sum())
    form = _objects([f[0] for f in ru_data.LEGAL_FORMS])[form_idx]
    form_full = _objects([f[1] for f in ru_data.LEGAL_FORMS])[form_idx]
    brand, label = ru_people.brands(n, rng)
    for arr in (form, form_full, brand, label):
        arr[lay.branch_rows] = arr[lay.branch_head]
    fio = _objects(
        [
            f"{la} {f} {m}"
            for la, f, m in zip(people.last.tolist(), people.first.tolist(), people.middle.tolist(), strict=True)
        ]
    )
    name = fio.copy()
    full_name = fio.copy()
    legal = np.flatnonzero(lay.is_legal)
    name[legal] = [f"{f} «{b}»" for f, b in zip(form[legal].tolist(), brand[legal].tolist(), strict=True)]
    full_name[legal] = [f"{f} «{b}»" for f, b in zip(form_full[legal].tolist(), brand[legal].tolist(), strict=True)]
    br = lay.branch_rows
    name[br] = [f"{h} (филиал в г. {c})" for h, c in zip(name[br].tolist(), city_name[br].tolist(), strict=True)]
    sole = np.flatnonzero(lay.is_sole)
    name[sole] = [
        f"ИП {la} {f[:1]}. {m[:1]}."
        for la, f, m in zip(
            people.last[sole].tolist(), people.first[sole].tolist(), people.middle[sole].tolist(), strict=True
        )
    ]
    full_name[sole] = [f"Индивидуальный предприниматель {x}" for x in fio[sole].tolist()]
    return {"name": name, "full_name": full_name, "form": form, "brand": brand, "label": label, "fio": fio}


def _tax_ids(spec: SeedSpec, lay: _Layout, city: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """INN/KPP/OGRN/OGRNIP, unique, sharing the tax office of the party's city."""
    n = len(lay.kind)
    rng = stream(seed, "tax_ids")
    office = ru_people.per_city(city, "tax_offices", rng).astype(np.int64)
    inn, kpp, ogrn, ogrnip = _obj(n), _obj(n), _obj(n), _obj(n)
    last_year = spec.as_of.year - 1
    own = lay.own_legal
    if len(own):
        inn[own] = ru_ids.zero_pad(
            ru_ids.unique_draw(
                lambda rows: ru_ids.inn10(office[own[rows]], rng.integers(0, 100_000, size=len(rows))), len(own)
            ),
            10,
        )
        ogrn[own] = ru_ids.zero_pad(
            ru_ids.unique_draw(
                lambda rows: ru_ids.ogrn(
                    rng.integers(2002, last_year + 1, size=len(rows)),
                    office[own[rows]],
                    rng.integers(0, 100_000, size=len(rows)),
                    np.where(rng.random(len(rows)) < 0.95, 1, 5),
                ),
                len(own),
            ),
            13,
        )
        kpp[own] = ru_ids.kpp(office[own], 1, np.where(rng.random(len(own)) < 0.95, 1, 2))
    br, heads = lay.branch_rows, lay.branch_head
    if len(br):
        inn[br] = inn[heads]
        ogrn[br] = ogrn[heads]
        nth = pd.Series(heads).groupby(heads).cumcount().to_numpy() + 1
        kpp[br] = ru_ids.kpp(office[br], 43, nth)
    has_inn = lay.is_sole | (lay.is_ind & (rng.random(n) >= spec.individual_without_inn_rate))
    persons = np.flatnonzero(has_inn)
    if len(persons):
        inn[persons] = ru_ids.zero_pad(
            ru_ids.unique_draw(
                lambda rows: ru_ids.inn12(office[persons[rows]], rng.integers(0, 1_000_000, size=len(rows))),
                len(persons),
            ),
            12,
        )
    sole = np.flatnonzero(lay.is_sole)
    if len(sole):
        ogrnip[sole] = ru_ids.zero_pad(
            ru_ids.unique_draw(
                lambda rows: ru_ids.ogrnip(
                    rng.integers(2004, last_year + 1, size=len(rows)),
                    office[sole[rows]] // 100,
                    rng.integers(0, 1_000_000_000, size=len(rows)),
                ),
                len(sole),
            ),
            15,
        )
    return {"inn": inn, "kpp": kpp, "ogrn": ogrn, "ogrnip": ogrnip}


def _phones(spec: SeedSpec, lay: _Layout, city: np.ndarray, seed: int) -> list[list[str]]:
    """Offices have landlines first, people mobiles (sometimes a home landline); a few have none."""
    n = len(lay.kind)
    rng = stream(seed, "phones")
    count = np.select(
        [lay.is_legal, lay.is_sole],
        [rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15]), rng.choice([1, 2], size=n, p=[0.6, 0.4])],
        rng.choice([1, 2], size=n, p=[0.8, 0.2]),
    )
    count[rng.random(n) < spec.missing_phone_rate] = 0
    owner = np.repeat(np.arange(n), count)
    slot = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    coin = rng.random(len(owner)) < 0.5
    fixed = (
        (lay.is_legal[owner] & ((slot == 0) | coin))
        | (lay.is_sole[owner] & (slot == 1))
        | (lay.is_ind[owner] & (slot == 1) & coin)
    )
    area = ru_people.per_city(city[owner], "area_codes", rng).astype(np.int64)
    national = np.where(fixed, ru_ids.landline(area, rng), ru_ids.mobile(ru_data.MOBILE_PREFIXES, len(owner), rng))
    return _split(ru_ids.e164(national).tolist(), count)


def _emails(
    spec: SeedSpec, lay: _Layout, people: ru_people.Persons, label: np.ndarray, city: np.ndarray, seed: int
) -> tuple[list[list[str]], np.ndarray]:
    """Role mailboxes on a company's own domain, personal ones on public services; all distinct."""
    n = len(lay.kind)
    rng = stream(seed, "emails")
    own = lay.own_legal
    tags = _objects([c.tag for c in ru_data.CITIES])
    tld = ru_people.choose(ru_data.CORPORATE_TLDS, n, rng)
    website = _obj(n)
    own_tags = tags[city[own]].tolist()
    sites = [f"{a}.{b}" for a, b in zip(label[own].tolist(), tld[own].tolist(), strict=True)]
    website[own] = distinct(sites, lambda site, k, row: _domain_variant(site, k, own_tags[row]), rng)
    website[lay.branch_rows] = website[lay.branch_head]

    count = np.where(lay.is_legal, 1 + (rng.random(n) < 0.4), 1 + (rng.random(n) < 0.12))
    count[lay.is_branch] = 1
    count[rng.random(n) < spec.missing_email_rate] = 0
    owner = np.repeat(np.arange(n), count)
    slot = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    local = ru_people.personal_locals(people.first_lat[owner], people.last_lat[owner], rng)
    domain = ru_people.choose(ru_data.PUBLIC_MAIL_DOMAINS, len(owner), rng)
    roles = ru_people.choose(tuple((r, 1.0) for r in ru_data.COMPANY_ROLE_MAILBOXES), len(owner), rng)
    corporate = lay.is_legal[owner]
    domain[corporate] = website[owner[corporate]]
    first_role = corporate & (slot == 0)
    local[first_role] = roles[first_role]
    branch = lay.is_branch[owner]
    local[branch] = "filial-" + tags[city[owner[branch]]]
    has_site = np.append(pd.notna(website), False)  # index -1 (no employer) reads the False
    at_work = np.flatnonzero(has_site[lay.employer[owner]] & (slot == 0) & (rng.random(len(owner)) < 0.6))
    domain[at_work] = website[lay.employer[owner[at_work]]]
    local[at_work] = [
        f"{f}.{la}"
        for f, la in zip(
            people.first_lat[owner[at_work]].tolist(), people.last_lat[owner[at_work]].tolist(), strict=True
        )
    ]
    address = [f"{a}@{b}" for a, b in zip(local.tolist(), domain.tolist(), strict=True)]
    return _split(distinct(address, _email_variant, rng), count), website


def _domain_variant(site: str, k: int, city_tag: str) -> str:
    """romashka.ru is taken → romashka-spb.ru, romashka-spb2.ru…: how namesakes pick their domains."""
    label, _, tld = site.rpartition(".")
    return f"{label}-{city_tag}{k if k > 1 else ''}.{tld}"


def _email_variant(address: str, k: int, _row: int) -> str:
    """ivan.ivanov@mail.ru is taken → ivan.ivanov1@mail.ru (the digit a mail service suggests)."""
    local, _, domain = address.partition("@")
    return f"{local}{k}@{domain}"


def generate_parties(spec: SeedSpec, seed: int = 0) -> pd.DataFrame:
    """The world of ``spec.parties`` counterparties for ``seed``; identical inputs give identical frames."""
    with gc_paused():
        return _generate(spec, seed)


def _generate(spec: SeedSpec, seed: int) -> pd.DataFrame:
    n = spec.parties
    lay = _layout(spec, seed)

    # Places: employees live where their employer is; a branch is in another city than its head.
    rng = stream(seed, "places")
    city = ru_people.city_index(n, rng)
    employee = np.flatnonzero(lay.employer >= 0)
    city[employee] = city[lay.employer[employee]]
    shift = rng.integers(1, len(ru_data.CITIES), size=len(lay.branch_rows))
    city[lay.branch_rows] = (city[lay.branch_head] + shift) % len(ru_data.CITIES)
    addr = ru_people.addresses(city, lay.is_ind, rng)

    rng = stream(seed, "names")
    people = ru_people.persons(n, rng)
    names = _names(lay, people, addr.city, rng)
    position = _obj(n)
    position[employee] = _objects(list(ru_data.POSITIONS))[rng.integers(0, len(ru_data.POSITIONS), len(employee))]

    ids = _tax_ids(spec, lay, city, seed)
    phones = _phones(spec, lay, city, seed)
    emails, website = _emails(spec, lay, people, names["label"], city, seed)

    # Bookkeeping: owner in Bitrix24, creation time, and which systems know the party.
    rng = stream(seed, "meta")
    manager = rng.choice(np.asarray(BUILTIN_USER_IDS), size=n, p=_MANAGER_WEIGHTS)
    created = np.sort(_timestamps(n, spec.as_of, spec.history_days, rng))
    draw = rng.random(n)
    in_b24 = draw >= spec.only_onec_rate
    in_onec = (draw < spec.only_onec_rate) | (draw >= spec.only_onec_rate + spec.only_b24_rate)
    group = np.concatenate([lay.branch_rows, lay.branch_head])
    in_b24[group] = True  # branch pairs exist on both sides: matching must tell them apart by KPP
    in_onec[group] = True

    person = ~lay.is_legal
    none = _obj(n)
    return pd.DataFrame(
        {
            "party_id": np.arange(1, n + 1, dtype=np.int64),
            "kind": lay.kind,
            "name": names["name"],
            "full_name": names["full_name"],
            "legal_form": np.where(lay.is_legal, names["form"], np.where(lay.is_sole, "ИП", none)),
            "brand": np.where(lay.is_legal, names["brand"], none),
            "last_name": np.where(person, people.last, none),
            "first_name": np.where(person, people.first, none),
            "middle_name": np.where(person, people.middle, none),
            "gender": np.where(person, np.where(people.male, "M", "F"), none),
            "director": np.where(lay.is_legal, names["fio"], none),
            "position": position,
            **ids,
            "head_party_id": _ref(lay.head_of),
            "employer_party_id": _ref(lay.employer),
            "phones": pd.Series(phones, dtype=object),
            "emails": pd.Series(emails, dtype=object),
            "website": website,
            "city": addr.city,
            "region": addr.region,
            "postal_code": addr.postal_code,
            "street": addr.street,
            "house": addr.house,
            "building": addr.building,
            "unit": addr.unit,
            "address": addr.line,
            "manager": manager.astype(np.int64),
            "created_at": pd.DatetimeIndex(created).tz_localize(MOSCOW),
            "in_b24": in_b24,
            "in_onec": in_onec,
        }
    )


def _ref(rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Row indices (-1 = none) as nullable party IDs."""
    ids = pd.array(rows + 1, dtype="Int64")
    ids[rows < 0] = pd.NA
    return ids
