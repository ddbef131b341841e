"""The configuration reference, ``docs/configuration.md``, generated so that it cannot drift.

Regenerate it with::

    python -m b24sync.configdoc > docs/configuration.md

(``tests/unit/test_configdoc.py`` fails when the file differs from what this module makes.)

Where each part comes from:

- **keys, types, defaults**: the loader itself. :func:`b24sync.config.load_config` is run on a
  configuration with no settings while every key it asks its TOML tables for is recorded, with the
  type it expects, the default it falls back to, and whether it must be positive or is a path.
  A key the loader reads is therefore in the reference, and a key it does not read is not.
- **descriptions and examples**: the comments of ``config.example.toml``. The comment block above
  a key describes it; keys that follow it without a blank line or a comment of their own share it.
  A commented-out key (``# file = "b24sync.secrets"``) is documented like a set one, its value
  shown as an example; so are the commented-out entries of a table such as ``[deals.product_map]``.
- **section summaries**: the docstrings of the configuration dataclasses (:class:`~b24sync.config.Config`
  and the class of each of its fields).
- **[fields]**: :mod:`b24sync.recon.rules` (the synchronized fields, their default policies, the
  policies there are), which the loader hands that table to.
- **secrets and environment variables**: the secret sources the loader sets up, and the global
  options of the command line that read an environment variable.

Generation fails, naming the key, when the example has a key the loader does not read, or the
loader reads a key the example does not describe.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import sys
import tempfile
import tomllib
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from unittest import mock

from b24sync import config as cfg
from b24sync.recon import rules

__all__ = ["ConfigDocError", "generate", "main"]

REGENERATE = "python -m b24sync.configdoc > docs/configuration.md"
#: The instance name the loader is run with, so that a default derived from it reads as such.
INSTANCE_PLACEHOLDER = "<instance>"
TOP = ""  # the section of top-level keys
FIELDS = "fields"  # the table the loader hands to b24sync.recon.rules

_KINDS = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list of strings"}
_SECTION = re.compile(r"^\[([^\[\]]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*=\s*(.+)$")
_COMMENTED_KEY = re.compile(r'^#\s?([A-Za-z_][\w-]*|"[^"]*") = (.+)$')

#: What each synchronized field is on either side (``[fields]``); every field of ``SYNC_FIELDS`` needs one.
FIELD_MEANINGS = {
    "name": "The working name: Bitrix24 `TITLE` (a contact's last, first and middle name) ⇄ 1C `Description`",
    "full_name": "The legal name: requisite `RQ_COMPANY_FULL_NAME` ⇄ 1C `НаименованиеПолное`",
    "inn": "The INN: requisite `RQ_INN` ⇄ 1C `ИНН`",
    "kpp": "The KPP: requisite `RQ_KPP` ⇄ 1C `КПП`",
    "phones": "Phones: `PHONE` ⇄ 1C contact information rows `Телефон`",
    "emails": "E-mails: `EMAIL` ⇄ 1C contact information rows `АдресЭлектроннойПочты`",
    "legal_address": "The legal address: the requisite's address of type 6 ⇄ 1C row `ЮрАдресКонтрагента`",
    "manager": "The responsible manager, matched by e-mail: `ASSIGNED_BY_ID` ⇄ the responsible user of the 1C partner",
}
#: Where a section is explained at length (links relative to docs/).
SEE_ALSO = {
    "state": "[scheduling.md](scheduling.md)",
    "secrets": "[scheduling.md](scheduling.md#how-the-secrets-reach-b24sync)",
    "onec.write_via": "[onec-http-service.yaml](onec-http-service.yaml), [documents.md](documents.md)",
    "fields": "[ownership.md](ownership.md), [reconciliation.md](reconciliation.md) §3",
    "deals": "[documents.md](documents.md)",
    "leads": "[documents.md](documents.md)",
    "invoices": "[documents.md](documents.md)",
    "statuses": "[documents.md](documents.md)",
    "serve": "[events.md](events.md)",
}


class ConfigDocError(Exception):
    """The example configuration and the loader disagree; the message names the key."""


@dataclass
class Key:
    """One setting: where it is, what the loader expects, and what the example says of it."""

    section: str
    name: str
    kind: str = "string"
    default: Any = None
    positive: bool = False
    path: bool = False
    table: bool = False
    description: list[str] = field(default_factory=list)
    shares: str | None = None  # the key above whose comment this one shares
    example: str | None = None  # the value as written in the example, when it differs from the default
    entries: list[str] = field(default_factory=list)  # commented-out entries of a table

    @property
    def full(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name


# --- what the loader reads ------------------------------------------------------------------------


class _Recording:
    """What one run of the loader asked for: keys in order, tables, and secret sources."""

    def __init__(self) -> None:
        self.keys: dict[str, Key] = {}
        self.tables: list[str] = []
        self.secrets: list[dict[str, str | None]] = []

    def key(self, prefix: str, name: str) -> Key:
        section = prefix[:-1] if prefix else TOP
        full = f"{prefix}{name}"
        if full not in self.keys:
            self.keys[full] = Key(section=section, name=name)
        return self.keys[full]


@contextmanager
def _recording() -> Iterator[_Recording]:
    record = _Recording()

    class Table(cfg._Table):
        def get(self, key: str, kind: type, default: Any) -> Any:
            entry = record.key(self.prefix, key)
            entry.kind, entry.default = _KINDS.get(kind, kind.__name__), default
            return super().get(key, kind, default)

        def positive(self, key: str, kind: type, default: Any) -> Any:
            record.key(self.prefix, key).positive = True
            return super().positive(key, kind, default)

        def path_value(self, key: str, default: str | None) -> Path | None:
            record.key(self.prefix, key).path = True
            return super().path_value(key, default)

        def table(self, key: str) -> cfg._Table:
            record.tables.append(f"{self.prefix}{key}")
            return super().table(key)

    class Source(cfg.SecretSource):
        def resolve(self, key: str, config_path: Path | str) -> Any:
            record.secrets.append({"env": self.env, "file_key": key, "credential": self.credential})
            return super().resolve(key, config_path)

    with mock.patch.object(cfg, "_Table", Table), mock.patch.object(cfg, "SecretSource", Source):
        yield record


def loader_keys() -> _Recording:
    """Run the loader on a configuration that sets nothing but a placeholder instance name.

    The loader's table and secret-source classes are replaced while it runs (and the environment
    holds no ``B24SYNC_*`` variable): not for use while other threads load configurations.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("B24SYNC_") and k != "CREDENTIALS_DIRECTORY"}
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, clean, clear=True), _recording() as record:
        path = Path(tmp) / "config.toml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"instance = {json.dumps(INSTANCE_PLACEHOLDER)}\n")
        cfg.load_config(path)
    for name in record.tables:
        section = name.rpartition(".")[0]
        if not any(k.section == name for k in record.keys.values()):  # a table of free entries, not a section
            entry = record.key(f"{section}." if section else "", name.rpartition(".")[2])
            entry.kind, entry.default, entry.table = "table", {}, True
    return record


