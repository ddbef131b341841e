"""Turning results into the bytes a PHP portal would send: JSON envelopes, XML, error bodies.

The portal's JSON comes from PHP's ``json_encode`` without ``JSON_UNESCAPED_SLASHES`` or
``JSON_UNESCAPED_UNICODE``, so ``/`` is sent as ``\\/`` and non-ASCII as ``\\u043f``-style escapes, and
``<``, ``>``, ``&``, ``'`` are hex-escaped. Any JSON parser reads that back identically; a client
that greps raw bodies does not, which is the point of reproducing it.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "JSON_TYPE",
    "XML_TYPE",
    "error_body",
    "php_array",
    "time_object",
    "to_json",
    "to_xml",
]

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

_HEX_ESCAPES = {"<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "'": "\\u0027", "/": "\\/"}


def to_json(data: Any) -> bytes:
    """``json_encode`` as the portal calls it (characters escaped above only occur inside strings)."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    for char, replacement in _HEX_ESCAPES.items():
        text = text.replace(char, replacement)
    return text.encode("ascii")


def php_array(section: dict[Any, Any]) -> dict[str, Any] | list[Any]:
    """How ``json_encode`` renders a PHP array: empty or keyed ``0..n-1`` in order -> JSON array."""
    keys = list(section)
    if keys == list(range(len(keys))):
        return list(section.values())
    return {str(k): v for k, v in section.items()}


def _iso(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def time_object(
    start: float,
    finish: float,
    processing: float,
    tz: tzinfo,
    *,
    operating: float | None = None,
    operating_reset_at: int | None = None,
) -> dict[str, Any]:
    """The ``time`` member; the ``operating*`` keys only where the load limiter is active."""
    result: dict[str, Any] = {
        "start": float(start),
        "finish": float(finish),
        "duration": float(finish - start),
        "processing": float(processing),
        "date_start": _iso(start, tz),
        "date_finish": _iso(finish, tz),
    }
    if operating is not None:
        if operating_reset_at is not None:
            result["operating_reset_at"] = int(operating_reset_at)
        result["operating"] = float(operating)
    return result


def error_body(code: str | int, description: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "error_description": description, **extra}


def _xml_value(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            tag = "item" if isinstance(key, int) or str(key).isdigit() else str(key)
            out.append(f"<{tag}>")
            _xml_value(item, out)
            out.append(f"</{tag}>")
    elif isinstance(value, list | tuple):
        for item in value:
            out.append("<item>")
            _xml_value(item, out)
            out.append("</item>")
    elif value is None:
        return
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    else:
        out.append(escape(str(value)))


def to_xml(data: dict[str, Any]) -> bytes:
    """The ``.xml`` transport: ``<response>…</response>``, numeric keys rendered as ``<item>``."""
    out = ['<?xml version="1.0" encoding="utf-8"?><response>']
    _xml_value(data, out)
    out.append("</response>")
    return "".join(out).encode("utf-8")
