"""Deterministic seeded data for the sandbox emulators: one world of parties, one view per system.

``generate_parties`` draws the canonical counterparties (valid INN/KPP/OGRN, E.164 phones,
lower-case e-mails, addresses); ``bitrix24_seed`` projects them into a Bitrix24 portal with the
noise of manual entry and recorded anomalies. The 1C projection will read the same frame, so
the overlap between the two systems (``in_b24`` / ``in_onec``) is decided once, here::

    spec = SeedSpec.from_size(1_000)
    parties = generate_parties(spec, seed=7)
    portal, planted = bitrix24_seed(parties, spec, seed=7)
"""

from __future__ import annotations

from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sandbox.parties import INDIVIDUAL, KINDS, LEGAL, SOLE_PROPRIETOR, generate_parties
from b24sync.sandbox.seed_bitrix24 import PRODUCTS, Bitrix24Projection, bitrix24_seed, project_bitrix24
from b24sync.sandbox.seed_spec import (
    ANOMALY_KINDS,
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

__all__ = [
    "ANOMALY_KINDS",
    "BAD_INN_CHECKSUM",
    "BRANCH_PAIR",
    "DUPLICATE_INN",
    "INDIVIDUAL",
    "KINDS",
    "LEGAL",
    "MISSING_REQUISITE",
    "UNKNOWN_PRODUCT",
    "PRODUCTS",
    "SHARED_EMAIL",
    "SOLE_PROPRIETOR",
    "WRONG_INN_LENGTH",
    "Bitrix24Projection",
    "Planted",
    "SeedSpec",
    "bitrix24_portal",
    "bitrix24_seed",
    "generate_parties",
    "project_bitrix24",
]


def bitrix24_portal(
    spec: SeedSpec, seed: int = 0, *, custom_stage: str | None = None
) -> tuple[PortalSeed, list[Planted]]:
    """World and Bitrix24 projection in one call: what the emulator and the demo load."""
    return bitrix24_seed(generate_parties(spec, seed), spec, seed, custom_stage=custom_stage)