# --- what the example says ------------------------------------------------------------------------


def example_text() -> str:
    """``config.example.toml``: the one beside the package in a source checkout, else the packaged copy."""
    beside = Path(__file__).resolve().parent.parent / "config.example.toml"
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    return resources.files("b24sync").joinpath("config.example.toml").read_text(encoding="utf-8")


@dataclass
class _Example:
    preamble: list[str]
    sections: list[str]  # in the order of the file
    keys: dict[str, tuple[list[str], str, bool, str]]  # full name → (comment, value, commented out, comment's key)
    tables: dict[str, tuple[list[str], list[str]]]  # table of entries → (description lines, entry lines)


def parse_example(text: str, record: _Recording) -> _Example:
    """The comment of each key of the example, its value, and the comments and entries of its tables."""
    entry_tables = {k.full for k in record.keys.values() if k.table}
    example = _Example(preamble=[], sections=[TOP], keys={}, tables={})
    section, pending, shared, owner, in_run, started = TOP, [], [], "", False, False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        where = f"config.example.toml, line {number}"
        if match := _SECTION.match(line):
            section, pending, in_run, started = match.group(1).strip(), [], False, True
            example.sections.append(section)
            if section in entry_tables:
                example.tables[section] = ([], [])
            continue
        commented = _COMMENTED_KEY.match(line) if line.startswith("#") else None
        if commented and not _toml_value(commented.group(1), commented.group(2)):
            commented = None
        if section in entry_tables:  # a table of entries: its comments describe it, its entries are examples
            lines, entries = example.tables[section]
            if match := commented or _KEY.match(line):
                entries.append(f"{match.group(1)} = {match.group(2).strip()}")
            elif line.startswith("#"):
                lines.append(line[1:].removeprefix(" "))
            elif line.strip():
                raise ConfigDocError(f"{where}: cannot read {line!r}")
            continue
        if not line.strip():
            if not started and pending:
                example.preamble = pending
            pending, in_run = [], False
            continue
        if line.startswith("#") and not commented:
            if in_run:
                pending, in_run = [], False
            pending.append(line[1:].removeprefix(" "))
            continue
        started = True
        match = commented or _KEY.match(line)
        if match is None:
            raise ConfigDocError(f"{where}: cannot read {line!r}")
        name, value = match.group(1), match.group(2).strip()
        full = f"{section}.{name}" if section else name
        if full not in record.keys:
            raise ConfigDocError(f"{where}: {full} is not a setting the loader reads")
        if pending:
            shared, pending, owner = pending, [], name
        elif not in_run:
            shared, owner = [], name
        example.keys[full] = (list(shared), value, bool(commented), owner)
        in_run = True
    return example


