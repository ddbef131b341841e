"""The 1C reference data an order or an interest is made of, read once per run.

Nomenclature (with each item's own VAT rate), VAT rates, organizations, currencies and users.
Items marked for deletion and groups are left out: nothing is ever written referring to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b24sync import messages as m
from b24sync.errors import ConfigError
from b24sync.i18n import t
from b24sync.sources.onec.client import OneCClient

NOMENCLATURE = "Catalog_Номенклатура"
VAT_RATES = "Catalog_СтавкиНДС"
ORGANIZATIONS = "Catalog_Организации"
CURRENCIES = "Catalog_Валюты"
EMPTY = "00000000-0000-0000-0000-000000000000"
ISO_NUMERIC = {"RUB": "643", "RUR": "643", "USD": "840", "EUR": "978", "CNY": "156", "KZT": "398", "BYN": "933"}


def fold(text: Any) -> str:
    """A name compared the way people read it: case and runs of spaces do not matter."""
    return " ".join(str(text or "").split()).casefold()


@dataclass
class OneCCatalog:
    """What orders refer to in 1C, keyed for lookups."""

    nomenclature: dict[str, dict[str, Any]] = field(default_factory=dict)  # Ref_Key → item
    vat_percent: dict[str, float | None] = field(default_factory=dict)  # rate Ref_Key → % (None: без НДС)
    organizations: list[dict[str, Any]] = field(default_factory=list)
    currencies: dict[str, str] = field(default_factory=dict)  # ISO numeric code → Ref_Key

    def vat_ref(self, percent: float) -> str | None:
        """The rate item for a percentage (0 % is «0%», not «Без НДС»)."""
        for ref, value in self.vat_percent.items():
            if value is not None and abs(value - percent) < 1e-9:
                return ref
        return None

    def currency_ref(self, code: str) -> str | None:
        code = str(code or "RUB").upper()
        return self.currencies.get(ISO_NUMERIC.get(code, code))

    def organization_ref(self, setting: str) -> str:
        """The selling organization: by INN or ``Ref_Key`` from ``deals.organization``, or the only one."""
        live = self.organizations
        if setting:
            found = [o for o in live if setting.lower() in (o["Ref_Key"], str(o.get("ИНН") or ""))]
            if len(found) == 1:
                return found[0]["Ref_Key"]
        elif len(live) == 1:
            return live[0]["Ref_Key"]
        listed = "; ".join(f"{o['Description']} (ИНН {o.get('ИНН') or '—'})" for o in live) or "—"
        raise ConfigError(t(m.ORGANIZATION_UNKNOWN, value=setting or "∅", known=listed))


def load_catalog(client: OneCClient) -> OneCCatalog:
    rates = client.query(VAT_RATES, select=["Ref_Key", "Ставка", "ПеречислениеСтавкаНДС", "DeletionMark"])
    vat = {r["Ref_Key"]: (None if r.get("ПеречислениеСтавкаНДС") == "БезНДС" else float(r.get("Ставка") or 0))
           for r in rates if not r.get("DeletionMark")}
    items = {}
    for page in client.iterate(NOMENCLATURE, select=["Ref_Key", "Code", "Description", "Артикул", "СтавкаНДС_Key",
                                                      "IsFolder", "DeletionMark"]):
        for row in page:
            if not row.get("IsFolder") and not row.get("DeletionMark"):
                items[row["Ref_Key"]] = row
    orgs = [o for o in client.query(ORGANIZATIONS, select=["Ref_Key", "Description", "ИНН", "DeletionMark"])
            if not o.get("DeletionMark")]
    currencies = {str(c["Code"]).strip(): c["Ref_Key"] for c in client.query(
        CURRENCIES, select=["Ref_Key", "Code", "DeletionMark"]) if not c.get("DeletionMark")}
    return OneCCatalog(nomenclature=items, vat_percent=vat, organizations=orgs, currencies=currencies)
