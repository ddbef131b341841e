"""Conversion of Bitrix24 values to Python types at the edge of the client.

IDs become ``int``, money ``Decimal`` (never float), ``"Y"``/``"N"`` ``bool``, ISO datetimes
with an offset aware ``datetime``, and a multifield that was selected but is absent becomes
``[]``. A value that cannot be converted raises an error naming the entity, the record and the
field, rather than passing a half-typed record downstream.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from b24sync import messages as m
from b24sync.errors import B24SyncError
from b24sync.i18n import t
from b24sync.sources.bitrix24.entities import MULTIFIELDS, EntitySpec


class FieldValueError(B24SyncError, ValueError):
    """A field value the portal sent could not be read as its type."""


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError("not a number") from None


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).upper()
    if text in ("Y", "1", "TRUE"):
        return True
    if text in ("N", "0", "FALSE"):
        return False
    raise ValueError("not Y/N")


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("datetime without a time-zone offset")
    return parsed


def _int_list(value: Any) -> list[int]:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        value = [value]
    return [int(item) for item in value]


def _multifield(value: Any) -> list[dict[str, Any]]:
    if not value:
        return []
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise TypeError("not a list of multifield values")
    for item in items:  # in place: the record is the answer's own, converted once
        if not isinstance(item, dict):
            raise TypeError("not a multifield value")
        if "ID" in item:
            item["ID"] = int(item["ID"])
    return items


def record_converter(spec: EntitySpec, multifields: frozenset[str] = frozenset(),
                     selected: frozenset[str] | None = None):
    """Build a function that converts one raw record of ``spec`` in place and returns it.

    ``selected``: the fields the read asked for (``None``: any); the typed fields not among them are
    left out of the per-record work — a read of five fields should not test thirty on every record.
    """
    plan: list[tuple[str, Any]] = []
    plan += [(name, _int) for name in spec.types.ints]
    plan += [(name, _int_list) for name in spec.types.int_lists]
    plan += [(name, _money) for name in spec.types.money]
    plan += [(name, _bool) for name in spec.types.bools]
    plan += [(name, _datetime) for name in spec.types.datetimes]
    if selected is not None:
        plan = [(name, fn) for name, fn in plan if name in selected]
    wanted_multi = tuple(sorted(multifields & MULTIFIELDS))
    id_field = spec.id_field

    def convert(record: dict[str, Any]) -> dict[str, Any]:
        for name, fn in plan:
            if name in record:
                try:
                    record[name] = fn(record[name])
                except (TypeError, ValueError) as exc:
                    raise FieldValueError(
                        t(m.B24_FIELD_VALUE, entity=spec.name, record=record.get(id_field, "?"), field=name,
                          value=record[name], reason=exc)
                    ) from None
        for name in wanted_multi:
            try:
                record[name] = _multifield(record.get(name))
            except (TypeError, ValueError, KeyError) as exc:
                raise FieldValueError(
                    t(m.B24_FIELD_VALUE, entity=spec.name, record=record.get(id_field, "?"), field=name,
                      value=record.get(name), reason=exc)
                ) from None
        return record

    return convert
