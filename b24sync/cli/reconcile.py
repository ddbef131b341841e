"""``reconcile`` and ``apply``: plan, show, write."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.config import load_config
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t

PANEL = "Sync"
FORMATS = ("table", "summary", "json", "csv")
ONLY = {"companies", "contacts", "deals", "leads", "invoices", "statuses"}


def _progress(stack: ExitStack) -> tuple[object, object]:
    progress = stack.enter_context(Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                            MofNCompleteColumn(), console=err_console, transient=True,
                                            disable=not err_console.is_terminal))

    def reading(entity: str):
        task = progress.add_task(t(m.READING, entity=entity), total=None)
        return lambda n: progress.advance(task, n)

    apply_task = {}

    def applying(n: int) -> None:
        if "id" not in apply_task:
            apply_task["id"] = progress.add_task(t(m.APPLYING), total=None)
        progress.advance(apply_task["id"], n)

    return reading, applying


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _show(plan, fmt: str) -> None:
    from b24sync.render import plan_csv, plan_json, plan_summary, plan_table

    if fmt == "summary":
        plan_summary(Console(), plan)
    elif fmt == "json":
        sys.stdout.write(plan_json(plan) + "\n")
    elif fmt == "csv":
        sys.stdout.write(plan_csv(plan))
    else:
        plan_table(Console(), plan)


def _report(report, fmt: str) -> int:
    out = err_console if fmt not in ("table", "summary") else Console()
    out.print(t(m.APPLY_DONE, done=len(report.done), failed=len(report.failed), stale=len(report.stale),
                skipped=report.skipped), markup=False, highlight=False)
    for _, message in [*report.stale, *report.failed][:50]:
        err_console.print(f"- {message}", markup=False, highlight=False)
    if report.failed:
        return int(ExitCode.ERROR)
    if report.stale:
        return int(ExitCode.STALE_PLAN)
    return 0


@app.command(help=t(m.RECONCILE_HELP), rich_help_panel=PANEL)
def reconcile(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=t(m.OPT_DRY_RUN), rich_help_panel="Safety")] = False,
    full: Annotated[bool, typer.Option("--full", help=t(m.OPT_FULL))] = False,
    only: Annotated[str | None, typer.Option("--only", help=t(m.OPT_ONLY), metavar="ENTITIES")] = None,
    plan_out: Annotated[Path | None, typer.Option("--plan-out", help=t(m.OPT_PLAN_OUT), metavar="FILE",
                                                  rich_help_panel="Output")] = None,
    fmt: Annotated[str, typer.Option("--format", help=t(m.OPT_FORMAT), rich_help_panel="Output")] = "table",
    max_changes: Annotated[int | None, typer.Option("--max-changes", help=t(m.OPT_MAX_CHANGES), min=0,
                                                    rich_help_panel="Safety")] = None,
) -> None:
    from b24sync.reconcile import run_reconcile

    if fmt not in FORMATS:
        raise typer.BadParameter(t(m.BAD_FORMAT, value=fmt), param_hint="--format")
    entities = None
    if only:
        entities = {part.strip() for part in only.split(",") if part.strip()}
        if not entities or not entities <= ONLY:
            raise typer.BadParameter(t(m.BAD_ONLY, value=only), param_hint="--only")
    config = load_config(ctx.obj.config)
    with ExitStack() as stack:
        reading, applying = _progress(stack)
        result = run_reconcile(config, dry_run=dry_run, full=full, only=entities,
                               max_changes=max_changes, progress=reading, apply_progress=applying)
    if result.resolved:
        err_console.print(t(m.RESOLVED_IN_DOUBT, count=result.resolved))
    if plan_out is not None:
        _write_private(plan_out, result.plan.to_json())
        err_console.print(t(m.PLAN_SAVED, path=plan_out), markup=False, highlight=False)
    _show(result.plan, fmt)
    out = err_console if fmt not in ("table", "summary") else Console()  # json / csv: stdout is the data
    if result.plan.empty:
        out.print(t(m.NOTHING_TO_DO))
    if result.report is None:
        if not result.plan.empty:
            out.print(t(m.DRY_RUN_DONE, count=len(result.plan.operations)))
        return
    code = _report(result.report, fmt)
    if code:
        raise typer.Exit(code)


@app.command(name="apply", help=t(m.APPLY_HELP), rich_help_panel=PANEL)
def apply_plan(
    ctx: typer.Context,
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help=t(m.OPT_PLAN_OUT))],
    fmt: Annotated[str, typer.Option("--format", help=t(m.OPT_FORMAT), rich_help_panel="Output")] = "table",
) -> None:
    from b24sync.apply import Applier
    from b24sync.errors import B24SyncError
    from b24sync.journal import Journal
    from b24sync.lock import RunLock
    from b24sync.recon.plan import Plan
    from b24sync.reconcile import clients
    from b24sync.state import State

    try:
        plan = Plan.from_json(plan_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise B24SyncError(t(m.PLAN_NOT_READABLE, path=plan_file, reason=exc)) from None
    config = load_config(ctx.obj.config)
    with RunLock(config.state_path, "apply"), ExitStack() as stack:
        _, applying = _progress(stack)
        state = State(config.state_path)
        run_id = state.start_run(f"apply {plan_file.name}")
        b24, onec, service = clients(config)
        applier = Applier(Journal(state, run_id), b24, onec, service=service, write_via=config.onec.write_via,
                          progress=applying)
        resolved = applier.resolve_in_doubt()
        report = applier.apply(plan)
        state.finish_run(run_id, "ok" if report.ok else "partial",
                         {"done": len(report.done), "failed": len(report.failed), "stale": len(report.stale)})
    if resolved:
        err_console.print(t(m.RESOLVED_IN_DOUBT, count=resolved))
    code = _report(report, fmt)
    if code:
        raise typer.Exit(code)
