"""User-field values and names: how a ``UF_CRM_*`` value is stored, rendered and camelCased.

Values of a field that does not exist are dropped, as the real portal ignores them. The camelCase
rule for ``crm.item.*`` follows the documented conversion: plain when the tail after ``UF_CRM_``
(and the object number) is all letters or all digit blocks, the reversible ``ufCrm_`` form when
letters and digits are mixed, and the original name on a collision.
"""

from __future__ import annotations

from typing import Any

from .store import UserField
from .values import as_list, fmt_double, internal, iso, to_flag

_KINDS = {"integer": "int", "double": "double", "datetime": "datetime", "date": "date",
          "enumeration": "int", "employee": "int", "boolean": "bool"}


def uf_kind(uf: UserField) -> str:
    return _KINDS.get(uf.user_type, "str")


def _one(kind: str, value: Any, tz: Any) -> Any:
    if kind == "bool":
        flag = to_flag(value)
        return None if flag is None else int(flag == "Y")
    return internal(kind, value, tz)


def uf_internal(uf: UserField, value: Any, tz: Any) -> Any:
    kind = uf_kind(uf)
    if uf.multiple:
        values = [_one(kind, v, tz) for v in as_list(value)]
        return [v for v in values if v is not None and v != ""] or None
    if isinstance(value, list | dict) and uf.user_type not in ("address",):
        items = as_list(value)
        value = items[0] if items else None
    return _one(kind, value, tz)


def _old(kind: str, value: Any, tz: Any) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date"):
        return iso(value, tz)
    if kind == "double":
        return fmt_double(value)
    if kind in ("int", "bool"):
        return str(value)
    return value


def _item(kind: str, value: Any, tz: Any) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date"):
        return iso(value, tz)
    if kind == "bool":
        return "Y" if value else "N"
    return value


def uf_render(uf: UserField, value: Any, tz: Any, *, item: bool) -> Any:
    kind = uf_kind(uf)
    render = _item if item else _old
    if uf.multiple:
        return [render(kind, v, tz) for v in (value or [])]
    if value is None and kind == "bool" and not item:
        return "0"
    return render(kind, value, tz)


def camel_uf(name: str) -> str:
    """``UF_CRM_10_DIGIT`` → ``ufCrm10Digit``; mixed letters/digits → ``ufCrm_…`` (docs §universal)."""
    if not name.startswith("UF_CRM_"):
        return name
    tail = name[len("UF_CRM_"):]
    parts = tail.split("_")
    if not all(parts):
        return "ufCrm_" + tail
    if all(p.isalpha() for p in parts):
        return "ufCrm" + "".join(p.capitalize() for p in parts)
    if parts[0].isdigit() and len(parts) > 1:
        rest = parts[1:]
        if all(p.isdigit() for p in rest):
            return "ufCrm" + parts[0] + "_" + "_".join(rest)
        if all(p.isalpha() for p in rest):
            return "ufCrm" + parts[0] + "".join(p.capitalize() for p in rest)
    return "ufCrm_" + tail


def camel_names(ufs: dict[str, UserField], taken: set[str]) -> dict[str, str]:
    """FIELD_NAME → name used by crm.item; a collision keeps the original upper-case name."""
    out: dict[str, str] = {}
    used = set(taken)
    for name in ufs:
        camel = camel_uf(name)
        if camel in used:
            camel = name
        used.add(camel)
        out[name] = camel
    return out
