"""The demo job: the real reconciliation, end to end, on a fresh sandbox.

``b24sync demo`` starts both emulators with one seeded world (overlapping, with planted
differences and conflicts), writes a real owner-only config, runs ``doctor --fix``, shows the
dry-run plan, applies it, and runs again to show that nothing is left to do. The CLI only
renders the :class:`DemoReport`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from b24sync.apply import ApplyReport
from b24sync.config import load_config
from b24sync.doctor import Check, run_doctor
from b24sync.recon.plan import Plan
from b24sync.reconcile import run_reconcile
from b24sync.sandbox.run import start_sandbox
from b24sync.sandbox.seed import Planted


@dataclass
class DemoReport:
    checks: list[Check] = field(default_factory=list)
    plan: Plan | None = None
    applied: ApplyReport | None = None
    second: Plan | None = None
    planted: list[Planted] = field(default_factory=list)
    seconds: float = 0.0
    b24_requests: int = 0
    b24_rejected: int = 0
    onec_requests: int = 0
    dry_run_writes: int = 0


def run_demo(size: int = 200, seed: int = 0, *, progress: Callable[[str], Callable[[int], None] | None] | None = None,
             workdir: Path | None = None, on_step: Callable[[str], None] | None = None) -> DemoReport:
    """Run the whole job against a fresh in-process sandbox; returns what happened at each step."""
    started = time.monotonic()
    report = DemoReport()
    step = on_step or (lambda _name: None)
    with tempfile.TemporaryDirectory(prefix="b24sync-demo-") as tmp, start_sandbox(size=size, seed=seed) as sandbox:
        config = load_config(sandbox.write_config(Path(workdir or tmp) / "demo.toml"))
        step("doctor")
        report.checks = run_doctor(config, fix=True)
        step("plan")
        writes_before = len(sandbox.bitrix24.request_log.writes)
        onec_before = len(sandbox.onec.request_log)
        dry = run_reconcile(config, dry_run=True, progress=progress)
        report.plan = dry.plan
        report.dry_run_writes = len(sandbox.bitrix24.request_log.writes) - writes_before + sum(
            1 for r in list(sandbox.onec.request_log)[onec_before:] if r.method not in ("GET", "HEAD"))
        step("apply")
        report.applied = run_reconcile(config, progress=progress).report
        step("again")
        report.second = run_reconcile(config, dry_run=True).plan
        report.planted = [*sandbox.planted, *sandbox.onec_planted]
        log = sandbox.bitrix24.request_log.snapshot()
        report.b24_requests = len(log)
        report.b24_rejected = sum(r.status in (429, 503) for r in log)
        report.onec_requests = len(sandbox.onec.request_log)
    report.seconds = time.monotonic() - started
    return report
