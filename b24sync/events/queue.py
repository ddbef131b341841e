"""The durable event queue: a table of the state database, safe for many threads and processes.

An event is committed (``synchronous=FULL``, WAL) before the receiver answers 200, so an
acknowledged event survives any crash. The same event on the same record while an earlier one is
still waiting — or was done within ``dedupe_seconds`` — collapses into it (Bitrix24 fires an
update per field change and a web form can fire twice). Claiming marks rows ``processing`` in one
statement, so two workers never take the same row; rows left ``processing`` by a killed worker go
back to ``queued`` when a worker starts. A row that keeps failing ends ``dead``, visible in
``b24sync status``, never silently dropped.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from b24sync.state import State

QUEUED, PROCESSING, DONE, DEAD = "queued", "processing", "done", "dead"


@dataclass(frozen=True)
class Event:
    id: int
    event: str
    entity: str
    entity_id: int
    attempts: int

    @property
    def key(self) -> str:
        return f"{self.entity}:{self.entity_id}"


class EventQueue:
    """Short transactions on per-thread connections; every write commits before it returns."""

    def __init__(self, path: Path, *, dedupe_seconds: float = 30.0, max_attempts: int = 8,
                 backoff_seconds: float = 2.0, backoff_cap: float = 600.0) -> None:
        State(path)  # creates the file and applies migrations once
        self.path = Path(path)
        self.dedupe_seconds, self.max_attempts = dedupe_seconds, max_attempts
        self.backoff_seconds, self.backoff_cap = backoff_seconds, backoff_cap
        self._local = threading.local()
        self._writer = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def put(self, event: str, entity: str, entity_id: int, ts: int = 0) -> tuple[int, bool]:
        """Store one event; ``(row id, True)`` when new, ``(existing id, False)`` when it collapsed."""
        with self._writer:  # this process's writers queue here, in order, instead of polling SQLite's lock
            return self._put(event, entity, entity_id, ts)

    def _put(self, event: str, entity: str, entity_id: int, ts: int) -> tuple[int, bool]:
        db, now = self._db(), time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "select id from events where event = ? and entity = ? and entity_id = ? and "
                "(status = ? or (status = ? and done_at >= ?)) order by id desc limit 1",
                [event, entity, entity_id, QUEUED, DONE, now - self.dedupe_seconds]).fetchone()
            if row is not None:
                db.execute("update events set duplicates = duplicates + 1 where id = ?", [row[0]])
                db.execute("COMMIT")
                return int(row[0]), False
            cursor = db.execute(
                "insert into events (event, entity, entity_id, ts, received_at, status, attempts, next_at, "
                "last_error, duplicates, done_at) values (?, ?, ?, ?, ?, ?, 0, ?, '', 0, 0)",
                [event, entity, entity_id, ts, now, QUEUED, now])
            db.execute("COMMIT")
            return int(cursor.lastrowid or 0), True
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def recover(self) -> int:
        """Rows a killed worker left ``processing`` go back to the queue (run once per worker start)."""
        return self._db().execute("update events set status = ? where status = ?", [QUEUED, PROCESSING]).rowcount

    def claim(self, limit: int) -> list[Event]:
        """Take up to ``limit`` due events, oldest first, marking them ``processing`` atomically."""
        db = self._db()
        rows = db.execute(
            "update events set status = ?, attempts = attempts + 1 where id in (select id from events where "
            "status = ? and next_at <= ? order by id limit ?) returning id, event, entity, entity_id, attempts",
            [PROCESSING, QUEUED, time.time(), limit]).fetchall()
        return sorted((Event(int(r[0]), r[1], r[2], int(r[3]), int(r[4])) for r in rows), key=lambda e: e.id)

    def done(self, ids: list[int]) -> None:
        now = time.time()
        self._db().executemany("update events set status = ?, done_at = ?, last_error = '' where id = ?",
                               [(DONE, now, i) for i in ids])

    def failed(self, events: list[Event], error: str) -> None:
        """Back to the queue with exponential backoff, or ``dead`` after ``max_attempts``."""
        now = time.time()
        for event in events:
            if event.attempts >= self.max_attempts:
                self._db().execute("update events set status = ?, last_error = ? where id = ?",
                                   [DEAD, error[:2000], event.id])
            else:
                delay = min(self.backoff_seconds * 2 ** (event.attempts - 1), self.backoff_cap)
                self._db().execute("update events set status = ?, next_at = ?, last_error = ? where id = ?",
                                   [QUEUED, now + delay, error[:2000], event.id])

    def release(self, events: list[Event]) -> None:
        """Give claimed events back untouched (a stop before they were processed)."""
        self._db().executemany("update events set status = ?, attempts = attempts - 1 where id = ?",
                               [(QUEUED, e.id) for e in events])

    def counts(self) -> dict[str, int]:
        return dict(self._db().execute("select status, count(*) from events group by status").fetchall())

    def pending(self) -> int:
        return int(self._db().execute("select count(*) from events where status in (?, ?)",
                                      [QUEUED, PROCESSING]).fetchone()[0])
