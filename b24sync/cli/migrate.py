"""``migrate``: the initial migration report; ``--link`` and ``--create-missing`` write, after a confirmation."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.cli.reconcile import _progress, _report
from b24sync.config import load_config
from b24sync.errors import B24SyncError
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t

if TYPE_CHECKING:
    from b24sync.migrate.report import MigrationReport
    from b24sync.recon.plan import Plan

PANEL = "Sync"


def _out_dir(out: Path | None) -> Path:
    """The report directory, made and checked before anything is read (a full read can take a while)."""
    directory = out or Path(f"b24sync-migration-{date.today().isoformat()}")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the files name customers: owner-only
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable")
    except OSError as exc:
        raise B24SyncError(t(m.MIGRATE_OUT_UNWRITABLE, path=directory, reason=exc.strerror or exc)) from None
    return directory


def render_summary(console: Console, report: MigrationReport) -> None:
    """The report's figures in the terminal: outcomes per side, pairs per method, duplicates, conflicts."""
    from b24sync.recon import model as md

    s = report.summary()
    console.print(t(m.MIGRATE_FIGURES, b24=s["records"][md.B24], onec=s["records"][md.ONEC], pairs=s["pairs"],
                    conflicts=s["conflict_groups"], duplicates=s["duplicate_groups"], invalid=len(report.invalid_inns)),
                  markup=False, highlight=False)
    sides = [t(m.MIGRATE_SIDES[md.B24]), t(m.MIGRATE_SIDES[md.ONEC])]
    outcomes = Table(title=t(m.MIGRATE_CHART_OUTCOMES))
    outcomes.add_column(t(m.MIGRATE_COL_OUTCOME))
    for side in sides:
        outcomes.add_column(side, justify="right")
    for outcome, label in m.MIGRATE_OUTCOMES.items():
        outcomes.add_row(t(label), str(s["outcomes"][md.B24][outcome]), str(s["outcomes"][md.ONEC][outcome]))
    outcomes.add_row(f"[b]{t(m.MIGRATE_COL_COUNT)}[/b]", str(s["records"][md.B24]), str(s["records"][md.ONEC]))
    console.print(outcomes)
    methods = Table(title=t(m.MIGRATE_CHART_METHODS))
    methods.add_column(t(m.MIGRATE_COL_METHOD))
    methods.add_column(t(m.MIGRATE_COL_COUNT), justify="right")
    for method, count in s["matched"].items():
        methods.add_row(t(m.MIGRATE_METHODS[method]), str(count))
    console.print(methods)
    duplicates = Table(title=t(m.MIGRATE_CHART_DUPLICATES))
    duplicates.add_column(t(m.MIGRATE_COL_BASIS))
    for scope in s["duplicates"]:
        duplicates.add_column(t(m.MIGRATE_SIDES[scope]), justify="right")
    for basis, label in m.MIGRATE_BASES.items():
        duplicates.add_row(t(label), *(str(s["duplicates"][scope][basis]) for scope in s["duplicates"]))
    console.print(duplicates)
    conflicts = Table(title=t(m.MIGRATE_SECTION_CONFLICTS))
    conflicts.add_column(t(m.MIGRATE_COL_CONFLICT))
    conflicts.add_column(t(m.MIGRATE_COL_COUNT), justify="right")
    for kind, label in m.MIGRATE_CONFLICT_KINDS.items():
        if kind != "invalid_inn":  # counted with the invalid INNs above
            conflicts.add_row(t(label), str(s["conflicts"].get(kind, 0)))
    console.print(conflicts)


def render_plan(console: Console, plan: Plan) -> None:
    """What a migration step will write, counted by action, target, entity and reason (the records are in
    the report: the pairs to link are its matched pairs, the records to create its «can be created» ones)."""
    counts = Counter((op.action, op.target, op.entity, op.reason) for op in plan.operations)
    table = Table(title=t(m.PLAN_TITLE, plan_id=plan.plan_id, total=len(plan.operations)))
    for column in (m.COL_ACTION, m.COL_SIDE, m.COL_ENTITY, m.COL_REASON):
        table.add_column(t(column))
    table.add_column(t(m.MIGRATE_COL_COUNT), justify="right")
    for (action, target, entity, reason), count in sorted(counts.items()):
        table.add_row(action, target, entity, reason, str(count))
    console.print(table)


@app.command(help=t(m.MIGRATE_HELP), rich_help_panel=PANEL)
def migrate(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help=t(m.MIGRATE_OPT_OUT), metavar="DIR",
                                             rich_help_panel="Output")] = None,
    link: Annotated[bool, typer.Option("--link", help=t(m.MIGRATE_OPT_LINK))] = False,
    create_missing: Annotated[bool, typer.Option("--create-missing", help=t(m.MIGRATE_OPT_CREATE))] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=t(m.MIGRATE_OPT_YES), rich_help_panel="Safety")] = False,
) -> None:
    from b24sync.migrate import save_report
    from b24sync.migrate.run import Migration

    config = load_config(ctx.obj.config)
    directory = _out_dir(out)
    write = link or create_missing
    command = " ".join(["migrate", *(["--link"] if link else []), *(["--create-missing"] if create_missing else [])])
    console = Console()
    applied = None
    with Migration(config, write=write, command=command) as run:
        if run.resolved:
            err_console.print(t(m.RESOLVED_IN_DOUBT, count=run.resolved))
        with ExitStack() as stack:
            run.progress, _ = _progress(stack)
            report = run.survey()
        try:
            html, _files = save_report(report, directory)
        except OSError as exc:
            raise B24SyncError(t(m.MIGRATE_OUT_UNWRITABLE, path=directory, reason=exc.strerror or exc)) from None
        render_summary(console, report)
        console.print(t(m.MIGRATE_REPORT_SAVED, html=html), markup=False, highlight=False)
        if not write:
            console.print(t(m.MIGRATE_NEXT_STEP, count=report.confident), markup=False, highlight=False)
            return
        plan = run.plan(link=link, create=create_missing)
        if plan.empty:
            console.print(t(m.MIGRATE_NOTHING_PLANNED))
            return
        render_plan(console, plan)
        answer = True
        if not yes:
            try:
                answer = typer.confirm(t(m.MIGRATE_CONFIRM, count=len(plan.operations)), default=False)
            except typer.Abort:  # no answer (stdin closed) or Ctrl+C at the prompt
                answer = None
        if not answer:
            run.decline()
        else:
            with ExitStack() as stack:
                _, run.applier.progress = _progress(stack)
                applied = run.apply(plan)
    if applied is None:
        err_console.print(t(m.MIGRATE_DECLINED))
        if answer is None:
            raise typer.Exit(int(ExitCode.ERROR))
        return
    code = _report(applied, "table")
    if code:
        raise typer.Exit(code)
