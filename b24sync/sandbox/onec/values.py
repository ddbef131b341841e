"""1C value encoding on the JSON wire: sentinels instead of nulls, Int64 as strings, naive dates.

The store keeps every value already in this shape, so rendering is a copy and the HTTP service
written on top of the store speaks the same language. ``coerce`` is the write path: it accepts
what real clients send (``1`` or ``"1"`` for Int64, ``null`` to clear) and refuses what a real base
would not store (a malformed Guid, an unknown enum member, a date with a zone suffix).
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime
from typing import Any

from .errors import bad_value
from .schema import COMPOSITE, CTYPE, ENUM, Prop, Schema

__all__ = [
    "EMPTY_DATE",
    "EMPTY_GUID",
    "UNDEFINED_TYPE",
    "coerce",
    "data_version",
    "default_for",
    "guid_order_key",
    "is_guid",
    "parse_datetime",
]

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
UNDEFINED_TYPE = "StandardODATA.Undefined"
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_INT_LIMITS = {"Edm.Int16": 2**15, "Edm.Int32": 2**31, "Edm.Int64": 2**63}


def is_guid(value: object) -> bool:
    return isinstance(value, str) and bool(_GUID_RE.match(value))


def guid_order_key(value: str) -> bytes:
    """The 16 bytes 1C stores for a reference: GUID groups rearranged (``_IDRRef``).

    1C writes ``aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee`` as ``dddd eeeeeeeeeeee cccc bbbb aaaaaaaa`` in
    a ``binary(16)`` column, and the DBMS sorts those bytes; ``$orderby=Ref_Key`` therefore does not
    follow the GUID's string order, which breaks keyset paging on ``Ref_Key gt guid'…'``.
    """
    h = value.replace("-", "").lower()
    if len(h) != 32:
        return b""
    return bytes.fromhex(h[16:20] + h[20:32] + h[12:16] + h[8:12] + h[0:8])


def data_version(counter: int) -> str:
    """``DataVersion`` as 1C shows it: base64 of an 8-byte big-endian row version (``AAAAAAAETag=``)."""
    return base64.b64encode(counter.to_bytes(8, "big")).decode("ascii")


def parse_datetime(text: str) -> datetime:
    """A naive ``YYYY-MM-DDTHH:MM:SS`` (no zone, no fraction, as 1C writes and reads it)."""
    if not _DATE_RE.match(text):
        raise ValueError(text)
    if text == EMPTY_DATE:
        return datetime(1, 1, 1)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


def default_for(prop: Prop) -> Any:
    """The value 1C shows for an attribute nobody filled: never ``null``, always a sentinel."""
    if prop.kind == CTYPE:
        return UNDEFINED_TYPE
    if prop.kind == COMPOSITE:
        return ""
    edm = prop.edm
    if edm == "Edm.Guid":
        return EMPTY_GUID
    if edm == "Edm.DateTime":
        return EMPTY_DATE
    if edm == "Edm.Boolean":
        return False
    if edm == "Edm.Int64":
        return "0"
    if edm in ("Edm.Int16", "Edm.Int32"):
        return 0
    if edm == "Edm.Double":
        return 0
    return ""


def coerce(prop: Prop, value: Any, schema: Schema) -> Any:
    """The stored (wire) form of a value a client sent for ``prop``; raises code 4 when 1C would refuse."""
    if value is None:
        return default_for(prop)
    edm = prop.edm
    if prop.kind == ENUM:
        members = schema.enums[prop.target].members
        if value == "" or (isinstance(value, str) and value in members):
            return value
        raise bad_value(prop.name, value)
    if prop.kind == CTYPE:
        if isinstance(value, str) and (value == UNDEFINED_TYPE or value.startswith(("StandardODATA.", "Edm."))):
            return value
        raise bad_value(prop.name, value)
    if prop.kind == COMPOSITE:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad_value(prop.name, value)
        return value.lower() if is_guid(value) else value
    if edm == "Edm.String":
        if not isinstance(value, str):
            raise bad_value(prop.name, value)
        return value
    if edm == "Edm.Guid":
        if not is_guid(value):
            raise bad_value(prop.name, value)
        return str(value).lower()
    if edm == "Edm.Boolean":
        if not isinstance(value, bool):
            raise bad_value(prop.name, value)
        return value
    if edm == "Edm.DateTime":
        if not isinstance(value, str):
            raise bad_value(prop.name, value)
        try:
            parse_datetime(value)
        except ValueError:
            raise bad_value(prop.name, value) from None
        return value
    if edm in _INT_LIMITS:
        return _coerce_int(prop, value)
    if edm == "Edm.Double":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad_value(prop.name, value)
        return value
    return value


def _coerce_int(prop: Prop, value: Any) -> Any:
    if isinstance(value, bool):
        raise bad_value(prop.name, value)
    is_int_text = isinstance(value, str) and prop.edm == "Edm.Int64" and re.fullmatch(r"-?\d+", value.strip())
    if is_int_text or isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        number = int(value)
    else:
        raise bad_value(prop.name, value)
    if not -_INT_LIMITS[prop.edm] <= number < _INT_LIMITS[prop.edm]:
        raise bad_value(prop.name, value)
    return str(number) if prop.edm == "Edm.Int64" else number


def new_ref() -> str:
    return str(uuid.uuid4())
