"""The in-memory Bitrix24 portal: a store, the fresh-portal reference data and the method registry.

A :class:`Portal` is what the protocol layer serves. Without a seed it looks like a brand-new
portal (five employees, a twelve-product catalog, standard pipelines plus the custom stage
«Договор подписан», no user fields); :meth:`Portal.load` bulk-loads a :class:`PortalSeed` without
emitting events, giving records the IDs of their positions so cross-references line up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from .api import MOSCOW, MethodRegistry, PortalSeed
from .methods import addresses, productrows, products, register_all, statuses, users
from .methods.records import ENTITIES, write
from .methods.store import Store
from .methods.values import to_int

LOAD_USER_ID = 1
"""Seeded records are created and owned by the administrator unless they say otherwise."""

HISTORY_SECONDS = 30 * 86400
HISTORY_GAP = 3600
"""Seeded records without timestamps are history: spread over the 30 days ending an hour before the load,
so a ``>=DATE_MODIFY`` watermark taken after loading sees only later changes."""


class Portal:
    """One emulated portal; ``registry`` holds every REST method bound to this portal's store."""

    def __init__(self, seed: PortalSeed | None = None, *, tz: tzinfo = MOSCOW,
                 clock: Callable[[], float] = time.time, rng_seed: int = 0, churn: float = 0.0) -> None:
        self.tz = tz
        self.clock = clock
        self.store = Store(tz=tz, rng=random.Random(rng_seed), churn=churn, clock=clock)
        now = int(clock())
        statuses.install(self.store)
        users.install(self.store, now)
        products.install(self.store, now)
        self.registry = MethodRegistry()
        register_all(self.registry, self.store)
        if seed is not None:
            self.load(seed)

    @property
    def churn(self) -> float:
        return self.store.churn

    @churn.setter
    def churn(self, value: float) -> None:
        self.store.churn = value

    def load(self, seed: PortalSeed) -> None:
        """Replace the CRM content with ``seed`` (IDs = 1-based positions; no events)."""
        store = self.store
        for name in ("company", "contact", "requisite", "address", "deal", "lead", "invoice"):
            store.table(name).clear()
        store.addresses.clear()
        store.product_rows.clear()
        store.contact_companies.clear()
        store.company_contacts.clear()
        now = int(self.clock())
        self._load_entities("company", seed.companies, now)
        self._load_entities("contact", seed.contacts, now)
        self._load_entities("requisite", seed.requisites, now)
        for fields in seed.addresses:
            key = (to_int(fields.get("TYPE_ID")) or 1, to_int(fields.get("ENTITY_TYPE_ID")) or 8,
                   to_int(fields.get("ENTITY_ID")) or 0)
            if key[2] in store.table("requisite").rows and key not in store.addresses:
                addresses.put(store, key, fields)
        deals = self._load_entities("deal", seed.deals, now)
        for fields, record in zip(seed.deals, deals, strict=True):
            rows = fields.get("PRODUCT_ROWS")
            if rows:
                productrows.replace_rows(store, ENTITIES["deal"], record, list(rows), user_id=LOAD_USER_ID,
                                         now=record["DATE_MODIFY"])
        self._load_entities("lead", seed.leads, now)

    def _load_entities(self, key: str, rows: list[dict[str, Any]], now: int) -> list[dict[str, Any]]:
        entity = ENTITIES[key]
        store = self.store
        store.table(key)
        loaded = []
        start = now - HISTORY_GAP - HISTORY_SECONDS
        step = HISTORY_SECONDS / max(1, len(rows))
        for position, fields in enumerate(rows, start=1):
            data = {k: v for k, v in fields.items() if k != "PRODUCT_ROWS"}
            stamp = start + int(position * step)
            loaded.append(write(store, entity, None, data, user_id=LOAD_USER_ID, now=stamp, import_mode=True,
                                record_id=position))
        return loaded
