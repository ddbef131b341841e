"""``b24sync sandbox`` and ``b24sync demo``: the local emulators, by hand and as a guided run."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.i18n import t

# The emulators and pandas are imported inside the commands: `b24sync --version` and `--help`
# stay instant, and a broken optional piece cannot stop the rest of the CLI from starting.
DEFAULT_SIZE = 200

PANEL = "Sandbox"


@app.command(help=t(m.SANDBOX_HELP), rich_help_panel=PANEL)
def sandbox(
    bitrix24_port: Annotated[int, typer.Option("--bitrix24-port", help=t(m.SANDBOX_OPT_PORT), min=0,
                                               max=65535)] = 0,
    onec_port: Annotated[int, typer.Option("--onec-port", help=t(m.SANDBOX_OPT_ONEC_PORT), min=0,
                                           max=65535)] = 0,
    size: Annotated[int, typer.Option("--size", help=t(m.SANDBOX_OPT_SIZE), min=0)] = DEFAULT_SIZE,
    seed: Annotated[int, typer.Option("--seed", help=t(m.SANDBOX_OPT_SEED))] = 0,
    no_limits: Annotated[bool, typer.Option("--no-limits", help=t(m.SANDBOX_OPT_NO_LIMITS))] = False,
    events_url: Annotated[str | None, typer.Option("--events-url", help=t(m.SANDBOX_OPT_EVENTS),
                                                   metavar="URL")] = None,
    write_config: Annotated[Path | None, typer.Option("--write-config", help=t(m.SANDBOX_OPT_WRITE_CONFIG),
                                                      metavar="PATH")] = None,
    b24_faults: Annotated[list[str] | None, typer.Option("--b24-fault", help=t(m.SANDBOX_OPT_B24_FAULT),
                                                         metavar="KIND=SHARE")] = None,
    onec_faults: Annotated[list[str] | None, typer.Option("--onec-fault", help=t(m.SANDBOX_OPT_ONEC_FAULT),
                                                          metavar="KIND=SHARE")] = None,
    fault_seed: Annotated[int, typer.Option("--fault-seed", help=t(m.SANDBOX_OPT_FAULT_SEED))] = 0,
    latency: Annotated[float, typer.Option("--slow-seconds", help=t(m.SANDBOX_OPT_SLOW), min=0)] = 2.0,
    realistic_latency: Annotated[bool, typer.Option("--realistic-latency",
                                                    help=t(m.SANDBOX_OPT_REALISTIC_LATENCY))] = False,
) -> None:
    import random

    from b24sync.sandbox.bitrix24.faults import FAULT_KINDS as B24_KINDS
    from b24sync.sandbox.latency import SCALE_ENV, CostModel
    from b24sync.sandbox.onec.faults import FAULT_KINDS as ONEC_KINDS
    from b24sync.sandbox.run import start_sandbox

    b24_shares = _fault_shares(b24_faults or [], B24_KINDS, "--b24-fault")
    onec_shares = _fault_shares(onec_faults or [], ONEC_KINDS, "--onec-fault")
    costs = None
    if realistic_latency:
        try:
            costs = CostModel.from_env()
        except ValueError:
            raise typer.BadParameter(t(m.SANDBOX_BAD_LATENCY_SCALE, value=os.environ.get(SCALE_ENV, "")),
                                     param_hint="--realistic-latency") from None

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    running = start_sandbox(size=size, seed=seed, limits=not no_limits, events_url=events_url,
                            bitrix24_port=bitrix24_port, onec_port=onec_port,
                            realistic_latency=costs if costs is not None else False)
    for faults, shares, stream in ((running.bitrix24.faults, b24_shares, "bitrix24"),
                                   (running.onec.faults, onec_shares, "onec")):
        faults.probabilities = shares
        faults.rng = random.Random(f"{fault_seed}/{stream}")
        faults.slow_seconds = latency
    try:
        for key, value in running.info().items():
            print(f"{key}={value}", flush=True)
        if write_config is not None:
            path = running.write_config(write_config)
            print(f"CONFIG={path}", flush=True)
            err_console.print(t(m.SANDBOX_CONFIG_WRITTEN, path=path), markup=False, highlight=False)
        print("READY=1", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        err_console.print(t(m.SANDBOX_STOPPED))


def _fault_shares(specs: list[str], kinds: frozenset[str], option: str) -> dict[str, float]:
    """``["html500=0.05", …]`` → ``{"html500": 0.05}``; a bad kind or share is a usage error."""
    shares: dict[str, float] = {}
    for spec in specs:
        kind, _, share = spec.partition("=")
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if kind not in kinds or not 0 <= value <= 1:
            raise typer.BadParameter(t(m.SANDBOX_BAD_FAULT, spec=spec, kinds=", ".join(sorted(kinds))),
                                     param_hint=option)
        shares[kind] = value
    return shares


@app.command(help=t(m.DEMO_HELP), rich_help_panel=PANEL)
def demo(
    size: Annotated[int, typer.Option("--size", help=t(m.SANDBOX_OPT_SIZE), min=20)] = DEFAULT_SIZE,
    seed: Annotated[int, typer.Option("--seed", help=t(m.SANDBOX_OPT_SEED))] = 0,
) -> None:
    from b24sync.cli.sandbox_render import render_demo
    from b24sync.demo import run_demo

    out = Console()
    err_console.print(t(m.DEMO_STARTING, size=size))
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as progress:

        def reading(name: str):
            task = progress.add_task(t(m.READING, entity=name), total=None)
            return lambda n: progress.advance(task, n)

        report = run_demo(size, seed, progress=reading)
    render_demo(out, report)
    sys.stdout.flush()
    if report.applied is not None and not report.applied.ok:
        raise typer.Exit(1)
