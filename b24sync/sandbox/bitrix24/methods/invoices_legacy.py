"""The deprecated invoices: ``crm.invoice.{fields,add,get,update,delete,list}``, ``crm.persontype.list``,
``crm.paysystem.list``.

These are the pre-smart invoices (entity type 5), a separate table from the smart invoices
(``invoice``, type 31) that ``crm.item.*`` serves. Records are flat old-style columns
(:data:`~.schema.INVOICE_LEGACY`) plus three parts only ``get`` returns: ``PR_LOCATION``,
``INVOICE_PROPERTIES`` (keys depend on the payer type) and ``PRODUCT_ROWS``.

What the portal maintains itself: ``ACCOUNT_NUMBER`` (the ID when none is given), ``PRICE`` and
``TAX_VALUE`` from the rows (``VAT_RATE`` is a fraction; a price excluding VAT gets it added),
``PAYED`` from the status (``P``), the status/payment dates and their authors, the responsible's
names. ``update`` takes ``PRODUCT_ROWS`` as the complete new set: a row whose ``ID`` is one of the
invoice's rows keeps that ID, ``ID`` 0 adds a row, rows left out are deleted. ``add`` answers the new
ID and, as the update page's examples read it, ``update`` answers the invoice ID.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import lists, oldstyle, schema
from .crm_entities import array_param, describe_fields, now_ts, record_id
from .products import measure_name
from .records import Entity, midnight_of
from .schema import Field
from .store import Record, Store
from .values import as_list, internal, param, to_flag, to_float, to_int

ENTITY = Entity("invoice_legacy", 5, "CRM_INVOICE", schema.INVOICE_LEGACY, "INVOICE", "Invoice", has_fm=False)
"""Not in ``records.ENTITIES``: the shared write path there is for entities with DATE_CREATE/ASSIGNED_BY_ID."""

STATUSES = {"N": "Новый", "S": "Отправлен клиенту", "P": "Оплачен", "D": "Отклонён"}
PAID = "P"
DEFAULT_MEASURE = 796

PERSON_TYPES = [(1, "CRM_CONTACT"), (2, "CRM_COMPANY")]
"""(ID, NAME) of the CRM payer types: a contact pays as a person, a company as a legal entity."""

# (ID, NAME, SORT, PERSON_TYPE_ID, ACTION_FILE)
PAY_SYSTEMS = [
    (1, "Счет", 100, 2, "bill"),
    (2, "Квитанция Сбербанка", 200, 1, "sberbank"),
    (3, "Счет (физ. лица)", 300, 1, "bill"),
    (4, "Предложение", 400, 2, "quote"),
    (5, "Предложение (физ. лица)", 500, 1, "quote"),
    (6, "Счет на оплату", 600, 2, "bill"),
]

PROPERTIES = {
    2: ("COMPANY", "COMPANY_ADR", "INN", "KPP", "CONTACT_PERSON", "EMAIL", "PHONE", "FAX", "ZIP", "CITY",
        "LOCATION", "ADDRESS"),
    1: ("FIO", "EMAIL", "PHONE", "ZIP", "CITY", "LOCATION", "ADDRESS"),
}
"""``INVOICE_PROPERTIES`` keys per payer type (company: requisites and contact person; contact: full name)."""

_EXTRA_FIELDS = {
    "PR_LOCATION": Field("PR_LOCATION", "integer", "Местоположение"),
    "INVOICE_PROPERTIES": Field("INVOICE_PROPERTIES", "array", "Свойства"),
    "PRODUCT_ROWS": Field("PRODUCT_ROWS", "array", "Товарные позиции"),
}
_ROWS = "PRODUCT_ROWS"
_PROPS = "INVOICE_PROPERTIES"


def _num(value: float) -> float | int:
    return int(value) if value == int(value) else value


def install(store: Store) -> None:
    """The fixed payer types and payment systems of a fresh portal (once per store)."""
    person = store.table("person_type")
    if not person.rows:
        for type_id, name in PERSON_TYPES:
            person.insert({"NAME": name}, type_id)
    pay = store.table("pay_system")
    if not pay.rows:
        for pay_id, name, sort, person_type, action in PAY_SYSTEMS:
            pay.insert({"NAME": name, "ACTIVE": "Y", "SORT": sort, "DESCRIPTION": "", "PERSON_TYPE_ID": person_type,
                        "ACTION_FILE": action}, pay_id)


# -- writing ---------------------------------------------------------------------------------------


def _pick(row: dict[str, Any], previous: Record, key: str, convert: Any, fallback: Any) -> Any:
    """A row value: as given (converted), else the kept row's, else ``fallback``."""
    if row.get(key) not in (None, ""):
        value = convert(row[key])
        if value is not None:
            return value
    return previous.get(key, fallback)


