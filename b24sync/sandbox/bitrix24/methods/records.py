"""The write path shared by ``crm.<entity>.add/update``, ``crm.item.*`` and the bulk seed loader.

Every change goes through :func:`write`: it works on a copy, validates, then commits, so a
rejected update leaves the record untouched. It maintains what the portal maintains itself:
timestamps and authors (``DATE_MODIFY`` bumped on *every* change, multifield-only ones included),
``HAS_PHONE``/``HAS_EMAIL``, stage semantics, company–contact links and per-entity defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api import RestError
from . import multifields, schema
from .reference import INVOICE_CATEGORY_ID, stage_entity
from .schema import Field
from .store import Record, Store
from .uf_values import uf_internal
from .values import as_list, internal, midnight, to_int

DAY = 86400


@dataclass(frozen=True)
class Entity:
    """An old-style CRM entity and the names the portal uses for it."""

    key: str
    entity_type_id: int
    uf_entity: str
    fields: dict[str, Field]
    event: str
    title: str
    has_fm: bool = True

    @property
    def not_found(self) -> str:
        return f"{self.title} is not found"


ENTITIES: dict[str, Entity] = {
    "contact": Entity("contact", 3, "CRM_CONTACT", schema.CONTACT, "CONTACT", "Contact"),
    "company": Entity("company", 4, "CRM_COMPANY", schema.COMPANY, "COMPANY", "Company"),
    "deal": Entity("deal", 2, "CRM_DEAL", schema.DEAL, "DEAL", "Deal", has_fm=False),
    "lead": Entity("lead", 1, "CRM_LEAD", schema.LEAD, "LEAD", "Lead"),
    "invoice": Entity("invoice", 31, "CRM_SMART_INVOICE", schema.INVOICE, "DYNAMICITEM", "Invoice", has_fm=False),
    "requisite": Entity("requisite", 8, "CRM_REQUISITE", schema.REQUISITE, "REQUISITE", "Requisite", has_fm=False),
    "address": Entity("address", 0, "CRM_ADDRESS", schema.ADDRESS, "ADDRESS", "Address", has_fm=False),
    "product": Entity("product", 0, "CRM_PRODUCT", schema.PRODUCT, "PRODUCT", "Product", has_fm=False),
}
BY_TYPE_ID = {e.entity_type_id: e for e in ENTITIES.values() if e.key not in ("requisite", "address", "product")}
_DEFAULT_TITLES = {"deal": "Сделка #{}", "lead": "Лид #{}", "invoice": "Счет #{}"}


def stage_semantics(store: Store) -> dict[tuple[str, str], str]:
    """(status ENTITY_ID, STATUS_ID) → P/S/F, built from the portal's stage dictionary."""
    cache = store.reference.get("semantics")
    if cache is None:
        cache = {}
        for row in store.table("status").rows.values():
            if row.get("COLOR") is not None:
                cache[(row["ENTITY_ID"], row["STATUS_ID"])] = row.get("SEMANTICS") or "P"
        store.reference["semantics"] = cache
    return cache


def write(store: Store, entity: Entity, record: Record | None, fields: dict[str, Any], *, user_id: int,
          now: int, import_mode: bool = False, fm: Any = None, record_id: int | None = None) -> Record:
    """Validate and apply ``fields`` (old-style UPPER names); returns the committed record."""
    is_add = record is None
    new: Record = {} if record is None else dict(record)
    links: dict[str, Any] = {}
    ufs = store.ufs(entity.uf_entity)
    for name, value in fields.items():
        spec = entity.fields.get(name)
        if spec is None:
            if name in ufs:
                stored = uf_internal(ufs[name], value, store.tz)
                if stored is None or stored == "":
                    new.pop(name, None)
                else:
                    new[name] = stored
            continue
        if spec.kind == "fm":
            multifields.patch(store, new, name, value, is_add=is_add)
            continue
        if name in ("COMPANY_IDS", "COMPANY_ID") and entity.key == "contact" or \
                name == "CONTACT_ID" and entity.key == "company":
            links[name] = value
            continue
        if name in schema.ALWAYS_READONLY and not (import_mode and name in schema.IMPORT_WRITABLE):
            continue
        if spec.immutable and not is_add:
            continue
        stored = internal(spec.kind, value, store.tz)
        if stored is None or stored == "" or stored == []:
            new.pop(name, None)
        else:
            new[name] = stored
    if fm is not None:
        multifields.patch_fm(store, new, fm, is_add=is_add)
    _derive(store, entity, new, record, user_id=user_id, now=now, is_add=is_add)
    _validate(entity, new)
    if entity.key == "contact" and links:
        primary = to_int(links.get("COMPANY_ID"))
        if "COMPANY_IDS" in links:
            wanted = [i for i in (to_int(v) for v in as_list(links["COMPANY_IDS"])) if i]
            if primary and primary not in wanted:
                wanted.insert(0, primary)
        else:
            wanted = list(store.contact_companies.get(new.get("ID", 0), []))
            if primary:
                wanted = [primary] + [i for i in wanted if i != primary]
            elif "COMPANY_ID" in links:
                wanted = wanted[1:]
        new["_LINKS"] = wanted
        if wanted:
            new["COMPANY_ID"] = primary or wanted[0]
        else:
            new.pop("COMPANY_ID", None)
    if entity.key == "company" and "CONTACT_ID" in links:
        new["_LINKS"] = [i for i in (to_int(v) for v in as_list(links["CONTACT_ID"])) if i]
    pending = new.pop("_LINKS", None)
    if record is None:
        store.table(entity.key).insert(new, record_id)
        record = new
        _apply_defaults_after_insert(entity, record)
    else:
        record.clear()
        record.update(new)
    if pending is not None:
        _relink(store, entity, record["ID"], pending)
    return record


