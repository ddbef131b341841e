"""Vectorized generators of Russian persons, company brands, e-mail addresses and postal addresses.

Each function draws whole columns at once from a numpy generator and returns object arrays of
``str``; vocabularies from :mod:`b24sync.sandbox.ru_data` are turned into arrays once and cached.
Frequencies follow a Zipf-like curve so that common names (Иванов, Александр, «Вектор») repeat the
way they do in real customer bases, which is what makes name-based matching a bad idea.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from b24sync.sandbox import ru_data
from b24sync.sandbox.ru_data import translit


def zipf_weights(n: int, skew: float = 0.9) -> np.ndarray:
    """Probabilities for ranks 1..n decreasing like ``1 / (rank + 2) ** skew``."""
    w = 1.0 / (np.arange(n) + 3.0) ** skew
    return w / w.sum()


def _arr(values: list[str] | tuple[str, ...]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@dataclass(frozen=True)
class _Vocab:
    male_first: np.ndarray
    male_first_lat: np.ndarray
    patronymic_m: np.ndarray
    patronymic_f: np.ndarray
    female_first: np.ndarray
    female_first_lat: np.ndarray
    surname_m: np.ndarray
    surname_f: np.ndarray
    surname_lat: np.ndarray
    surname_f_lat: np.ndarray
    brands: np.ndarray
    brand_labels: np.ndarray
    brand_weights: np.ndarray


def _domain_label(brand: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", translit(brand)).strip("-")


@cache
def vocab() -> _Vocab:
    """The vocabularies as numpy arrays, plus every company brand the generator can produce."""
    male = ru_data.MALE_NAMES
    female_surnames = [ru_data.female_surname(s) for s in ru_data.MALE_SURNAMES]
    brands: list[str] = []
    weights: list[float] = []
    for word in ru_data.NAME_WORDS:
        brands.append(word)
        weights.append(6.0)
        for tag in ru_data.NAME_TAGS:
            brands.append(word + tag)
            weights.append(0.4)
    for pre in ru_data.NAME_PREFIXES:
        for suf in ru_data.NAME_SUFFIXES:
            if pre.lower() == suf.lower():
                continue
            for joined, w in ((pre + suf, 0.5), (pre + suf.lower(), 0.4), (f"{pre}-{suf}", 0.1)):
                brands.append(joined)
                weights.append(w)
                brands.append(joined + ru_data.NAME_TAGS[len(brands) % len(ru_data.NAME_TAGS)])
                weights.append(w * 0.15)
    w = np.array(weights)
    return _Vocab(
        male_first=_arr([m[0] for m in male]),
        male_first_lat=_arr([translit(m[0]) for m in male]),
        patronymic_m=_arr([m[1] for m in male]),
        patronymic_f=_arr([m[2] for m in male]),
        female_first=_arr(ru_data.FEMALE_NAMES),
        female_first_lat=_arr([translit(f) for f in ru_data.FEMALE_NAMES]),
        surname_m=_arr(ru_data.MALE_SURNAMES),
        surname_f=_arr(female_surnames),
        surname_lat=_arr([translit(s) for s in ru_data.MALE_SURNAMES]),
        surname_f_lat=_arr([translit(s) for s in female_surnames]),
        brands=_arr(brands),
        brand_labels=_arr([_domain_label(b) for b in brands]),
        brand_weights=w / w.sum(),
    )


@dataclass
class Persons:
    """Columns of generated persons (all object arrays of str except ``male``)."""

    male: np.ndarray
    first: np.ndarray
    middle: np.ndarray
    last: np.ndarray
    first_lat: np.ndarray
    last_lat: np.ndarray


def persons(n: int, rng: np.random.Generator) -> Persons:
    """``n`` persons with gender-consistent first name, patronymic and surname."""
    v = vocab()
    male = rng.random(n) < 0.52
    fm = rng.choice(len(v.male_first), size=n, p=zipf_weights(len(v.male_first)))
    ff = rng.choice(len(v.female_first), size=n, p=zipf_weights(len(v.female_first)))
    father = rng.choice(len(v.male_first), size=n, p=zipf_weights(len(v.male_first), 0.6))
    sur = rng.choice(len(v.surname_m), size=n, p=zipf_weights(len(v.surname_m), 0.7))
    return Persons(
        male=male,
        first=np.where(male, v.male_first[fm], v.female_first[ff]),
        middle=np.where(male, v.patronymic_m[father], v.patronymic_f[father]),
        last=np.where(male, v.surname_m[sur], v.surname_f[sur]),
        first_lat=np.where(male, v.male_first_lat[fm], v.female_first_lat[ff]),
        last_lat=np.where(male, v.surname_lat[sur], v.surname_f_lat[sur]),
    )


def brands(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Company brand names («Ромашка», «СтройСервис-М») and the Latin labels their domains use."""
    v = vocab()
    idx = rng.choice(len(v.brands), size=n, p=v.brand_weights)
    return v.brands[idx], v.brand_labels[idx]