def _toml_value(name: str, value: str) -> bool:
    try:
        tomllib.loads(f"{name} = {value}\n")
    except tomllib.TOMLDecodeError:
        return False
    return True


# --- rendering ------------------------------------------------------------------------------------


def _literal(value: Any) -> str:
    """A default as it would be written in TOML."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "empty" if not value else f"`{json.dumps(value, ensure_ascii=False)}`"
    if isinstance(value, list | tuple):
        return "`[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]`"
    if isinstance(value, str):
        return f"`{json.dumps(value, ensure_ascii=False)}`"
    return f"`{value}`"


def _escape(text: str) -> str:
    """``<``, ``>`` and ``$`` outside code spans escaped (Markdown would take ``<instance>`` for an HTML tag,
    and text between two dollar signs for a formula)."""
    parts = text.split("`")
    for n in range(0, len(parts), 2):
        parts[n] = parts[n].replace("<", "&lt;").replace(">", "&gt;").replace("$", "\\$")
    return "`".join(parts)


def _text(lines: list[str]) -> str:
    """Comment lines as one table cell: lines joined, an indented line starts a new line of the cell."""
    out, indented = "", False
    for line in lines:
        if not line.strip():
            continue
        item = _escape(re.sub(r"\s{2,}", " ", line.strip()))
        if out and (line.startswith(" ") or indented):
            out += "<br>" + item
        else:
            out += (" " if out else "") + item
        indented = line.startswith(" ")
    return out.replace("|", "\\|")


def _docstring(cls: type) -> str:
    """The first sentence of a class's docstring, in Markdown."""
    doc = inspect.getdoc(cls) or ""
    if doc.startswith(cls.__name__ + "("):  # a dataclass without a docstring of its own
        return ""
    first = " ".join(doc.split("\n\n")[0].split()).split(". ")[0].rstrip(".")
    return _escape(re.sub(r"``([^`]+)``", r"`\1`", first)) + "."


def _section_docs() -> dict[str, str]:
    """Summary of each section: the docstring of the class of the Config field of that name."""
    docs = {TOP: _docstring(cfg.Config)}
    for name, hint in typing.get_type_hints(cfg.Config).items():
        if dataclasses.is_dataclass(hint):
            docs[name] = _docstring(hint)
    return docs


def _field_keys() -> list[Key]:
    """``[fields]``: one key per synchronized field, and ``allow_clear``."""
    missing = [name for name in rules.SYNC_FIELDS if name not in FIELD_MEANINGS]
    if missing:
        raise ConfigDocError(f"b24sync.configdoc.FIELD_MEANINGS: describe the synchronized field(s) {missing}")
    policies = ", ".join(f'`"{p}"`' for p in rules.POLICIES)
    keys = [Key(FIELDS, name, kind="policy", default=rules.DEFAULT_POLICIES[name],
                description=[f"{FIELD_MEANINGS[name]}. One of {policies}."]) for name in rules.SYNC_FIELDS]
    keys.append(Key(FIELDS, "allow_clear", kind="boolean or list of field names", default=False,
                    description=["Whether an owner's empty value may erase the other side's filled one: `true` "
                                 "(every field), `false`, or a list of fields such as `[\"emails\"]`. Without it, "
                                 "clearing is never propagated."]))
    return keys


def _type(key: Key) -> str:
    kind = "path" if key.path else key.kind
    return f"{kind} > 0" if key.positive else kind


def _row(key: Key) -> str:
    text = f"See `{key.shares}`." if key.shares else _text(key.description)
    if key.example is not None:
        text += (" " if text else "") + f"Example: `{key.example}`."
    if key.entries:
        shown = "; ".join(f"`{entry}`" for entry in key.entries)
        text = text.removesuffix(" Example:").removesuffix(" Examples:")
        text += (" " if text else "") + f"Example: {shown}."
    return f"| `{key.name}` | {_type(key)} | {_literal(key.default)} | {text} |"


