"""OData v3 literals and query strings exactly as a 1C base parses them.

1C does not decode ``+`` as a space inside ``$filter`` (the expression then fails to parse), so
every space is sent as ``%20``; Cyrillic names are UTF-8 percent-encoded; string literals are
single-quoted with inner quotes doubled; references are ``guid'…'``; datetimes are naive
``datetime'YYYY-MM-DDTHH:MM:SS'`` in the base's own time zone, never with an offset or fraction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from urllib.parse import quote

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
_VALUE_SAFE = "',()$/*="
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def lit_str(value: str) -> str:
    """``'O''Brien'``: a string literal with inner quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def lit_guid(value: str | uuid.UUID) -> str:
    """``guid'…'`` after checking the 8-4-4-4-12 shape (a malformed GUID is a 400 on the server)."""
    text = str(value)
    if not _GUID_RE.match(text):
        raise ValueError(f"not a GUID: {text!r}")
    return f"guid'{text.lower()}'"


def naive_local(value: datetime, server_tz: tzinfo | None) -> datetime:
    """An aware datetime converted to the base's wall clock; a naive one is taken as already local."""
    if value.tzinfo is not None:
        if server_tz is None:
            raise ValueError("an aware datetime needs the base's time zone (onec.timezone)")
        value = value.astimezone(server_tz)
    return value.replace(tzinfo=None, microsecond=0)


def lit_datetime(value: datetime | date, server_tz: tzinfo | None = None) -> str:
    """``datetime'2024-01-15T12:30:00'`` in the base's local time, no zone, no fraction."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return f"datetime'{naive_local(value, server_tz).strftime('%Y-%m-%dT%H:%M:%S')}'"


def lit_bool(value: bool) -> str:
    return "true" if value else "false"


def cast_ref(ref: str, entity_set: str) -> str:
    """``cast(guid'…','Document_X')``: the only equality that matches a composite-type field."""
    return f"cast({lit_guid(ref)},{lit_str(entity_set)})"


def any_of(field: str, refs: Iterable[str]) -> str:
    """``(F eq guid'a' or F eq guid'b' …)``: v3 has no ``in``."""
    parts = [f"{field} eq {lit_guid(ref)}" for ref in refs]
    return "(" + " or ".join(parts) + ")" if parts else "false"


def quote_path(segment: str) -> str:
    """Percent-encode a path segment (Cyrillic entity-set names), keeping OData key syntax."""
    return quote(segment, safe="()'=,_-.$/")


def build_query(params: Mapping[str, str | int | None]) -> str:
    """Encode query options with ``%20`` for spaces (never ``+``) and raw ``$`` names."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        parts.append(f"{quote(key, safe='$')}={quote(str(value), safe=_VALUE_SAFE)}")
    return "&".join(parts)
