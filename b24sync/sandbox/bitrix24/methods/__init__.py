"""The CRM REST methods of the Bitrix24 emulator, one module per method family.

:func:`register_all` binds every method to one :class:`~.store.Store`; the protocol layer only
ever sees the resulting :class:`~b24sync.sandbox.bitrix24.api.MethodRegistry`.
"""

from __future__ import annotations

from ..api import MethodRegistry
from . import (
    addresses,
    crm_entities,
    duplicates,
    invoices_legacy,
    items,
    links,
    productrows,
    products,
    requisites,
    statuses,
    system,
    userfields,
    users,
)
from .store import Store


def register_all(registry: MethodRegistry, store: Store) -> None:
    for module in (crm_entities, userfields, items, requisites, addresses, statuses, users, products,
                   productrows, duplicates, links, invoices_legacy, system):
        module.register(registry, store)
