"""The worker: drains the event queue into targeted reconciliation runs.

Each round claims the due events (up to ``batch_size``), turns them into the set of Bitrix24
records they name and runs :func:`~b24sync.reconcile.run_reconcile` for exactly those records —
reading each record from Bitrix24 (the payload is never trusted beyond its id), with the same
rules, plan, journal and idempotent apply as a scheduled run. A round that succeeds marks its
events done; one that fails puts them back with backoff, and an event that keeps failing ends
``dead``. While a scheduled ``reconcile`` holds the run lock, the claimed events are released
untouched and retried shortly: nothing is lost and nothing runs twice at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from b24sync.config import Config
from b24sync.errors import B24SyncError, LockHeld
from b24sync.events.queue import Event, EventQueue

log = logging.getLogger("b24sync.worker")


class Worker:
    def __init__(self, config: Config, queue: EventQueue, *, batch_size: int = 200, idle_seconds: float = 0.5,
                 run: Callable[..., object] | None = None) -> None:
        from b24sync.reconcile import run_reconcile

        self.config, self.queue, self.batch_size, self.idle_seconds = config, queue, batch_size, idle_seconds
        self.run = run or run_reconcile
        self.stopping = threading.Event()
        self.processed = 0
        self.rounds = 0

    def round(self) -> int:
        """One claim → run → mark cycle; returns the number of events settled (0 when idle)."""
        events = self.queue.claim(self.batch_size)
        if not events:
            return 0
        if self.stopping.is_set():
            self.queue.release(events)
            return 0
        targets = {e.key for e in events}
        try:
            result = self.run(self.config, targets=targets)
        except LockHeld:
            self.queue.release(events)
            log.info("a reconcile holds the lock; %d event(s) wait", len(events))
            self.stopping.wait(2.0)
            return 0
        except B24SyncError as exc:
            self._fail(events, str(exc))
            return 0
        report = getattr(result, "report", None)
        if report is not None and not report.ok:
            failed = [op for op, _ in (*report.failed, *report.stale)]
            bad = {str(op.key.get("b24_key")) for op in failed}
            message = "; ".join(msg for _, msg in (*report.failed, *report.stale))[:2000]
            self._fail([e for e in events if e.key in bad or not bad], message)
            events = [e for e in events if bad and e.key not in bad]
        self.queue.done([e.id for e in events])
        self.processed += len(events)
        self.rounds += 1
        log.info("processed %d event(s) for %d record(s)", len(events), len(targets))
        return len(events)

    def _fail(self, events: list[Event], error: str) -> None:
        log.warning("%d event(s) failed, retried with backoff: %s", len(events), error)
        self.queue.failed(events, error)

    def run_forever(self) -> None:
        """Until :meth:`stop`; the event being processed is finished, never abandoned."""
        recovered = self.queue.recover()
        if recovered:
            log.info("%d event(s) left in progress by a stopped worker are queued again", recovered)
        while not self.stopping.is_set():
            try:
                settled = self.round()
            except Exception:  # a bug must not kill the worker; the events stay queued
                log.exception("worker round failed")
                settled = 0
            if not settled:
                self.stopping.wait(self.idle_seconds)

    def drain(self, timeout: float = 60.0) -> bool:
        """Process until the queue is empty (tests, ``worker --once``); False if ``timeout`` ran out."""
        self.queue.recover()
        deadline = time.monotonic() + timeout
        while self.queue.pending():
            if time.monotonic() > deadline:
                return False
            if not self.round():
                time.sleep(0.05)
        return True

    def stop(self) -> None:
        self.stopping.set()
