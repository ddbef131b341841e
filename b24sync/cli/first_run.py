"""``b24sync init``: ask (or take as options) what a first configuration needs, write it, check it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.prompt import Confirm, Prompt

from b24sync import messages as m
from b24sync.cli import app, err_console
from b24sync.config import ENV_BITRIX24_WEBHOOK, ENV_ONEC_PASSWORD, find_config
from b24sync.errors import ConfigError
from b24sync.exitcodes import ExitCode
from b24sync.i18n import t
from b24sync.secrets import Secret

if TYPE_CHECKING:
    from b24sync.initconfig import Answers

PANEL = "Setup"
DEFAULT_USER = "Администратор"


def _ask(question: str, *, default: str | None = None, secret: bool = False) -> str:
    """One answer from the terminal (a secret is not echoed)."""
    if default is not None:
        return Prompt.ask(question, default=default, password=secret, console=err_console)
    return Prompt.ask(question, password=secret, console=err_console)


def _terminal() -> bool:
    """Whether a person can answer questions (stdin is a terminal)."""
    return sys.stdin.isatty()


def _confirm(question: str, default: bool = True) -> bool:
    return Confirm.ask(question, default=default, console=err_console)


def _value(given: str | None, *, interactive: bool, option: str, question: str, default: str | None = None,
           secret: bool = False, env: str | None = None) -> str:
    """An option's value: given, else from ``env``, else asked; missing when not interactive: a usage error."""
    if given:
        return given
    if env and os.environ.get(env):
        return os.environ[env]
    if interactive:
        while True:
            answer = _ask(question, default=default, secret=secret).strip()
            if answer:
                return answer
    if default is not None:
        return default
    raise typer.BadParameter(t(m.INIT_MISSING, option=option), param_hint=option)


def _read_password_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(t(m.INIT_PASSWORD_FILE, path=path, reason=getattr(exc, "strerror", None) or exc)) from None
    return text.rstrip("\r\n")


