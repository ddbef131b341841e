"""The ``standard.odata`` request handler: resource, method and options -> store call -> rendering.

Kept free of sockets and auth (see :mod:`.server`); it answers one decoded request. Order of checks
follows a real base: unknown/unpublished set (404, code 8) before anything else, then the method
allowed for the resource (read-only tabular sets: code 13), then options, then the data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote

from ..latency import CostModel
from . import render_atom, render_json
from .edmx import METADATA_TYPE, build_edmx
from .errors import ODataError, method_forbidden, not_found, property_not_found, unknown_set, unsupported
from .filter import compile_filter
from .filter_eval import Shape
from .project import Projected, project
from .query import Options, order_records, parse_expand, parse_options, parse_select
from .refindex import ANY_OF, GUID, KEYSET, RefIndex
from .schema import COMPOSITE, DOCUMENT, REF, EntitySet, TabularSet
from .store import OneCStore
from .urls import Resource, bad_url, parse_resource

__all__ = ["ODataApp", "Reply"]

_BOM = "\ufeff".encode()


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    entity_set: str = ""
    error_code: str | None = None
    committed: bool = False
    delay: float = 0.0


@dataclass
class Negotiated:
    json: bool
    level: str = "minimalmetadata"


def negotiate(options: Options | None, headers: Message) -> Negotiated:
    """``$format`` wins over ``Accept``; without either the answer is Atom (1C's default)."""
    fmt = (options.format if options else None) or ""
    if fmt:
        lowered = fmt.strip().lower()
        level = re.search(r"odata=(\w+)", lowered)
        if lowered == "json" or lowered.startswith("application/json"):
            return Negotiated(True, level.group(1) if level else "minimalmetadata")
        if lowered in ("atom", "xml", "application/atom+xml", "application/xml"):
            return Negotiated(False)
        raise ODataError(415, "3", "Запрошенный тип представления не поддерживается")
    accept = (headers.get("Accept") or "").lower()
    if "application/json" in accept:
        level = re.search(r"odata=(\w+)", accept)
        return Negotiated(True, level.group(1) if level else "minimalmetadata")
    return Negotiated(False)


class ODataApp:
    """Answers requests for one publication of ``store``.

    ``published``: the composition (object and tabular-part set names). ``if_match``: ``"ignore"``
    (default: what live bases were observed to do) or ``"enforce"`` (412, per the vendor doc).
    ``rls``: set name -> predicate marking records hidden by record-level security.
    ``inlinecount_ignores_paging``: the doc's rule that ``$inlinecount`` disables ``$top``/``$skip``.
    ``skip_latency``: seconds of artificial delay per skipped row (deep ``$skip`` is O(offset)).
    ``costs``: the realistic-latency model (:mod:`b24sync.sandbox.latency`; ``None`` = off), whose
    per-row, per-skipped-row and per-counted-row time is added to the reply's ``delay``.
    """

    def __init__(self, store: OneCStore, published: set[str], *, if_match: str = "ignore",
                 inlinecount_ignores_paging: bool = True, skip_latency: float = 0.0,
                 costs: CostModel | None = None) -> None:
        if if_match not in ("ignore", "enforce"):
            raise ValueError("if_match must be 'ignore' or 'enforce'")
        self.store = store
        self.published = published
        self.if_match = if_match
        self.inlinecount_ignores_paging = inlinecount_ignores_paging
        self.skip_latency = skip_latency
        self.costs = costs
        self.rls: dict[str, Callable[[dict[str, Any]], bool]] = {}
        self.ref_index = RefIndex()

    # entry point -------------------------------------------------------------------------------

    def handle(self, method: str, rest: str, query: str, headers: Message, body: bytes, root: str) -> Reply:
        negotiated = Negotiated(False)
        set_name = ""
        try:
            options = parse_options(query)
            negotiated = negotiate(options, headers)
            resource = parse_resource(rest)
            set_name = resource.set_name
            reply = self._dispatch(method, resource, options, negotiated, headers, body, root)
            reply.entity_set = set_name
            return reply
        except ODataError as exc:
            if not negotiated.json and _wants_json(query, headers):
                negotiated = Negotiated(True)
            body_bytes = render_json.error(exc) if negotiated.json else render_atom.error(exc)
            content_type = render_json.JSON_TYPE if negotiated.json else render_atom.XML_TYPE
            return Reply(exc.status, body_bytes, [("Content-Type", content_type)], set_name, exc.code)

    def _meta(self, name: str) -> EntitySet | TabularSet:
        if name not in self.published:
            raise unknown_set(name)
        if name in self.store.schema.sets:
            return self.store.schema.sets[name]
        if name in self.store.schema.tabular:
            return self.store.schema.tabular[name]
        raise unknown_set(name)

    def _dispatch(self, method: str, resource: Resource, options: Options, neg: Negotiated, headers: Message,
                  body: bytes, root: str) -> Reply:
        read = method in ("GET", "HEAD")
        if resource.kind == "service":
            if not read:
                raise method_forbidden()
            names = [n for n in self.store.schema.all_set_names() if n in self.published]
            if neg.json:
                return Reply(200, render_json.service_document(names, root), _hdr(render_json.JSON_TYPE))
            return Reply(200, render_atom.service_document(names, root), _hdr(render_atom.SERVICE_TYPE))
        if resource.kind == "metadata":
            if options.format:
                raise ODataError(415, "3", "Запрошенный тип представления не поддерживается")
            return Reply(200, build_edmx(self.store.schema, self.published), _hdr(METADATA_TYPE))
        if resource.kind == "root_call":
            raise ODataError(404, "11", "Метод не найден")
        meta = self._meta(resource.set_name)
        tabular = isinstance(meta, TabularSet)
        if resource.kind == "action":
            return self._action(method, meta, resource, options)
        if not read and tabular:
            raise ODataError(400, "13", "Создание строк табличных частей напрямую не поддерживается")
        if resource.kind == "count":
            if not read:
                raise method_forbidden()
            records = self._select_records(meta, options, count_only=True)
            return Reply(200, _BOM + str(len(records)).encode(), _hdr("text/plain;charset=utf-8"),
                         delay=self._read_delay(rows=0, counted=len(records)))
        if resource.kind == "collection":
            if read:
                return self._read_collection(meta, options, neg, root)
            if method == "POST":
                assert isinstance(meta, EntitySet)
                return self._create(meta, options, neg, headers, body, root)
            raise method_forbidden()
        if resource.kind == "property":
            if not read:
                raise ODataError(400, "6", "Метод не найден")
            return self._read_property(meta, resource, neg, root)
        return self._entity(method, meta, resource, options, neg, headers, body, root)

    # reads -------------------------------------------------------------------------------------

    def _select_records(self, meta: EntitySet | TabularSet, options: Options, *,
                        count_only: bool = False) -> list[dict[str, Any]]:
        with self.store.lock:
            if (options.filter is not None and not isinstance(meta, TabularSet) and meta.name not in self.rls
                    and ANY_OF.match(options.filter)):  # `Ref_Key eq guid'a' or …`: a key lookup, as an index does
                found = (self.store.records_by_ref(meta.name, g.lower()) for g in GUID.findall(options.filter))
                return list({id(r): r for r in found if r is not None}.values())
            records = self.store.records(meta.name)
            if options.filter is not None:
                predicate = compile_filter(options.filter, Shape.of(meta), self.store)
                records = [r for r in records if predicate(r)]
            hidden = self.rls.get(meta.name)
            if hidden is not None:
                visible = [r for r in records if not hidden(r)]
                if len(visible) != len(records) and not options.allowed_only:
                    raise ODataError(401, "20", "Ошибка прав доступа: недостаточно прав на чтение данных")
                records = visible
            return records

    def _keyset_page(self, meta: EntitySet | TabularSet, options: Options) -> list[dict[str, Any]] | None:
        """The indexed answer to a keyset page, or ``None`` when the request is not one."""
        if (isinstance(meta, TabularSet) or options.filter is None or options.top is None or options.skip
                or options.inlinecount or meta.name in self.rls
                or (options.orderby or "").strip() not in ("Ref_Key", "Ref_Key asc")):
            return None
        match = KEYSET.match(options.filter)
        if match is None:
            return None
        keep = None
        if match.group("rest"):
            try:
                keep = compile_filter(match.group("rest"), Shape.of(meta), self.store)
            except ODataError:
                return None  # the generic path reports the error for the whole expression
        return self.ref_index.page_after(meta.name, self.store.revision(meta.name),
                                         lambda: self.store.records(meta.name),
                                         match.group("guid").lower(), options.top, keep)

    def _read_collection(self, meta: EntitySet | TabularSet, options: Options, neg: Negotiated, root: str) -> Reply:
        with self.store.lock:
            expand = parse_expand(options.expand, meta, self.published)
            spec = parse_select(options.select, meta, set(expand))
            page = self._keyset_page(meta, options)
            if page is not None:
                items = [project(meta, r, spec, expand, self.store, self.published) for r in page]
                delay = self._read_delay(rows=len(items))
                if neg.json:
                    return Reply(200, render_json.collection(items, meta.name, root, neg.level, None),
                                 _hdr(render_json.JSON_TYPE), delay=delay)
                return Reply(200, render_atom.feed(items, meta.name, root, self.store.now(), None),
                             _hdr(render_atom.ATOM_FEED), delay=delay)
            records = order_records(self._select_records(meta, options), options.orderby, meta, self.store)
            count = len(records) if options.inlinecount else None
            delay, skipped = 0.0, 0
            if not (options.inlinecount and self.inlinecount_ignores_paging):
                skip = options.skip or 0
                delay = skip * self.skip_latency
                skipped = min(skip, len(records))  # read and thrown away: 1C has no OFFSET
                records = records[skip:]
                if options.top is not None:
                    records = records[: options.top]
            items = [project(meta, r, spec, expand, self.store, self.published) for r in records]
        delay += self._read_delay(rows=len(items), skipped=skipped, counted=count or 0)
        if neg.json:
            body = render_json.collection(items, meta.name, root, neg.level, count)
            return Reply(200, body, _hdr(render_json.JSON_TYPE), delay=delay)
        body = render_atom.feed(items, meta.name, root, self.store.now(), count)
        return Reply(200, body, _hdr(render_atom.ATOM_FEED), delay=delay)

    def _read_delay(self, *, rows: int, skipped: int = 0, counted: int = 0) -> float:
        """Real seconds to hold a read's answer under the cost model (0 when it is off)."""
        costs = self.costs
        if costs is None:
            return 0.0
        return costs.wall(costs.onec_read(rows=rows, skipped=skipped, counted=counted))

    def _find(self, meta: EntitySet | TabularSet, key: dict[str, str]) -> dict[str, Any]:
        if isinstance(meta, TabularSet):
            ref, line = key.get("Ref_Key"), key.get("LineNumber")
            if ref is None or line is None:
                raise ODataError(400, "7", "Не хватает элемента ключа сущности")
            ref, line = _guid(ref), line.strip("'\"")
            for row in self.store.records(meta.name):
                if row["Ref_Key"] == ref and row["LineNumber"] == line:
                    return row
            raise not_found(meta.name)
        value = key.get("Ref_Key", key.get(""))
        if value is None or len(key) != 1:
            raise ODataError(400, "7", "Не хватает элемента ключа сущности")
        record = self.store.records_by_ref(meta.name, _guid(value))
        if record is None:
            raise not_found(meta.short_name)
        hidden = self.rls.get(meta.name)
        if hidden is not None and hidden(record):
            raise ODataError(401, "20", "Ошибка прав доступа: недостаточно прав на чтение данных")
        return record

    def _render_entity(self, item: Projected, neg: Negotiated, root: str, status: int = 200) -> Reply:
        if neg.json:
            return Reply(status, render_json.entity(item, root, neg.level), _hdr(render_json.JSON_TYPE))
        return Reply(status, render_atom.entry(item, root, self.store.now()), _hdr(render_atom.ATOM_ENTRY))

    def _read_property(self, meta: EntitySet | TabularSet, resource: Resource, neg: Negotiated, root: str) -> Reply:
        """``Set(guid'…')/Валюта/Description``: navigation "через точку" to a related entity or a value."""
        with self.store.lock:
            current_meta, record = meta, self._find(meta, resource.key)
            for index, segment in enumerate(resource.path):
                prop = current_meta.prop(segment)
                ref = current_meta.prop(f"{segment}_Key")
                if prop is not None and index == len(resource.path) - 1:
                    if not neg.json:
                        raise unsupported("Получение значения свойства поддерживается только в формате json")
                    return Reply(200, render_json.primitive(record.get(segment), prop.edm, root, neg.level),
                                 _hdr(render_json.JSON_TYPE))
                if ref is None or ref.kind != REF or ref.target not in self.published:
                    raise property_not_found(segment)
                target = self.store.records_by_ref(ref.target, record.get(ref.name))
                if target is None:
                    raise not_found(ref.target)
                current_meta, record = self.store.schema.sets[ref.target], target
            item = project(current_meta, record, parse_select(None, current_meta, set()), {}, self.store,
                           self.published)
        return self._render_entity(item, neg, root)

    # writes and actions -----------------------------------------------------------------------

    def _entity(self, method: str, meta: EntitySet | TabularSet, resource: Resource, options: Options,
                neg: Negotiated, headers: Message, body: bytes, root: str) -> Reply:
        if method in ("GET", "HEAD"):
            if options.expand:
                raise unsupported("Не поддерживается расширение при запросе одиночных сущностей")
            with self.store.lock:
                record = self._find(meta, resource.key)
                item = project(meta, record, parse_select(options.select, meta, set()), {}, self.store,
                               self.published)
            return self._render_entity(item, neg, root)
        assert isinstance(meta, EntitySet)
        with self.store.lock:
            ref = self._find(meta, resource.key)["Ref_Key"]
        if_match = headers.get("If-Match") if self.if_match == "enforce" else None
        load_mode = (headers.get("1C_OData-DataLoadMode") or "").strip().lower() == "true"
        if method == "DELETE":
            self.store.delete(meta.name, ref, if_match=if_match)
            return Reply(204, committed=True)
        if method not in ("PATCH", "MERGE", "PUT"):
            raise method_forbidden()
        values = self._body(meta, headers, body)
        writer = self.store.replace if method == "PUT" else self.store.update
        record = writer(meta.name, ref, values, if_match=if_match, load_mode=load_mode)
        item = project(meta, record, parse_select(None, meta, set()), {}, self.store, self.published)
        reply = self._render_entity(item, neg, root)
        reply.committed = True
        return reply

    def _create(self, meta: EntitySet, options: Options, neg: Negotiated, headers: Message, body: bytes,
                root: str) -> Reply:
        values = self._body(meta, headers, body)
        load_mode = (headers.get("1C_OData-DataLoadMode") or "").strip().lower() == "true"
        record = self.store.create(meta.name, values, load_mode=load_mode)
        item = project(meta, record, parse_select(None, meta, set()), {}, self.store, self.published)
        reply = self._render_entity(item, neg, root, status=201)
        # HTTP headers are latin-1: the Cyrillic set name goes out percent-encoded (a valid URI)
        reply.headers.append(("Location", quote(root + item.key, safe=":/'()=,%")))
        reply.committed = True
        return reply

    def _action(self, method: str, meta: EntitySet | TabularSet, resource: Resource, options: Options) -> Reply:
        is_document = isinstance(meta, EntitySet) and meta.kind == DOCUMENT
        if resource.action not in ("Post", "Unpost") or not is_document or not resource.key:
            raise ODataError(400, "6", "Метод не найден")
        if method != "POST":
            raise method_forbidden()
        with self.store.lock:
            ref = self._find(meta, resource.key)["Ref_Key"]
        if resource.action == "Post":
            operational = (options.params.get("PostingModeOperational") or "false").lower() == "true"
            self.store.post(meta.name, ref, operational=operational)
        else:
            self.store.unpost(meta.name, ref)
        return Reply(200, committed=True)

    def _body(self, meta: EntitySet, headers: Message, body: bytes) -> dict[str, Any]:
        content_type = (headers.get("Content-Type") or "").lower()
        if "xml" in content_type or body.lstrip().startswith(b"<"):
            return _resolve_binds(meta, render_atom.parse_entry(body, meta))
        try:
            values = json.loads(body.decode("utf-8-sig")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise ODataError(400, "2", "Неверный формат запроса") from None
        if not isinstance(values, dict):
            raise ODataError(400, "2", "Неверный формат запроса")
        return _resolve_binds(meta, values)


def _wants_json(query: str, headers: Message) -> bool:
    """Error format when the options themselves failed to parse: a raw look at ``$format`` / ``Accept``."""
    fmt = re.search(r"(?:^|&)(?:\$|%24)format=([^&]*)", query, re.IGNORECASE)
    if fmt:
        return "json" in fmt.group(1).lower()
    return "application/json" in (headers.get("Accept") or "").lower()


def _hdr(content_type: str) -> list[tuple[str, str]]:
    return [("Content-Type", content_type)]


def _guid(literal: str) -> str:
    match = re.fullmatch(r"guid'([0-9a-fA-F-]{36})'", literal.strip())
    if match is None:
        raise bad_url()
    return match.group(1).lower()


def _resolve_binds(meta: EntitySet, values: dict[str, Any]) -> dict[str, Any]:
    """``"Организация@odata.bind": "Catalog_Организации(guid'…')"`` (relative or absolute) -> ``_Key``."""
    out = dict(values)
    for key, value in values.items():
        if not key.endswith("@odata.bind") or not isinstance(value, str):
            continue
        base = key[: -len("@odata.bind")]
        match = re.search(r"([^/()]+)\(guid'([0-9a-fA-F-]{36})'\)\s*$", value)
        if match is None:
            raise ODataError(400, "4", f'Неверное значение свойства "{key}"')
        ref_prop, composite = meta.prop(f"{base}_Key"), meta.prop(base)
        if ref_prop is not None and ref_prop.kind == REF:
            out[ref_prop.name] = match.group(2).lower()
        elif composite is not None and composite.kind == COMPOSITE:
            out[base], out[f"{base}_Type"] = match.group(2).lower(), f"StandardODATA.{match.group(1)}"
    return out
