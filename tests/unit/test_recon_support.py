"""Builders shared by the reconciliation tests (no tests here): canonical parties with Cyrillic data."""

from __future__ import annotations

import pandas as pd

from b24sync.recon import model as md

ROMASHKA_INN, ROMASHKA_KPP, ROMASHKA_BRANCH_KPP = "7707083893", "773601001", "773602001"
LUTIK_INN = "7728168971"
PETROV_INN = "500100732259"  # a sole proprietor
BAD_INN = "7707083894"  # wrong check digit


def ref(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def party(key: str, **values) -> dict:
    """One canonical party; side and entity follow from the key, kind defaults by entity."""
    entity = key.partition(":")[0]
    side = md.ONEC if entity == md.COUNTERPARTY else md.B24
    kind = md.INDIVIDUAL if entity == md.CONTACT else md.LEGAL
    row = {"key": key, "side": side, "entity": entity, "kind": kind, "version": "v1"}
    row.update(values)
    if "inn" in values and "inn_valid" not in values:
        row["inn_valid"] = values["inn"] in (ROMASHKA_INN, LUTIK_INN, PETROV_INN)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return md.conform(pd.DataFrame(list(rows))) if rows else md.empty_party_frame()


def links(*pairs: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(pairs), columns=["b24_key", "onec_key"])
