"""Health of the state file, read-only: may it be written, is it intact, is its schema current,
did a run leave writes in doubt — and the heartbeat (the last successful run) for ``status``.

Nothing here creates, migrates or locks the file: ``doctor`` may run beside a scheduled run, as
another user (root during ``init``), or on a file that is damaged.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlite_utils import Database

from b24sync import messages as m
from b24sync.checks import FAIL, OK, WARN, Check
from b24sync.i18n import t


def last_success(db: sqlite3.Connection) -> dict[str, Any] | None:
    """The most recent sync that finished ``ok`` (command, started_at, finished_at), or ``None``.

    A sync is what a timer or the receiver runs — ``reconcile``, ``apply PLAN``, ``events`` — so the
    heartbeat does not look alive because someone picked a conflict or made a revert by hand.
    """
    try:
        row = db.execute("select command, started_at, finished_at from runs where status = 'ok' "
                         "and (command in ('reconcile', 'events') or command like 'apply %') "
                         "and coalesce(finished_at, '') != '' order by finished_at desc limit 1").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else {"command": row[0], "started_at": row[1], "finished_at": row[2]}


def age_seconds(stamp: str, now: datetime) -> float | None:
    """Seconds from an ISO timestamp of the state file to ``now`` (aware), or ``None`` if unreadable."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return (now - moment).total_seconds()


def human_age(seconds: float) -> str:
    """``42 s``, ``17 min``, ``3 h 05 min``, ``2 d 4 h`` (negative: a clock ahead of this one)."""
    sign, value = ("-" if seconds < 0 else ""), abs(int(seconds))
    if value < 120:
        return f"{sign}{value} s"
    if value < 3 * 3600:
        return f"{sign}{value // 60} min"
    if value < 2 * 86400:
        return f"{sign}{value // 3600} h {value % 3600 // 60:02d} min"
    return f"{sign}{value // 86400} d {value % 86400 // 3600} h"


def lock_holder(state_path: Path) -> dict[str, Any] | None:
    """Who holds the run lock, from the lock file, if that process is alive on this host.

    The lock file is emptied on release, and a crashed holder is a dead pid: neither counts.
    Only read, never locked: a probe must not make a starting run exit 75.
    """
    try:
        holder = json.loads(Path(str(state_path) + ".lock").read_text(encoding="utf-8") or "{}")
        pid = int(holder.get("pid") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    if not pid or holder.get("host") != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, owned by another user
        pass
    return holder


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def state_checks(path: Path) -> list[Check]:
    """The state file's checks: file (writable, intact), schema, journal."""
    name = t(m.CHECK_STATE)
    user = getpass.getuser()
    if not path.exists():
        parent = _existing_parent(path)
        if os.access(parent, os.W_OK | os.X_OK):
            return [Check(name, OK, t(m.STATE_NOT_YET, path=path))]
        return [Check(name, FAIL, t(m.STATE_DIR_UNWRITABLE, path=path, dir=parent, user=user),
                      t(m.STATE_DIR_UNWRITABLE_FIX, dir=path.parent, user=user))]
    if not (os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        return [Check(name, FAIL, t(m.STATE_UNWRITABLE_NOW, path=path, user=user),
                      t(m.STATE_UNWRITABLE_FIX, path=path, dir=path.parent, user=user))]
    # Another user's file (root checking the service's): open it immutable, so no -wal/-shm file of
    # ours is left behind that the owner could not write; the owner's own check reads it normally.
    foreign = path.stat().st_uid != os.geteuid()
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?{'immutable=1' if foreign else 'mode=ro'}", uri=True,
                             timeout=10.0)
    except sqlite3.Error as exc:
        return [Check(name, FAIL, t(m.STATE_DAMAGED, path=path, reason=exc), t(m.STATE_DAMAGED_FIX, path=path))]
    try:
        return _inspect(db, path, name)
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return [Check(name, FAIL, t(m.STATE_DAMAGED, path=path, reason=exc), t(m.STATE_DAMAGED_FIX, path=path))]
    finally:
        db.close()


def _inspect(db: sqlite3.Connection, path: Path, name: str) -> list[Check]:
    from b24sync.state import migrations

    problems = [str(row[0]) for row in db.execute("PRAGMA integrity_check(20)").fetchall()]
    if problems != ["ok"]:
        return [Check(name, FAIL, t(m.STATE_DAMAGED, path=path, reason="; ".join(problems[:3])),
                      t(m.STATE_DAMAGED_FIX, path=path))]
    checks = [Check(name, OK, t(m.STATE_HEALTHY, path=path, size=f"{path.stat().st_size / 1e6:.1f}"))]
    wrapped = Database(db)
    known = {migration.name for migration in migrations._migrations}
    applied = [migration.name for migration in migrations.applied(wrapped)]
    unknown = [name for name in applied if name not in known]
    pending = [migration.name for migration in migrations.pending(wrapped)]
    schema = t(m.CHECK_STATE_SCHEMA)
    if unknown:
        checks.append(Check(schema, FAIL, t(m.STATE_SCHEMA_NEWER, names=", ".join(unknown)),
                            t(m.STATE_SCHEMA_NEWER_FIX)))
    elif pending:
        checks.append(Check(schema, OK, t(m.STATE_SCHEMA_PENDING, count=len(pending), names=", ".join(pending))))
    else:
        checks.append(Check(schema, OK, t(m.STATE_SCHEMA_CURRENT, count=len(applied))))
    if not wrapped["journal"].exists():
        return checks
    journal = t(m.CHECK_STATE_JOURNAL)
    sending, oldest = db.execute("select count(*), min(updated_at) from journal where status = 'sending'").fetchone()
    holder = lock_holder(path)
    if holder is not None:
        checks.append(Check(journal, OK, t(m.STATE_RUN_IN_PROGRESS, pid=holder.get("pid"),
                                           command=holder.get("command", "?"), since=holder.get("since", "?"))))
    elif sending:
        checks.append(Check(journal, WARN, t(m.STATE_IN_DOUBT, count=sending, since=oldest), t(m.STATE_IN_DOUBT_FIX)))
    else:
        checks.append(Check(journal, OK, t(m.STATE_NOTHING_IN_DOUBT)))
    return checks
