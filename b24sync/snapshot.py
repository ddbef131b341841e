"""Snapshots: both systems' records written to files, as read and as normalized parties.

:func:`take_snapshot` reads one side or both (every entity, or one and what it needs), in full or
— by default — only what changed since the state's Bitrix24 watermark and known 1C DataVersions,
with the very reads reconciliation makes (:mod:`b24sync.extract`). It normalizes the parties into
the canonical frame (:mod:`b24sync.recon.normalize`) and writes every frame as UTF-8 CSV, and as
Parquet too when ``pyarrow`` is importable, then ``manifest.json`` last (a directory without one
holds an unfinished snapshot).

The state is opened read-only: a snapshot moves no watermark, records no run and takes no lock,
and it writes nothing to either system, so it may run beside a reconciliation. The files hold
personal data: each is created owner-only (0600), the directory 0700 when it is created here.

In CSV a missing value is an empty field; lists and objects (phones, e-mails, 1C contact
information, the canonical sets) are JSON; times are ISO 8601 with their offset. Parquet keeps
the column types and holds the same JSON text in the same columns, so both files read alike.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from urllib.request import pathname2url

import pandas as pd

from b24sync import __version__
from b24sync import messages as m
from b24sync.config import Config
from b24sync.errors import B24SyncError
from b24sync.exitcodes import ExitCode
from b24sync.extract import (
    ADDRESS_FIELDS,
    COMPANY_FIELDS,
    CONTACT_FIELDS,
    COUNTERPARTIES,
    REQUISITE_FIELDS,
    OneCSnapshot,
    extract_bitrix24,
    extract_onec,
)
from b24sync.i18n import t
from b24sync.pipeline import WATERMARK
from b24sync.recon.normalize import normalize_bitrix24, normalize_onec
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.sources.onec.client import OneCClient

__all__ = [
    "ENTITIES",
    "FORMAT_VERSION",
    "SIDES",
    "FrameFile",
    "SideRead",
    "SnapshotError",
    "SnapshotReport",
    "SnapshotUsageError",
    "parquet_available",
    "resolve_scope",
    "take_snapshot",
]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
B24, ONEC = "bitrix24", "onec"
SIDES = (B24, ONEC)
#: Entities per side, as ``--entity`` names them.
ENTITIES: dict[str, tuple[str, ...]] = {
    B24: ("companies", "contacts", "requisites", "addresses", "users"),
    ONEC: ("counterparties",),
}
PARTIES = "parties"  # the canonical frame of a side
RAW, CANONICAL = "raw", "canonical"
# what each Bitrix24 entity needs read beside it to be normalized (companies: requisites, legal
# addresses and the users whose e-mail is the manager; contacts: the users)
_B24_NEEDS = {
    "companies": ("companies", "requisites", "addresses", "users"),
    "contacts": ("contacts", "users"),
    "requisites": ("requisites",),
    "addresses": ("addresses",),
    "users": ("users",),
}
# a full read of one Bitrix24 entity: the entity, its select and filter, exactly as extract_bitrix24 reads it
_B24_FULL: dict[str, tuple[str, list[str] | None, dict[str, Any] | None]] = {
    "companies": ("company", COMPANY_FIELDS, None),
    "contacts": ("contact", CONTACT_FIELDS, None),
    "requisites": ("requisite", REQUISITE_FIELDS, None),
    "addresses": ("address", ADDRESS_FIELDS, {"ENTITY_TYPE_ID": 8}),
    "users": ("user", None, None),
}
_B24_COLUMNS = {"companies": COMPANY_FIELDS, "contacts": CONTACT_FIELDS, "requisites": REQUISITE_FIELDS,
                "addresses": ADDRESS_FIELDS, "users": ["ID", "EMAIL"]}
Progress = Callable[[str], Callable[[int], None] | None]


class SnapshotError(B24SyncError):
    """The snapshot cannot be written where asked (files in the way, directory unusable, no pyarrow)."""


class SnapshotUsageError(SnapshotError):
    """An unknown side or entity, or an entity the side does not have."""

    exit_code = ExitCode.USAGE


@dataclass
class FrameFile:
    """One frame written: its side, entity (``parties`` for the canonical frame), rows and files."""

    side: str
    entity: str
    kind: str  # "raw" (as read) or "canonical" (normalized parties)
    rows: int
    columns: list[str]
    files: dict[str, Path] = field(default_factory=dict)  # format ("csv", "parquet") → path


@dataclass
class SideRead:
    """How one side was read."""

    side: str
    mode: str  # "full" or "incremental"
    reason: str  # why: "requested", "incremental", "no_watermark", "no_known_versions"
    entities: tuple[str, ...]
    requests: int = 0
    seconds: float = 0.0
    watermark: str | None = None  # Bitrix24: the state's watermark the read started from
    since: str | None = None  # Bitrix24: the watermark less the overlap, as sent in the filter
    known_versions: int | None = None  # 1C: DataVersions the state knows
    changed: int | None = None  # 1C: counterparties new or changed since them
    gone: int | None = None  # 1C: known counterparties no longer in the base
    issues: int = 0  # unusable values met while normalizing (as reconciliation reports them)


@dataclass
class SnapshotReport:
    """What :func:`take_snapshot` read and wrote."""

    out: Path
    manifest: Path
    frames: list[FrameFile]
    reads: dict[str, SideRead]
    seconds: float
    parquet: bool
    side: str | None = None
    entity: str | None = None
    full: bool = False

    @property
    def requests(self) -> int:
        return sum(read.requests for read in self.reads.values())

    @property
    def rows(self) -> int:
        return sum(frame.rows for frame in self.frames if frame.kind == RAW)


def parquet_available() -> bool:
    """Whether Parquet files can be written (``pyarrow`` is importable: ``pip install 'b24sync[parquet]'``)."""
    return importlib.util.find_spec("pyarrow") is not None


def resolve_scope(side: str | None = None, entity: str | None = None) -> dict[str, tuple[str, ...]]:
    """Side → the entities to read: every entity of both sides by default; an entity implies its side.

    Raises :class:`SnapshotUsageError` for an unknown side or entity, or an entity the side lacks.
    """
    if side is not None and side not in ENTITIES:
        raise SnapshotUsageError(t(m.SNAPSHOT_BAD_SIDE, side=side, known=", ".join(SIDES)))
    if entity is None:
        return {s: ENTITIES[s] for s in ([side] if side else SIDES)}
    owners = [s for s in SIDES if entity in ENTITIES[s]]
    if not owners:
        known = ", ".join(e for s in SIDES for e in ENTITIES[s])
        raise SnapshotUsageError(t(m.SNAPSHOT_BAD_ENTITY, entity=entity, known=known))
    if side is not None and side not in owners:
        raise SnapshotUsageError(t(m.SNAPSHOT_ENTITY_NOT_ON_SIDE, entity=entity, side=side,
                                   known=", ".join(ENTITIES[side])))
    return {side or owners[0]: (entity,)}


def _planned_frames(scope: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    """(side, entity, kind) of every frame a snapshot of ``scope`` writes, in the order written."""
    frames: list[tuple[str, str, str]] = []
    if B24 in scope:
        wanted = {need for e in scope[B24] for need in _B24_NEEDS[e]}
        frames += [(B24, e, RAW) for e in ENTITIES[B24] if e in wanted]
        if {"companies", "contacts"} & set(scope[B24]):
            frames.append((B24, PARTIES, CANONICAL))
    if ONEC in scope:
        frames += [(ONEC, "counterparties", RAW), (ONEC, PARTIES, CANONICAL)]
    return frames


def _file_name(side: str, entity: str, fmt: str) -> str:
    return f"{side}-{entity}.{fmt}"


# --- the state, read-only ----------------------------------------------------------------------
def _read_state(path: Path) -> tuple[str | None, dict[str, str]]:
    """The Bitrix24 watermark and the known 1C DataVersions, read without writing a byte.

    The file is opened ``mode=ro``: no migration, no checkpoint, no run recorded. No file (or an
    empty one) means no watermark and no versions, so the snapshot reads in full.
    """
    if not path.exists():
        return None, {}
    conn = None
    try:
        conn = sqlite3.connect(f"file:{pathname2url(str(path.resolve()))}?mode=ro", uri=True, timeout=60.0)
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
        watermark = None
        if "watermarks" in tables:
            row = conn.execute("select value from watermarks where name = ?", [WATERMARK]).fetchone()
            watermark = row[0] if row and row[0] else None
        versions: dict[str, str] = {}
        if "onec_versions" in tables:
            versions = dict(conn.execute("select ref, data_version from onec_versions where entity_set = ?",
                                         [COUNTERPARTIES]).fetchall())
        return watermark, versions
    except sqlite3.Error as exc:
        raise SnapshotError(t(m.SNAPSHOT_STATE_UNREADABLE, path=path, reason=exc)) from None
    finally:
        if conn is not None:
            conn.close()


# --- reading -----------------------------------------------------------------------------------
def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows)
    for name in columns:
        if name not in frame.columns:
            frame[name] = None
    return frame


def _read_bitrix24(client: Bitrix24Client, entities: tuple[str, ...], watermark: str | None, *, full: bool,
                   overlap: timedelta, progress: Progress | None) -> tuple[dict[str, pd.DataFrame], SideRead]:
    wanted = [e for e in ENTITIES[B24] if e in {need for x in entities for need in _B24_NEEDS[x]}]
    reason = "requested" if full else "no_watermark" if watermark is None else "incremental"
    read = SideRead(B24, "full" if reason != "incremental" else "incremental", reason, tuple(entities))
    before, started = client.requests_made, time.monotonic()
    if read.mode == "incremental":
        since = datetime.fromisoformat(str(watermark))
        read.watermark = str(watermark)
        read.since = (since.astimezone(UTC) - overlap).astimezone(since.tzinfo).replace(microsecond=0).isoformat()
        tick = progress(B24) if progress else None
        snap = extract_bitrix24(client, since=since, overlap=overlap)
        frames = {e: getattr(snap, e) for e in wanted}
        if tick:
            tick(sum(len(f) for f in frames.values()))
    elif set(wanted) == set(ENTITIES[B24]):
        snap = extract_bitrix24(client, progress=progress)  # the very read of a full reconciliation
        frames = {e: getattr(snap, e) for e in wanted}
    else:
        frames = {}
        for name in wanted:
            entity, select, filters = _B24_FULL[name]
            rows = export_all(client, entity, select=select, filters=filters,
                              progress=progress(entity) if progress else None)
            frames[name] = _frame(rows, _B24_COLUMNS[name])
    read.requests, read.seconds = client.requests_made - before, time.monotonic() - started
    return frames, read


def _read_onec(client: OneCClient, known: dict[str, str], *, full: bool,
               progress: Progress | None) -> tuple[OneCSnapshot, SideRead]:
    reason = "requested" if full else "no_known_versions" if not known else "incremental"
    read = SideRead(ONEC, "full" if reason != "incremental" else "incremental", reason, ENTITIES[ONEC])
    before, started = client.requests_made, time.monotonic()
    if read.mode == "incremental":
        snap = extract_onec(client, known=known, progress=progress)
        read.known_versions, read.changed, read.gone = len(known), len(snap.counterparties), len(snap.gone)
    else:
        snap = extract_onec(client, progress=progress)
    read.requests, read.seconds = client.requests_made - before, time.monotonic() - started
    return snap, read


def _onec_client(config: Config) -> OneCClient:
    """The 1C client as ``reconcile`` builds it (without the HTTP service, which a read never uses)."""
    from b24sync.errors import ConfigError
    from b24sync.http.retry import RetryPolicy
    from b24sync.http.transport import Timeouts

    cfg = config.onec
    if not cfg.odata_url:
        raise ConfigError(t(m.ONEC_NOT_CONFIGURED, path=config.path))
    return OneCClient(cfg.odata_url, cfg.user, config.require_onec_password(), server_tz=cfg.tzinfo(),
                      page_size=cfg.page_size, honour_if_match=cfg.honour_if_match,
                      retry=RetryPolicy(max_attempts=cfg.max_retries, budget=cfg.retry_budget_seconds),
                      timeouts=Timeouts(cfg.connect_timeout, cfg.read_timeout))


# --- cells -------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _cell(value: Any) -> Any:
    """One object cell → a plain scalar: lists and objects as JSON text, times as ISO 8601."""
    if _missing(value):
        return None
    if isinstance(value, list | tuple | dict | set | frozenset):
        return _JSON.encode(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _plain(frame: pd.DataFrame, *, text_times: bool) -> pd.DataFrame:
    """The frame as files hold it: no nested values, whole-number floats as integers (an ID column
    with gaps reads as float), mixed-type columns as text; times as text for CSV (``text_times``)."""
    out: dict[str, pd.Series] = {}
    frame = frame.reset_index(drop=True)
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = col.map(lambda v: v.isoformat() if not _missing(v) else None).astype(object) \
                if text_times else col
        elif col.dtype == object:
            values = [_cell(v) for v in col.to_numpy(dtype=object)]
            kinds = {type(v) for v in values if v is not None}
            if len(kinds) > 1 and not kinds <= {int, float}:
                values = [None if v is None else str(v) for v in values]
            # a column with no value yet (a user field nobody filled) is text, not Parquet's "null" type
            out[name] = pd.Series(values, dtype=object if kinds else "string")
        elif pd.api.types.is_float_dtype(col.dtype) and col.notna().any() and \
                bool((col.dropna() % 1 == 0).all()) and bool((col.dropna().abs() < 2 ** 53).all()):
            out[name] = col.astype("Int64")
        else:
            out[name] = col
    return pd.DataFrame(out, columns=list(frame.columns), index=range(len(frame)))


# --- files -------------------------------------------------------------------------------------
def _write_private(path: Path, write: Callable[[IO[Any]], None], *, binary: bool) -> None:
    """Write ``path`` owner-only (0600) through a temporary file beside it, replaced at the end."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an old temporary file of the same name keeps its mode through O_TRUNC
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    plain = _plain(frame, text_times=True)
    _write_private(path, lambda fh: plain.to_csv(fh, index=False, lineterminator="\n"), binary=False)


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(_plain(frame, text_times=False), preserve_index=False)
    _write_private(path, lambda fh: pq.write_table(table, fh), binary=True)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _prepare_out(out: Path, names: list[str], force: bool) -> None:
    """Create ``out`` (0700) if missing; refuse non-empty files in the way unless ``force``."""
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not out.is_dir():
            raise NotADirectoryError(f"{out} is not a directory")
        taken = [name for name in names if (out / name).exists()
                 and (not (out / name).is_file() or (out / name).stat().st_size > 0)]
    except OSError as exc:
        raise SnapshotError(t(m.SNAPSHOT_OUT_UNUSABLE, path=out, reason=exc.strerror or exc)) from None
    blocked = [name for name in taken if not (out / name).is_file()]
    if blocked or (taken and not force):
        shown = blocked or taken
        raise SnapshotError(t(m.SNAPSHOT_EXISTS, path=out, files=", ".join(shown[:5])
                              + (" …" if len(shown) > 5 else "")))


