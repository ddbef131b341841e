"""The base's ``$metadata`` read into a type index, so the client types values and checks keys.

1C silently drops unknown properties on writes and sends Int64 as strings on reads; configurations
differ (UT 11.4 vs 11.5, BP, custom fields), so the client is driven by what *this* base declares
rather than by a hard-coded model.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
NAMESPACE = "StandardODATA."


@dataclass(frozen=True)
class EntityTypeInfo:
    """Properties of one entity type: EDM type by name, and its tabular parts' row types."""

    name: str
    properties: dict[str, str] = field(default_factory=dict)
    tabular: dict[str, dict[str, str]] = field(default_factory=dict)

    def allows(self, name: str) -> bool:
        base = name.split("@", 1)[0]
        return base in self.properties or base in self.tabular


@dataclass(frozen=True)
class Metadata:
    """Entity set name → :class:`EntityTypeInfo`."""

    sets: dict[str, EntityTypeInfo]

    def __contains__(self, entity_set: str) -> bool:
        return entity_set in self.sets

    def entity(self, entity_set: str) -> EntityTypeInfo | None:
        return self.sets.get(entity_set)


def _props(element: ET.Element) -> dict[str, str]:
    return {p.get("Name", ""): p.get("Type", "") for p in element.findall(f"{EDM}Property")}


def parse_metadata(xml_text: str | bytes) -> Metadata:
    """Parse an EDMX v1.0 / OData v3 document as 1C publishes it."""
    root = ET.fromstring(xml_text)
    types: dict[str, dict[str, str]] = {}
    complex_types: dict[str, dict[str, str]] = {}
    container: dict[str, str] = {}
    for schema in root.iter(f"{EDM}Schema"):
        for entity_type in schema.findall(f"{EDM}EntityType"):
            types[entity_type.get("Name", "")] = _props(entity_type)
        for complex_type in schema.findall(f"{EDM}ComplexType"):
            complex_types[complex_type.get("Name", "")] = _props(complex_type)
        for entity_set in schema.iter(f"{EDM}EntitySet"):
            container[entity_set.get("Name", "")] = entity_set.get("EntityType", "").removeprefix(NAMESPACE)
    sets: dict[str, EntityTypeInfo] = {}
    for set_name, type_name in container.items():
        props = types.get(type_name, {})
        scalar, tabular = {}, {}
        for name, edm in props.items():
            if edm.startswith("Collection("):
                row_type = edm[len("Collection("):-1].removeprefix(NAMESPACE)
                tabular[name] = complex_types.get(row_type, {})
            else:
                scalar[name] = edm
        sets[set_name] = EntityTypeInfo(type_name, scalar, tabular)
    return Metadata(sets)
