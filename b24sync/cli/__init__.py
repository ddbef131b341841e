"""The ``b24sync`` command line: a thin shell over the library.

Commands parse options, call library functions and render results; they decide nothing. Errors
of the library carry their exit code (``errors.py``), mapped here in one place, so cron and
systemd see the documented codes (docs/exit-codes.md).
"""

from __future__ import annotations

import platform
import signal
import sqlite3
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import click
import typer
import typer.core
from rich.console import Console

from b24sync import __version__
from b24sync import messages as m
from b24sync.errors import B24SyncError
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t
from b24sync.logs import setup_logging
from b24sync.redact import redact

err_console = Console(stderr=True)

TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a SIGTERM; belongs beside ExitCode.INTERRUPTED


class Terminated(BaseException):
    """SIGTERM (systemd stop, ``kill``), raised in the main thread so a run unwinds exactly as on Ctrl+C:
    open transactions roll back, the journal keeps its account (an operation in flight stays ``sending``,
    settled by the next run), the lock is released, and the process exits 143 with one line."""


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM during the unwinding ends it at once
    raise Terminated


class _Group(typer.core.TyperGroup):
    """Maps library errors to their exit codes, with a one-line, redacted message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except B24SyncError as exc:
            err_console.print(t(m.ERROR_PREFIX, message=redact(str(exc))), markup=False, highlight=False)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            err_console.print(t(m.INTERRUPTED))
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Terminated:
            err_console.print(t(m.INTERRUPTED))
            raise typer.Exit(TERMINATED) from None


app = typer.Typer(
    name="b24sync",
    cls=_Group,
    help=t(m.APP_HELP),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    add_completion=True,
)


@dataclass
class Globals:
    """Global options, handed to every command through ``ctx.obj``."""

    config: str | None = None
    verbosity: int = 0
    log_format: str = "text"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"b24sync {__version__} (python {platform.python_version()}, sqlite {sqlite3.sqlite_version})")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[str | None, typer.Option("--config", "-c", envvar="B24SYNC_CONFIG", help=t(m.OPT_CONFIG),
                                               metavar="PATH")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help=t(m.OPT_VERBOSE))] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=t(m.OPT_QUIET))] = False,
    log_format: Annotated[str, typer.Option("--log-format", envvar="B24SYNC_LOG_FORMAT",
                                            help=t(m.OPT_LOG_FORMAT))] = "text",
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help=t(m.OPT_VERSION))] = False,
) -> None:
    if log_format not in ("text", "json"):
        raise typer.BadParameter(t(m.BAD_LOG_FORMAT, value=log_format), param_hint="--log-format")
    verbosity = -1 if quiet else verbose
    setup_logging(verbosity, log_format)
    ctx.obj = Globals(config=config, verbosity=verbosity, log_format=log_format)


from b24sync.cli import conflicts as _conflicts  # noqa: E402,F401  (registers its commands)
from b24sync.cli import events as _events  # noqa: E402,F401
from b24sync.cli import first_run as _first_run  # noqa: E402,F401
from b24sync.cli import migrate as _migrate  # noqa: E402,F401
from b24sync.cli import ops as _ops  # noqa: E402,F401
from b24sync.cli import reconcile as _reconcile  # noqa: E402,F401
from b24sync.cli import revert as _revert  # noqa: E402,F401
from b24sync.cli import sandbox as _sandbox  # noqa: E402,F401
from b24sync.cli import snapshot as _snapshot  # noqa: E402,F401


def main() -> None:
    """Console-script entry point (``serve`` and ``worker`` install their own SIGTERM handling while they run)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(app())
    except Terminated:  # outside a command (while parsing the command line)
        sys.exit(TERMINATED)
