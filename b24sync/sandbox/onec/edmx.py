"""``$metadata``: the EDMX 1C generates for the published composition (XML only).

EDMX 1.0 with ``DataServiceVersion="3.0"``, one schema ``StandardODATA`` holding the entity types
(objects and their tabular-part sets), ``…_RowType`` complex types, enum types (members without
``Value``), associations with ``Begin``/``End`` roles, and the container ``EnterpriseV8`` with
entity sets and the bound ``Post``/``Unpost`` function imports of every published document.
A reference gets a navigation property only if its target set is published.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .schema import CTYPE, DOCUMENT, REF, EntitySet, Schema

__all__ = ["METADATA_TYPE", "build_edmx"]

from .render_atom import EDM, EDMX, M, default_ns

METADATA_TYPE = "application/xml;charset=utf-8"


def _prop(parent: ET.Element, name: str, edm: str, nullable: bool) -> None:
    attrs = {"Name": name, "Type": edm, "Nullable": "true" if nullable else "false"}
    ET.SubElement(parent, f"{{{EDM}}}Property", attrs)


def _key(parent: ET.Element, *names: str) -> None:
    key = ET.SubElement(parent, f"{{{EDM}}}Key")
    for name in names:
        ET.SubElement(key, f"{{{EDM}}}PropertyRef", {"Name": name})


def _entity_type(schema_el: ET.Element, meta: EntitySet, published: set[str]) -> list[tuple[str, str, str]]:
    attrs = {"Name": meta.name}
    if meta.open_type:
        attrs["OpenType"] = "true"
    node = ET.SubElement(schema_el, f"{{{EDM}}}EntityType", attrs)
    _key(node, "Ref_Key")
    for prop in meta.props:
        if prop.kind != CTYPE:
            _prop(node, prop.name, prop.edm, prop.nullable)
    for table in meta.tables:
        _prop(node, table.name, f"Collection(StandardODATA.{meta.name}_{table.name}_RowType)", True)
    for prop in meta.props:
        if prop.kind == CTYPE:
            _prop(node, prop.name, prop.edm, prop.nullable)
    associations = []
    for prop in meta.props:
        if prop.kind == REF and prop.target in published:
            relationship = f"{meta.name}_{prop.nav}"
            ET.SubElement(node, f"{{{EDM}}}NavigationProperty", {
                "Name": prop.nav, "Relationship": f"StandardODATA.{relationship}", "FromRole": "Begin",
                "ToRole": "End"})
            associations.append((relationship, meta.name, prop.target))
    return associations


def build_edmx(schema: Schema, published: set[str]) -> bytes:
    """The ``$metadata`` document for the sets in ``published`` (objects and tabular-part sets)."""
    root = ET.Element(f"{{{EDMX}}}Edmx", {"Version": "1.0"})
    services = ET.SubElement(root, f"{{{EDMX}}}DataServices", {
        f"{{{M}}}DataServiceVersion": "3.0", f"{{{M}}}MaxDataServiceVersion": "3.0"})
    schema_el = ET.SubElement(services, f"{{{EDM}}}Schema", {"Namespace": "StandardODATA"})
    objects = [meta for name, meta in schema.sets.items() if name in published]
    tabular = [ts for name, ts in schema.tabular.items() if name in published]
    associations: list[tuple[str, str, str]] = []
    for meta in objects:
        associations += _entity_type(schema_el, meta, published)
    for ts in tabular:
        node = ET.SubElement(schema_el, f"{{{EDM}}}EntityType", {"Name": ts.name})
        _key(node, "Ref_Key", "LineNumber")
        for prop in ts.props:
            _prop(node, prop.name, prop.edm, prop.nullable)
    for meta in objects:
        for table in meta.tables:
            node = ET.SubElement(schema_el, f"{{{EDM}}}ComplexType", {"Name": f"{meta.name}_{table.name}_RowType"})
            _prop(node, "Ref_Key", "Edm.Guid", False)
            _prop(node, "LineNumber", "Edm.Int64", False)
            for prop in table.columns:
                _prop(node, prop.name, prop.edm, prop.nullable)
    for enum in schema.enums.values():
        node = ET.SubElement(schema_el, f"{{{EDM}}}EnumType", {"Name": enum.name, "UnderlyingType": "Edm.Int32"})
        for member in enum.members:
            ET.SubElement(node, f"{{{EDM}}}Member", {"Name": member})
    for name, begin, end in associations:
        node = ET.SubElement(schema_el, f"{{{EDM}}}Association", {"Name": name})
        ET.SubElement(node, f"{{{EDM}}}End", {"Role": "Begin", "Type": f"StandardODATA.{begin}", "Multiplicity": "*"})
        ET.SubElement(node, f"{{{EDM}}}End", {"Role": "End", "Type": f"StandardODATA.{end}", "Multiplicity": "0..1"})
    container = ET.SubElement(schema_el, f"{{{EDM}}}EntityContainer", {
        "Name": "EnterpriseV8", f"{{{M}}}IsDefaultEntityContainer": "true"})
    for name in [m.name for m in objects] + [t.name for t in tabular]:
        ET.SubElement(container, f"{{{EDM}}}EntitySet", {"Name": name, "EntityType": f"StandardODATA.{name}"})
    for name, begin, end in associations:
        node = ET.SubElement(container, f"{{{EDM}}}AssociationSet", {
            "Name": name, "Association": f"StandardODATA.{name}"})
        ET.SubElement(node, f"{{{EDM}}}End", {"Role": "Begin", "EntitySet": begin})
        ET.SubElement(node, f"{{{EDM}}}End", {"Role": "End", "EntitySet": end})
    for meta in objects:
        if meta.kind != DOCUMENT:
            continue
        for action in ("Post", "Unpost"):
            node = ET.SubElement(container, f"{{{EDM}}}FunctionImport", {
                "Name": action, "IsBindable": "true", "IsSideEffecting": "true"})
            ET.SubElement(node, f"{{{EDM}}}Parameter", {"Name": "bindingParameter", "Type": meta.type_name})
            ET.SubElement(node, f"{{{EDM}}}Parameter", {"Name": "PostingModeOperational", "Type": "Edm.Boolean"})
    return b'<?xml version="1.0" encoding="UTF-8"?>' + default_ns(ET.tostring(root, encoding="unicode"), EDM)
