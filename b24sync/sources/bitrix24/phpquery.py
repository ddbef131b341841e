"""PHP ``http_build_query`` encoding, for the ``method?query`` strings inside ``batch``.

The portal parses each batch command with PHP's ``parse_str``, so nested parameters must be
spelled ``filter[>ID]=5`` and ``select[0]=ID``. Booleans become ``Y``/``N`` (``str(True)`` would
send ``"True"``, which Bitrix24 does not understand) and ``None`` becomes an empty value.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if not value:
            return
        for key, item in value.items():
            yield from _pairs(f"{prefix}[{key}]" if prefix else str(key), item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _pairs(f"{prefix}[{index}]", item)
    else:
        yield prefix, _scalar(value)


def build_query(params: dict[str, Any]) -> str:
    """Encode nested params as PHP would; ``$result[...]`` references stay readable.

    Brackets and ``$`` are left unescaped in keys and in reference values because the portal
    substitutes ``$result[cmd][49][ID]`` in the decoded text either way, and readable commands
    make request logs easier to follow.
    """
    parts = []
    for key, value in _pairs("", params):
        safe_value = "[]$" if value.startswith("$") else ""
        parts.append(f"{quote(key, safe='[]')}={quote(value, safe=safe_value)}")
    return "&".join(parts)
