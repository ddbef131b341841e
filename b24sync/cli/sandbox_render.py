"""Rendering of the demo's story (kept apart from the commands, which only wire things)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from b24sync import messages as m
from b24sync.cli.ops import render_checks
from b24sync.demo import DemoReport
from b24sync.i18n import t
from b24sync.render import plan_table


def render_demo(out: Console, report: DemoReport) -> None:
    out.rule(t(m.DEMO_STEP_DOCTOR))
    render_checks(out, report.checks, title="")
    out.rule(t(m.DEMO_STEP_PLAN, writes=report.dry_run_writes))
    if report.plan is not None:
        plan_table(out, report.plan, max_rows=12)
    out.rule(t(m.DEMO_STEP_APPLY))
    if report.applied is not None:
        applied = report.applied
        out.print(t(m.APPLY_DONE, done=len(applied.done), failed=len(applied.failed), stale=len(applied.stale),
                    skipped=applied.skipped))
        for _, message in [*applied.failed, *applied.stale][:10]:
            out.print(f"- {message}", markup=False, highlight=False)
    out.rule(t(m.DEMO_STEP_AGAIN, count=len(report.second.operations) if report.second else 0))
    planted = Table(title=t(m.DEMO_PLANTED_TITLE))
    for column in (m.DEMO_COL_KIND, m.DEMO_COL_IDS, m.DEMO_COL_DETAIL):
        planted.add_column(t(column))
    for item in report.planted:
        kind = t(m.PLANTED_KINDS[item.kind]) if item.kind in m.PLANTED_KINDS else item.kind
        detail = "; ".join(f"{key}: {value}" for key, value in item.detail.items()
                           if key in ("inn", "kpp", "email", "b24", "onec", "true_inn", "phones_b24", "phones_onec"))
        planted.add_row(kind, f"{item.entity} {', '.join(map(str, item.ids))}", detail)
    out.print(planted)
    out.print(t(m.DEMO_DONE, seconds=report.seconds, b24=report.b24_requests, rejected=report.b24_rejected,
                onec=report.onec_requests))
