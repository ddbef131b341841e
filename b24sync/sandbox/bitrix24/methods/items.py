"""``crm.item.{fields,add,get,update,delete,list}`` over the same store as the old methods.

Entity types 1–4 (lead, deal, contact, company) and 31 (smart invoice) are served; 5 (old
invoices) answers ``ENTITY_TYPE_NOT_SUPPORTED`` and anything else ``NOT_FOUND``, as documented.
Unlike old lists these use ORM paging (true offset), native JSON types, the ``result.items`` /
``result.item`` wrappers and reject unknown filter or order fields with ``INVALID_ARG_VALUE``.
"""

from __future__ import annotations

from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import lists, multifields, oldstyle
from .crm_entities import now_ts
from .item_names import standard_map, uf_map
from .records import BY_TYPE_ID, Entity, delete_cascade, write
from .store import Record, Store
from .uf_values import uf_kind, uf_render
from .userfields import describe_ufs
from .values import param, render_item, to_flag, to_int


def entity_of(params: dict[str, Any]) -> Entity:
    type_id = to_int(param(params, "entityTypeId", "ENTITY_TYPE_ID"))
    if type_id == 5:
        raise RestError("ENTITY_TYPE_NOT_SUPPORTED", "Сущность CRM Счёт (старый) не поддерживается")
    entity = BY_TYPE_ID.get(type_id or 0)
    if entity is None:
        raise RestError("NOT_FOUND", "Смарт-процесс не найден")
    return entity


def _original(params: dict[str, Any]) -> bool:
    return to_flag(param(params, "useOriginalUfNames", default="N")) == "Y"


class View:
    """Names and renderers of one entity for one call (UF naming depends on the call)."""

    def __init__(self, store: Store, entity: Entity, original: bool) -> None:
        self.store, self.entity = store, entity
        self.std = standard_map(entity)
        self.ufs = uf_map(store, entity, original)
        self.upper = {v: k for k, v in self.std.items()}
        self.upper.update({v: k for k, v in self.ufs.items()})
        self.upper.update({k: k for k in self.ufs})

    def value(self, record: Record, name: str) -> Any:
        store, key = self.store, self.entity.key
        if key == "contact" and name == "COMPANY_IDS":
            return list(store.contact_companies.get(record["ID"], []))
        if key == "company" and name == "CONTACT_ID":
            return list(store.company_contacts.get(record["ID"], []))
        spec = self.entity.fields[name]
        value = render_item(spec.kind, record.get(name), store.tz)
        if value is None and name in ("COMPANY_ID", "CONTACT_ID", "MYCOMPANY_ID", "PARENT_ID_2"):
            return 0 if name != "PARENT_ID_2" else None
        return value

    def render(self, record: Record, select: list[str] | None) -> dict[str, Any]:
        star = select is None or "*" in select
        wanted = None if star else {self.upper.get(s) for s in select} | {"ID"}
        out: dict[str, Any] = {}
        for upper, name in self.std.items():
            if wanted is None or upper in wanted:
                out[name] = self.value(record, upper)
        ufs = self.store.ufs(self.entity.uf_entity)
        for upper, name in self.ufs.items():
            if wanted is None or upper in wanted:
                out[name] = uf_render(ufs[upper], record.get(upper), self.store.tz, item=True)
        if star and self.entity.has_fm:
            out["fm"] = multifields.render_fm(record)
        out["entityTypeId"] = self.entity.entity_type_id
        return out

    def internalize(self, fields: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        data: dict[str, Any] = {}
        for name, value in fields.items():
            upper = self.upper.get(str(name))
            if upper is not None:
                data[upper] = value
        return data, fields.get("fm")

    def resolve(self, name: str) -> lists.Column | None:
        upper = self.upper.get(name)
        if upper is None:
            return None
        if upper in self.ufs:
            kind = uf_kind(self.store.ufs(self.entity.uf_entity)[upper])
            return lists.Column(upper, "int" if kind == "bool" else kind, lambda r, n=upper: r.get(n))
        return oldstyle.resolver(self.store, self.entity)(upper)


def register(registry: MethodRegistry, store: Store) -> None:
    def find(entity: Entity, params: dict[str, Any]) -> Record:
        record = store.table(entity.key).get(to_int(param(params, "id", "ID")))
        if record is None:
            raise RestError("NOT_FOUND", "Элемент не найден")
        return record

    def fields_param(params: dict[str, Any]) -> dict[str, Any]:
        data = param(params, "fields", "FIELDS")
        return data if isinstance(data, dict) else {}

    @registry.register("crm.item.fields")
    def item_fields(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity = entity_of(params)
        view = View(store, entity, _original(params))
        out = {}
        for upper, name in view.std.items():
            desc = entity.fields[upper].describe()
            desc["upperName"] = upper
            out[name] = desc
        for upper, desc in describe_ufs(store, entity.uf_entity).items():
            out[view.ufs[upper]] = dict(desc, upperName=upper)
        return MethodResult({"fields": out})

    @registry.register("crm.item.add")
    def item_add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity = entity_of(params)
        view = View(store, entity, _original(params))
        data, fm = view.internalize(fields_param(params))
        record = write(store, entity, None, data, user_id=ctx.user_id, now=now_ts(ctx), fm=fm)
        oldstyle.emit_change(ctx, entity, "ADD", record["ID"])
        return MethodResult({"item": view.render(record, None)})

    @registry.register("crm.item.get")
    def item_get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity = entity_of(params)
        return MethodResult({"item": View(store, entity, _original(params)).render(find(entity, params), None)})

    @registry.register("crm.item.update")
    def item_update(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity = entity_of(params)
        record = find(entity, params)
        view = View(store, entity, _original(params))
        data, fm = view.internalize(fields_param(params))
        write(store, entity, record, data, user_id=ctx.user_id, now=now_ts(ctx), fm=fm)
        oldstyle.emit_change(ctx, entity, "UPDATE", record["ID"])
        return MethodResult({"item": view.render(record, None)})

    @registry.register("crm.item.delete")
    def item_delete(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity = entity_of(params)
        record = find(entity, params)
        store.table(entity.key).delete(record["ID"])
        delete_cascade(store, entity, record["ID"])
        oldstyle.emit_change(ctx, entity, "DELETE", record["ID"])
        return MethodResult([])

    @registry.register("crm.item.list")
    def item_list(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        entity = entity_of(params)
        view = View(store, entity, _original(params))
        oldstyle.maybe_churn(store, entity, ctx)
        tree = lists.parse_filter(param(params, "filter", "FILTER") or {}, view.resolve, store.tz, orm=True)
        order = lists.parse_order(param(params, "order", "ORDER") or {}, view.resolve, orm=True)
        raw_select = param(params, "select", "SELECT")
        select = [str(s) for s in (raw_select.values() if isinstance(raw_select, dict) else raw_select or ["*"])]
        table = store.table(entity.key)
        page = lists.select_page(table, tree, order, param(params, "start", "START"), store.rng, orm=True)
        items = [view.render(table.rows[i], select) for i in page.ids]
        return MethodResult({"items": items}, total=page.total, next=page.next)
