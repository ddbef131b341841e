"""docs/configuration.md is generated from the loader and config.example.toml, and is current."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from b24sync import config as cfg
from b24sync import configdoc

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "configuration.md"
EXAMPLE = REPO / "config.example.toml"
COMMENTED = re.compile(r'^#\s?([A-Za-z_][\w-]*|"[^"]*") = (.+)$')


def _sections(markdown: str) -> dict[str, str]:
    """``## `[name]` `` chunks of the reference by table name ("" for the top level)."""
    out = {}
    for chunk in re.split(r"^## ", markdown, flags=re.M)[1:]:
        heading, _, body = chunk.partition("\n")
        match = re.fullmatch(r"`\[(.+)\]`", heading.strip())
        out["" if heading.strip() == "Top level" else match.group(1) if match else heading.strip()] = body
    return out


def _example_keys(text: str) -> list[tuple[str, str]]:
    """(table, key) of every key of the example, set or commented out; entries of a table under its name."""
    keys: list[tuple[str, str]] = []

    def walk(table: dict, path: str) -> None:
        for name, value in table.items():
            if isinstance(value, dict) and (value or not path):  # a section (an empty one holds commented keys)
                walk(value, f"{path}.{name}" if path else name)
            else:  # a key, or an empty table of entries: a row of its section
                keys.append((path, name))

    walk(tomllib.loads(text), "")
    section = ""
    for line in text.splitlines():
        if match := re.match(r"^\[([^\]]+)\]\s*$", line):
            section = match.group(1)
        elif (match := COMMENTED.match(line)) and _is_toml(line[1:]):
            keys.append((section, match.group(1)))
    return keys


def _is_toml(line: str) -> bool:
    try:
        tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return False
    return True


def test_the_configuration_reference_is_current():
    fresh = configdoc.generate()
    assert DOC.read_text(encoding="utf-8") == fresh, \
        f"docs/configuration.md is out of date; regenerate it: {configdoc.REGENERATE}"
    assert cfg._Table.__name__ == "_Table" and cfg.SecretSource.__module__ == "b24sync.secrets"  # nothing left patched


def test_every_key_of_the_example_is_in_the_reference():
    text = EXAMPLE.read_text(encoding="utf-8")
    sections = _sections(DOC.read_text(encoding="utf-8"))
    keys = _example_keys(text)
    assert ("serve", "batch_size") in keys and ("secrets", "file") in keys and ("deals", "product_map") in keys
    for table, name in keys:
        if table in ("deals.product_map", "deals.manager_map", "invoices.stage_map", "statuses.map"):
            parent, _, key = table.rpartition(".")
            row = next(line for line in sections[parent].splitlines() if line.startswith(f"| `{key}` |"))
            assert name in row, f"{table}: the example entry {name} is not shown"
            continue
        assert table in sections, f"[{table}] is not in docs/configuration.md"
        assert f"| `{name}` |" in sections[table], f"{table}.{name} is not in docs/configuration.md"


def test_every_setting_the_loader_reads_is_documented():
    sections = _sections(configdoc.generate())
    record = configdoc.loader_keys()
    for key in record.keys.values():
        if key.full == "fields":
            continue
        assert f"| `{key.name}` |" in sections[key.section], key.full
    for name in ("phones", "emails", "manager", "inn", "allow_clear"):
        assert f"| `{name}` |" in sections["fields"]


def test_generation_fails_when_the_example_and_the_loader_disagree(monkeypatch):
    text = EXAMPLE.read_text(encoding="utf-8")
    monkeypatch.setattr(configdoc, "example_text", lambda: text.replace("[serve]\n", "[serve]\n# typo = 1\n"))
    with pytest.raises(configdoc.ConfigDocError, match=r"serve\.typo"):
        configdoc.generate()
    uncommented = re.sub(r"# Rows per OData page[^\n]*\n", "", text)
    assert uncommented != text
    monkeypatch.setattr(configdoc, "example_text", lambda: uncommented.replace("page_size = 1000\n",
                                                                               "\npage_size = 1000\n"))
    with pytest.raises(configdoc.ConfigDocError, match=r"onec\.page_size"):
        configdoc.generate()


def test_defaults_and_types_come_from_the_loader():
    sections = _sections(configdoc.generate())
    assert "| `burst` | integer > 0 | `50` |" in sections["bitrix24"]
    assert '| `path` | path | `"<instance>-state.db"` |' in sections["state"]
    assert '| `trigger_stages` | list of strings | `["Договор подписан"]` |' in sections["deals"]
    assert "| `honour_if_match` | boolean | `false` |" in sections["onec"]
    assert "| `file` | path | not set |" in sections["secrets"]
