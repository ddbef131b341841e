"""Setup commands: ``doctor``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.config import load_config
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t

PANEL = "Setup"
_STYLE = {"ok": "green", "fixed": "cyan", "warning": "yellow", "failed": "red"}
_LABEL = {"ok": m.DOCTOR_OK, "fixed": m.DOCTOR_FIXED, "warning": m.DOCTOR_WARN, "failed": m.DOCTOR_FAIL}


@app.command(help=t(m.DOCTOR_HELP), rich_help_panel=PANEL)
def doctor(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help=t(m.DOCTOR_OPT_FIX))] = False,
) -> None:
    from b24sync.doctor import run_doctor

    config = load_config(ctx.obj.config)
    checks = run_doctor(config, fix=fix)
    render_checks(Console(), checks, title=t(m.DOCTOR_TITLE, path=config.path))
    failed = sum(check.status == "failed" for check in checks)
    if failed:
        err_console.print(t(m.DOCTOR_FAILED, count=failed))
        raise typer.Exit(int(ExitCode.ERROR))


def render_checks(console: Console, checks: list, title: str) -> None:
    """The doctor's table: check, coloured status, detail."""
    table = Table(title=title or None)
    for column in (m.DOCTOR_COL_CHECK, m.DOCTOR_COL_STATUS, m.DOCTOR_COL_DETAIL):
        table.add_column(t(column))
    for check in checks:
        table.add_row(check.name, f"[{_STYLE[check.status]}]{t(_LABEL[check.status])}[/]", check.detail)
    console.print(table)


@app.command(help=t(m.STATUS_HELP), rich_help_panel="Service")
def status(ctx: typer.Context) -> None:
    import json

    from b24sync.state import State

    config = load_config(ctx.obj.config)
    console = Console()
    if not config.state_path.exists():
        console.print(t(m.STATUS_NO_STATE, path=config.state_path), markup=False)
        return
    state = State(config.state_path)
    facts = state.summary()
    journal = ", ".join(f"{k} {v}" for k, v in sorted(facts["journal"].items())) or "-"
    console.print(t(m.STATUS_TITLE, instance=config.instance, path=config.state_path), markup=False)
    console.print(t(m.STATUS_FACTS, links=facts["links"], journal=journal, versions=facts["onec_versions"],
                    watermark=next(iter(facts["watermarks"].values()), "-")), markup=False, highlight=False)
    events = ", ".join(f"{k} {v}" for k, v in sorted(facts["events"].items())) or "-"
    console.print(t(m.STATUS_EVENTS, counts=events), markup=False, highlight=False)
    for row in state.db.execute("select id, event, entity, entity_id, attempts, last_error from events "
                                "where status = 'dead' order by id desc limit 10").fetchall():
        console.print(t(m.STATUS_DEAD, id=row[0], event=row[1], entity=row[2], entity_id=row[3], attempts=row[4],
                        error=row[5]), markup=False, highlight=False)
    table = Table(title=t(m.STATUS_RUNS))
    for column in (m.STATUS_COL_STARTED, m.STATUS_COL_COMMAND, m.STATUS_COL_STATUS, m.STATUS_COL_SUMMARY):
        table.add_column(t(column))
    for run in state.last_runs(10):
        summary = json.loads(run.get("summary") or "{}")
        brief = ", ".join(f"{k}: {v}" for k, v in summary.items() if isinstance(v, (int, str)))
        table.add_row(run["started_at"], run["command"], run["status"], brief)
    console.print(table)
