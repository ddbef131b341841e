"""Vectorized generation of Russian registration numbers and phone numbers.

Check digits are computed with integer arithmetic on whole numpy arrays, because a million
parties must be generated in seconds; :mod:`stdnum.ru` is the reference the tests validate
against. Numbers are built from a tax office code (region + inspection, the first four digits
of both INN and KPP) so that INN, KPP, OGRN and the party's city agree, as they do in real data.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

_INN10_WEIGHTS = np.array([2, 4, 10, 3, 5, 9, 4, 6, 8], dtype=np.int64)
_INN12_WEIGHTS_1 = np.array([7, 2, 4, 10, 3, 5, 9, 4, 6, 8], dtype=np.int64)
_INN12_WEIGHTS_2 = np.array([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], dtype=np.int64)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of non-negative integers as an ``(n, width)`` matrix, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10


def zero_pad(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as fixed-width digit strings (object array), keeping leading zeros of region codes."""
    return _objects([f"{v:0{width}d}" for v in np.asarray(values, dtype=np.int64).tolist()])


def _objects(items: list[str]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def inn10(office: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """10-digit legal-entity INNs (int64): tax office (4) + serial (5) + check digit."""
    body = np.asarray(office, dtype=np.int64) * 100_000 + np.asarray(serial, dtype=np.int64)
    check = (digits(body, 9) @ _INN10_WEIGHTS) % 11 % 10
    return body * 10 + check


def inn12(office: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """12-digit personal INNs (int64): tax office (4) + serial (6) + two check digits."""
    body = np.asarray(office, dtype=np.int64) * 1_000_000 + np.asarray(serial, dtype=np.int64)
    d = digits(body, 10)
    c1 = (d @ _INN12_WEIGHTS_1) % 11 % 10
    c2 = (np.concatenate([d, c1[:, None]], axis=1) @ _INN12_WEIGHTS_2) % 11 % 10
    return body * 100 + c1 * 10 + c2


def ogrn(year: np.ndarray, office: np.ndarray, serial: np.ndarray, sign: np.ndarray | int = 1) -> np.ndarray:
    """13-digit OGRNs (int64): sign 1/5, registration year (2), region (2), inspection (2), serial (5), check.

    The check digit is the 12-digit body mod 11 (mod 10): the rule of Order 29n and of stdnum.
    """
    body = (
        np.asarray(sign, dtype=np.int64) * 10**11
        + np.asarray(year, dtype=np.int64) % 100 * 10**9
        + np.asarray(office, dtype=np.int64) * 10**5
        + np.asarray(serial, dtype=np.int64)
    )
    return body * 10 + body % 11 % 10


def ogrnip(year: np.ndarray, region: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """15-digit OGRNIPs (int64): sign 3, year (2), region (2), serial (9), check = body mod 13.

    The official rule keeps the last digit of ``body % 13``; stdnum demands ``body % 13 < 10``. Such
    bodies are nudged (serial ±3, which shifts the remainder by 3) so both rules agree.
    """
    body = (
        3 * 10**13
        + np.asarray(year, dtype=np.int64) % 100 * 10**11
        + np.asarray(region, dtype=np.int64) * 10**9
        + np.asarray(serial, dtype=np.int64)
    )
    rem = body % 13
    last = body % 10
    body = np.where(rem >= 10, np.where(last >= 3, body - 3, body + 3), body)
    return body * 10 + body % 13


def kpp(office: np.ndarray, reason: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """9-character KPPs (object array of str): tax office (4) + reason code (2) + serial (3).

    Reason 01 is the registration of an organisation at its own address; 43 is a branch.
    """
    return zero_pad(np.asarray(office, dtype=np.int64) * 100_000 + np.asarray(reason) * 1000 + np.asarray(serial), 9)


_KPP_RE = re.compile(r"\d{4}[\dA-Z]{2}\d{3}")


def is_valid_kpp(value: object) -> bool:
    """KPP has no check digit; the layout (tax office 4 digits,
    reason 2 characters, letters allowed since 2013, number 3 digits) is all one can check."""
    return isinstance(value, str) and _KPP_RE.fullmatch(value) is not None and value[:4] != "0000"


def unique_draw(draw: Callable[[np.ndarray], np.ndarray], n: int, *, max_rounds: int = 50) -> np.ndarray:
    """``n`` values from ``draw(rows)`` with repeats redrawn, so identifiers never collide by chance.

    ``draw`` gets the row positions to (re)draw, so a value may depend on its row (its tax office).
    Only repeats are redrawn (first occurrences stay): deterministic for a seeded ``draw``, and a
    few rounds suffice when the space is much larger than ``n``.
    """
    values = draw(np.arange(n))
    for _ in range(max_rounds):
        dup = np.flatnonzero(pd.Series(values).duplicated().to_numpy())
        if not len(dup):
            return values
        values[dup] = draw(dup)
    raise ValueError(f"could not draw {n} distinct values: the space is too small")


def landline(area_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """National 10-digit numbers (int64) for 3-digit area codes; local numbers never start with 0/1."""
    local = rng.integers(2_000_000, 10_000_000, size=len(area_codes), dtype=np.int64)
    return np.asarray(area_codes, dtype=np.int64) * 10_000_000 + local


def mobile(prefixes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """National 10-digit mobile numbers (int64) on the given 9xx operator prefixes."""
    chosen = rng.choice(np.asarray(prefixes, dtype=np.int64), size=n)
    return chosen * 10_000_000 + rng.integers(0, 10_000_000, size=n, dtype=np.int64)


def e164(national: np.ndarray) -> np.ndarray:
    """Canonical ``+7`` plus ten digits strings (object array) for 10-digit national numbers."""
    return _objects([f"+7{v}" for v in np.asarray(national, dtype=np.int64).tolist()])
