"""``crm.{contact,company,deal,lead,requisite}.userfield.*`` and how user fields show in ``*.fields``.

A fresh portal has no ``UF_CRM_*`` fields: they appear only through ``userfield.add``, whose
FIELD_NAME normalisation (prefixing, upper-casing, 50-character and ``[A-Z0-9_]`` checks) and
errors follow the method's documentation, because clients' ``doctor --fix`` flows depend on them.
"""

from __future__ import annotations

import re
from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from . import lists
from .store import Store, Table, UserField
from .values import as_list, param, to_int

OWNERS = {"contact": "CRM_CONTACT", "company": "CRM_COMPANY", "deal": "CRM_DEAL", "lead": "CRM_LEAD",
          "requisite": "CRM_REQUISITE"}
LANGS = ("ar", "br", "en", "fr", "id", "it", "ja", "la", "ms", "pl", "ru", "sc", "tc", "th", "tr", "vn")
LABELS = ("EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "ERROR_MESSAGE", "HELP_MESSAGE")
_TYPES = {"string", "integer", "double", "boolean", "datetime", "date", "money", "url", "address",
          "enumeration", "file", "employee", "crm_status", "iblock_section", "iblock_element", "crm",
          "resourcebooking", "video", "hlblock"}
_DEFAULT_SETTINGS = {
    "string": {"SIZE": 20, "ROWS": 1, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": ""},
    "integer": {"SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": None},
    "double": {"PRECISION": 2, "SIZE": 20, "MIN_VALUE": 0.0, "MAX_VALUE": 0.0, "DEFAULT_VALUE": None},
    "boolean": {"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX", "LABEL": ["", ""], "LABEL_CHECKBOX": ""},
}
_NAME_RE = re.compile(r"^[A-Z0-9_]+$")


def normalize_name(raw: Any) -> str:
    name = str(raw or "").strip().upper()
    if not name:
        raise RestError("", "The 'FIELD_NAME' field is not found.")
    if name.startswith("UF_CRM_"):
        pass
    elif name.startswith("UF_"):
        name = "UF_CRM_" + name[3:]
    else:
        name = "UF_CRM_" + name
    if len(name) > 50:
        raise RestError("ERROR_CORE", "Имя поля слишком длинное (больше 50-ти символов)")
    if not _NAME_RE.match(name):
        raise RestError("ERROR_CORE", "Имя поля содержит недопустимые символы. Допустимыми являются: A-Z, 0-9 и _")
    return name


def _label_map(value: Any, fallback: Any) -> dict[str, str] | None:
    source = value if value not in (None, "") else fallback
    if source in (None, ""):
        return None
    if isinstance(source, dict):
        base = str(source.get("ru") or source.get("en") or next(iter(source.values()), ""))
        out = {lang: base for lang in LANGS}
        out.update({str(k): str(v) for k, v in source.items()})
        return out
    return {lang: str(source) for lang in LANGS}


def _enum_items(store: Store, raw: Any, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = [dict(i) for i in existing]
    for entry in as_list(raw):
        if not isinstance(entry, dict):
            continue
        entry = {str(k).upper(): v for k, v in entry.items()}
        item_id = to_int(entry.get("ID"))
        current = next((i for i in items if i["ID"] == item_id), None) if item_id else None
        if current is not None and str(entry.get("DEL", "N")).upper() == "Y":
            items.remove(current)
            continue
        if current is None:
            store.uf_last_id += 1
            current = {"ID": store.uf_last_id, "SORT": 500, "VALUE": "", "DEF": "N", "XML_ID": None}
            items.append(current)
        for key in ("VALUE", "DEF", "XML_ID", "SORT"):
            if key in entry:
                current[key] = to_int(entry[key]) if key == "SORT" else entry[key]
        if not current.get("XML_ID"):
            current["XML_ID"] = f"{current['ID']:x}".upper().rjust(32, "0")
    seen: set[str] = set()
    for item in items:
        if item["XML_ID"] in seen:
            raise RestError("ERROR_CORE", f"Элемент списка со значением XML_ID={item['XML_ID']} уже существует")
        seen.add(item["XML_ID"])
    return items


def _apply(store: Store, uf: UserField, data: dict[str, Any], is_add: bool) -> None:
    d = uf.data
    for key in ("XML_ID", "MANDATORY", "SHOW_IN_LIST", "EDIT_IN_LIST", "IS_SEARCHABLE"):
        if key in data:
            d[key] = str(data[key]).upper() if key != "XML_ID" else data[key]
    if "SORT" in data:
        d["SORT"] = to_int(data["SORT"]) or 100
    if "SHOW_FILTER" in data:
        value = str(data["SHOW_FILTER"]).upper()
        d["SHOW_FILTER"] = {"Y": "E"}.get(value, value)
    if isinstance(data.get("SETTINGS"), dict):
        d["SETTINGS"].update(data["SETTINGS"])
    for key in LABELS:
        fallback = data.get("LABEL") if key not in ("ERROR_MESSAGE", "HELP_MESSAGE") else None
        if key in data or (is_add and fallback) or (not is_add and "LABEL" in data and fallback):
            d[key] = _label_map(data.get(key), fallback)
    if uf.user_type == "enumeration" and "LIST" in data:
        d["LIST"] = _enum_items(store, data["LIST"], d.get("LIST", []))


def render_uf(uf: UserField, lang: str | None = None) -> dict[str, Any]:
    d = uf.data
    out: dict[str, Any] = {
        "ID": str(uf.id), "ENTITY_ID": uf.entity_id, "FIELD_NAME": uf.name, "USER_TYPE_ID": uf.user_type,
        "XML_ID": d.get("XML_ID"), "SORT": str(d["SORT"]), "MULTIPLE": "Y" if uf.multiple else "N",
        "MANDATORY": d["MANDATORY"], "SHOW_FILTER": d["SHOW_FILTER"], "SHOW_IN_LIST": d["SHOW_IN_LIST"],
        "EDIT_IN_LIST": d["EDIT_IN_LIST"], "IS_SEARCHABLE": d["IS_SEARCHABLE"], "SETTINGS": d["SETTINGS"],
    }
    for key in LABELS:
        value = d.get(key)
        out[key] = value.get(lang) if lang and isinstance(value, dict) else value
    if uf.user_type == "enumeration":
        out["LIST"] = [{"ID": str(i["ID"]), "SORT": str(i["SORT"]), "VALUE": i["VALUE"], "DEF": i["DEF"],
                        "XML_ID": i["XML_ID"]} for i in d.get("LIST", [])]
    return out


def describe_ufs(store: Store, entity_id: str) -> dict[str, dict[str, Any]]:
    """User fields as ``*.fields`` lists them: ``isDynamic: true`` plus the labels."""
    out = {}
    for name, uf in store.ufs(entity_id).items():
        def label(key: str, uf: UserField = uf) -> str:
            value = uf.data.get(key)
            return (value or {}).get("ru") or uf.name

        desc: dict[str, Any] = {
            "type": uf.user_type, "isRequired": uf.data["MANDATORY"] == "Y", "isReadOnly": False,
            "isImmutable": False, "isMultiple": uf.multiple, "isDynamic": True, "title": name,
            "listLabel": label("LIST_COLUMN_LABEL"), "formLabel": label("EDIT_FORM_LABEL"),
            "filterLabel": label("LIST_FILTER_LABEL"), "settings": uf.data["SETTINGS"],
        }
        if uf.user_type == "enumeration":
            desc["items"] = [{"ID": str(i["ID"]), "VALUE": i["VALUE"]} for i in uf.data.get("LIST", [])]
        out[name] = desc
    return out


def find(store: Store, entity_id: str, params: dict[str, Any]) -> UserField:
    uf_id = to_int(param(params, "id", "ID"))
    if uf_id is None or uf_id <= 0:
        raise RestError("", "ID is not defined or invalid.")
    for uf in store.ufs(entity_id).values():
        if uf.id == uf_id:
            return uf
    for other in store.userfields.values():
        if any(u.id == uf_id for u in other.values()):
            raise RestError("", "Access denied.")
    raise RestError("ERROR_NOT_FOUND", f"The entity with ID '{uf_id}' is not found.")


def register(registry: MethodRegistry, store: Store) -> None:
    for owner, entity_id in OWNERS.items():
        _register_owner(registry, store, owner, entity_id)


def _register_owner(registry: MethodRegistry, store: Store, owner: str, entity_id: str) -> None:
    prefix = f"crm.{owner}.userfield"

    def fields_param(params: dict[str, Any]) -> dict[str, Any]:
        data = param(params, "fields", "FIELDS")
        if not isinstance(data, dict):
            raise RestError("", "Parameter 'fields' must be array.")
        return {str(k).upper(): v for k, v in data.items()}

    def add(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        data = fields_param(params)
        user_type = str(data.get("USER_TYPE_ID") or "").strip()
        if not user_type:
            raise RestError("", "The 'USER_TYPE_ID' field is not found.")
        name = normalize_name(data.get("FIELD_NAME"))
        if user_type not in _TYPES:
            raise RestError("ERROR_CORE", "Указан неверный пользовательский тип")
        if name in store.ufs(entity_id):
            raise RestError("ERROR_CORE", f"Ошибка добавления пользовательского поля: поле {name} уже существует")
        store.uf_last_id += 1
        uf = UserField(store.uf_last_id, entity_id, name, user_type, str(data.get("MULTIPLE", "N")).upper() == "Y",
                       {"SORT": 100, "MANDATORY": "N", "SHOW_FILTER": "N", "SHOW_IN_LIST": "Y",
                        "EDIT_IN_LIST": "Y", "IS_SEARCHABLE": "N", "XML_ID": None,
                        "SETTINGS": dict(_DEFAULT_SETTINGS.get(user_type, {}))})
        _apply(store, uf, data, is_add=True)
        store.ufs(entity_id)[name] = uf
        ctx.emit(f"ONCRM{owner.upper()}USERFIELDADD", {"ID": str(uf.id), "ENTITY_ID": entity_id, "FIELD_NAME": name})
        return MethodResult(uf.id)

    def get(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        return MethodResult(render_uf(find(store, entity_id, params)))

    def update(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        uf = find(store, entity_id, params)
        _apply(store, uf, fields_param(params), is_add=False)
        ctx.emit(f"ONCRM{owner.upper()}USERFIELDUPDATE", {"ID": str(uf.id), "ENTITY_ID": entity_id,
                                                        "FIELD_NAME": uf.name})
        return MethodResult(True)

    def delete(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        uf = find(store, entity_id, params)
        del store.ufs(entity_id)[uf.name]
        table_name = "requisite" if owner == "requisite" else owner
        for record in store.table(table_name).rows.values():
            record.pop(uf.name, None)
        ctx.emit(f"ONCRM{owner.upper()}USERFIELDDELETE", {"ID": str(uf.id), "ENTITY_ID": entity_id,
                                                        "FIELD_NAME": uf.name})
        return MethodResult(True)

    def list_(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        raw_order = lists.require_array(param(params, "order", "ORDER"), "order")
        raw_filter = dict(lists.require_array(param(params, "filter", "FILTER"), "filter") or {})
        lang = None
        for key in list(raw_filter):
            if str(key).upper() == "LANG":
                lang = str(raw_filter.pop(key))
        table = Table("uf")
        for uf in store.ufs(entity_id).values():
            row = render_uf(uf, lang)
            row["ID"] = uf.id
            table.insert(row, uf.id)
        columns = {k: lists.Column(k, "int" if k == "ID" else "str", lambda r, k=k: r.get(k))
                   for k in ("ID", "ENTITY_ID", "FIELD_NAME", "USER_TYPE_ID", "XML_ID", "SORT", "MULTIPLE",
                             "MANDATORY", "SHOW_FILTER", "SHOW_IN_LIST", "EDIT_IN_LIST", "IS_SEARCHABLE")}
        tree = lists.parse_filter(raw_filter, columns.get, store.tz)
        order = lists.parse_order(raw_order, columns.get) or [(columns["ID"], False)]
        page = lists.select_page(table, tree, order, 0, store.rng)
        rows = [dict(table.rows[i], ID=str(i)) for i in page.ids]
        return MethodResult(rows, total=page.total)

    for name, fn in (("add", add), ("get", get), ("update", update), ("delete", delete), ("list", list_)):
        registry.register(f"{prefix}.{name}")(fn)
