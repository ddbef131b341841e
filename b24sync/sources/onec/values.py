"""1C values to Python and back, driven by the EDM types of ``$metadata``.

Reads: Int64 strings become ``int``, Double ``Decimal`` (money must not travel as float), the
naive server-local datetime an aware one in the base's zone (as that moment's fixed offset), and
the sentinels (zero GUID, ``0001-01-01T00:00:00``) ``None``. Writes do the reverse, so a cleared
reference is sent as the zero GUID and an aware datetime as the base's wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from b24sync import messages as m
from b24sync.errors import B24SyncError
from b24sync.i18n import t
from b24sync.sources.onec.literals import EMPTY_DATE, EMPTY_GUID, naive_local
from b24sync.sources.onec.metadata import EntityTypeInfo

INTS = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"})
NUMBERS = frozenset({"Edm.Double", "Edm.Decimal", "Edm.Single"})


class OneCValueError(B24SyncError, ValueError):
    """A value the base sent could not be read as its declared type."""


def _reader(edm: str, tz: tzinfo | None) -> Callable[[Any], Any] | None:
    if edm in INTS:
        return lambda v: None if v in (None, "") else int(v)
    if edm in NUMBERS:
        return lambda v: None if v in (None, "") else Decimal(repr(v) if isinstance(v, float) else str(v))
    if edm == "Edm.Guid":
        return lambda v: None if v in (None, "", EMPTY_GUID) else str(v).lower()
    if edm == "Edm.DateTime":
        def read_dt(v: Any) -> datetime | None:
            if v in (None, "", EMPTY_DATE):
                return None
            parsed = datetime.fromisoformat(str(v))
            if tz is None or parsed.tzinfo is not None:
                return parsed
            # the zone's offset of that wall clock (the first one, in an hour the zone repeats) as a
            # fixed offset: in a named zone's repeated hour a datetime compares unequal to any datetime
            # of another zone, even the same instant (PEP 495); with a fixed offset it does not
            local = parsed.replace(tzinfo=tz)
            return local.astimezone(timezone(local.utcoffset() or timedelta(0)))
        return read_dt
    return None


def record_reader(info: EntityTypeInfo | None, tz: tzinfo | None,
                  entity_set: str = "") -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A function typing one entity (and its tabular parts); converters are built once per type."""
    readers = {name: r for name, edm in (info.properties.items() if info else ()) if (r := _reader(edm, tz))}
    tables = {name: record_reader(EntityTypeInfo(name, columns), tz, entity_set)
              for name, columns in (info.tabular.items() if info else ())}

    plans: dict[tuple[str, ...], list[tuple[str, Any, bool]]] = {}

    def plan_for(keys: tuple[str, ...]) -> list[tuple[str, Any, bool]]:
        """What to do with each key of an entity with these keys: skipped annotations dropped, the
        reader or tabular part looked up once — the entities of one answer share their keys."""
        plan = [(key, tables.get(key) or readers.get(key), key in tables) for key in keys
                if "@" not in key and not key.startswith("odata.")]
        if len(plans) < 64:
            plans[keys] = plan
        return plan

    def read(raw: Mapping[str, Any]) -> dict[str, Any]:
        keys = tuple(raw)
        out: dict[str, Any] = {}
        for key, fn, tabular in plans.get(keys) or plan_for(keys):
            value = raw[key]
            if fn is None:
                out[key] = value
                continue
            try:
                if tabular:
                    out[key] = [fn(row) for row in value] if isinstance(value, list) else value
                else:
                    out[key] = fn(value)
            except (TypeError, ValueError) as exc:
                raise OneCValueError(t(m.ONEC_FIELD_VALUE, entity_set=entity_set, record=raw.get("Ref_Key", "?"),
                                       field=key, value=value, reason=exc)) from None
        return out

    return read


def read_record(info: EntityTypeInfo | None, raw: Mapping[str, Any], tz: tzinfo | None,
                entity_set: str = "") -> dict[str, Any]:
    """Type one entity (and its tabular parts); drops ``odata.*`` and ``@`` annotations."""
    return record_reader(info, tz, entity_set)(raw)


def write_value(value: Any, edm: str | None, tz: tzinfo | None) -> Any:
    """One Python value in the wire shape 1C expects for its EDM type."""
    if edm == "Edm.Guid":
        return EMPTY_GUID if value is None else str(value)
    if edm == "Edm.DateTime":
        if value is None:
            return EMPTY_DATE
        if isinstance(value, datetime):
            return naive_local(value, tz).strftime("%Y-%m-%dT%H:%M:%S")
        if isinstance(value, date):
            return value.strftime("%Y-%m-%dT00:00:00")
    if isinstance(value, Decimal):
        return float(value) if edm in NUMBERS else str(value)
    if isinstance(value, datetime):
        return naive_local(value, tz).strftime("%Y-%m-%dT%H:%M:%S")
    return value


def write_record(info: EntityTypeInfo | None, values: Mapping[str, Any], tz: tzinfo | None) -> dict[str, Any]:
    """A payload in wire shape; tabular parts are converted row by row, LineNumber renumbered."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if info is not None and key in info.tabular and isinstance(value, list):
            row_info = EntityTypeInfo(key, info.tabular[key])
            rows = []
            for number, row in enumerate(value, start=1):
                converted = write_record(row_info, row, tz)
                converted["LineNumber"] = str(number)
                rows.append(converted)
            out[key] = rows
        else:
            out[key] = write_value(value, info.properties.get(key) if info else None, tz)
    return out
