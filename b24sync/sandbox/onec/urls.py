"""Resource paths under ``…/odata/standard.odata``: service root, ``$metadata``, sets, keys, actions.

Real clients send Cyrillic set names percent-encoded or as raw UTF-8; the HTTP server hands raw
bytes over as latin-1 text, so the path is re-decoded here before percent-decoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from .errors import ODataError

__all__ = ["Resource", "decode_path", "parse_key", "parse_resource"]

_SEGMENT = re.compile(r"^(?P<name>[^()/]+)(?:\((?P<key>[^)]*)\))?$")
_KEY_VALUE = re.compile(
    r"""\s*(?:(?P<name>[^\s=,]+)\s*=\s*)?(?P<value>guid'[^']*'|datetime'[^']*'|'(?:[^']|'')*'|"[^"]*"|-?\d+)\s*(?:,|$)"""
)


def bad_url(message: str = "Неверный URL") -> ODataError:
    return ODataError(400, "6", message)


def decode_path(raw: str) -> str:
    """Raw (latin-1-carried UTF-8) or percent-encoded path -> text; undecodable -> 400 code 6."""
    try:
        if any(ord(ch) > 127 for ch in raw):
            raw = raw.encode("latin-1").decode("utf-8")
        return unquote(raw, errors="strict")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise bad_url() from None


@dataclass
class Resource:
    """``kind``: service, metadata, collection, count, entity, action, property, root_call."""

    kind: str
    set_name: str = ""
    key: dict[str, str] = field(default_factory=dict)
    action: str = ""
    action_args: str = ""
    path: list[str] = field(default_factory=list)


def parse_key(text: str) -> dict[str, str]:
    """``guid'…'`` or ``Name=value, …`` -> {name: literal}; a lone value is keyed ``""``."""
    result: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _KEY_VALUE.match(text, pos)
        if match is None or match.end() == pos:
            raise bad_url()
        result[match.group("name") or ""] = match.group("value")
        pos = match.end()
    if not result:
        raise ODataError(400, "7", "Не хватает элемента ключа сущности")
    return result


def parse_resource(rest: str) -> Resource:
    """``rest`` is the decoded path after ``standard.odata`` (``""``, ``/``, ``/Set(…)/Post()``…)."""
    parts = [p for p in rest.split("/") if p != ""]
    if not parts:
        return Resource("service")
    if parts == ["$metadata"]:
        return Resource("metadata")
    match = _SEGMENT.match(parts[0])
    if match is None:
        raise bad_url()
    name, key_text = match.group("name"), match.group("key")
    if len(parts) == 1 and key_text is None:
        if name in ("SelectChanges", "NotifyChangesReceived"):
            return Resource("root_call", action=name)
        return Resource("collection", name)
    if key_text is None:
        if parts[1:] == ["$count"]:
            return Resource("count", name)
        call = re.match(r"^([^()]+)(?:\((.*)\))?$", parts[1])
        return Resource("action", name, action=call.group(1) if call else parts[1],
                        action_args=(call.group(2) or "") if call else "")
    resource = Resource("entity", name, parse_key(key_text))
    if len(parts) == 1:
        return resource
    call = re.match(r"^(Post|Unpost)(?:\((.*)\))?$", parts[1])
    if call and len(parts) == 2:
        resource.kind, resource.action, resource.action_args = "action", call.group(1), call.group(2) or ""
        return resource
    if len(parts) == 2 and parts[1].endswith(")"):
        resource.kind, resource.action = "action", parts[1].split("(", 1)[0]
        return resource
    resource.kind, resource.path = "property", parts[1:]
    return resource
