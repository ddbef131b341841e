"""The in-memory portal store: plain dicts keyed by int ID plus a sorted ID index per table.

Records are sparse ``dict``s in the canonical internal form of :mod:`.values` — no per-record
objects — so a million of them fit in memory. The sorted ``ids`` list lets the documented export
pattern (``order {ID: ASC}``, ``>ID``, ``start=-1``) be answered by bisection in O(log N + page),
which matters because clients chain fifty such commands in one ``batch``.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

Record = dict[str, Any]


class Table:
    """One entity's records; IDs only grow, so appending keeps ``ids`` sorted."""

    __slots__ = ("name", "rows", "ids", "last_id")

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: dict[int, Record] = {}
        self.ids: list[int] = []
        self.last_id = 0

    def __len__(self) -> int:
        return len(self.rows)

    def clear(self) -> None:
        """Empty in place: methods hold references to their tables."""
        self.rows.clear()
        self.ids.clear()
        self.last_id = 0

    def insert(self, record: Record, record_id: int | None = None) -> int:
        new_id = record_id if record_id is not None else self.last_id + 1
        record["ID"] = new_id
        self.rows[new_id] = record
        if not self.ids or new_id > self.ids[-1]:
            self.ids.append(new_id)
        else:
            pos = bisect_left(self.ids, new_id)
            if pos == len(self.ids) or self.ids[pos] != new_id:
                self.ids.insert(pos, new_id)
        self.last_id = max(self.last_id, new_id)
        return new_id

    def get(self, record_id: int | None) -> Record | None:
        if record_id is None:
            return None
        return self.rows.get(record_id)

    def delete(self, record_id: int) -> Record | None:
        record = self.rows.pop(record_id, None)
        if record is not None:
            pos = bisect_left(self.ids, record_id)
            if pos < len(self.ids) and self.ids[pos] == record_id:
                del self.ids[pos]
        return record


@dataclass
class UserField:
    """A ``crm.<entity>.userfield`` definition (``ENTITY_ID`` like ``CRM_CONTACT``)."""

    id: int
    entity_id: str
    name: str
    user_type: str
    multiple: bool
    data: dict[str, Any]


@dataclass
class Store:
    """Everything a portal holds; methods receive it and never reach for globals."""

    tz: tzinfo
    rng: random.Random
    churn: float = 0.0
    clock: Callable[[], float] | None = None
    tables: dict[str, Table] = field(default_factory=dict)
    fm_last_id: int = 0
    userfields: dict[str, dict[str, UserField]] = field(default_factory=dict)
    uf_last_id: int = 100
    addresses: dict[tuple[int, int, int], int] = field(default_factory=dict)
    """(TYPE_ID, ENTITY_TYPE_ID, ENTITY_ID) → row ID in the ``address`` table."""
    product_rows: dict[tuple[str, int], list[Record]] = field(default_factory=dict)
    row_last_id: int = 0
    contact_companies: dict[int, list[int]] = field(default_factory=dict)
    company_contacts: dict[int, list[int]] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name)
        return self.tables[name]

    def next_fm_id(self) -> int:
        self.fm_last_id += 1
        return self.fm_last_id

    def ufs(self, entity_id: str) -> dict[str, UserField]:
        """User fields of one entity (``CRM_CONTACT``…), by FIELD_NAME, in creation order."""
        return self.userfields.setdefault(entity_id, {})

    def link(self, contact_id: int, company_id: int, primary: bool = False) -> None:
        companies = self.contact_companies.setdefault(contact_id, [])
        if company_id in companies:
            companies.remove(company_id)
        if primary:
            companies.insert(0, company_id)
        else:
            companies.append(company_id)
        contacts = self.company_contacts.setdefault(company_id, [])
        if contact_id not in contacts:
            contacts.append(contact_id)
        self.sync_primary(contact_id)

    def sync_primary(self, contact_id: int) -> None:
        """A contact's ``COMPANY_ID`` is its primary (first) linked company."""
        record = self.table("contact").rows.get(contact_id)
        if record is None:
            return
        companies = self.contact_companies.get(contact_id)
        if companies:
            record["COMPANY_ID"] = companies[0]
        else:
            record.pop("COMPANY_ID", None)

    def unlink_contact(self, contact_id: int) -> None:
        for company_id in self.contact_companies.pop(contact_id, []):
            contacts = self.company_contacts.get(company_id)
            if contacts and contact_id in contacts:
                contacts.remove(contact_id)

    def unlink_company(self, company_id: int) -> None:
        for contact_id in self.company_contacts.pop(company_id, []):
            companies = self.contact_companies.get(contact_id)
            if companies and company_id in companies:
                companies.remove(company_id)
                self.sync_primary(contact_id)
