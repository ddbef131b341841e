"""``b24sync conflicts``: the open conflicts with their records, and ``conflicts link`` to resolve one."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from b24sync import messages as m
from b24sync.cli import app
from b24sync.config import load_config
from b24sync.i18n import t

conflicts_app = typer.Typer(no_args_is_help=False, invoke_without_command=True, help=t(m.CONFLICTS_HELP))
app.add_typer(conflicts_app, name="conflicts", rich_help_panel="Service")


@conflicts_app.callback()
def conflicts(
    ctx: typer.Context,
    refresh: Annotated[bool, typer.Option("--refresh", help=t(m.CONFLICTS_OPT_REFRESH))] = False,
    output: Annotated[str, typer.Option("--format", help=t(m.CONFLICTS_OPT_FORMAT))] = "text",
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if output not in ("text", "json"):
        raise typer.BadParameter(t(m.CONFLICTS_BAD_FORMAT, value=output), param_hint="--format")
    from b24sync import conflicts as lib
    from b24sync.state import State

    config = load_config(ctx.obj.config)
    found = lib.refresh(config) if refresh else lib.open_conflicts(State(config.state_path))
    if output == "json":
        typer.echo(json.dumps([{"id": c.conflict_id, "kind": c.kind, "reason": c.reason, "entity": c.entity,
                                "records": list(c.records), "detail": c.detail, "facts": c.facts,
                                "message": c.message(), "first_seen": c.first_seen, "last_seen": c.last_seen}
                               for c in found], ensure_ascii=False, indent=2))
        return
    console = Console()
    state = State(config.state_path)
    seen = state.db.execute("select max(last_seen) from conflicts").fetchone()[0]
    if not found:
        full_runs = [r for r in state.last_runs(50) if r["status"] in ("ok", "partial", "planned")]
        console.print(t(m.CONFLICTS_NONE, seen=seen) if seen or full_runs else t(m.CONFLICTS_NEVER),
                      markup=False, highlight=False)
        return
    console.print(t(m.CONFLICTS_TITLE, count=len(found), seen=max(c.last_seen for c in found)), markup=False,
                  highlight=False)
    for conflict in found:
        table = Table(title=escape(f"[{conflict.conflict_id}] {conflict.message()}"), title_justify="left",
                      expand=False)
        for column in (m.CONFLICTS_COL_RECORD, m.CONFLICTS_COL_NAME, m.CONFLICTS_COL_INN, m.CONFLICTS_COL_CONTACTS):
            table.add_column(t(column), overflow="fold")
        for key in conflict.records:
            fact = conflict.facts.get(key, {})
            inn = "/".join(v for v in (fact.get("inn") or "", fact.get("kpp") or "") if v)
            reach = ", ".join([*(fact.get("emails") or []), *(fact.get("phones") or [])])
            table.add_row(*(escape(v) for v in (key, str(fact.get("name") or ""), inn, reach)))
        console.print(table)
    console.print(t(m.CONFLICTS_NEXT), markup=False, highlight=False)


@conflicts_app.command("link", help=t(m.CONFLICTS_LINK_HELP))
def link(
    ctx: typer.Context,
    b24_key: Annotated[str, typer.Argument(metavar="BITRIX24_KEY", help=t(m.CONFLICTS_ARG_B24))],
    onec_ref: Annotated[str, typer.Argument(metavar="1C_REF_KEY", help=t(m.CONFLICTS_ARG_ONEC))],
) -> None:
    from b24sync import conflicts as lib

    config = load_config(ctx.obj.config)
    concerned = lib.link_by_hand(config, b24_key, onec_ref)
    onec_key = "counterparty:" + onec_ref.removeprefix("counterparty:")
    Console().print(t(m.CONFLICTS_LINKED, b24=b24_key, onec=onec_key, count=len(concerned)), markup=False,
                    highlight=False)


@conflicts_app.command("pick", help=t(m.CONFLICTS_PICK_HELP))
def pick(
    ctx: typer.Context,
    conflict: Annotated[str, typer.Argument(metavar="CONFLICT_ID", help=t(m.CONFLICTS_ARG_CONFLICT))],
    side: Annotated[str, typer.Option("--side", help=t(m.CONFLICTS_OPT_SIDE))],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=t(m.CONFLICTS_OPT_DRY_RUN))] = False,
    yes: Annotated[bool, typer.Option("--yes", help=t(m.CONFLICTS_OPT_YES))] = False,
) -> None:
    from b24sync import conflicts as lib
    from b24sync.cli.reconcile import _report
    from b24sync.exitcodes import ExitCode
    from b24sync.render import plan_table

    config = load_config(ctx.obj.config)
    console = Console()
    picked = lib.prepare_pick(config, conflict, side.lower())
    b24_key, onec_key = picked.conflict.records
    console.print(t(m.CONFLICTS_PICK_TITLE, conflict=picked.conflict.conflict_id, field=picked.field, b24=b24_key,
                    onec=onec_key, side=side.lower(), value=picked.value), markup=False, highlight=False)
    count = len(picked.plan.operations)
    if count:
        plan_table(console, picked.plan)
    elif not dry_run:
        lib.apply_pick(config, picked)
        console.print(t(m.CONFLICTS_PICK_AGREE), markup=False, highlight=False)
        return
    if dry_run:
        console.print(t(m.DRY_RUN_DONE, count=count), markup=False, highlight=False)
        return
    if not yes and not typer.confirm(t(m.CONFLICTS_PICK_CONFIRM), default=False):
        console.print(t(m.REVERT_DECLINED), markup=False, highlight=False)
        return
    report = lib.apply_pick(config, picked)
    code = _report(report, "table")
    if not (report.ok and not report.stale):
        console.print(t(m.CONFLICTS_PICK_OPEN), markup=False, highlight=False)
    if code != int(ExitCode.OK):
        raise typer.Exit(code)
