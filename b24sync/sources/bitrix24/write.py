"""Writing to Bitrix24 in batches of 50, each failure attached to the record it belongs to.

A batch answers HTTP 200 even when every command failed, so each command's ``result_error`` is
turned into an outcome carrying the caller's record key: nothing is silently dropped. Commands
the portal refused *before executing* (the per-method operating-time limit) are sent again once
that method is unblocked; an ambiguous failure of the whole request raises
:class:`~.errors.InDoubt` naming every record of the batch, so the caller looks them up (by
``ORIGINATOR_ID``/``ORIGIN_ID``) instead of re-sending a create.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from b24sync.sources.bitrix24.client import MAX_BATCH, Bitrix24Client
from b24sync.sources.bitrix24.entities import EntitySpec, entity
from b24sync.sources.bitrix24.errors import Bitrix24Error, InDoubt, OperationTimeLimit
from b24sync.sources.bitrix24.read import export

MAX_ROUNDS = 5


@dataclass(frozen=True)
class WriteOp:
    """One write: ``key`` names the record in messages (e.g. ``"contact 42"``)."""

    key: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class WriteOutcome:
    """The portal's answer to one :class:`WriteOp`: a result, or the error for that record."""

    op: WriteOp
    result: Any = None
    error: Bitrix24Error | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def write_batch(client: Bitrix24Client, ops: Sequence[WriteOp],
                progress: Callable[[int], None] | None = None) -> list[WriteOutcome]:
    """Send the writes in batches of up to 50; return one outcome per op, in order."""
    outcomes: dict[int, WriteOutcome] = {}
    for start in range(0, len(ops), MAX_BATCH):
        chunk = list(enumerate(ops[start:start + MAX_BATCH], start=start))
        for _ in range(MAX_ROUNDS):
            retry = _send_chunk(client, chunk, outcomes)
            if not retry:
                break
            chunk = retry
        if progress:
            progress(min(MAX_BATCH, len(ops) - start))
    return [outcomes[index] for index in range(len(ops))]


def _send_chunk(client: Bitrix24Client, chunk: list[tuple[int, WriteOp]],
                outcomes: dict[int, WriteOutcome]) -> list[tuple[int, WriteOp]]:
    commands = {f"w{index}": (op.method, op.params) for index, op in chunk}
    try:
        batch = client.batch(commands)
    except InDoubt as exc:
        raise InDoubt(exc.method, exc.reason, [op.key for _, op in chunk]) from None
    retry: list[tuple[int, WriteOp]] = []
    for index, op in chunk:
        key = f"w{index}"
        error = batch.errors.get(key)
        if isinstance(error, OperationTimeLimit):
            client.gate.block(op.method)
            retry.append((index, op))
            outcomes[index] = WriteOutcome(op, error=_for_record(error, op))
        elif error is not None:
            outcomes[index] = WriteOutcome(op, error=_for_record(error, op))
        else:
            outcomes[index] = WriteOutcome(op, result=batch.result.get(key))
    return retry


def _for_record(error: Bitrix24Error, op: WriteOp) -> Bitrix24Error:
    return type(error)(error.code, error.description, status=error.status, method=op.method, record=op.key)


def find_by_origin(client: Bitrix24Client, entity_name: str | EntitySpec, originator_id: str,
                   origin_ids: Iterable[str]) -> dict[str, int]:
    """Map ``ORIGIN_ID`` → Bitrix24 ID for records this integration created earlier.

    This is the look-up that makes creates idempotent: after a crash or an ambiguous failure,
    a record whose ``ORIGIN_ID`` is already on the portal is linked, never created again.
    """
    spec = entity(entity_name)
    wanted = sorted(set(origin_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        filters = {"=ORIGINATOR_ID": originator_id, "@ORIGIN_ID": chunk}
        for page in export(client, spec, select=["ID", "ORIGIN_ID"], filters=filters):
            for row in page:
                found[str(row["ORIGIN_ID"])] = int(row["ID"])
    return found
