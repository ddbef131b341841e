"""``b24sync init``: a first configuration, written from the documented example, and its secrets.

The config is ``config.example.toml`` (shipped in the package, identical to the one in the
repository) with the answers filled in, so every other key keeps its comment and default. The
secrets never go into it: the webhook URL (its token is in the path) and the 1C password go to an
owner-only ``KEY=VALUE`` secrets file beside it, or — laid out for the systemd units — to one file
each, which ``LoadCredential=`` hands to the service (``$CREDENTIALS_DIRECTORY``). Every file is
written 0600, atomically, and an existing one only with ``force`` (the old one is kept as ``.bak``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from b24sync import messages as m
from b24sync.config import ENV_BITRIX24_WEBHOOK, ENV_ONEC_PASSWORD, WEBHOOK_RE, Config, load_config
from b24sync.errors import B24SyncError, ConfigError
from b24sync.i18n import t
from b24sync.secrets import Secret

SYSTEMD_CONFIG_DIR = Path("/etc/b24sync")
SYSTEMD_STATE_DIR = Path("/var/lib/b24sync")
CREDENTIALS = {"webhook": "bitrix24_webhook", "password": "onec_password"}  # names the units' LoadCredential= use
INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class FileExists(B24SyncError):
    """A file ``init`` would write exists already and ``--force`` was not given."""


def template() -> str:
    """The documented example configuration, as shipped with the package."""
    return resources.files("b24sync").joinpath("config.example.toml").read_text(encoding="utf-8")


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are all valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def set_key(text: str, table: str, key: str, value: str) -> str:
    """``text`` with ``key`` of ``[table]`` (``""``: the root) set to ``value``, uncommenting an
    example line ``# key = …`` if that is how the template shows it; the comments above stay."""
    lines = text.splitlines(keepends=True)
    current = ""
    line_re = re.compile(rf"^(#\s*)?{re.escape(key)}\s*=")
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            current = stripped.split("#", 1)[0].strip().strip("[]").strip()
            continue
        if current == table and line_re.match(stripped):
            lines[index] = f"{key} = {value}\n"
            return "".join(lines)
    raise ValueError(f"{table or 'root'}.{key} is not in the example configuration")


def normalize_webhook(url: str) -> str:
    """The webhook URL in its canonical form (trailing slash), or a config error that does not echo it."""
    match = WEBHOOK_RE.match(url.strip())
    if not match:
        raise ConfigError(t(m.INIT_BAD_WEBHOOK))
    return match.group(1) + "/"


def normalize_odata(url: str) -> str:
    url = url.strip()
    if not re.match(r"^https?://[^/\s]+/\S*$", url):
        raise ConfigError(t(m.INIT_BAD_ODATA, value=url))
    return url if url.endswith("/") else url + "/"


@dataclass
class Answers:
    """What ``init`` asks for. ``webhook`` and ``password`` are secrets (never printed)."""

    config_path: Path
    instance: str
    webhook: Secret
    odata_url: str
    user: str
    password: Secret
    state_path: str = ""  # as written in the config; "" = ``<instance>-state.db`` beside it
    organization: str = ""
    systemd: bool = False  # one file per secret for LoadCredential=, instead of a KEY=VALUE secrets file


@dataclass
class Written:
    """The files ``init`` wrote (and backed up)."""

    config: Path
    secrets: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)


def secret_paths(answers: Answers) -> dict[str, Path]:
    """Where each secret goes: ``<stem>.secrets``, or ``<stem>.bitrix24_webhook`` / ``<stem>.onec_password``."""
    base = answers.config_path
    if answers.systemd:
        return {name: base.with_name(f"{base.stem}.{credential}") for name, credential in CREDENTIALS.items()}
    return {"secrets": base.with_suffix(".secrets")}


def render(answers: Answers, now: datetime | None = None) -> str:
    """The config file's text: the example with the answers in place."""
    text = template()
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    if answers.systemd:
        where = t(m.INIT_HEADER_CREDENTIALS, files=", ".join(str(p) for p in secret_paths(answers).values()))
    else:
        where = t(m.INIT_HEADER_SECRETS, file=secret_paths(answers)["secrets"].name)
    header = f"# {t(m.INIT_HEADER, instance=answers.instance, when=stamp)}\n# {where}\n#\n"
    text = set_key(text, "", "instance", toml_string(answers.instance))
    text = set_key(text, "state", "path", toml_string(answers.state_path or f"{answers.instance}-state.db"))
    if not answers.systemd:
        text = set_key(text, "secrets", "file", toml_string(secret_paths(answers)["secrets"].name))
    text = set_key(text, "onec", "odata_url", toml_string(answers.odata_url))
    text = set_key(text, "onec", "user", toml_string(answers.user))
    if answers.organization:
        text = set_key(text, "deals", "organization", toml_string(answers.organization))
    return header + text


def _quoted(value: str) -> str:
    """A secrets-file value that reads back exactly (the reader strips spaces and one pair of quotes)."""
    needs = value != value.strip() or (len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"")
    return f"'{value}'" if needs else value


def secret_files(answers: Answers) -> dict[Path, str]:
    paths = secret_paths(answers)
    webhook, password = answers.webhook.reveal(), answers.password.reveal()
    if answers.systemd:
        return {paths["webhook"]: webhook + "\n", paths["password"]: password + "\n"}
    body = (f"# {t(m.INIT_SECRETS_HEADER, config=answers.config_path.name)}\n"
            f"{ENV_BITRIX24_WEBHOOK}={_quoted(webhook)}\n{ENV_ONEC_PASSWORD}={_quoted(password)}\n")
    return {paths["secrets"]: body}


def existing(answers: Answers) -> list[Path]:
    """The files ``init`` would replace."""
    return [path for path in (answers.config_path, *secret_paths(answers).values()) if path.exists()]


def _write_private(path: Path, text: str, backups: list[Path]) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (a temporary file renamed over it)."""
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        shutil.copyfile(path, backup)
        os.chmod(backup, 0o600)
        backups.append(backup)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def write(answers: Answers, *, force: bool = False) -> Written:
    """Write the secrets, then the config (so the config never names a missing file)."""
    if not INSTANCE_RE.match(answers.instance):
        raise ConfigError(t(m.INIT_BAD_INSTANCE, value=answers.instance))
    present = existing(answers)
    if present and not force:
        raise FileExists(t(m.INIT_EXISTS, files=", ".join(str(p) for p in present)))
    directory = answers.config_path.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o755 if answers.systemd else 0o700)
    written = Written(config=answers.config_path)
    for path, text in secret_files(answers).items():
        _write_private(path, text, written.backups)
        written.secrets.append(path)
    _write_private(answers.config_path, render(answers), written.backups)
    return written


def load_written(answers: Answers) -> Config:
    """The configuration just written, as a run will see it; for the systemd layout, with the secrets
    the service will get from ``$CREDENTIALS_DIRECTORY`` filled in (no environment needed)."""
    config = load_config(answers.config_path)
    if answers.systemd:
        webhook = Secret(normalize_webhook(answers.webhook.reveal()), t(m.INIT_CREDENTIAL_SOURCE,
                                                                          name=CREDENTIALS["webhook"]))
        password = Secret(answers.password.reveal(), t(m.INIT_CREDENTIAL_SOURCE, name=CREDENTIALS["password"]))
        config = replace(config, bitrix24=replace(config.bitrix24, webhook=webhook),
                         onec=replace(config.onec, password=password))
    return config