def _relink(store: Store, entity: Entity, record_id: int, ids: list[int]) -> None:
    if entity.key == "contact":
        store.unlink_contact(record_id)
        for index, company_id in enumerate(ids):
            store.link(record_id, company_id, primary=index == 0)
    else:
        store.unlink_company(record_id)
        for contact_id in ids:
            if contact_id in store.table("contact").rows:
                store.link(contact_id, record_id)


def _apply_defaults_after_insert(entity: Entity, record: Record) -> None:
    template = _DEFAULT_TITLES.get(entity.key)
    if template and not record.get("TITLE"):
        record["TITLE"] = template.format(record["ID"])
    if entity.key == "invoice" and not record.get("ACCOUNT_NUMBER"):
        record["ACCOUNT_NUMBER"] = str(record["ID"])


def _derive(store: Store, entity: Entity, new: Record, old: Record | None, *, user_id: int, now: int,
            is_add: bool) -> None:
    if is_add:
        new.setdefault("DATE_CREATE", now)
        new.setdefault("CREATED_BY_ID", user_id)
        new.setdefault("ASSIGNED_BY_ID", user_id)
        new.setdefault("DATE_MODIFY", new["DATE_CREATE"])
        new.setdefault("MODIFY_BY_ID", user_id)
        _defaults(store, entity, new, now)
    else:
        assert old is not None
        if new.get("DATE_MODIFY") == old.get("DATE_MODIFY"):
            new["DATE_MODIFY"] = now
        if new.get("MODIFY_BY_ID") == old.get("MODIFY_BY_ID"):
            new["MODIFY_BY_ID"] = user_id
    if entity.has_fm:
        multifields.refresh_flags(new)
    if entity.key in ("deal", "invoice"):
        category = new.get("CATEGORY_ID", 0)
        status_entity = stage_entity(entity.entity_type_id, category)
        semantics = stage_semantics(store)
        if (status_entity, new.get("STAGE_ID")) not in semantics:
            if old is not None and old.get("STAGE_ID"):
                new["STAGE_ID"] = old["STAGE_ID"]
            elif entity.key == "deal":
                new["STAGE_ID"] = ("" if category == 0 else f"C{category}:") + "NEW"
            else:
                new["STAGE_ID"] = f"DT31_{category}:N"
        if entity.key == "deal":
            semantic = semantics.get((status_entity, new["STAGE_ID"]), "P")
            new["STAGE_SEMANTIC_ID"] = semantic
            new["CLOSED"] = "N" if semantic == "P" else "Y"
        if old is not None and old.get("STAGE_ID") != new["STAGE_ID"] or is_add:
            new["MOVED_TIME"] = now
            new["MOVED_BY_ID"] = user_id
            if old is not None and entity.key == "invoice":
                new["PREVIOUS_STAGE_ID"] = old.get("STAGE_ID")
    if entity.key == "lead":
        if ("STATUS", new.get("STATUS_ID")) not in stage_semantics(store):
            new["STATUS_ID"] = old.get("STATUS_ID", "NEW") if old else "NEW"
        semantic = stage_semantics(store).get(("STATUS", new["STATUS_ID"]), "P")
        new["STATUS_SEMANTIC_ID"] = semantic
        if semantic != "P" and (old is None or old.get("STATUS_SEMANTIC_ID") == "P"):
            new["DATE_CLOSED"] = now


