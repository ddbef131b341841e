"""PHONE / EMAIL / WEB / IM / LINK values: storage, patch semantics and both renderings.

A record keeps each multifield as a list of ``[id, value_type, value]``; value IDs come from one
portal-wide counter, as ``b_crm_field_multi`` rows do. Updates are patches, not replacements
(``ID``+``VALUE`` edits, ``DELETE:"Y"``/empty/missing VALUE deletes, no ``ID`` appends), which is
the behaviour the documentation spells out and that clients most often get wrong.
"""

from __future__ import annotations

import re
from typing import Any

from ..api import RestError
from .schema import MULTIFIELDS
from .store import Record, Store
from .values import as_list, to_int

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_LABELS = {"WORK": "Рабочий e-mail", "HOME": "Частный e-mail", "MAILING": "E-mail для рассылок",
                 "OTHER": "Другой e-mail"}
HAS_FLAGS = {"PHONE": "HAS_PHONE", "EMAIL": "HAS_EMAIL"}


def _check_email(value: str, value_type: str) -> None:
    if not _EMAIL_RE.match(value):
        label = _EMAIL_LABELS.get(value_type, "E-mail")
        raise RestError("ERROR_CORE", f'Поле "{label}" содержит некорректный адрес')


def patch(store: Store, record: Record, type_id: str, items: Any, *, is_add: bool) -> None:
    """Apply an old-style multifield array to ``record`` (a working copy owned by the caller)."""
    current = [list(v) for v in record.get(type_id, ())]
    by_id = {v[0]: v for v in current}
    for item in as_list(items):
        if not isinstance(item, dict):
            continue
        if "VALUE" not in item and "ID" not in item:
            item = {str(k).upper(): v for k, v in item.items()}
        value = item.get("VALUE")
        value = "" if value is None else str(value).strip()
        value_id = None if is_add else to_int(item.get("ID"))
        if value_id is not None:
            existing = by_id.get(value_id)
            if existing is None:
                continue
            if str(item.get("DELETE", "")).upper() == "Y" or not value:
                current.remove(existing)
                del by_id[value_id]
                continue
            value_type = str(item.get("VALUE_TYPE") or "")
            if type_id == "EMAIL":
                _check_email(value, value_type or existing[1])
            existing[1], existing[2] = value_type, value
            continue
        if not value or str(item.get("DELETE", "")).upper() == "Y":
            continue
        value_type = str(item.get("VALUE_TYPE") or "WORK").upper()
        if type_id == "EMAIL":
            _check_email(value, value_type)
        current.append([store.next_fm_id(), value_type, value])
    if current:
        record[type_id] = current
    else:
        record.pop(type_id, None)


def patch_fm(store: Store, record: Record, fm: Any, *, is_add: bool) -> None:
    """``crm.item`` ``fm``: add = list of ``{typeId,valueType,value}``; update = ``{n0:…, <id>:…}``."""
    if isinstance(fm, list):
        keyed = {f"n{i}": v for i, v in enumerate(fm)}
    elif isinstance(fm, dict):
        keyed = fm
    else:
        return
    for key, item in keyed.items():
        if not isinstance(item, dict):
            continue
        type_id = str(item.get("typeId") or "").upper()
        if type_id not in MULTIFIELDS:
            continue
        value_id = None if is_add or str(key).startswith("n") else to_int(key)
        old = {"VALUE": item.get("value"), "VALUE_TYPE": item.get("valueType")}
        if value_id is not None:
            old["ID"] = value_id
        patch(store, record, type_id, [old], is_add=value_id is None)


def refresh_flags(record: Record) -> None:
    for type_id, flag in HAS_FLAGS.items():
        record[flag] = "Y" if record.get(type_id) else "N"
    record.setdefault("HAS_IMOL", "N")


def render_old(record: Record, type_id: str) -> list[dict[str, str]]:
    return [{"ID": str(i), "VALUE_TYPE": vt, "VALUE": v, "TYPE_ID": type_id}
            for i, vt, v in record.get(type_id, ())]


def render_fm(record: Record) -> list[dict[str, Any]]:
    return [{"id": i, "valueType": vt, "value": v, "typeId": t}
            for t in MULTIFIELDS for i, vt, v in record.get(t, ())]


def values_of(type_id: str) -> Any:
    """A getter for filters: the plain values of one multifield (exact match only)."""
    return lambda record: [v[2] for v in record.get(type_id, ())]
