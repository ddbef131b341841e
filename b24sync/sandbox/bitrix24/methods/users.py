"""``user.get``, ``user.search``, ``user.current``, ``profile`` over the portal's five employees,
and ``server.time`` (the portal's clock, ``YYYY-MM-DDThh:mm:ss±hh:mm`` in its zone).

Users differ from CRM records in their rendering: ``ACTIVE`` is a real JSON boolean and
``UF_DEPARTMENT`` an array of ints, while IDs stay strings. Paging is the old ``CDBResult`` kind,
``start=-1`` included, and the filter may also be given as top-level keys (``user.get {ID: 1}``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult
from . import lists
from .reference import USERS
from .store import Record, Store
from .values import iso, param

_STR = ("NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "WORK_POSITION", "PERSONAL_GENDER", "XML_ID", "USER_TYPE",
        "PERSONAL_PHONE", "PERSONAL_MOBILE", "WORK_PHONE", "TIME_ZONE", "IS_ONLINE")
_RESERVED = {"sort", "order", "start", "filter", "admin_mode", "select", "auth"}


def install(store: Store, now: int) -> None:
    table = store.table("user")
    for position, user in enumerate(USERS, start=1):
        record = dict(user, ACTIVE="Y", USER_TYPE="employee", IS_ONLINE="N", TIME_ZONE="",
                      XML_ID=f"user-{position}", DATE_REGISTER=now - 86400 * 365, LAST_LOGIN=now - 3600 * position,
                      PERSONAL_MOBILE=f"+7 (916) 555-01-0{position}", WORK_PHONE=f"+7 (495) 777-00-0{position}")
        table.insert(record, position)


def _offset_seconds(store: Store) -> int:
    """The portal zone's UTC offset now: a zone with summer time has two in a year."""
    now = store.clock() if store.clock else time.time()
    return int(datetime.fromtimestamp(now, store.tz).utcoffset().total_seconds())  # type: ignore[union-attr]


def render(store: Store, user: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"ID": str(user["ID"]), "XML_ID": user.get("XML_ID"), "ACTIVE": user["ACTIVE"] == "Y"}
    for key in _STR:
        if key != "XML_ID":
            out[key] = user.get(key, "")
    out["LAST_LOGIN"] = iso(user.get("LAST_LOGIN"), store.tz)
    out["DATE_REGISTER"] = iso(user.get("DATE_REGISTER"), store.tz)
    out["TIME_ZONE_OFFSET"] = str(_offset_seconds(store))
    out["UF_DEPARTMENT"] = list(user.get("UF_DEPARTMENT", []))
    return out


def _columns() -> dict[str, lists.Column]:
    cols = {k: lists.Column(k, "str", lambda r, k=k: r.get(k)) for k in _STR}
    cols["ID"] = lists.Column("ID", "int", lambda r: r["ID"])
    cols["ACTIVE"] = lists.Column("ACTIVE", "char", lambda r: r.get("ACTIVE"))
    cols["UF_DEPARTMENT"] = lists.Column("UF_DEPARTMENT", "ids", lambda r: r.get("UF_DEPARTMENT", []))
    cols["LAST_LOGIN"] = lists.Column("LAST_LOGIN", "datetime", lambda r: r.get("LAST_LOGIN"))
    cols["DATE_REGISTER"] = lists.Column("DATE_REGISTER", "datetime", lambda r: r.get("DATE_REGISTER"))
    return cols


def register(registry: MethodRegistry, store: Store) -> None:
    table = store.table("user")
    columns = _columns()

    def run(params: dict[str, Any], raw_filter: dict[str, Any], find: str | None) -> MethodResult:
        tree = lists.parse_filter(raw_filter, columns.get, store.tz)
        if find:
            needle = find.casefold()
            hay = ("NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "WORK_POSITION")
            tree.items.append(lists.Leaf(lists.Column("FIND", "str", lambda r: [
                str(r.get(k, "")) for k in hay if needle in str(r.get(k, "")).casefold()] or [None]), "like", [""]))
        sort = param(params, "sort", "SORT", "by", "BY")
        direction = str(param(params, "order", "ORDER", default="ASC"))
        if isinstance(param(params, "order"), dict):
            order = lists.parse_order(param(params, "order"), columns.get)
        else:
            column = columns.get(str(sort).upper()) if sort else None
            order = [(column, direction.upper() == "DESC")] if column else [(columns["ID"], False)]
        page = lists.select_page(table, tree, order, param(params, "start", "START"), store.rng)
        return MethodResult([render(store, table.rows[i]) for i in page.ids], total=page.total, next=page.next)

    def filter_of(params: dict[str, Any]) -> dict[str, Any]:
        raw = param(params, "FILTER", "filter")
        if isinstance(raw, dict):
            return dict(raw)
        return {k: v for k, v in params.items() if str(k).lower() not in _RESERVED}

    @registry.register("user.get")
    def user_get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return run(params, filter_of(params), None)

    @registry.register("user.search")
    def user_search(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        raw = filter_of(params)
        find = None
        for key in list(raw):
            if str(key).upper() == "FIND":
                find = str(raw.pop(key))
        return run(params, raw, find)

    @registry.register("user.current")
    def user_current(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(render(store, table.rows[ctx.user_id]))

    @registry.register("server.time")
    def server_time(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(ctx.now().isoformat())

    @registry.register("profile")
    def profile(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        user = table.rows[ctx.user_id]
        return MethodResult({"ID": str(user["ID"]), "ADMIN": ctx.user_id == 1, "NAME": user.get("NAME"),
                             "LAST_NAME": user.get("LAST_NAME"), "PERSONAL_GENDER": user.get("PERSONAL_GENDER", ""),
                             "PERSONAL_PHOTO": "", "TIME_ZONE": "",
                             "TIME_ZONE_OFFSET": _offset_seconds(store)})
