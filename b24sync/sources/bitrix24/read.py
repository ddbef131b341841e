"""Reading whole entities from Bitrix24 at the API's floor cost.

A full export walks the keyset the way the portal's documentation recommends for big data:
``order {ID: ASC}``, ``filter {">ID": last}``, ``start = -1`` (no COUNT query). Fifty such list
commands are chained inside one ``batch`` request, each taking its ``>ID`` from the previous
command's 50th row (``$result[c3][49][ID]``). The first batch also reads the table's last page
(``order {ID: DESC}``): the walk then stops below it, and each later batch holds only as many
commands as the remaining ID range can fill — so N records cost ceil(N / 2,500) requests, with no
request to find the end and no command past it. A page that comes back short also ends the export,
and any command after it (whose reference could not resolve) is discarded.

Entities without an ID (addresses) are read by offset in a stable order instead. Incremental
reads filter ``>=DATE_MODIFY`` from the watermark minus an overlap and de-duplicate by ID, so a
change made during the previous run is never missed. The watermark itself is the portal's own
clock when a read began (:func:`portal_now`), never this machine's clock, which may be skewed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from b24sync.sources.bitrix24.client import MAX_BATCH, Bitrix24Client
from b24sync.sources.bitrix24.entities import MULTIFIELDS, EntitySpec, entity
from b24sync.sources.bitrix24.errors import OperationTimeLimit
from b24sync.sources.bitrix24.types import record_converter

log = logging.getLogger("b24sync.bitrix24")

PAGE = 50
Progress = Callable[[int], None]


def _list_params(spec: EntitySpec, select: Sequence[str], filters: Mapping[str, Any], after: Any) -> dict[str, Any]:
    params: dict[str, Any] = spec.base_params()
    id_field = spec.id_field
    flt = dict(filters)
    flt[f">{id_field}"] = after
    if spec.name == "user":
        params.update({"sort": id_field, "order": "ASC", "FILTER": flt, "start": -1})
        return params  # user.get has no select: it always answers the whole user
    params.update({"order": {id_field: "ASC"}, "filter": flt, "select": list(select), "start": -1})
    return params


def _tail_params(spec: EntitySpec, select: Sequence[str], filters: Mapping[str, Any]) -> dict[str, Any]:
    """The last page of the table (highest IDs first), with the same filter and fields as the walk."""
    params: dict[str, Any] = spec.base_params()
    if spec.name == "user":
        params.update({"sort": spec.id_field, "order": "DESC", "FILTER": dict(filters), "start": -1})
        return params
    params.update({"order": {spec.id_field: "DESC"}, "filter": dict(filters), "select": list(select), "start": -1})
    return params


def _items(spec: EntitySpec, result: Any) -> list[dict[str, Any]]:
    if spec.style == "item":
        result = (result or {}).get("items", []) if isinstance(result, dict) else result
    if isinstance(result, dict):  # a PHP array with numeric keys may come as an object
        result = list(result.values())
    return list(result or [])


def _with_id(spec: EntitySpec, select: Sequence[str] | None) -> list[str]:
    if not select:
        return ["*", "UF_*"] if spec.style == "old" else ["*"]
    fields = list(dict.fromkeys(select))
    if spec.id_field and spec.id_field not in fields and "*" not in fields:
        fields.insert(0, spec.id_field)
    return fields


def export(
    client: Bitrix24Client,
    entity_name: str | EntitySpec,
    *,
    select: Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    commands_per_batch: int = MAX_BATCH,
) -> Iterator[list[dict[str, Any]]]:
    """Yield every matching record, a page at a time, converted to Python types.

    ``select`` names the fields to read; multifields (``PHONE``, ``EMAIL``…) are read only when
    named, as the portal returns them only then. ``progress`` is called with each page's size.
    """
    spec = entity(entity_name)
    fields = _with_id(spec, select)
    convert = record_converter(spec, frozenset(fields) & MULTIFIELDS,
                               None if any("*" in name for name in fields) else frozenset(fields))
    if not spec.keyset:
        yield from _export_by_offset(client, spec, fields, dict(filters or {}), convert, progress, commands_per_batch)
        return
    yield from _export_by_keyset(client, spec, fields, dict(filters or {}), convert, progress, commands_per_batch)


class _Prefetch:
    """One ``batch`` sent from a thread of its own while the caller converts the previous answer."""

    def __init__(self, client: Bitrix24Client, commands: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self._outcome: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._send, args=(client, commands), daemon=True,
                                        name="b24sync-read-ahead")
        self._thread.start()

    def _send(self, client: Bitrix24Client, commands: dict[str, tuple[str, dict[str, Any]]]) -> None:
        try:
            self._outcome["batch"] = client.batch(commands)
        except BaseException as exc:  # raised in the caller's thread by result()
            self._outcome["error"] = exc

    def result(self) -> Any:
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["batch"]


def _export_by_keyset(client: Bitrix24Client, spec: EntitySpec, fields: list[str], filters: dict[str, Any],
                      convert: Callable[[dict[str, Any]], dict[str, Any]], progress: Progress | None,
                      commands_per_batch: int) -> Iterator[list[dict[str, Any]]]:
    """Ascending keyset pages, with the table's last page read first (``tail``) by the first batch.

    The tail (``order ID DESC``, one command) tells where the walk ends: the later batches ask only
    for the IDs below it (``<ID``) and send no more commands than that range can fill, so no request
    is spent learning that the table has ended and no command runs past its end. Records added
    after the read began (above the tail) are left for the next run, whose watermark covers them.
    The next batch is sent as soon as an answer's last ID is known, and travels while the answer's
    records are converted and handed on (the portal's time and ours overlap).
    """
    id_field = spec.id_field
    ref = "[items][49][id]" if spec.style == "item" else f"[49][{id_field}]"
    tail: list[dict[str, Any]] | None = None
    end: int | None = None  # the lowest ID of the tail: the keyset walk stops below it
    last: Any = 0

    def next_request() -> tuple[int, dict[str, tuple[str, dict[str, Any]]]] | None:
        if end is None:
            count = commands_per_batch - 1
        else:
            count = min(commands_per_batch, -(-(end - 1 - int(last)) // PAGE))
            if count <= 0:
                return None
        after = [last] + [f"$result[c{i}]{ref}" for i in range(count - 1)]
        below = {} if end is None else {f"<{id_field}": end}
        # the tail goes first: a method close to its operating-time limit runs the first commands only
        commands = {"tail": (spec.list, _tail_params(spec, fields, filters))} if tail is None else {}
        commands.update({f"c{i}": (spec.list, _list_params(spec, fields, {**filters, **below}, after[i]))
                         for i in range(count)})
        return count, commands

    planned = next_request()
    batch = client.batch(planned[1]) if planned else None
    while planned is not None:
        count = planned[0]
        if tail is None:
            error = batch.errors.get("tail")
            if isinstance(error, OperationTimeLimit):
                client.gate.block(spec.list)  # asked again with the next batch, after the reset
                batch = client.batch(planned[1])
                continue
            if error is not None:
                raise error
            tail = sorted(_items(spec, batch.result.get("tail")), key=lambda row: int(row[id_field]))
            end = int(tail[0][id_field]) if tail else 0
        pages: list[list[dict[str, Any]]] = []
        done = False
        for i in range(count):
            key = f"c{i}"
            if key in batch.errors:
                error = batch.errors[key]
                if isinstance(error, OperationTimeLimit):
                    client.gate.block(spec.list)  # resume from `last` once the method is unblocked
                    break
                raise error
            page = _items(spec, batch.result.get(key))
            ids = [int(row[id_field]) for row in page]
            if ids and (ids[0] <= int(last) or ids != sorted(ids)):
                done = True  # an unresolved reference after a short page: not real data
                break
            short = len(page) < PAGE
            if ids and ids[-1] >= end:  # the first batch's walk reached the tail
                page = [row for row, i in zip(page, ids, strict=True) if i < end]
                ids = ids[:len(page)]
                short = True
            if page:
                pages.append(page)
                last = ids[-1]
            if short:
                done = True
                break
        planned = None if done else next_request()
        ahead = _Prefetch(client, planned[1]) if planned else None
        for page in pages:
            yield [convert(row) for row in page]
            if progress:
                progress(len(page))
        if ahead is not None:
            batch = ahead.result()
    if tail:
        yield [convert(row) for row in tail]
        if progress:
            progress(len(tail))


def _export_by_offset(client: Bitrix24Client, spec: EntitySpec, fields: list[str], filters: dict[str, Any],
                      convert: Callable[[dict[str, Any]], dict[str, Any]], progress: Progress | None,
                      commands_per_batch: int) -> Iterator[list[dict[str, Any]]]:
    order = {"ENTITY_TYPE_ID": "ASC", "ENTITY_ID": "ASC", "TYPE_ID": "ASC"} if spec.name == "address" else {"ID": "ASC"}
    base = {**spec.base_params(), "order": order, "filter": filters, "select": fields}
    first = client.call_envelope(spec.list, {**base, "start": 0})
    page = _items(spec, first.result)
    if page:
        yield [convert(row) for row in page]
        if progress:
            progress(len(page))
    total = first.total or 0
    starts = list(range(PAGE, total, PAGE))
    while starts:
        chunk, starts = starts[:commands_per_batch], starts[commands_per_batch:]
        commands = {f"s{start}": (spec.list, {**base, "start": start}) for start in chunk}
        batch = client.batch(commands)
        for index, key in enumerate(commands):
            if key in batch.errors:
                if isinstance(batch.errors[key], OperationTimeLimit):
                    # every page here is counted: a big offset read can spend the method's operating
                    # time; the pages from this one on are read again once the method is unblocked
                    client.gate.block(spec.list)
                    starts = chunk[index:] + starts
                    break
                raise batch.errors[key]
            page = _items(spec, batch.result.get(key))
            if page:
                yield [convert(row) for row in page]
                if progress:
                    progress(len(page))


def export_all(client: Bitrix24Client, entity_name: str | EntitySpec, **kwargs: Any) -> list[dict[str, Any]]:
    """Every matching record as one list (see :func:`export`)."""
    return [row for page in export(client, entity_name, **kwargs) for row in page]


def export_frame(client: Bitrix24Client, entity_name: str | EntitySpec, **kwargs: Any) -> pd.DataFrame:
    """Every matching record as a DataFrame, one column per selected field."""
    return pd.DataFrame.from_records(export_all(client, entity_name, **kwargs))


def portal_now(client: Bitrix24Client) -> datetime:
    """The portal's clock now (``server.time``), aware, with the portal's offset of the moment.

    Taken *before* a read, it is the next watermark: every change the read may have missed (made
    while it ran, to records already read) is stamped at or after it by the same clock.
    """
    value = client.call("server.time")
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"server.time without a time-zone offset: {value!r}")
    return moment


def modified_since(
    client: Bitrix24Client,
    entity_name: str | EntitySpec,
    watermark: datetime,
    *,
    overlap: timedelta = timedelta(minutes=5),
    select: Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Records changed at or after ``watermark - overlap``, each once.

    ``DATE_MODIFY`` has one-second resolution and a change can commit while the previous run is
    reading, hence ``>=`` and the overlap; the overlap's re-reads are dropped by ID here. The
    window is walked by ID (keyset), never by offset over the moving ``DATE_MODIFY`` order.
    """
    spec = entity(entity_name)
    if watermark.tzinfo is None:
        raise ValueError("watermark must be an aware datetime")
    # subtract in UTC: wall-clock arithmetic in a zone with summer time (a ZoneInfo watermark) would
    # land an hour off across the switch; the filter keeps the watermark's offset of that moment
    since = (watermark.astimezone(UTC) - overlap).astimezone(watermark.tzinfo).replace(microsecond=0)
    flt = {**(filters or {}), f">={spec.modified_field}": since.isoformat()}
    seen: dict[int, dict[str, Any]] = {}
    for page in export(client, spec, select=select, filters=flt, progress=progress):
        for row in page:
            seen[int(row[spec.id_field])] = row
    return list(seen.values())