def _manifest(report: SnapshotReport, config: Config) -> dict[str, Any]:
    def read_facts(read: SideRead) -> dict[str, Any]:
        facts: dict[str, Any] = {"mode": read.mode, "reason": read.reason, "entities": list(read.entities),
                                 "requests": read.requests, "seconds": round(read.seconds, 3),
                                 "issues": read.issues}
        if read.side == B24:
            facts.update(watermark=read.watermark, since=read.since,
                         overlap_seconds=config.bitrix24.incremental_overlap_seconds)
        else:
            facts.update(known_versions=read.known_versions, changed=read.changed, gone=read.gone)
        return facts

    return {
        "format_version": FORMAT_VERSION,
        "b24sync_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "instance": config.instance,
        "side": report.side or "both",
        "entity": report.entity,
        "full": report.full,
        "rows": report.rows,
        "requests": report.requests,
        "seconds": round(report.seconds, 3),
        "parquet": report.parquet,
        "reads": {side: read_facts(read) for side, read in report.reads.items()},
        "frames": [
            {"side": frame.side, "entity": frame.entity, "kind": frame.kind, "rows": frame.rows,
             "columns": frame.columns,
             "files": {fmt: {"name": path.name, "bytes": path.stat().st_size, "sha256": _digest(path)}
                       for fmt, path in frame.files.items()}}
            for frame in report.frames
        ],
    }