def _build_rows(store: Store, given: Any, old_rows: list[Record]) -> list[Record]:
    """The complete new row set; a known row ID keeps its row (and its values as defaults)."""
    old_by_id = {r["ID"]: r for r in old_rows}
    built: list[Record] = []
    for raw in as_list(given):
        if not isinstance(raw, dict):
            continue
        row = {str(k).upper(): v for k, v in raw.items()}
        previous = old_by_id.pop(to_int(row.get("ID")) or 0, None) or {}
        product_id = _pick(row, previous, "PRODUCT_ID", to_int, 0) or 0
        catalog = (store.table("product").get(product_id) if product_id else None) or {}
        measure = _pick(row, previous, "MEASURE_CODE", to_int, catalog.get("MEASURE") or DEFAULT_MEASURE)
        if previous:
            row_id = previous["ID"]
        else:
            store.row_last_id += 1
            row_id = store.row_last_id
        built.append({
            "ID": row_id,
            "PRODUCT_ID": product_id,
            "PRODUCT_NAME": _pick(row, previous, "PRODUCT_NAME", str, catalog.get("NAME", "")),
            "QUANTITY": _pick(row, previous, "QUANTITY", to_float, 1.0),
            "PRICE": _pick(row, previous, "PRICE", to_float, catalog.get("PRICE", 0.0)),
            "DISCOUNT_PRICE": _pick(row, previous, "DISCOUNT_PRICE", to_float, 0.0),
            "VAT_RATE": _pick(row, previous, "VAT_RATE", to_float, 0.0),
            "VAT_INCLUDED": _pick(row, previous, "VAT_INCLUDED", to_flag, catalog.get("VAT_INCLUDED", "Y")),
            "MEASURE_CODE": measure,
            "MEASURE_NAME": _pick(row, previous, "MEASURE_NAME", str, measure_name(measure)),
            "CATALOG_XML_ID": None,
            "PRODUCT_XML_ID": catalog.get("XML_ID"),
        })
    return built


def _totals(rows: list[Record]) -> tuple[float, float]:
    """(PRICE, TAX_VALUE): the sum of PRICE×QUANTITY, plus VAT where the price excludes it."""
    price = tax = 0.0
    for row in rows:
        line = row["PRICE"] * row["QUANTITY"]
        rate = row["VAT_RATE"] or 0.0
        if row["VAT_INCLUDED"] == "Y":
            vat = line * rate / (1 + rate)
        else:
            vat = line * rate
            line += vat
        price += line
        tax += vat
    return round(price, 2), round(tax, 2)


def _properties(person_type: int | None, current: dict[str, str], given: Any) -> dict[str, str]:
    keys = PROPERTIES.get(person_type or 0, ())
    values = dict(current)
    if isinstance(given, dict):
        values.update({str(k).upper(): "" if v is None else str(v) for k, v in given.items()})
    return {key: values.get(key, "") for key in keys}


def _missing(name: str) -> RestError:
    return RestError("ERROR_CORE", f'Поле "{ENTITY.fields[name].title}" обязательно для заполнения.')


