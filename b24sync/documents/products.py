"""Which 1C nomenclature item a Bitrix24 product row is.

In order of trust: an explicit pair from ``[deals.product_map]``, a pair stored in the state by an
earlier run (so a renamed item keeps its mapping), then the configured ways of ``product_match``:

- ``ref``: the product's ``XML_ID`` is the item's ``Ref_Key`` (what the 1C site exchange writes);
- ``article``: the product's ``XML_ID`` equals the item's ``Артикул``;
- ``code``: the product's ``XML_ID`` equals the item's ``Code``;
- ``name``: the row's product name equals the item's name (case and spaces aside).

A way that finds several items is ambiguous and stops the search: the row is reported, not
guessed. A free-text row (``PRODUCT_ID`` 0) can only be found by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from b24sync.documents.catalog import OneCCatalog, fold


@dataclass(frozen=True)
class Match:
    ref: str | None
    how: str  # config, stored, ref, article, code, name — or the reason: not_found, ambiguous
    key: str  # the mapping key: "product:12" or "name:<folded name>"


class ProductMatcher:
    def __init__(self, catalog: OneCCatalog, products: Iterable[Mapping[str, Any]], methods: Iterable[str],
                 configured: Mapping[str, str], stored: Mapping[str, str]) -> None:
        self.catalog, self.methods = catalog, tuple(methods)
        self.products = {int(p["ID"]): p for p in products}
        self.configured = {f"product:{k}": v for k, v in configured.items()}
        self.stored = dict(stored)
        self.index: dict[str, dict[str, list[str]]] = {m: defaultdict(list) for m in ("article", "code", "name")}
        for ref, item in catalog.nomenclature.items():
            for method, value in (("article", item.get("Артикул")), ("code", item.get("Code")),
                                  ("name", fold(item.get("Description")))):
                value = str(value or "").strip()
                if value:
                    self.index[method][value].append(ref)

    def match(self, row: Mapping[str, Any]) -> Match:
        product_id = int(row.get("PRODUCT_ID") or 0)
        name = fold(row.get("PRODUCT_NAME"))
        key = f"product:{product_id}" if product_id else f"name:{name}"
        for source, table in (("config", self.configured), ("stored", self.stored)):
            ref = table.get(key)
            if ref and ref in self.catalog.nomenclature:
                return Match(ref, source, key)
        xml_id = str((self.products.get(product_id) or {}).get("XML_ID") or "").strip() if product_id else ""
        for method in self.methods:
            if method == "ref":
                if xml_id.lower() in self.catalog.nomenclature:
                    return Match(xml_id.lower(), "ref", key)
                continue
            value = name if method == "name" else xml_id
            found = self.index[method].get(value, []) if value else []
            if len(found) == 1:
                return Match(found[0], method, key)
            if len(found) > 1:
                return Match(None, "ambiguous", key)
        return Match(None, "not_found", key)
