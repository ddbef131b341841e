"""``serve`` and ``worker``: the event receiver and the queue worker (a thin shell over b24sync.events)."""

from __future__ import annotations

from typing import Annotated

import typer

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.config import load_config
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t

PANEL = "Service"


@app.command(help=t(m.SERVE_HELP), rich_help_panel=PANEL)
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help=t(m.OPT_SERVE_HOST))] = None,
    port: Annotated[int | None, typer.Option("--port", help=t(m.OPT_SERVE_PORT), min=0, max=65535)] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help=t(m.OPT_NO_WORKER))] = False,
) -> None:
    from b24sync.events.serve import serve_until_signal, start_service

    config = load_config(ctx.obj.config)
    token = config.require_app_token().reveal()
    if not no_worker:
        config.require_webhook()
        config.require_onec_password()
    service = start_service(config, token, host=host, port=port, worker=not no_worker)

    def ready(running) -> None:
        err_console.print(t(m.SERVE_LISTENING, url=running.url), markup=False, highlight=False)

    serve_until_signal(service, ready)
    err_console.print(t(m.SERVE_STOPPED, counts=service.receiver.queue.counts()), markup=False, highlight=False)


@app.command(help=t(m.WORKER_HELP), rich_help_panel=PANEL)
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help=t(m.OPT_WORKER_ONCE))] = False,
) -> None:
    import signal
    import threading

    from b24sync.events.queue import EventQueue
    from b24sync.events.worker import Worker

    config = load_config(ctx.obj.config)
    settings = config.serve
    the_worker = Worker(config, EventQueue(config.state_path, dedupe_seconds=settings.dedupe_seconds,
                                           max_attempts=settings.max_attempts), batch_size=settings.batch_size)
    if once:
        if not the_worker.drain(timeout=3600):
            raise typer.Exit(int(ExitCode.ERROR))
        err_console.print(t(m.WORKER_DONE, count=the_worker.processed), markup=False, highlight=False)
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: the_worker.stop())
    thread = threading.Thread(target=the_worker.run_forever, name="b24sync-worker")
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
    err_console.print(t(m.WORKER_DONE, count=the_worker.processed), markup=False, highlight=False)
