"""Old UPPER_CASE field names ↔ the camelCase names of ``crm.item.*``.

The same store serves both method generations, so this is the only translation layer: most names
follow the mechanical rule (``ASSIGNED_BY_ID`` → ``assignedById``), a handful were renamed by the
new API (``DATE_MODIFY`` → ``updatedTime``, lead ``STATUS_ID`` → ``stageId``…).
"""

from __future__ import annotations

from .records import Entity
from .schema import MULTIFIELDS
from .store import Store
from .uf_values import camel_names

_RENAMED = {
    "DATE_CREATE": "createdTime", "DATE_MODIFY": "updatedTime", "CREATED_BY_ID": "createdBy",
    "MODIFY_BY_ID": "updatedBy", "MOVED_BY_ID": "movedBy", "LAST_ACTIVITY_BY": "lastActivityBy",
    "STATUS_ID": "stageId", "STATUS_SEMANTIC_ID": "stageSemanticId", "PARENT_ID_2": "parentId2",
    "COMPANY_TYPE": "typeId",
}
_LINKS = {("contact", "COMPANY_IDS"): "companyIds", ("company", "CONTACT_ID"): "contactIds"}


def camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(p.capitalize() for p in rest)


def standard_map(entity: Entity) -> dict[str, str]:
    """UPPER → camel for the standard (non-multifield) fields of ``entity``."""
    out: dict[str, str] = {}
    for name in entity.fields:
        if name in MULTIFIELDS:
            continue
        out[name] = _LINKS.get((entity.key, name)) or _RENAMED.get(name) or camel(name)
    return out


def uf_map(store: Store, entity: Entity, original: bool) -> dict[str, str]:
    """UPPER → name used in requests/answers for user fields (``useOriginalUfNames``)."""
    ufs = store.ufs(entity.uf_entity)
    if original:
        return {name: name for name in ufs}
    return camel_names(ufs, set(standard_map(entity).values()))
