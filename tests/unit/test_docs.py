"""The operations docs stay true to the code: every exit code and error class is explained in
docs/troubleshooting.md, the ownership defaults match the rules, and relative links resolve."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import b24sync
from b24sync.cli import TERMINATED
from b24sync.exitcodes import ExitCode
from b24sync.recon.model import SYNC_FIELDS
from b24sync.recon.rules import DEFAULT_POLICIES

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PACKAGE = Path(b24sync.__file__).parent
TROUBLESHOOTING = DOCS / "troubleshooting.md"


def _exit_code_rows() -> dict[int, str]:
    text = TROUBLESHOOTING.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if match := re.match(r"^\|\s*(\d+)\s*\|\s*([A-Z_]+)\s*\|(.+)\|\s*$", line):
            rows[int(match.group(1))] = match.group(2)
            cells = [c.strip() for c in match.group(3).split("|")]
            assert len(cells) == 2 and all(cells), f"exit code {match.group(1)}: meaning and what to do next"
    return rows


@pytest.mark.parametrize("code", [*ExitCode, TERMINATED], ids=lambda c: getattr(c, "name", str(c)))
def test_every_exit_code_is_explained_in_troubleshooting(code):
    rows = _exit_code_rows()
    assert int(code) in rows, f"docs/troubleshooting.md: no row for exit code {int(code)}"
    if isinstance(code, ExitCode):
        assert rows[int(code)] == code.name


def _error_classes() -> list[type[Exception]]:
    """Every exception class b24sync defines outside the emulators (namespace packages included)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "sandbox" in parts or parts[-1] == "__main__":
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == name:
                found.append(obj)
    return found


def test_every_error_class_is_explained_in_troubleshooting():
    text = TROUBLESHOOTING.read_text(encoding="utf-8")
    classes = _error_classes()
    names = {c.__name__ for c in classes}
    assert {"ConfigError", "LockHeld", "InDoubt", "QueryLimitExceeded", "BusinessError"} <= names
    missing = [f"{c.__module__}.{c.__name__}" for c in classes if f"| `{c.__name__}`" not in text]
    assert not missing, f"explain these in docs/troubleshooting.md (## Error classes): {missing}"


def test_the_ownership_defaults_are_the_rules():
    text = (DOCS / "ownership.md").read_text(encoding="utf-8")
    table = text.split("## The defaults", 1)[1].split("\n\n", 2)[1]
    shown = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        shown[cells[0].strip("`")] = cells[-1].split()[0].strip("`")
    assert shown == {name: DEFAULT_POLICIES[name] for name in SYNC_FIELDS}


LINKED = ["README.md", "docs/getting-started.md", "docs/troubleshooting.md", "docs/ownership.md",
          "docs/configuration.md"]


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^#{1,6}\s+(.+?)\s*$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


@pytest.mark.parametrize("name", LINKED)
def test_relative_links_resolve(name):
    doc = REPO / name
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target, anchor in re.findall(r"\]\((?!https?://|mailto:)([^)#\s]*)(?:#([^)\s]+))?\)", text):
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{name}: broken links {broken}"