# --- the snapshot ------------------------------------------------------------------------------
def take_snapshot(config: Config, out: str | Path, *, side: str | None = None, entity: str | None = None,
                  full: bool = False, force: bool = False, parquet: bool | None = None,
                  progress: Progress | None = None, bitrix24: Bitrix24Client | None = None,
                  onec: OneCClient | None = None) -> SnapshotReport:
    """Read, normalize and write a snapshot of ``side`` (both by default) into the directory ``out``.

    Args:
        config: the instance; its state gives the watermark and known versions (read-only).
        out: directory for the files; created (0700) if missing.
        side: ``bitrix24`` or ``onec``; ``None`` for both (or the side ``entity`` belongs to).
        entity: one entity (see :data:`ENTITIES`); the frames it needs to be normalized are read and
            written with it (companies: requisites, legal addresses, users; contacts: users).
        full: read everything; otherwise only what changed since the state's watermark / versions
            (a side without them in the state is read in full, and the report says why).
        force: overwrite non-empty files of the same names; without it they stop the snapshot before
            any request.
        parquet: ``None`` writes Parquet when ``pyarrow`` is importable, ``False`` never, ``True``
            always (a :class:`SnapshotError` without ``pyarrow``).
        progress: ``progress(name)`` → a callback advanced by the records read, per entity.
        bitrix24, onec: clients to use instead of those the config describes.

    Returns:
        The :class:`SnapshotReport`; the same facts are in ``out/manifest.json``.
    """
    started = time.monotonic()
    scope = resolve_scope(side, entity)
    if parquet is None:
        parquet = parquet_available()
    elif parquet and not parquet_available():
        raise SnapshotError(t(m.SNAPSHOT_NO_PYARROW))
    formats = ("csv", "parquet") if parquet else ("csv",)
    out = Path(out)
    planned = _planned_frames(scope)
    _prepare_out(out, [_file_name(s, e, fmt) for s, e, _ in planned for fmt in formats] + [MANIFEST], force)
    watermark, known = (None, {}) if full else _read_state(config.state_path)

    raw: dict[tuple[str, str], pd.DataFrame] = {}
    canonical: dict[str, pd.DataFrame] = {}
    reads: dict[str, SideRead] = {}
    if B24 in scope:
        client = bitrix24 or Bitrix24Client.from_config(config)
        frames, read = _read_bitrix24(
            client, scope[B24], watermark, full=full, progress=progress,
            overlap=timedelta(seconds=config.bitrix24.incremental_overlap_seconds))
        raw.update({(B24, name): frame for name, frame in frames.items()})
        if (B24, PARTIES, CANONICAL) in planned:
            companies = frames.get("companies") if "companies" in scope[B24] else None
            contacts = frames.get("contacts") if "contacts" in scope[B24] else None
            normalized = normalize_bitrix24(companies, frames.get("requisites"), frames.get("addresses"),
                                            contacts, frames.get("users"))
            canonical[B24], read.issues = normalized.frame, len(normalized.issues)
        reads[B24] = read
    if ONEC in scope:
        snap, read = _read_onec(onec or _onec_client(config), known, full=full, progress=progress)
        raw[(ONEC, "counterparties")] = snap.counterparties
        normalized = normalize_onec(snap.counterparties, snap.user_email, manager_by_ref=snap.manager_by_ref,
                                    legal_address_kind=snap.kinds.get("ЮрАдресКонтрагента", ""))
        canonical[ONEC], read.issues = normalized.frame, len(normalized.issues)
        reads[ONEC] = read

    written: list[FrameFile] = []
    for frame_side, name, kind in planned:
        frame = canonical[frame_side] if kind == CANONICAL else raw[(frame_side, name)]
        item = FrameFile(frame_side, name, kind, len(frame), [str(c) for c in frame.columns])
        for fmt in formats:
            path = out / _file_name(frame_side, name, fmt)
            (_write_csv if fmt == "csv" else _write_parquet)(path, frame)
            item.files[fmt] = path
        written.append(item)
    report = SnapshotReport(out=out, manifest=out / MANIFEST, frames=written, reads=reads, seconds=0.0,
                            parquet=bool(parquet), side=next(iter(scope)) if len(scope) == 1 else None,
                            entity=entity, full=full)
    report.seconds = time.monotonic() - started
    text = json.dumps(_manifest(report, config), ensure_ascii=False, indent=2) + "\n"
    _write_private(report.manifest, lambda fh: fh.write(text), binary=False)
    return report
