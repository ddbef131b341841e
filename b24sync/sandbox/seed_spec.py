"""What to generate (:class:`SeedSpec`) and what was planted on purpose (:class:`Planted`).

Separate from the generators so every projection (Bitrix24, 1C) shares one spec type and the
same anomaly vocabulary without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from b24sync.sandbox.bitrix24.api import MOSCOW

DEFAULT_AS_OF = datetime(2026, 11, 1, 12, 0, 0, tzinfo=MOSCOW)
"""A fixed "today" for generated timestamps: a wall clock would break determinism."""

# Kinds of planted anomalies (``Planted.kind``).
DUPLICATE_INN = "duplicate_inn"
"""The same counterparty entered twice: two companies whose requisites carry one INN (and KPP)."""
BAD_INN_CHECKSUM = "bad_inn_checksum"
"""A requisite INN with a wrong check digit (a typo)."""
WRONG_INN_LENGTH = "wrong_inn_length"
"""A legal entity's requisite INN with 9 or 11 digits (a digit lost or doubled)."""
SHARED_EMAIL = "shared_email"
"""Two contacts with one e-mail address, typed in different case."""
BRANCH_PAIR = "branch_pair"
"""A head office and its branch: one INN, different KPP — legitimate, but must match by KPP too."""
MISSING_REQUISITE = "missing_requisite"
"""A company without any requisite, hence without INN."""

UNKNOWN_PRODUCT = "unknown_product"
"""A deal at the order stage with a free-text row (no catalog product) that 1C has no item for."""

ANOMALY_KINDS = (DUPLICATE_INN, BAD_INN_CHECKSUM, WRONG_INN_LENGTH, SHARED_EMAIL, BRANCH_PAIR, MISSING_REQUISITE)


@dataclass(frozen=True)
class Planted:
    """One planted anomaly: ``ids`` are 1-based positions (= IDs) of ``entity`` records in the seed."""

    kind: str
    entity: str
    ids: tuple[int, ...]
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedSpec:
    """Counts and rates for one generated world; equal specs and seeds give identical data.

    Anomaly rates are shares of the records they apply to (companies, contacts or legal
    entities); with ``anomalies`` on, each kind is planted at least once, with it off, never —
    benchmarks want clean data whose size is exactly what they asked for.
    """

    legal_entities: int = 550
    sole_proprietors: int = 150
    individuals: int = 300
    deals: int = 250
    leads: int = 100
    anomalies: bool = True
    duplicate_inn_rate: float = 0.003
    bad_inn_checksum_rate: float = 0.002
    wrong_inn_length_rate: float = 0.001
    shared_email_rate: float = 0.003
    branch_rate: float = 0.006
    missing_requisite_rate: float = 0.004
    missing_phone_rate: float = 0.04
    missing_email_rate: float = 0.08
    individual_without_inn_rate: float = 0.15
    employee_rate: float = 0.3
    only_b24_rate: float = 0.15
    only_onec_rate: float = 0.15
    custom_stage_rate: float = 0.1
    as_of: datetime = DEFAULT_AS_OF
    history_days: int = 730

    def __post_init__(self) -> None:
        counts = (self.legal_entities, self.sole_proprietors, self.individuals, self.deals, self.leads)
        if min(counts) < 0:
            raise ValueError("counts must not be negative")
        if not 0 <= self.only_b24_rate + self.only_onec_rate <= 1:
            raise ValueError("only_b24_rate + only_onec_rate must be within [0, 1]")

    @property
    def parties(self) -> int:
        return self.legal_entities + self.sole_proprietors + self.individuals

    @classmethod
    def from_size(cls, size: int, *, anomalies: bool = True) -> SeedSpec:
        """A balanced world of ``size`` parties: 55 % legal entities, 15 % sole proprietors, 30 % people."""
        legal = round(size * 0.55)
        sole = round(size * 0.15)
        return cls(
            legal_entities=legal,
            sole_proprietors=sole,
            individuals=size - legal - sole,
            deals=size // 4,
            leads=size // 10,
            anomalies=anomalies,
        )

    @classmethod
    def contacts_only(cls, n: int) -> SeedSpec:
        """``n`` Bitrix24 contacts, each with a phone and an e-mail, nothing else: the export benchmark."""
        return cls(
            legal_entities=0,
            sole_proprietors=0,
            individuals=n,
            deals=0,
            leads=0,
            anomalies=False,
            missing_phone_rate=0.0,
            missing_email_rate=0.0,
            employee_rate=0.0,
            only_b24_rate=1.0,
            only_onec_rate=0.0,
        )

    def with_(self, **changes: Any) -> SeedSpec:
        """A copy with some fields changed (the spec is frozen so it can key caches)."""
        return replace(self, **changes)

    def planted_count(self, rate: float, base: int) -> int:
        """How many of one anomaly to plant among ``base`` records: 0 when off, else at least 1."""
        if not self.anomalies or base <= 0:
            return 0
        return max(1, round(rate * base))
