"""``b24sync revert RUN_ID``: the plan that puts a run's values back, shown, confirmed, applied."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from b24sync import messages as m
from b24sync.cli import app
from b24sync.config import load_config
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t


@app.command(help=t(m.REVERT_HELP), rich_help_panel="Sync")
def revert(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN_ID", help=t(m.REVERT_ARG_RUN))],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=t(m.REVERT_OPT_DRY_RUN))] = False,
    yes: Annotated[bool, typer.Option("--yes", help=t(m.REVERT_OPT_YES))] = False,
) -> None:
    from b24sync.cli.reconcile import _report
    from b24sync.render import plan_table
    from b24sync.revert import apply_revert, find_run, prepare_revert
    from b24sync.state import State

    config = load_config(ctx.obj.config)
    console = Console()
    found = find_run(State(config.state_path), run)
    planned = prepare_revert(config, found["run_id"])
    console.print(t(m.REVERT_TITLE, run=found["run_id"], command=found["command"], started=found["started_at"],
                    count=len(planned.plan.operations)), markup=False, highlight=False)
    if planned.plan.operations:
        plan_table(console, planned.plan)
    for title, lines in ((m.REVERT_REVIEW_TITLE, planned.review), (m.REVERT_KEPT_TITLE, planned.kept)):
        if lines:
            console.print(t(title), markup=False, highlight=False)
            for line in lines:
                console.print(f"- {line}", markup=False, highlight=False, soft_wrap=True)
    if not planned.plan.operations:
        console.print(t(m.REVERT_NOTHING_TO_WRITE), markup=False, highlight=False)
        return
    if dry_run:
        console.print(t(m.DRY_RUN_DONE, count=len(planned.plan.operations)), markup=False, highlight=False)
        return
    if not yes and not typer.confirm(t(m.REVERT_CONFIRM, count=len(planned.plan.operations)), default=False):
        console.print(t(m.REVERT_DECLINED), markup=False, highlight=False)
        return
    code = _report(apply_revert(config, planned), "table")
    if code != int(ExitCode.OK):
        raise typer.Exit(code)
