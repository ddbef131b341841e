"""JSON light (OData v3) as 1C writes it: ``odata.metadata`` + ``value``, never a ``"d"`` wrapper.

Metadata levels (``$format=application/json;odata=…``): ``minimalmetadata`` is the default and adds
``<Nav>@navigationLinkUrl`` (relative) per published reference; ``nometadata`` drops every
annotation; ``fullmetadata`` adds ``odata.type``/``odata.id``/``odata.editLink``. ``odata.count``
is a string, as on a real base.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ODataError
from .project import Projected

__all__ = ["JSON_TYPE", "collection", "entity", "error", "primitive", "service_document"]

JSON_TYPE = "application/json;charset=utf-8"


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, indent=None).encode("utf-8")


def _object(item: Projected, level: str, root: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if level == "fullmetadata":
        out["odata.type"] = f"StandardODATA.{item.set_name}"
        out["odata.id"] = root + item.key
        out["odata.editLink"] = item.key
    for name, value in item.props.items():
        if level == "fullmetadata" and name in item.row_types:
            out[f"{name}@odata.type"] = f"Collection(StandardODATA.{item.row_types[name]})"
        out[name] = value
    for nav in item.navs:
        if nav in item.expanded:
            sub = item.expanded[nav]
            out[nav] = None if sub is None else _object(sub, level, root)
        if level != "nometadata":
            out[f"{nav}@navigationLinkUrl"] = f"{item.key}/{nav}"
    for nav, sub in item.expanded.items():
        if nav not in item.navs:  # composite: the doc's "_Expanded" element
            out[f"{nav}_Expanded"] = None if sub is None else _object(sub, level, root)
    return out


def collection(items: list[Projected], set_name: str, root: str, level: str, count: int | None) -> bytes:
    payload: dict[str, Any] = {}
    if level != "nometadata":
        payload["odata.metadata"] = f"{root}$metadata#{set_name}"
    if count is not None:
        payload["odata.count"] = str(count)
    payload["value"] = [_object(item, level, root) for item in items]
    return _dump(payload)


def entity(item: Projected, root: str, level: str) -> bytes:
    payload: dict[str, Any] = {}
    if level != "nometadata":
        payload["odata.metadata"] = f"{root}$metadata#{item.set_name}/@Element"
    payload.update(_object(item, level, root))
    return _dump(payload)


def primitive(value: Any, edm: str, root: str, level: str) -> bytes:
    payload: dict[str, Any] = {}
    if level != "nometadata":
        payload["odata.metadata"] = f"{root}$metadata#{edm}"
    payload["value"] = value
    return _dump(payload)


def service_document(sets: list[str], root: str) -> bytes:
    return _dump({"odata.metadata": root.rstrip("/"), "value": [{"name": s, "url": s} for s in sets]})


def error(exc: ODataError) -> bytes:
    return _dump({"odata.error": {"code": exc.code, "message": {"lang": "ru", "value": exc.message}}})
