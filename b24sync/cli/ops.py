"""Setup and service commands: ``doctor`` and ``status``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from b24sync import messages as m
from b24sync.checks import Check
from b24sync.cli import app, err_console
from b24sync.config import load_config
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t

PANEL = "Setup"
_STYLE = {"ok": "green", "fixed": "cyan", "warning": "yellow", "failed": "bold red"}
_LABEL = {"ok": m.DOCTOR_OK, "fixed": m.DOCTOR_FIXED, "warning": m.DOCTOR_WARN, "failed": m.DOCTOR_FAIL}
_AGE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


@app.command(help=t(m.DOCTOR_HELP), rich_help_panel=PANEL)
def doctor(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help=t(m.DOCTOR_OPT_FIX))] = False,
) -> None:
    from b24sync.doctor import run_doctor

    config = load_config(ctx.obj.config)
    checks = run_doctor(config, fix=fix)
    if not render_checks(Console(), checks, title=t(m.DOCTOR_TITLE, path=config.path)):
        raise typer.Exit(int(ExitCode.ERROR))


def render_checks(console: Console, checks: Sequence[Check], title: str) -> bool:
    """One line per check — status, name, what was found — and under a check that is not ok, its fix.

    Lines are never wrapped by the renderer (journald and log files keep one check per line).
    Returns whether no check failed; the count of failures goes to stderr.
    """
    if title:
        console.print(title, markup=False, highlight=False, soft_wrap=True)
    width = max(len(t(label)) for label in _LABEL.values())
    for check in checks:
        label = t(_LABEL[check.status]).ljust(width)
        console.print(f"[{_STYLE[check.status]}]{escape(label)}[/]  {escape(check.name)}: {escape(check.detail)}",
                      highlight=False, soft_wrap=True)
        if check.fix and check.status != "ok":
            console.print(" " * width + "  " + escape(t(m.DOCTOR_FIX_LINE, fix=check.fix)), highlight=False,
                          soft_wrap=True)
    failed = sum(check.status == "failed" for check in checks)
    warnings = sum(check.status == "warning" for check in checks)
    counts = ((m.DOCTOR_SUMMARY_OK, len(checks) - failed - warnings), (m.DOCTOR_SUMMARY_WARN, warnings),
              (m.DOCTOR_SUMMARY_FAILED, failed))
    console.print(", ".join(t(template, count=count) for template, count in counts if count) + ".", markup=False,
                  highlight=False)
    if failed:
        err_console.print(t(m.DOCTOR_FAILED, count=failed), markup=False, highlight=False)
    return not failed


def parse_age(value: str) -> float:
    """``900``, ``90s``, ``30m``, ``2h``, ``1d`` → seconds (a usage error otherwise)."""
    match = _AGE.match(value)
    if not match:
        raise typer.BadParameter(t(m.BAD_MAX_AGE, value=value), param_hint="--max-age")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


@app.command(help=t(m.STATUS_HELP), rich_help_panel="Service")
def status(
    ctx: typer.Context,
    max_age: Annotated[str | None, typer.Option("--max-age", help=t(m.OPT_MAX_AGE), metavar="AGE")] = None,
) -> None:
    import json

    from b24sync.pipeline import WATERMARK
    from b24sync.state import State
    from b24sync.statecheck import age_seconds, human_age, last_success, lock_holder

    limit = parse_age(max_age) if max_age is not None else None
    config = load_config(ctx.obj.config)
    console = Console()
    if not config.state_path.exists():
        console.print(t(m.STATUS_NO_STATE, path=config.state_path), markup=False)
        if limit is not None:
            err_console.print(t(m.STATUS_STALE_NONE), markup=False, highlight=False)
            raise typer.Exit(int(ExitCode.ERROR))
        return
    state = State(config.state_path)
    facts = state.summary()
    journal = ", ".join(f"{k} {v}" for k, v in sorted(facts["journal"].items())) or "-"
    console.print(t(m.STATUS_TITLE, instance=config.instance, path=config.state_path), markup=False)
    success = last_success(state.db.conn)
    age = age_seconds(success["finished_at"], datetime.now(UTC)) if success else None
    if success is None:
        console.print(t(m.STATUS_HEARTBEAT_NONE), markup=False, highlight=False)
    else:
        console.print(t(m.STATUS_HEARTBEAT, finished=success["finished_at"], command=success["command"],
                        age=human_age(age) if age is not None else "?"), markup=False, highlight=False)
    if (holder := lock_holder(config.state_path)) is not None:
        console.print(t(m.STATE_RUN_IN_PROGRESS, pid=holder.get("pid"), command=holder.get("command", "?"),
                        since=holder.get("since", "?")), markup=False, highlight=False)
    console.print(t(m.STATUS_FACTS, links=facts["links"], journal=journal, versions=facts["onec_versions"],
                    watermark=facts["watermarks"].get(WATERMARK) or "-"), markup=False, highlight=False)
    conflicts = state.db.execute("select count(*), max(last_seen) from conflicts").fetchone()
    console.print(t(m.STATUS_CONFLICTS, count=conflicts[0], seen=conflicts[1] or "-"), markup=False, highlight=False)
    events = ", ".join(f"{k} {v}" for k, v in sorted(facts["events"].items())) or "-"
    console.print(t(m.STATUS_EVENTS, counts=events), markup=False, highlight=False)
    for row in state.db.execute("select id, event, entity, entity_id, attempts, last_error from events "
                                "where status = 'dead' order by id desc limit 10").fetchall():
        console.print(t(m.STATUS_DEAD, id=row[0], event=row[1], entity=row[2], entity_id=row[3], attempts=row[4],
                        error=row[5]), markup=False, highlight=False)
    table = Table(title=t(m.STATUS_RUNS))
    for column in (m.STATUS_COL_RUN, m.STATUS_COL_STARTED, m.STATUS_COL_TOOK, m.STATUS_COL_COMMAND,
                   m.STATUS_COL_STATUS, m.STATUS_COL_SUMMARY):
        table.add_column(t(column), no_wrap=column is m.STATUS_COL_RUN)
    for run in state.last_runs(10):
        summary = json.loads(run.get("summary") or "{}")
        brief = ", ".join(f"{k}: {v}" for k, v in summary.items() if isinstance(v, (int, str)))
        finished = run.get("finished_at")
        took = age_seconds(run["started_at"], datetime.fromisoformat(finished)) if finished else None
        table.add_row(run["run_id"][:8], run["started_at"], human_age(took) if took is not None else "…",
                      run["command"], run["status"], brief)
    console.print(table)
    if limit is not None and (age is None or age > limit):
        err_console.print(t(m.STATUS_STALE, max_age=max_age) if success else t(m.STATUS_STALE_NONE), markup=False,
                          highlight=False)
        raise typer.Exit(int(ExitCode.ERROR))