def _validate(store: Store, new: Record, *, is_add: bool) -> None:
    """The required fields; an empty ``ACCOUNT_NUMBER`` is only allowed on add (the ID is used)."""
    if not str(new.get("ORDER_TOPIC") or "").strip():
        raise _missing("ORDER_TOPIC")
    if not is_add and not str(new.get("ACCOUNT_NUMBER") or "").strip():
        raise _missing("ACCOUNT_NUMBER")
    for name, table in (("PERSON_TYPE_ID", "person_type"), ("PAY_SYSTEM_ID", "pay_system")):
        if new.get(name) not in store.table(table).rows:
            raise _missing(name)


def write(store: Store, record: Record | None, fields: dict[str, Any], *, user_id: int, now: int) -> Record:
    """Validate and apply ``fields``; works on a copy so a rejected update changes nothing."""
    is_add = record is None
    new: Record = {} if record is None else dict(record)
    for name, value in fields.items():
        if name in (_ROWS, _PROPS):
            continue
        spec = ENTITY.fields.get(name) or _EXTRA_FIELDS.get(name)
        if spec is None or spec.readonly:
            continue
        stored = internal(spec.kind, value, store.tz)
        if stored is None or stored == "":
            new.pop(name, None)
        else:
            new[name] = stored
    if is_add:
        new.setdefault("DATE_INSERT", now)
        new.setdefault("DATE_BILL", midnight_of(now, store))
        new.setdefault("RESPONSIBLE_ID", user_id)
        new.update(CREATED_BY=user_id, CURRENCY="RUB", LID="s1")
        new.setdefault("IS_RECURRING", "N")
    old_status = None if record is None else record.get("STATUS_ID")
    if new.get("STATUS_ID") not in STATUSES:
        new["STATUS_ID"] = old_status or "N"
    if is_add or new["STATUS_ID"] != old_status:
        new["DATE_STATUS"], new["EMP_STATUS_ID"] = now, user_id
        if new["STATUS_ID"] == PAID:
            new["DATE_PAYED"], new["EMP_PAYED_ID"] = now, user_id
    new["PAYED"] = "Y" if new["STATUS_ID"] == PAID else "N"
    new["DATE_UPDATE"] = now
    _responsible(store, new)
    new[_PROPS] = _properties(new.get("PERSON_TYPE_ID"), new.get(_PROPS) or {}, fields.get(_PROPS))
    _validate(store, new, is_add=is_add)
    if _ROWS in fields or is_add:
        new[_ROWS] = _build_rows(store, fields.get(_ROWS), list(new.get(_ROWS) or []))
        new["PRICE"], new["TAX_VALUE"] = _totals(new[_ROWS])
    if record is None:
        store.table(ENTITY.key).insert(new)
        if not new.get("ACCOUNT_NUMBER"):
            new["ACCOUNT_NUMBER"] = str(new["ID"])
        return new
    record.clear()
    record.update(new)
    return record


def _responsible(store: Store, new: Record) -> None:
    user = store.table("user").get(new.get("RESPONSIBLE_ID")) or {}
    email = user.get("EMAIL")
    new.update(RESPONSIBLE_NAME=user.get("NAME"), RESPONSIBLE_LAST_NAME=user.get("LAST_NAME"),
               RESPONSIBLE_SECOND_NAME=user.get("SECOND_NAME"), RESPONSIBLE_EMAIL=email,
               RESPONSIBLE_LOGIN=user.get("LOGIN") or (email.split("@", 1)[0] if email else None),
               RESPONSIBLE_WORK_POSITION=user.get("WORK_POSITION"), RESPONSIBLE_PERSONAL_PHOTO=None)


# -- reading ---------------------------------------------------------------------------------------


def render_row(row: Record) -> dict[str, Any]:
    """One product row: a string ID like every old-style ID, numbers for amounts."""
    return {
        "ID": str(row["ID"]), "PRODUCT_ID": row["PRODUCT_ID"], "PRODUCT_NAME": row["PRODUCT_NAME"],
        "QUANTITY": _num(row["QUANTITY"]), "PRICE": _num(row["PRICE"]), "DISCOUNT_PRICE": _num(row["DISCOUNT_PRICE"]),
        "VAT_RATE": _num(row["VAT_RATE"]), "VAT_INCLUDED": row["VAT_INCLUDED"], "MEASURE_CODE": row["MEASURE_CODE"],
        "MEASURE_NAME": row["MEASURE_NAME"], "CATALOG_XML_ID": row["CATALOG_XML_ID"],
        "PRODUCT_XML_ID": row["PRODUCT_XML_ID"],
    }


