"""Trigger stages and qualified lead statuses, resolved against the portal's own dictionaries.

A configured value is a status id (``UC_K7M2QD``, ``C1:WON``, ``CONVERTED``) or a status name as
the portal shows it («Договор подписан»), in any pipeline. An unknown value is a configuration
error naming it, never a silently empty trigger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from b24sync import messages as m
from b24sync.errors import ConfigError
from b24sync.i18n import t
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all


def _fold(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def resolve(rows: Iterable[dict[str, Any]], wanted: Iterable[str], key: str) -> dict[str, str]:
    """``STATUS_ID → NAME`` of the rows whose id or name is in ``wanted``; unknown values raise."""
    rows = list(rows)
    by_id = {str(r["STATUS_ID"]): str(r.get("NAME") or "") for r in rows}
    out: dict[str, str] = {}
    for value in wanted:
        if value in by_id:
            out[value] = by_id[value]
            continue
        found = {sid: name for sid, name in by_id.items() if _fold(name) == _fold(value)}
        if not found:
            known = ", ".join(f"{sid} «{name}»" for sid, name in list(by_id.items())[:30])
            raise ConfigError(t(m.STAGE_UNKNOWN, key=key, value=value, known=known))
        out.update(found)
    return out


class Statuses:
    """Every ``crm.status.list`` row of the portal, read once (a few requests) for all lookups."""

    def __init__(self, client: Bitrix24Client) -> None:
        self.rows = export_all(client, "status")

    def of(self, entity_id: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("ENTITY_ID") == entity_id]

    def deal_stages(self, wanted: Iterable[str]) -> dict[str, str]:
        """Stage ids of every pipeline (``DEAL_STAGE`` and ``DEAL_STAGE_N``) matching the config."""
        rows = [r for r in self.rows if str(r.get("ENTITY_ID", "")).startswith("DEAL_STAGE")]
        return resolve(rows, wanted, "deals.trigger_stages")

    def lead_statuses(self, wanted: Iterable[str]) -> dict[str, str]:
        """Lead status ids matching the config (``crm.status.list`` entity ``STATUS``)."""
        return resolve(self.of("STATUS"), wanted, "leads.qualified_statuses")

    def names(self, entity_id: str) -> dict[str, str]:
        """``STATUS_ID → NAME`` of one dictionary, e.g. ``SOURCE``."""
        return {str(r["STATUS_ID"]): str(r.get("NAME") or "") for r in self.of(entity_id)}
