"""``crm.duplicate.findbycomm``: which leads/contacts/companies carry a phone or e-mail.

Phones are compared by their digits with the Russian trunk prefix folded (``8 916…`` = ``+7 916…``),
e-mails case-insensitively — a coarse stand-in for the portal's normalised communication index.
Up to 20 values; an entity type's IDs stop at 20 matches, as documented.
"""

from __future__ import annotations

import re
from typing import Any

from ..api import CallContext, MethodRegistry, MethodResult, RestError
from .store import Store
from .values import as_list, param

_TYPES = {"LEAD": "lead", "CONTACT": "contact", "COMPANY": "company"}


def phone_key(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    return digits


def register(registry: MethodRegistry, store: Store) -> None:
    @registry.register("crm.duplicate.findbycomm")
    def find_by_comm(params: dict[str, Any], ctx: CallContext) -> MethodResult:
        comm_type = str(param(params, "type", "TYPE", default="") or "").upper()
        if not comm_type:
            raise RestError("Communication type is not defined", "Parameter 'type' is required.")
        if comm_type not in ("PHONE", "EMAIL"):
            raise RestError("", f"Communication type '{comm_type}' is not supported in current context")
        values = [str(v) for v in as_list(param(params, "values", "VALUES")) if str(v).strip()]
        if not values:
            raise RestError("", "Communication values is not defined")
        values = values[:20]
        norm = phone_key if comm_type == "PHONE" else str.casefold
        wanted = {norm(v) for v in values}
        requested = str(param(params, "entity_type", "ENTITY_TYPE", default="") or "").upper()
        kinds = [requested] if requested in _TYPES else list(_TYPES)
        result: dict[str, list[int]] = {}
        for kind in kinds:
            found: list[int] = []
            table = store.table(_TYPES[kind])
            for record_id in table.ids:
                values_here = table.rows[record_id].get(comm_type)
                if values_here and any(norm(v[2]) in wanted for v in values_here):
                    found.append(record_id)
                    if len(found) >= 20:
                        break
            if found:
                result[kind] = found
        return MethodResult(result or [])
