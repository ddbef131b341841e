"""Old-style (``CCrmRestService``) views of records: columns, ``select`` expansion, rendering, ``*.list``.

``select`` follows the documented rules: empty means ``*`` + ``UF_*``; ``*`` is every non-multiple
standard field; multifields (PHONE, EMAIL, …) come back only when named, and naming one adds ``ID``.
Unknown names in ``select`` or ``filter`` are silently dropped, as the real portal does.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodResult
from . import lists, multifields
from .records import Entity, delete_cascade, write
from .store import Record, Store
from .uf_values import uf_kind, uf_render
from .values import as_list, param, render_old


def resolver(store: Store, entity: Entity) -> lists.Resolver:
    """Map a filter/order key (UPPER) to a column of ``entity``."""
    ufs = store.ufs(entity.uf_entity)

    def resolve(name: str) -> lists.Column | None:
        spec = entity.fields.get(name)
        if spec is not None:
            if spec.kind == "fm":
                return lists.Column(name, "fm", multifields.values_of(name))
            if name == "COMPANY_IDS" and entity.key == "contact":
                return lists.Column(name, "ids", lambda r: store.contact_companies.get(r["ID"], []))
            return lists.Column(name, spec.kind, lambda r, n=name: r.get(n))
        uf = ufs.get(name)
        if uf is not None:
            kind = "int" if uf_kind(uf) == "bool" else uf_kind(uf)
            return lists.Column(name, kind, lambda r, n=name: r.get(n))
        return None

    return resolve


def standard_names(entity: Entity) -> list[str]:
    return [n for n, f in entity.fields.items() if f.kind not in ("fm", "ids")]


def expand_select(store: Store, entity: Entity, raw: Any) -> list[str]:
    names = [str(v) for v in as_list(raw) if isinstance(v, str | int)]
    if not names:
        names = ["*", "UF_*"]
    ufs = store.ufs(entity.uf_entity)
    wanted: set[str] = set()
    for name in names:
        if name == "*":
            wanted.update(standard_names(entity))
        elif name == "UF_*":
            wanted.update(ufs)
        elif name in entity.fields or name in ufs:
            wanted.add(name)
    if any(entity.fields.get(n) is not None and entity.fields[n].kind == "fm" for n in wanted):
        wanted.add("ID")
    ordered = [n for n in entity.fields if n in wanted and entity.fields[n].kind != "ids"]
    ordered += [n for n in ufs if n in wanted]
    return ordered


def render(store: Store, entity: Entity, record: Record, names: list[str]) -> dict[str, Any]:
    """One record the way old methods answer: strings, ``"Y"/"N"``, ``null``; empty multifields omitted."""
    out: dict[str, Any] = {}
    ufs = store.ufs(entity.uf_entity)
    tz = store.tz
    for name in names:
        spec = entity.fields.get(name)
        if spec is not None:
            if spec.kind == "fm":
                if record.get(name):
                    out[name] = multifields.render_old(record, name)
                continue
            out[name] = render_old(spec.kind, record.get(name), tz)
        elif name in ufs:
            out[name] = uf_render(ufs[name], record.get(name), tz, item=False)
    return out


def full_names(store: Store, entity: Entity) -> list[str]:
    """What ``*.get`` returns: every standard field, present multifields, every user field."""
    ufs = store.ufs(entity.uf_entity)
    return [n for n, f in entity.fields.items() if f.kind != "ids" and n != "LINK"] + list(ufs)


def list_records(store: Store, entity: Entity, params: dict[str, Any], ctx: CallContext) -> MethodResult:
    """The generic old-style ``*.list``."""
    raw_order = lists.require_array(param(params, "order", "ORDER", "Order", "arOrder"), "order")
    raw_filter = lists.require_array(param(params, "filter", "FILTER", "Filter", "arFilter"), "filter")
    maybe_churn(store, entity, ctx)
    resolve = resolver(store, entity)
    tree = lists.parse_filter(raw_filter, resolve, store.tz)
    order = lists.parse_order(raw_order, resolve)
    page = lists.select_page(store.table(entity.key), tree, order, param(params, "start", "START"), store.rng)
    names = expand_select(store, entity, param(params, "select", "SELECT", "Select", "arSelect"))
    rows = store.table(entity.key).rows
    items = [render(store, entity, rows[i], names) for i in page.ids]
    return MethodResult(items, total=page.total, next=page.next)


_CHURN_FIELDS = {
    "contact": lambda n: {"NAME": "Случайный", "LAST_NAME": f"Посетитель {n}"},
    "company": lambda n: {"TITLE": f"ООО «Случайная {n}»"},
    "deal": lambda n: {"TITLE": f"Случайная сделка {n}"},
    "lead": lambda n: {"TITLE": f"Случайный лид {n}"},
    "invoice": lambda n: {"TITLE": f"Случайный счёт {n}"},
}


def maybe_churn(store: Store, entity: Entity, ctx: CallContext) -> None:
    """With probability ``churn``, another user inserts or deletes a record right before we answer."""
    if store.churn <= 0 or entity.key not in _CHURN_FIELDS or store.rng.random() >= store.churn:
        return
    table = store.table(entity.key)
    now = int(ctx.now().timestamp())
    if table.ids and store.rng.random() < 0.5:
        victim = store.rng.choice(table.ids)
        table.delete(victim)
        delete_cascade(store, entity, victim)
        emit_change(ctx, entity, "DELETE", victim)
        return
    record = write(store, entity, None, _CHURN_FIELDS[entity.key](table.last_id + 1), user_id=1, now=now)
    emit_change(ctx, entity, "ADD", record["ID"])


def emit_change(ctx: CallContext, entity: Entity, action: str, record_id: int) -> None:
    if entity.key == "invoice":
        ctx.emit(f"ONCRMDYNAMICITEM{action}", {"ID": str(record_id), "ENTITY_TYPE_ID": "31"})
    else:
        ctx.emit(f"ONCRM{entity.event}{action}", {"ID": str(record_id)})