def _defaults(store: Store, entity: Entity, new: Record, now: int) -> None:
    key = entity.key
    if key in ("contact", "company", "deal", "lead", "invoice"):
        new.setdefault("OPENED", "Y")
    if key == "contact":
        new.setdefault("EXPORT", "Y")
    elif key == "company":
        new.setdefault("COMPANY_TYPE", "CUSTOMER")
        new.setdefault("IS_MY_COMPANY", "N")
        new.setdefault("CURRENCY_ID", "RUB")
        new.setdefault("REVENUE", 0.0)
    elif key in ("deal", "lead", "invoice"):
        new.setdefault("CURRENCY_ID", "RUB")
        new.setdefault("OPPORTUNITY", 0.0)
        new.setdefault("IS_MANUAL_OPPORTUNITY", "N")
    if key == "deal":
        stage = str(new.get("STAGE_ID") or "")
        if "CATEGORY_ID" not in new and stage.startswith("C") and ":" in stage:
            new["CATEGORY_ID"] = to_int(stage[1:stage.index(":")]) or 0
        new.setdefault("CATEGORY_ID", 0)
        if new["CATEGORY_ID"] not in store.reference.get("deal_categories", {0: None}):
            new["CATEGORY_ID"] = 0
        new.setdefault("TYPE_ID", "SALE")
        new.setdefault("TAX_VALUE", 0.0)
        today = midnight_of(now, store)
        new.setdefault("BEGINDATE", today)
        new.setdefault("CLOSEDATE", today + 7 * DAY)
        for flag, value in (("IS_NEW", "Y"), ("IS_RECURRING", "N"), ("IS_RETURN_CUSTOMER", "N"),
                            ("IS_REPEATED_APPROACH", "N")):
            new.setdefault(flag, value)
    elif key == "lead":
        new["IS_RETURN_CUSTOMER"] = "Y" if new.get("COMPANY_ID") or new.get("CONTACT_ID") else "N"
    elif key == "invoice":
        new["CATEGORY_ID"] = INVOICE_CATEGORY_ID
        today = midnight_of(now, store)
        new.setdefault("BEGINDATE", today)
        new.setdefault("CLOSEDATE", today + 7 * DAY)
        new.setdefault("TAX_VALUE", 0.0)
    elif key == "requisite":
        new.setdefault("ACTIVE", "Y")
        new.setdefault("ADDRESS_ONLY", "N")
        new.setdefault("SORT", 500)


def midnight_of(stamp: int, store: Store) -> int:
    from datetime import datetime

    return midnight(datetime.fromtimestamp(stamp, store.tz).date(), store.tz)


def _validate(entity: Entity, new: Record) -> None:
    if entity.key == "contact" and not any(new.get(k) for k in ("NAME", "LAST_NAME", "SECOND_NAME")):
        raise RestError("ERROR_CORE", 'Поле "Имя" обязательно для заполнения.')
    if entity.key == "company" and not new.get("TITLE"):
        raise RestError("ERROR_CORE", 'Поле "Название компании" обязательно для заполнения.')


def delete_cascade(store: Store, entity: Entity, record_id: int) -> None:
    """Remove what belongs to a deleted record: links, requisites with their addresses, product rows."""
    if entity.key == "contact":
        store.unlink_contact(record_id)
    elif entity.key == "company":
        store.unlink_company(record_id)
    if entity.key in ("contact", "company"):
        requisites = store.table("requisite")
        owned = [rid for rid, r in requisites.rows.items()
                 if r.get("ENTITY_TYPE_ID") == entity.entity_type_id and r.get("ENTITY_ID") == record_id]
        for rid in owned:
            requisites.delete(rid)
            drop_addresses(store, 8, rid)
    if entity.key == "requisite":
        drop_addresses(store, 8, record_id)
    if entity.key == "deal":
        store.product_rows.pop(("D", record_id), None)
    if entity.key == "invoice":
        store.product_rows.pop(("SI", record_id), None)


def drop_addresses(store: Store, entity_type_id: int, entity_id: int) -> None:
    table = store.table("address")
    for key in [k for k in store.addresses if k[1] == entity_type_id and k[2] == entity_id]:
        table.delete(store.addresses.pop(key))
