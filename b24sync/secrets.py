"""Secrets: where they come from, and a value type that never prints itself.

A secret is taken, in this order, from an environment variable, a ``KEY=VALUE`` secrets file
named in the config, a dedicated one-value file, or systemd's ``$CREDENTIALS_DIRECTORY``. Never
from the TOML itself nor from the command line (argv is visible in ``ps``). Any file holding a
secret must be readable by its owner only.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from b24sync import messages as m
from b24sync.errors import ConfigError
from b24sync.i18n import t
from b24sync.redact import redact


class Secret:
    """A secret string whose ``str``/``repr`` are masked; ``reveal()`` gives the value."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source
        redact.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(***, source={self.source!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def check_owner_only(path: Path, key: str) -> None:
    """Refuse a file that group or others may read: it holds or points at secrets."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(t(m.FILE_UNREADABLE, path=path, key=key, reason=exc.strerror)) from None
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(t(m.FILE_NOT_OWNER_ONLY, path=path, key=key, mode=oct(stat.S_IMODE(mode))))


def _read_utf8(path: Path) -> str:
    """The file as UTF-8; another encoding (a Cyrillic password saved as Windows-1251) is a config
    error naming the file — never an exception carrying the file's bytes."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(t(m.SECRET_NOT_UTF8, path=path, offset=exc.start)) from None


def read_secrets_file(path: Path, key: str) -> dict[str, str]:
    """Parse a ``KEY=VALUE`` secrets file (``#`` comments, optional quotes)."""
    check_owner_only(path, key)
    values: dict[str, str] = {}
    for number, raw in enumerate(_read_utf8(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(t(m.SECRETS_FILE_BAD_LINE, path=path, line=number))
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
        redact.add(value)
    return values


@dataclass(frozen=True)
class SecretSource:
    """Where one secret may be found: an env var, a key of the secrets file, its own file."""

    env: str
    secrets_file: Path | None = None
    own_file: Path | None = None
    credential: str | None = None  # name under $CREDENTIALS_DIRECTORY

    def resolve(self, key: str, config_path: Path | str) -> Secret | None:
        """Find the secret, or ``None`` if no source has it."""
        if value := os.environ.get(self.env):
            return Secret(value, f"environment variable {self.env}")
        if self.secrets_file is not None:
            values = read_secrets_file(self.secrets_file, "secrets.file")
            if value := values.get(self.env):
                return Secret(value, f"{self.secrets_file} ({self.env})")
        if self.own_file is not None:
            check_owner_only(self.own_file, key)
            value = _read_utf8(self.own_file).strip()
            if value:
                return Secret(value, str(self.own_file))
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if creds and self.credential:
            path = Path(creds) / self.credential
            if path.is_file():
                value = _read_utf8(path).strip()
                if value:
                    return Secret(value, f"systemd credential {self.credential}")
        return None
