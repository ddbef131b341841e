"""Request parameters exactly as the PHP portal sees them.

Bitrix24 reads parameters with PHP's own machinery (``CRestUtil::getRequestData``): the query
string and a form body go through ``parse_str`` (nested ``a[b][c]=`` keys, ``a[]=`` appends,
every value a string), a body sent as ``application/json`` is JSON-decoded instead (invalid JSON
silently becomes an empty array), and the two are merged with ``array_replace(query, body)``.
Clients that get this wrong (``str(True)`` in a query, double encoding in ``batch`` commands, a
JSON body without the header) must see the same surprises here as on a real portal, so this
module reproduces PHP, not what would be convenient.

PHP arrays are ordered maps; we represent them as ``dict`` with ``str`` keys, except that an array
whose keys are exactly ``0..n-1`` in order becomes a ``list``, since that is how ``json_encode``
would render it and how a JSON body would carry the same data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import quote_plus, unquote_plus

__all__ = [
    "array_replace",
    "http_build_query",
    "normalize_php_array",
    "parse_request_params",
    "parse_str",
    "php_bool",
    "php_key",
]

_INT_KEY = re.compile(r"(0|-?[1-9][0-9]*)\Z")
_PHP_INT_MAX = 2**63 - 1


def php_key(key: str | int) -> str | int:
    """PHP array-key cast: a canonical decimal integer string becomes an ``int`` ("05" stays a string)."""
    if isinstance(key, int):
        return key
    if _INT_KEY.match(key) and -_PHP_INT_MAX - 1 <= int(key) <= _PHP_INT_MAX:
        return int(key)
    return key


def php_bool(value: Any) -> bool:
    """PHP ``(bool)`` cast: ``0``, ``0.0``, ``"0"``, ``""``, ``null``, ``[]``, ``false`` are false.

    Notably the *string* ``"false"`` is true, which is why ``halt=false`` in a form-encoded batch
    halts on the first error.
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, list | dict | tuple):
        return len(value) > 0
    return True


def _next_index(node: dict[str | int, Any]) -> int:
    ints = [k for k in node if isinstance(k, int)]
    return max(ints) + 1 if ints and max(ints) >= 0 else 0


def _split_name(name: str) -> tuple[str, list[str]] | None:
    """Split ``a[b][]`` into ``("a", ["b", ""])`` the way ``php_register_variable_ex`` does."""
    name = name.lstrip(" ")
    bracket = name.find("[")
    base, rest = (name, "") if bracket == -1 else (name[:bracket], name[bracket:])
    base = base.replace(" ", "_").replace(".", "_")
    indexes: list[str] = []
    pos = 0
    while pos < len(rest) and rest[pos] == "[":
        close = rest.find("]", pos + 1)
        if close == -1:
            if not indexes:  # an unmatched '[' in the name itself turns into '_'
                base = base + "_" + rest[pos + 1 :]
            break
        indexes.append(rest[pos + 1 : close])
        pos = close + 1  # anything after ']' that is not '[' is ignored
    if not base:
        return None
    return base, indexes


def _assign(root: dict[str | int, Any], name: str, value: Any) -> None:
    split = _split_name(name)
    if split is None:
        return
    base, indexes = split
    keys: list[str] = [base, *indexes]
    node = root
    for depth, raw in enumerate(keys):
        key: str | int = _next_index(node) if (raw == "" and depth > 0) else php_key(raw)
        if depth == len(keys) - 1:
            node[key] = value
        else:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child


def normalize_php_array(node: Any) -> Any:
    """Turn an int-keyed parse tree into JSON-shaped data: ``0..n-1`` maps become lists."""
    if isinstance(node, dict):
        items = [(k, normalize_php_array(v)) for k, v in node.items()]
        if items and [k for k, _ in items] == list(range(len(items))):
            return [v for _, v in items]
        return {str(k): v for k, v in items}
    return node


def parse_str(query: str) -> dict[str, Any]:
    """PHP ``parse_str``: ``&``-separated pairs, ``+`` and ``%xx`` decoded once, nested keys."""
    root: dict[str | int, Any] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        _assign(root, unquote_plus(name, errors="replace"), unquote_plus(value, errors="replace"))
    return {str(k): normalize_php_array(v) for k, v in root.items()}


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    root: dict[str | int, Any] = {}
    if not message.is_multipart():
        return {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        _assign(root, name, payload.decode("utf-8", errors="replace"))
    return {str(k): normalize_php_array(v) for k, v in root.items()}


def _decode_json_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.strip() or b"null")
    except ValueError:
        return {}  # the portal swallows the decode error and sees no parameters at all
    if isinstance(data, dict):
        return data
    if isinstance(data, list):
        return {str(i): v for i, v in enumerate(data)}
    return {}


def array_replace(base: Mapping[str, Any], replacement: Mapping[str, Any]) -> dict[str, Any]:
    """PHP ``array_replace``: top-level keys of ``replacement`` win; no deep merge."""
    merged = dict(base)
    merged.update(replacement)
    return merged


def parse_request_params(query: str, body: bytes, content_type: str | None) -> dict[str, Any]:
    """All parameters of one HTTP request: ``array_replace(parse_str(query), body_params)``.

    The media type is compared exactly as the portal does (parameters such as ``charset`` are
    stripped); anything that is not ``application/json`` is treated as a form.
    """
    params = parse_str(query)
    if not body:
        return params
    full_type = (content_type or "").strip()
    media_type = full_type.split(";", 1)[0].strip()
    if media_type == "application/json":
        body_params = _decode_json_body(body)
    elif media_type == "multipart/form-data":
        body_params = _parse_multipart(body, full_type)
    else:
        text = body.decode("utf-8", errors="replace").strip()
        body_params = parse_str(text) if text else {}
    return array_replace(params, body_params)


def _php_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def http_build_query(data: Mapping[str, Any]) -> str:
    """PHP ``http_build_query``: nested ``a[b][0]=`` keys (brackets percent-encoded), nulls skipped."""
    pairs: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}[{k}]", v)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            pairs.append(f"{quote_plus(prefix)}={quote_plus(_php_scalar(value))}")

    for key, value in data.items():
        walk(str(key), value)
    return "&".join(pairs)
