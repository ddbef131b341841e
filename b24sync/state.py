"""The state file: one SQLite database per instance, the only local store of b24sync.

It holds what must survive between runs — links between records, the baselines of the three-way
comparison, read watermarks, 1C DataVersions, the apply journal and the run history — as plain
tables through sqlite-utils, with schema changes as named migrations. WAL mode and one committed
transaction per journal transition keep it consistent when a run is killed at any point. Losing
the file degrades to a full re-match (links are recoverable from the systems themselves), never to
duplicates. No secret is ever stored here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from b24sync import messages as m
from b24sync.errors import B24SyncError
from b24sync.i18n import t

migrations = Migrations("b24sync")

# SQLite result codes meaning "this file cannot be written (or opened) now", as opposed to a bug in a statement
_UNWRITABLE = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_BUSY",
               "SQLITE_LOCKED", "SQLITE_NOTADB", "SQLITE_CORRUPT")


class StateUnwritable(B24SyncError):
    """The state file (or its lock) cannot be written: read-only, full, I/O error. The message names it."""


def _unwritable(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, sqlite3.Error) and str(getattr(exc, "sqlite_errorname", "")).startswith(_UNWRITABLE)


@migrations()
def m001_initial(db: Database) -> None:
    db["links"].create({"b24_key": str, "onec_key": str, "entity": str, "created_at": str, "run_id": str},
                       pk="b24_key")
    db["links"].create_index(["onec_key"], unique=True)
    db["baselines"].create({"b24_key": str, "onec_key": str, "field": str, "value": str, "updated_at": str},
                           pk=("b24_key", "field"))
    db["watermarks"].create({"name": str, "value": str, "updated_at": str}, pk="name")
    db["onec_versions"].create({"entity_set": str, "ref": str, "data_version": str}, pk=("entity_set", "ref"))
    db["journal"].create(
        {"op_id": str, "plan_id": str, "run_id": str, "target": str, "entity": str, "action": str,
         "status": str, "operation": str, "remote_id": str, "attempts": int, "last_error": str,
         "updated_at": str},
        pk="op_id",
    )
    db["journal"].create_index(["status"])
    db["runs"].create({"run_id": str, "command": str, "started_at": str, "finished_at": str, "status": str,
                       "summary": str}, pk="run_id")


@migrations()
def m002_product_map(db: Database) -> None:
    db["product_map"].create({"b24_key": str, "onec_ref": str, "method": str, "updated_at": str}, pk="b24_key")


@migrations()
def m003_event_queue(db: Database) -> None:
    db["events"].create({"id": int, "event": str, "entity": str, "entity_id": int, "ts": int, "received_at": float,
                         "status": str, "attempts": int, "next_at": float, "last_error": str, "duplicates": int,
                         "done_at": float}, pk="id")
    db["events"].create_index(["status", "next_at"])
    db["events"].create_index(["entity", "entity_id", "status"])


@migrations()
def m004_journal_per_run(db: Database) -> None:
    """Key the journal by (run, op): an op identical to one an earlier run did is a new write, not a skip.

    Before, a change made, undone and made again (phone A → B → A → B) planned the op_id of the first
    run's op, found it ``done`` and skipped the write. Now only a re-apply of the same plan skips it:
    the same ``plan_id`` *and* ``plan_at`` (its ``created_at``; equal operations give equal ids).
    """
    db["journal"].add_column("plan_at", str)
    db["journal"].transform(pk=("run_id", "op_id"))
    db["journal"].create_index(["op_id"])


@migrations()
def m005_conflicts(db: Database) -> None:
    """The conflicts the last full run held back (with the facts of their records), and what people
    decided about them: ``b24sync conflicts`` reads them without touching either system."""
    db["conflicts"].create({"conflict_id": str, "kind": str, "entity": str, "reason": str, "records": str,
                            "detail": str, "facts": str, "first_seen": str, "last_seen": str, "run_id": str},
                           pk="conflict_id")
    db["resolutions"].create({"id": int, "conflict_id": str, "action": str, "b24_key": str, "onec_key": str,
                              "created_at": str}, pk="id")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class State:
    """The state database of one instance."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._failed: str | None = None  # set by a failed write: nothing more is written (or sent) this run
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            # the receiver's threads write to the same file: wait for a lock rather than fail
            self.db = Database(sqlite3.connect(self.path, timeout=60.0))
            if new:
                os.chmod(self.path, 0o600)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=FULL")
            migrations.apply(self.db)
        except (OSError, sqlite3.Error) as exc:
            if not _unwritable(exc):
                raise
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StateUnwritable(t(m.STATE_UNWRITABLE, path=self.path, reason=reason)) from None

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """One committed transaction (nested calls become savepoints).

        The outermost one begins ``IMMEDIATE``: the write lock is taken up front, so a transaction
        that reads before it writes never meets a snapshot another writer (the event receiver)
        has moved on from — which SQLite would refuse at once, without waiting.

        A write the file refuses (read-only, disk full, I/O error) raises :class:`StateUnwritable`, and
        every later ``atomic()`` of this run raises it again at once: once a journal transition is lost,
        the journal no longer accounts for what is sent, so the run must stop before the next request.
        """
        if self._failed is not None:
            raise StateUnwritable(self._failed)
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self.db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if not _unwritable(exc):
                raise
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            self._failed = t(m.STATE_UNWRITABLE, path=self.path, reason=exc)
            raise StateUnwritable(self._failed) from exc

    # -- runs -----------------------------------------------------------------------------------------

    def start_run(self, command: str) -> str:
        run_id = uuid.uuid4().hex
        with self.atomic():
            self.db["runs"].insert({"run_id": run_id, "command": command, "started_at": now_iso(),
                                    "status": "running", "summary": "{}"})
        return run_id

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self.atomic():
            self.db["runs"].update(run_id, {"finished_at": now_iso(), "status": status,
                                            "summary": json.dumps(summary, ensure_ascii=False, default=str)})

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        return list(self.db["runs"].rows_where(order_by="started_at desc", limit=limit))

    def summary(self) -> dict[str, Any]:
        """Counts for ``b24sync status``: links, journal rows by status, watermarks, known 1C versions."""
        journal = dict(self.db.execute("select status, count(*) from journal group by status").fetchall())
        return {
            "links": self.db["links"].count,
            "journal": journal,
            "watermarks": {row["name"]: row["value"] for row in self.db["watermarks"].rows},
            "onec_versions": self.db["onec_versions"].count,
            "events": dict(self.db.execute("select status, count(*) from events group by status").fetchall()),
        }

    # -- watermarks and versions ----------------------------------------------------------------------

    def watermark(self, name: str) -> str | None:
        row = self.db.execute("select value from watermarks where name = ?", [name]).fetchone()
        return row[0] if row else None

    def set_watermark(self, name: str, value: str) -> None:
        with self.atomic():
            self.db["watermarks"].upsert({"name": name, "value": value, "updated_at": now_iso()}, pk="name")

    def onec_versions(self, entity_set: str) -> dict[str, str]:
        rows = self.db.execute("select ref, data_version from onec_versions where entity_set = ?", [entity_set])
        return dict(rows.fetchall())

    def set_onec_versions(self, entity_set: str, versions: dict[str, str]) -> None:
        with self.atomic():
            self.db.execute("delete from onec_versions where entity_set = ?", [entity_set])
            self.db["onec_versions"].insert_all(
                ({"entity_set": entity_set, "ref": ref, "data_version": dv} for ref, dv in versions.items()),
                pk=("entity_set", "ref"), batch_size=10_000)

    # -- links and baselines ----------------------------------------------------------------------------

    def links(self) -> list[dict[str, Any]]:
        return list(self.db["links"].rows)

    def add_link(self, b24_key: str, onec_key: str, entity: str, run_id: str) -> None:
        self.db["links"].upsert({"b24_key": b24_key, "onec_key": onec_key, "entity": entity,
                                 "created_at": now_iso(), "run_id": run_id}, pk="b24_key")

    def set_conflicts(self, rows: list[dict[str, Any]], run_id: str) -> None:
        """Replace the open conflicts with ``rows`` (``conflict_id`` …); one seen before keeps its first_seen."""
        now = now_iso()
        first = dict(self.db.execute("select conflict_id, first_seen from conflicts").fetchall())
        with self.atomic():
            self.db.execute("delete from conflicts")
            self.db["conflicts"].insert_all([{**row, "first_seen": first.get(row["conflict_id"], now),
                                              "last_seen": now, "run_id": run_id} for row in rows], pk="conflict_id")

    def open_conflicts(self) -> list[dict[str, Any]]:
        return list(self.db["conflicts"].rows_where(order_by="kind, reason, records"))

    def close_conflict(self, conflict_id: str) -> None:
        """A conflict resolved by a write: off the open list until a full run finds it again."""
        self.db.execute("delete from conflicts where conflict_id = ?", [conflict_id])

    def add_resolution(self, conflict_id: str, action: str, b24_key: str, onec_key: str) -> None:
        with self.atomic():
            self.db["resolutions"].insert({"conflict_id": conflict_id, "action": action, "b24_key": b24_key,
                                           "onec_key": onec_key, "created_at": now_iso()})

    def product_map(self) -> dict[str, str]:
        """Bitrix24 product (``product:12`` or ``name:<name>``) → 1C nomenclature ``Ref_Key`` found before."""
        return {row["b24_key"]: row["onec_ref"] for row in self.db["product_map"].rows}

    def remember_products(self, pairs: dict[str, tuple[str, str]]) -> None:
        with self.atomic():
            self.db["product_map"].upsert_all(
                ({"b24_key": key, "onec_ref": ref, "method": how, "updated_at": now_iso()}
                 for key, (ref, how) in pairs.items() if how not in ("config", "stored")), pk="b24_key")

    def baselines(self) -> list[dict[str, Any]]:
        return [{**row, "value": json.loads(row["value"])} for row in self.db["baselines"].rows]

    def set_baseline(self, b24_key: str, onec_key: str, field: str, value: Any) -> None:
        self.db["baselines"].upsert({"b24_key": b24_key, "onec_key": onec_key, "field": field,
                                     "value": json.dumps(value, ensure_ascii=False, default=str),
                                     "updated_at": now_iso()}, pk=("b24_key", "field"))
