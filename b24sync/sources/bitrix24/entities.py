"""What the client knows about each Bitrix24 entity: methods, keys, paging style, field types.

Old-style methods (``crm.contact.list`` …) answer upper-case fields with IDs and money as
strings and ``"Y"``/``"N"`` flags; ``crm.item.*`` answers camelCase with native JSON types. The
field-type tables here drive the conversion at the edge (``types.py``), so the rest of b24sync
sees ints, Decimals, bools and aware datetimes whatever the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from b24sync import messages as m
from b24sync.i18n import t

MULTIFIELDS = frozenset({"PHONE", "EMAIL", "WEB", "IM", "LINK"})

_COMMON_INT = frozenset({"ID", "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "LAST_ACTIVITY_BY"})
_COMMON_DT = frozenset({"DATE_CREATE", "DATE_MODIFY", "LAST_ACTIVITY_TIME"})
_COMMON_BOOL = frozenset({"OPENED", "HAS_PHONE", "HAS_EMAIL", "HAS_IMOL"})


@dataclass(frozen=True)
class FieldTypes:
    """Names of fields by the type they are converted to."""

    ints: frozenset[str] = frozenset()
    int_lists: frozenset[str] = frozenset()
    money: frozenset[str] = frozenset()
    bools: frozenset[str] = frozenset()
    datetimes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EntitySpec:
    """One Bitrix24 entity as the client reads and writes it.

    ``style`` is ``"old"`` (crm.contact.list: ``result`` is a list, ``ID``) or ``"item"``
    (crm.item.list: ``result.items``, ``id``). ``keyset`` says whether a full export can walk
    ``>ID`` ordered by ID (everything but addresses, which have no ID and refuse ``order``).
    """

    name: str
    prefix: str  # crm.contact, crm.item, user, crm.address …
    style: str = "old"
    id_field: str = "ID"
    modified_field: str | None = "DATE_MODIFY"
    entity_type_id: int | None = None
    keyset: bool = True
    list_method: str | None = None
    types: FieldTypes = field(default_factory=FieldTypes)

    @property
    def list(self) -> str:
        return self.list_method or f"{self.prefix}.list"

    def method(self, action: str) -> str:
        return f"{self.prefix}.{action}"

    def base_params(self) -> dict[str, object]:
        return {"entityTypeId": self.entity_type_id} if self.entity_type_id is not None else {}


def _old(name: str, *, ints: set[str] = frozenset(), money: set[str] = frozenset(), bools: set[str] = frozenset(),
         datetimes: set[str] = frozenset(), int_lists: set[str] = frozenset(), **kwargs: object) -> EntitySpec:
    types = FieldTypes(
        ints=_COMMON_INT | frozenset(ints),
        int_lists=frozenset(int_lists),
        money=frozenset(money),
        bools=_COMMON_BOOL | frozenset(bools),
        datetimes=_COMMON_DT | frozenset(datetimes),
    )
    return EntitySpec(name=name, prefix=kwargs.pop("prefix", f"crm.{name}"), types=types, **kwargs)  # type: ignore[arg-type]


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        _old("contact", ints={"COMPANY_ID", "LEAD_ID"}, int_lists={"COMPANY_IDS"}, bools={"EXPORT"},
             datetimes={"BIRTHDATE"}),
        _old("company", ints={"LEAD_ID"}, money={"REVENUE"}, bools={"IS_MY_COMPANY"}, int_lists={"CONTACT_ID"}),
        _old("deal", ints={"CATEGORY_ID", "COMPANY_ID", "CONTACT_ID", "LEAD_ID", "QUOTE_ID", "PROBABILITY",
                           "MOVED_BY_ID"},
             int_lists={"CONTACT_IDS"}, money={"OPPORTUNITY", "TAX_VALUE"},
             bools={"CLOSED", "IS_NEW", "IS_RECURRING", "IS_RETURN_CUSTOMER", "IS_REPEATED_APPROACH",
                    "IS_MANUAL_OPPORTUNITY"},
             datetimes={"BEGINDATE", "CLOSEDATE", "MOVED_TIME"}),
        _old("lead", ints={"COMPANY_ID", "CONTACT_ID", "MOVED_BY_ID"}, int_lists={"CONTACT_IDS"},
             money={"OPPORTUNITY"}, bools={"IS_RETURN_CUSTOMER", "IS_MANUAL_OPPORTUNITY"},
             datetimes={"DATE_CLOSED", "BIRTHDATE", "MOVED_TIME"}),
        _old("invoice_legacy", prefix="crm.invoice", ints={"UF_DEAL_ID", "UF_COMPANY_ID", "UF_CONTACT_ID",
                                                            "PERSON_TYPE_ID", "PAY_SYSTEM_ID", "RESPONSIBLE_ID"},
             money={"PRICE", "TAX_VALUE"}, bools={"PAYED"}, datetimes={"DATE_INSERT", "DATE_BILL", "DATE_PAY_BEFORE"},
             modified_field="DATE_UPDATE"),
        _old("requisite", ints={"ENTITY_TYPE_ID", "ENTITY_ID", "PRESET_ID", "SORT"}, bools={"ACTIVE", "ADDRESS_ONLY"}),
        _old("address", ints={"TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ANCHOR_TYPE_ID", "ANCHOR_ID", "LOC_ADDR_ID"},
             id_field="", modified_field=None, keyset=False),
        _old("product", ints={"SECTION_ID", "CATALOG_ID", "SORT", "VAT_ID", "MEASURE"}, money={"PRICE"},
             bools={"ACTIVE", "VAT_INCLUDED"}, datetimes={"TIMESTAMP_X"}, modified_field=None),
        _old("status", ints={"SORT"}, bools={"SYSTEM"}, modified_field=None, keyset=False),
        _old("user", prefix="user", list_method="user.get", ints={"PERSONAL_GENDER_ID"}, int_lists={"UF_DEPARTMENT"},
             bools={"ACTIVE", "IS_ONLINE"}, datetimes={"LAST_LOGIN", "DATE_REGISTER"}, modified_field=None),
        EntitySpec(
            name="smart_invoice", prefix="crm.item", style="item", id_field="id", modified_field="updatedTime",
            entity_type_id=31,
            types=FieldTypes(
                money=frozenset({"opportunity", "taxValue"}),
                datetimes=frozenset({"createdTime", "updatedTime", "movedTime", "begindate", "closedate",
                                     "lastActivityTime"}),
            ),
        ),
    )
}


def entity(name: str | EntitySpec) -> EntitySpec:
    """Look an entity up by name; an unknown name is a clear error listing the known ones."""
    if isinstance(name, EntitySpec):
        return name
    try:
        return ENTITIES[name]
    except KeyError:
        raise ValueError(t(m.B24_UNKNOWN_ENTITY, entity=name, known=", ".join(sorted(ENTITIES)))) from None