def choose(options: tuple[tuple[str, float], ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values drawn from ``(value, weight)`` pairs."""
    values = _arr([o[0] for o in options])
    p = np.array([o[1] for o in options])
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


_LOCAL_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{f}.{l}", 0.3),
    ("{i}.{l}", 0.16),
    ("{l}.{f}", 0.1),
    ("{f}{l}", 0.1),
    ("{l}{y:02d}", 0.14),
    ("{f}_{l}", 0.1),
    ("{f}.{l}{y:02d}", 0.1),
)


def personal_locals(first_lat: np.ndarray, last_lat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mailbox names people pick: ivan.petrov, i.petrov, petrov.ivan, ivanpetrov, petrov84, ivan_petrov…"""
    n = len(first_lat)
    p = np.array([w for _, w in _LOCAL_PATTERNS])
    style = rng.choice(len(_LOCAL_PATTERNS), size=n, p=p / p.sum())
    year = rng.integers(60, 105, size=n) % 100
    out = np.empty(n, dtype=object)
    for k, (pattern, _) in enumerate(_LOCAL_PATTERNS):
        rows = np.flatnonzero(style == k)
        out[rows] = [
            pattern.format(f=f, l=la, i=f[:1], y=y)
            for f, la, y in zip(first_lat[rows].tolist(), last_lat[rows].tolist(), year[rows].tolist(), strict=True)
        ]
    return out


def city_index(n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices into :data:`ru_data.CITIES`, weighted by business population."""
    p = np.array([c.weight for c in ru_data.CITIES])
    return rng.choice(len(ru_data.CITIES), size=n, p=p / p.sum())


def per_city(city: np.ndarray, pick: str, rng: np.random.Generator) -> np.ndarray:
    """For each row, a random element of the city's tuple attribute ``pick`` (tax_offices, area_codes…)."""
    out = np.empty(len(city), dtype=object)
    for i, c in enumerate(ru_data.CITIES):
        mask = city == i
        k = int(mask.sum())
        if k:
            options = _arr(getattr(c, pick))
            out[mask] = options[rng.integers(0, len(options), size=k)]
    return out


@dataclass
class Addresses:
    """Postal addresses in parts (what 1C stores as fields) and as one line (what people read)."""

    city: np.ndarray
    region: np.ndarray
    postal_code: np.ndarray
    street: np.ndarray
    house: np.ndarray
    building: np.ndarray
    unit: np.ndarray
    line: np.ndarray


def addresses(city: np.ndarray, residential: np.ndarray, rng: np.random.Generator) -> Addresses:
    """Addresses in the given cities: offices for businesses, flats (кв.) where ``residential``."""
    n = len(city)
    cities = ru_data.CITIES
    names = _arr([c.name for c in cities])[city]
    regions = _arr([c.region for c in cities])[city]
    lo = np.array([c.postal_range[0] for c in cities])[city]
    hi = np.array([c.postal_range[1] for c in cities])[city]
    postal = _arr([str(v) for v in (lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)).tolist()])
    local_street = per_city(city, "streets", rng)
    common = _arr(ru_data.COMMON_STREETS)[rng.integers(0, len(ru_data.COMMON_STREETS), size=n)]
    street = np.where(rng.random(n) < 0.7, local_street, common)
    number = np.minimum(1 + rng.geometric(0.04, size=n), 240).tolist()
    letter = np.where(rng.random(n) < 0.04, _arr(["А", "Б", "В"])[rng.integers(0, 3, size=n)], "").tolist()
    house = _arr([f"{h}{x}" for h, x in zip(number, letter, strict=True)])
    b_kind = np.digitize(rng.random(n), [0.12, 0.2]).tolist()  # 0 стр., 1 корп., 2 none
    b_num = rng.integers(1, 6, size=n).tolist()
    building = _arr(
        [("стр. ", "корп. ", "")[k] + (str(b) if k < 2 else "") for k, b in zip(b_kind, b_num, strict=True)]
    )
    business = np.array([0, 1, 3])[np.digitize(rng.random(n), [0.55, 0.7])]  # офис, пом., none
    u_kind = np.where(residential, np.where(rng.random(n) < 0.9, 2, 3), business)  # 2 = кв.
    u_num = np.where(residential, rng.integers(1, 320, size=n), rng.integers(1, 1000, size=n)).tolist()
    unit = _arr(
        [
            ("офис ", "пом. ", "кв. ", "")[k] + (str(u) if k < 3 else "")
            for k, u in zip(u_kind.tolist(), u_num, strict=True)
        ]
    )
    line = [
        f"г. {c}, {s}, д. {h}" + (f", {b}" if b else "") + (f", {u}" if u else "")
        for c, s, h, b, u in zip(
            names.tolist(), street.tolist(), house.tolist(), building.tolist(), unit.tolist(), strict=True
        )
    ]
    return Addresses(names, regions, postal, street, house, building, unit, _arr(line))