@app.command(help=t(m.INIT_HELP), rich_help_panel=PANEL)
def init(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help=t(m.INIT_OPT_CONFIG), metavar="PATH")] = None,
    instance: Annotated[str | None, typer.Option("--instance", help=t(m.INIT_OPT_INSTANCE), metavar="NAME")] = None,
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help=t(m.INIT_OPT_WEBHOOK),
                                                    metavar="URL")] = None,
    odata_url: Annotated[str | None, typer.Option("--odata-url", help=t(m.INIT_OPT_ODATA), metavar="URL")] = None,
    odata_user: Annotated[str | None, typer.Option("--odata-user", help=t(m.INIT_OPT_USER), metavar="NAME")] = None,
    password_file: Annotated[Path | None, typer.Option("--odata-password-file", help=t(m.INIT_OPT_PASSWORD_FILE),
                                                       metavar="PATH")] = None,
    organization: Annotated[str | None, typer.Option("--organization", help=t(m.INIT_OPT_ORGANIZATION),
                                                     metavar="INN")] = None,
    state_path: Annotated[str | None, typer.Option("--state-path", help=t(m.INIT_OPT_STATE), metavar="PATH")] = None,
    systemd: Annotated[bool, typer.Option("--systemd", help=t(m.INIT_OPT_SYSTEMD))] = False,
    force: Annotated[bool, typer.Option("--force", help=t(m.INIT_OPT_FORCE))] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=t(m.INIT_OPT_YES))] = False,
    no_check: Annotated[bool, typer.Option("--no-check", help=t(m.INIT_OPT_NO_CHECK))] = False,
) -> None:
    from b24sync.initconfig import (
        SYSTEMD_CONFIG_DIR,
        SYSTEMD_STATE_DIR,
        Answers,
        FileExists,
        existing,
        normalize_odata,
        normalize_webhook,
        secret_paths,
        write,
    )

    interactive = not yes and _terminal()
    explicit = config or (Path(ctx.obj.config) if ctx.obj and ctx.obj.config else None)
    stem = explicit.stem if explicit is not None and explicit.stem != "config" else "default"
    name = _value(instance, interactive=interactive, option="--instance", question=t(m.INIT_ASK_INSTANCE),
                  default=stem)
    default_path = SYSTEMD_CONFIG_DIR / f"{name}.toml" if systemd else find_config(None)
    path = (explicit or default_path).expanduser().absolute()
    if state_path is None and systemd:
        state_path = str(SYSTEMD_STATE_DIR / name / "state.db")
    webhook = normalize_webhook(_value(webhook_url, interactive=interactive, option="--webhook-url",
                                       question=t(m.INIT_ASK_WEBHOOK), secret=True, env=ENV_BITRIX24_WEBHOOK))
    webhook_secret = Secret(webhook, "init")
    odata = normalize_odata(_value(odata_url, interactive=interactive, option="--odata-url",
                                   question=t(m.INIT_ASK_ODATA)))
    user = _value(odata_user, interactive=interactive, option="--odata-user", question=t(m.INIT_ASK_USER),
                  default=DEFAULT_USER if interactive else None)
    if password_file is not None:
        password = _read_password_file(password_file)
    else:
        password = _value(None, interactive=interactive, option="--odata-password-file",
                          question=t(m.INIT_ASK_PASSWORD, user=user), secret=True, env=ENV_ONEC_PASSWORD)
    answers = Answers(config_path=path, instance=name, webhook=webhook_secret, odata_url=odata, user=user,
                      password=Secret(password, "init"), state_path=state_path or "",
                      organization=(organization or "").strip(), systemd=systemd)

    out = Console()
    present = existing(answers)
    if present and not force and interactive:
        force = _confirm(t(m.INIT_ASK_OVERWRITE, files=", ".join(str(p) for p in present)), default=False)
    if present and not force:
        raise FileExists(t(m.INIT_EXISTS, files=", ".join(str(p) for p in present)))
    secrets_shown = ", ".join(str(p) for p in secret_paths(answers).values())
    out.print(t(m.INIT_SUMMARY, config=path, secrets=secrets_shown, instance=name,
                state=state_path or f"{name}-state.db", portal=urlsplit(webhook).netloc, odata=odata, user=user),
              markup=False, highlight=False)
    if interactive and not _confirm(t(m.INIT_ASK_WRITE)):
        err_console.print(t(m.INIT_ABORTED), markup=False)
        raise typer.Exit(int(ExitCode.ERROR))
    written = write(answers, force=force)
    out.print(t(m.INIT_WRITTEN, config=written.config, secrets=", ".join(str(p) for p in written.secrets)),
              markup=False, highlight=False)
    for backup in written.backups:
        out.print(t(m.INIT_BACKUP, path=backup), markup=False, highlight=False)
    healthy = True
    if not no_check:
        healthy = _check(answers, interactive=interactive, yes=yes, out=out)
    _next_steps(out, answers, checked=not no_check, healthy=healthy)
    if not healthy:
        raise typer.Exit(int(ExitCode.ERROR))


def _check(answers: Answers, *, interactive: bool, yes: bool, out: Console) -> bool:
    """The doctor on the new config; the missing Bitrix24 user fields are created with --yes or when confirmed."""
    from b24sync.cli.ops import render_checks
    from b24sync.doctor import FAIL, run_doctor
    from b24sync.initconfig import load_written

    config = load_written(answers)
    checks = run_doctor(config)
    missing = [c for c in checks if c.status == FAIL and c.detail == t(m.CHECK_FIELD_MISSING)]
    if missing and (yes or (interactive and _confirm(t(m.INIT_ASK_FIX, count=len(missing))))):
        checks = run_doctor(config, fix=True)
    return render_checks(out, checks, title=t(m.DOCTOR_TITLE, path=config.path))


def _next_steps(out: Console, answers: Answers, *, checked: bool, healthy: bool) -> None:
    config = answers.config_path
    if answers.systemd:
        text = t(m.INIT_NEXT_SYSTEMD, config=config, instance=config.stem)
    else:
        text = t(m.INIT_NEXT, config=config, instance=answers.instance)
    if not checked or not healthy:
        text = t(m.INIT_NEXT_DOCTOR, config=config) + "\n" + text
    out.print(text, markup=False, highlight=False)
