"""``snapshot``: both systems' records to files (CSV, Parquet), for analysis outside b24sync."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.config import load_config
from b24sync.i18n import t

if TYPE_CHECKING:
    from b24sync.snapshot import SnapshotReport

PANEL = "Sync"

# the choices are spelled out here (not imported) so `--help` stays instant; a unit test keeps them
# equal to b24sync.snapshot.SIDES / ENTITIES
class Side(StrEnum):
    bitrix24 = "bitrix24"
    onec = "onec"


class Entity(StrEnum):
    companies = "companies"
    contacts = "contacts"
    requisites = "requisites"
    addresses = "addresses"
    users = "users"
    counterparties = "counterparties"


@app.command(help=t(m.SNAPSHOT_HELP), rich_help_panel=PANEL)
def snapshot(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help=t(m.SNAPSHOT_OPT_OUT), metavar="DIR")],
    side: Annotated[Side | None, typer.Option("--side", help=t(m.SNAPSHOT_OPT_SIDE),
                                              case_sensitive=False)] = None,
    entity: Annotated[Entity | None, typer.Option("--entity", help=t(m.SNAPSHOT_OPT_ENTITY),
                                                  case_sensitive=False)] = None,
    full: Annotated[bool, typer.Option("--full", help=t(m.SNAPSHOT_OPT_FULL))] = False,
    force: Annotated[bool, typer.Option("--force", help=t(m.SNAPSHOT_OPT_FORCE))] = False,
) -> None:
    from b24sync.snapshot import SnapshotUsageError, parquet_available, resolve_scope, take_snapshot

    side_name = side.value if side else None
    entity_name = entity.value if entity else None
    try:
        resolve_scope(side_name, entity_name)
    except SnapshotUsageError as exc:
        raise typer.BadParameter(str(exc), param_hint="--entity") from None
    config = load_config(ctx.obj.config)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as progress:

        def reading(name: str):
            task = progress.add_task(t(m.READING, entity=name), total=None)
            return lambda n: progress.advance(task, n)

        report = take_snapshot(config, out, side=side_name, entity=entity_name, full=full, force=force,
                               progress=reading)
    render_snapshot(Console(), report)
    if not parquet_available():
        err_console.print(t(m.SNAPSHOT_PARQUET_SKIPPED), markup=False, highlight=False)


def render_snapshot(console: Console, report: SnapshotReport) -> None:
    """How each side was read, the files written, and the totals."""
    for read in report.reads.values():
        facts = {"side": read.side, "requests": read.requests, "seconds": read.seconds}
        if read.mode == "full":
            template = {"no_watermark": m.SNAPSHOT_READ_NO_WATERMARK,
                        "no_known_versions": m.SNAPSHOT_READ_NO_VERSIONS}.get(read.reason, m.SNAPSHOT_READ_FULL)
            line = t(template, **facts)
        elif read.since is not None:
            line = t(m.SNAPSHOT_READ_SINCE, since=read.since, **facts)
        else:
            line = t(m.SNAPSHOT_READ_VERSIONS, changed=read.changed, known=read.known_versions, gone=read.gone,
                     **facts)
        console.print(line, markup=False, highlight=False)
    table = Table(title=t(m.SNAPSHOT_TITLE, path=report.out))
    for column, justify in ((m.SNAPSHOT_COL_FILE, "left"), (m.COL_KIND, "left"), (m.SNAPSHOT_COL_ROWS, "right"),
                            (m.SNAPSHOT_COL_COLUMNS, "right")):
        table.add_column(t(column), justify=justify)
    for frame in report.frames:
        kind = t(m.SNAPSHOT_KIND_RAW if frame.kind == "raw" else m.SNAPSHOT_KIND_CANONICAL)
        names = ", ".join(path.name for path in frame.files.values())
        table.add_row(names, kind, str(frame.rows), str(len(frame.columns)))
    console.print(table)
    console.print(t(m.SNAPSHOT_DONE, frames=len(report.frames), rows=report.rows, requests=report.requests,
                    seconds=report.seconds, manifest=report.manifest), markup=False, highlight=False)