def render_full(store: Store, record: Record) -> dict[str, Any]:
    out = oldstyle.render(store, ENTITY, record, oldstyle.full_names(store, ENTITY))
    location = record.get("PR_LOCATION")
    out["PR_LOCATION"] = None if location is None else str(location)
    out[_PROPS] = dict(record.get(_PROPS) or {})
    out[_ROWS] = [render_row(r) for r in record.get(_ROWS) or []]
    return out


def _reference_list(store: Store, name: str, params: dict[str, Any], columns: dict[str, lists.Column],
                    default_order: list[str]) -> MethodResult:
    table = store.table(name)
    raw_order = lists.require_array(param(params, "order", "ORDER"), "order")
    raw_filter = lists.require_array(param(params, "filter", "FILTER"), "filter")
    tree = lists.parse_filter(raw_filter, columns.get, store.tz)
    order = lists.parse_order(raw_order, columns.get) or [(columns[k], False) for k in default_order]
    items = [{k: (None if table.rows[i].get(k) is None else str(table.rows[i][k])) for k in columns}
             for i in lists.select_all(table, tree, order)]
    return MethodResult(items, total=len(items))


def register(registry: MethodRegistry, store: Store) -> None:
    install(store)
    table = store.table(ENTITY.key)

    @registry.register("crm.invoice.fields")
    def fields(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        out = describe_fields(store, ENTITY)
        out.update({name: spec.describe() for name, spec in _EXTRA_FIELDS.items()})
        return MethodResult(out)

    @registry.register("crm.invoice.add")
    def add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = array_param(params, "fields")
        record = write(store, None, data, user_id=ctx.user_id, now=now_ts(ctx))
        oldstyle.emit_change(ctx, ENTITY, "ADD", record["ID"])
        return MethodResult(record["ID"])

    @registry.register("crm.invoice.get")
    def get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        record = table.get(record_id(params))
        if record is None:
            raise RestError("", "Not found")
        return MethodResult(render_full(store, record))

    @registry.register("crm.invoice.update")
    def update(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        record = table.get(rid)
        if record is None:
            raise RestError("", "Not found")
        data = array_param(params, "fields")
        status = record.get("STATUS_ID")
        write(store, record, data, user_id=ctx.user_id, now=now_ts(ctx))
        if record.get("STATUS_ID") != status:
            oldstyle.emit_change(ctx, ENTITY, "SETSTATUS", rid)
        oldstyle.emit_change(ctx, ENTITY, "UPDATE", rid)
        return MethodResult(rid)

    @registry.register("crm.invoice.delete")
    def delete(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        rid = record_id(params)
        if table.delete(rid) is None:
            raise RestError("", "Not found")
        oldstyle.emit_change(ctx, ENTITY, "DELETE", rid)
        return MethodResult(True)

    @registry.register("crm.invoice.list")
    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return oldstyle.list_records(store, ENTITY, params, ctx)

    person_columns = {"ID": lists.Column("ID", "int", lambda r: r["ID"]),
                      "NAME": lists.Column("NAME", "str", lambda r: r.get("NAME"))}
    pay_columns = {k: lists.Column(k, "int" if k in ("ID", "SORT", "PERSON_TYPE_ID") else "str",
                                   lambda r, k=k: r.get(k))
                   for k in ("ID", "NAME", "ACTIVE", "SORT", "DESCRIPTION", "PERSON_TYPE_ID", "ACTION_FILE")}

    @registry.register("crm.persontype.list")
    def persontype_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return _reference_list(store, "person_type", params, person_columns, ["ID"])

    @registry.register("crm.paysystem.list")
    def paysystem_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return _reference_list(store, "pay_system", params, pay_columns, ["SORT", "ID"])