def collect() -> tuple[list[str], dict[str, tuple[str, list[Key]]], _Recording]:
    """The example's opening comment; each section, in the example's order, with its notes and keys."""
    record = loader_keys()
    example = parse_example(example_text(), record)
    undescribed = []
    for full, key in record.keys.items():
        if full == FIELDS:
            continue
        if key.table:
            key.description, key.entries = example.tables.get(full, ([], []))
        elif full in example.keys:
            lines, value, commented, owner = example.keys[full]
            key.description, key.shares = lines, owner if owner != key.name else None
            default = list(key.default) if isinstance(key.default, tuple) else key.default
            if commented or tomllib.loads(f"v = {value}\n")["v"] != default:
                key.example = value
        if not key.description:
            undescribed.append(full)
    if undescribed:
        raise ConfigDocError("config.example.toml has no comment for " + ", ".join(undescribed))
    entry_tables = {k.full for k in record.keys.values() if k.table}
    rank = {full: n for n, full in enumerate([*example.keys, *example.tables])}
    names = [*example.sections, *(k.section for k in record.keys.values()), FIELDS]
    sections: dict[str, tuple[str, list[Key]]] = {}
    for section in names:
        if section in sections or (section in entry_tables and section != FIELDS):
            continue
        if section == FIELDS:
            sections[section] = (_text(example.tables.get(FIELDS, ([], []))[0]), _field_keys())
            continue
        keys = [k for k in record.keys.values() if k.section == section and k.full != FIELDS]
        if keys:
            keys.sort(key=lambda k: rank.get(k.full, len(rank) + list(record.keys).index(k.full)))
            sections[section] = ("", keys)
    return example.preamble, sections, record


def _cli_environment() -> list[tuple[str, str]]:
    """The global options of the command line that read an environment variable."""
    import typer.main

    from b24sync.cli import app

    command = typer.main.get_command(app)
    found = []
    for param in command.params:
        envvar = getattr(param, "envvar", None)
        if envvar:
            found.append((str(envvar), f"`{param.opts[0]}`: {getattr(param, 'help', '') or ''}"))
    return found


def generate() -> str:
    """The Markdown of docs/configuration.md."""
    preamble, sections, record = collect()
    docs = _section_docs()
    out = [
        "<!-- Generated by `" + REGENERATE + "` from b24sync/config.py and config.example.toml."
        " Do not edit by hand. -->",
        "",
        "# Configuration reference",
        "",
        "Every key b24sync reads from its TOML configuration, with its type, its default and what it does."
        " The annotated example to start from is [config.example.toml](../config.example.toml); first steps:"
        " [getting-started.md](getting-started.md). What the example says at its top:",
        "",
        "> " + _text(preamble[1:]),  # its opening comment, without the title line
        "",
        "A key the loader does not know is an error naming the key and the file (a typo never falls back to a"
        " default silently), and so is a value of the wrong type. Keys named "
        + ", ".join(f"`{k}`" for k in sorted(cfg.SECRET_KEYS))
        + " are refused wherever they appear: secrets never go in this file (see [Secrets](#secrets)).",
        "",
        "Types: *path* is a string, relative to the config file unless absolute (`~` is expanded);"
        " *> 0* means the value must be greater than zero.",
        "",
    ]
    for section, (notes, keys) in sections.items():
        heading = "Top level" if section == TOP else f"`[{section}]`"
        out += [f"## {heading}", ""]
        for text in (docs.get(section), notes):
            if text:
                out += [text, ""]
        if section in SEE_ALSO:
            out += [f"More: {SEE_ALSO[section]}.", ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        out += [_row(key) for key in keys]
        out.append("")
    out += ["## Secrets", "",
            "The webhook URL, the 1C password and the application token of the event receiver are never in the"
            " config file. Each is looked up, in this order: the environment variable (its name is a setting), a"
            " `NAME=value` line of the same name in the owner-only file `secrets.file`, the owner-only one-value"
            " file of its own, and `$CREDENTIALS_DIRECTORY/<credential>` (systemd `LoadCredential=`). Any file"
            " holding a secret must be readable by its owner only (`chmod 600`), or b24sync refuses it (exit 78).",
            "",
            "| secret | environment variable (its setting) | own file | systemd credential |", "|---|---|---|---|"]
    for source in record.secrets:
        section, _, name = str(source["file_key"]).rpartition(".")
        setting = next(k.full for k in record.keys.values() if k.section == section and k.name.endswith("_env"))
        out.append(f"| `[{section}]` {name.removesuffix('_file')} | `{source['env']}` (`{setting}`) |"
                   f" `{source['file_key']}` | `{source['credential']}` |")
    out += ["", "## Environment", "", "| variable | what |", "|---|---|"]
    for name, what in _cli_environment():
        out.append(f"| `{name}` | {what} |")
    for source in record.secrets:
        section, _, name = str(source["file_key"]).rpartition(".")
        out.append(f"| `{source['env']}` | the `[{section}]` {name.removesuffix('_file')} (see [Secrets](#secrets)) |")
    out.append("| `CREDENTIALS_DIRECTORY` | set by systemd for `LoadCredential=`; where the credentials above are"
               " read from |")
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.buffer.write(generate().encode("utf-8"))


if __name__ == "__main__":
    main()
