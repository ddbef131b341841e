"""Atom/XML, 1C's *default* representation: a client that forgets ``$format=json`` gets this.

Shapes follow the real captured entry (onec-samples/single_entity_json_and_atom.txt) and the
vendor chapter: ``<entry>`` with ``<category term="StandardODATA.Set">``, related links per
published reference, an ``edit`` link and ``<m:properties>`` without ``m:type`` on primitives;
tabular parts as ``<d:Таблица m:type="Collection(…_RowType)">`` of ``<d:element>``; ``<m:count>``
at the end of a feed. Atom request bodies (POST/PATCH in atom) are parsed here as well.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from .errors import ODataError
from .project import Projected
from .schema import EntitySet, Prop

__all__ = [
    "ATOM_ENTRY", "ATOM_FEED", "SERVICE_TYPE", "XML_TYPE", "entry", "error", "feed", "parse_entry", "service_document",
]

ATOM = "http://www.w3.org/2005/Atom"
D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
APP = "http://www.w3.org/2007/app"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
SERVICE_TYPE = "application/atomsvc+xml;charset=utf-8"
ATOM_ENTRY = "application/atom+xml;type=entry;charset=utf-8"
ATOM_FEED = "application/atom+xml;type=feed;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"
EDM = "http://schemas.microsoft.com/ado/2009/11/edm"
EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
_DEFAULT_PREFIX = {ATOM: "zzdefatom", EDM: "zzdefedm"}
for _prefix, _uri in (("d", D), ("m", M), ("edmx", EDMX), *((p, u) for u, p in _DEFAULT_PREFIX.items())):
    ET.register_namespace(_prefix, _uri)


def default_ns(xml: str, uri: str) -> bytes:
    """Serialise ``uri`` as the default namespace, as 1C does (ElementTree cannot when attributes are bare)."""
    prefix = _DEFAULT_PREFIX[uri]
    xml = xml.replace(f"<{prefix}:", "<").replace(f"</{prefix}:", "</").replace(f"xmlns:{prefix}=", "xmlns=")
    return xml.encode("utf-8")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _properties(parent: ET.Element, props: dict[str, Any], row_types: dict[str, str]) -> None:
    for name, value in props.items():
        element = ET.SubElement(parent, f"{{{D}}}{name}")
        if name in row_types:
            element.set(f"{{{M}}}type", f"Collection(StandardODATA.{row_types[name]})")
            for row in value:
                item = ET.SubElement(element, f"{{{D}}}element", {f"{{{M}}}type": f"StandardODATA.{row_types[name]}"})
                _properties(item, row, {})
        elif value is None:
            element.set(f"{{{M}}}null", "true")
        else:
            text = _text(value)
            if text:
                element.text = text


def _entry(item: Projected, root: str, updated: str, parent: ET.Element | None = None) -> ET.Element:
    node = ET.Element(f"{{{ATOM}}}entry") if parent is None else ET.SubElement(parent, f"{{{ATOM}}}entry")
    ET.SubElement(node, f"{{{ATOM}}}id").text = root + item.key
    ET.SubElement(node, f"{{{ATOM}}}category", {"term": f"StandardODATA.{item.set_name}", "scheme": SCHEME})
    ET.SubElement(node, f"{{{ATOM}}}title", {"type": "text"})
    ET.SubElement(node, f"{{{ATOM}}}updated").text = updated
    ET.SubElement(node, f"{{{ATOM}}}author")
    ET.SubElement(node, f"{{{ATOM}}}summary")
    for nav in [*item.navs, *(n for n in item.expanded if n not in item.navs)]:
        link = ET.SubElement(node, f"{{{ATOM}}}link", {
            "rel": RELATED + nav, "href": f"{item.key}/{nav}",
            "type": "application/atom+xml;type=entry;charset=utf-8", "title": nav})
        if nav in item.expanded:
            inline = ET.SubElement(link, f"{{{M}}}inline")
            sub = item.expanded[nav]
            if sub is not None:
                _entry(sub, root, updated, inline)
    ET.SubElement(node, f"{{{ATOM}}}link", {"rel": "edit", "href": item.key, "title": "edit-link"})
    content = ET.SubElement(node, f"{{{ATOM}}}content", {"type": "application/xml"})
    _properties(ET.SubElement(content, f"{{{M}}}properties"), item.props, item.row_types)
    return node


def _serialize(node: ET.Element, root: str) -> bytes:
    node.set("{http://www.w3.org/XML/1998/namespace}base", root)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + default_ns(ET.tostring(node, encoding="unicode"), ATOM)


def entry(item: Projected, root: str, updated: str) -> bytes:
    return _serialize(_entry(item, root, updated), root)


def feed(items: list[Projected], set_name: str, root: str, updated: str, count: int | None) -> bytes:
    node = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(node, f"{{{ATOM}}}id").text = root + set_name
    ET.SubElement(node, f"{{{ATOM}}}title", {"type": "text"}).text = set_name
    ET.SubElement(node, f"{{{ATOM}}}updated").text = updated
    ET.SubElement(node, f"{{{ATOM}}}author")
    ET.SubElement(node, f"{{{ATOM}}}link", {"rel": "self", "href": set_name, "title": set_name})
    for item in items:
        _entry(item, root, updated, node)
    if count is not None:
        ET.SubElement(node, f"{{{M}}}count").text = str(count)
    return _serialize(node, root)


def service_document(sets: list[str], root: str) -> bytes:
    """The AtomPub service document; with an empty composition only ``<atom:title>Default</atom:title>``."""
    collections = "".join(
        f'<collection href="{escape(name)}"><atom:title>{escape(name)}</atom:title></collection>' for name in sets
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><service xmlns="{APP}" xmlns:atom="{ATOM}" '
        f'xml:base="{escape(root)}"><workspace><atom:title>Default</atom:title>{collections}</workspace></service>'
    ).encode()


def error(exc: ODataError) -> bytes:
    node = ET.Element(f"{{{M}}}error")
    ET.SubElement(node, f"{{{M}}}code").text = exc.code
    ET.SubElement(node, f"{{{M}}}message").text = exc.message
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(node, encoding="unicode").encode("utf-8")


def _value(prop: Prop | None, element: ET.Element) -> Any:
    if element.get(f"{{{M}}}null") == "true":
        return None
    text = element.text or ""
    if prop is None:
        return text
    if prop.edm == "Edm.Boolean":
        return text.strip().lower() == "true"
    if prop.edm in ("Edm.Int16", "Edm.Int32"):
        return int(text)
    if prop.edm == "Edm.Double":
        return float(text)
    return text


def parse_entry(body: bytes, meta: EntitySet) -> dict[str, Any]:
    """The property values of an Atom ``<entry>`` (or bare ``<m:properties>``) request body."""
    try:
        node = ET.fromstring(body)
    except ET.ParseError:
        raise ODataError(400, "2", "Неверный формат запроса") from None
    props = node if node.tag == f"{{{M}}}properties" else node.find(f".//{{{M}}}properties")
    if props is None:
        raise ODataError(400, "2", "Неверный формат запроса")
    values: dict[str, Any] = {}
    for child in props:
        name = child.tag.split("}", 1)[-1]
        table = meta.table(name)
        if table is not None:
            values[name] = [{c.tag.split("}", 1)[-1]: _value(table.column(c.tag.split("}", 1)[-1]), c) for c in row}
                            for row in child]
        else:
            values[name] = _value(meta.prop(name), child)
    return values
