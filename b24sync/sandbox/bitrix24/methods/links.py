"""Company ↔ contact bindings: ``crm.company.contact.items.*`` and ``crm.contact.company.items.*``.

The store keeps one list per side with the primary binding first; a contact's ``COMPANY_ID`` is
kept equal to its primary company, since the old field and the binding table are one fact.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from .store import Store
from .values import as_list, param, to_flag, to_int


def _owner_id(params: dict[str, Any]) -> int:
    value = to_int(param(params, "id", "ID"))
    if value is None or value <= 0:
        raise RestError("", "The parameter ownerEntityID is invalid or not defined.")
    return value


def _items(params: dict[str, Any], key: str) -> list[tuple[int, bool, int]]:
    raw = param(params, "items", "ITEMS")
    if not isinstance(raw, list | dict):
        raise RestError("", "The parameter items must be array.")
    out = []
    for index, item in enumerate(as_list(raw)):
        if isinstance(item, dict):
            target = to_int(item.get(key))
            if target:
                out.append((target, to_flag(item.get("IS_PRIMARY")) == "Y", to_int(item.get("SORT")) or index * 10))
    out.sort(key=lambda t: (not t[1], t[2]))
    return out


def register(registry: MethodRegistry, store: Store) -> None:
    contacts = store.table("contact")
    companies = store.table("company")

    def render(ids: list[int], key: str) -> list[dict[str, Any]]:
        return [{key: i, "SORT": (n + 1) * 10, "ROLE_ID": 0, "IS_PRIMARY": "Y" if n == 0 else "N"}
                for n, i in enumerate(ids)]

    @registry.register("crm.contact.company.items.get")
    def contact_get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = _owner_id(params)
        if rid not in contacts.rows:
            raise RestError("", "Not found")
        return MethodResult(render(store.contact_companies.get(rid, []), "COMPANY_ID"))

    @registry.register("crm.contact.company.items.set")
    def contact_set(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = _owner_id(params)
        items = _items(params, "COMPANY_ID")
        if rid not in contacts.rows:
            raise RestError("", "Not found")
        store.unlink_contact(rid)
        for company_id, _primary, _sort in items:
            if company_id in companies.rows:
                store.link(rid, company_id)
        return MethodResult(True)

    @registry.register("crm.company.contact.items.get")
    def company_get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = _owner_id(params)
        if rid not in companies.rows:
            raise RestError("", "Not found")
        return MethodResult(render(store.company_contacts.get(rid, []), "CONTACT_ID"))

    @registry.register("crm.company.contact.items.set")
    def company_set(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = _owner_id(params)
        items = _items(params, "CONTACT_ID")
        if rid not in companies.rows:
            raise RestError("", "Not found")
        store.unlink_company(rid)
        for contact_id, _primary, _sort in items:
            if contact_id in contacts.rows:
                store.link(contact_id, rid)
        return MethodResult(True)
