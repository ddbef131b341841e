"""Which system knows which party, and how the 1C record of a shared party differs from Bitrix24.

The world generator already draws who is where (``in_b24`` / ``in_onec``, from
``spec.only_b24_rate`` / ``spec.only_onec_rate``; branch pairs are on both sides). This module does
not draw that again: two independent draws would disagree, and a party could end up "only in 1C"
for the 1C projection yet present in Bitrix24. It names the decision ``in_bitrix24`` (the column
both projections filter on) and adds what the 1C projection needs on top, ``onec_variant``: the one
difference planted in that party's 1C record, chosen deterministically from ``seed`` and the rows.

Variants (exactly one per party known to 1C; ``None`` for parties 1C does not know):

``same``
    no planted difference (formatting may still differ: 1C shows ``+7 (495) 123-45-67``);
``phone_differs``
    shared party, 1C has another number in place of the first phone;
``address_differs``
    shared organisation, 1C has another legal address (the company moved);
``kpp_differs``
    shared legal entity, 1C has a newer KPP (and keeps the old one in ``ИсторияКПП``);
``deletion_marked``
    the 1C counterparty is marked for deletion (shared or 1C-only);
``duplicate_inn``
    1C holds the party twice: a second counterparty with the same INN (and KPP), its own partner.

Branch pairs keep ``same``: their head/branch KPP split is the difference matching must handle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from b24sync.sandbox.parties import INDIVIDUAL, LEGAL, stream
from b24sync.sandbox.seed_spec import SeedSpec

__all__ = [
    "ADDRESS_DIFFERS",
    "DELETION_MARKED",
    "DUPLICATE_INN",
    "KPP_DIFFERS",
    "ONEC_KINDS",
    "ONEC_VARIANTS",
    "PHONE_DIFFERS",
    "SAME",
    "OverlapRates",
    "assign_sides",
    "overlap_figures",
]

SAME = "same"
PHONE_DIFFERS = "phone_differs"
ADDRESS_DIFFERS = "address_differs"
KPP_DIFFERS = "kpp_differs"
DELETION_MARKED = "deletion_marked"
DUPLICATE_INN = "duplicate_inn"
ONEC_VARIANTS = (SAME, PHONE_DIFFERS, ADDRESS_DIFFERS, KPP_DIFFERS, DELETION_MARKED, DUPLICATE_INN)

ONEC_KINDS = {v: f"onec_{v}" for v in ONEC_VARIANTS if v != SAME}
"""``Planted.kind`` of each 1C variant (prefixed: the Bitrix24 vocabulary has its own ``duplicate_inn``)."""


@dataclass(frozen=True)
class OverlapRates:
    """Shares of the eligible parties that get each 1C variant (``SeedSpec.planted_count`` applies:
    at least one of each with anomalies on, none with them off)."""

    phone_differs: float = 0.05
    address_differs: float = 0.04
    kpp_differs: float = 0.03
    deletion_marked: float = 0.02
    duplicate_inn: float = 0.01


def assign_sides(
    parties: pd.DataFrame, spec: SeedSpec, seed: int = 0, rates: OverlapRates | None = None
) -> pd.DataFrame:
    """A copy of ``parties`` with ``in_bitrix24``, ``in_onec`` and ``onec_variant`` (see the module doc).

    Deterministic: equal frames, specs and seeds give equal columns. Raises ``ValueError`` when a
    spec asks for more variants than there are eligible parties.
    """
    rates = rates or OverlapRates()
    out = parties.copy()
    in_b24 = out["in_b24"].to_numpy(dtype=bool)
    in_onec = out["in_onec"].to_numpy(dtype=bool)
    kind = out["kind"].to_numpy()
    in_group = out["head_party_id"].notna().to_numpy() | out["party_id"].isin(out["head_party_id"].dropna()).to_numpy()
    has_phone = np.fromiter((len(p) > 0 for p in out["phones"]), dtype=bool, count=len(out))
    has_inn = out["inn"].notna().to_numpy()
    both = in_b24 & in_onec & ~in_group

    rng = stream(seed, "overlap.onec_variant")
    variant = np.full(len(out), None, dtype=object)
    variant[in_onec] = SAME
    free = in_onec & ~in_group
    plan = (
        (DELETION_MARKED, free, rates.deletion_marked, in_onec.sum()),
        (DUPLICATE_INN, free & has_inn, rates.duplicate_inn, in_onec.sum()),
        (KPP_DIFFERS, both & (kind == LEGAL), rates.kpp_differs, (both & (kind == LEGAL)).sum()),
        (ADDRESS_DIFFERS, both & (kind != INDIVIDUAL), rates.address_differs, (both & (kind != INDIVIDUAL)).sum()),
        (PHONE_DIFFERS, both & has_phone, rates.phone_differs, both.sum()),
    )
    for name, eligible, rate, base in plan:
        count = spec.planted_count(rate, int(base))
        pool = np.flatnonzero(eligible & (variant == SAME))
        if count > len(pool):
            raise ValueError(f"too few eligible parties ({len(pool)}) to plant {count} × {name} in 1C")
        variant[rng.permutation(pool)[:count]] = name
    out["in_bitrix24"] = in_b24
    out["in_onec"] = in_onec
    out["onec_variant"] = variant
    return out


def overlap_figures(sides: pd.DataFrame) -> dict[str, int]:
    """Counts for reports and tests: parties per side and per 1C variant."""
    b24 = sides["in_bitrix24"].to_numpy(dtype=bool)
    onec = sides["in_onec"].to_numpy(dtype=bool)
    figures = {
        "parties": len(sides),
        "both": int((b24 & onec).sum()),
        "only_bitrix24": int((b24 & ~onec).sum()),
        "only_onec": int((~b24 & onec).sum()),
        "neither": int((~b24 & ~onec).sum()),
    }
    counts = sides["onec_variant"].value_counts()
    figures.update({v: int(counts.get(v, 0)) for v in ONEC_VARIANTS})
    return figures
