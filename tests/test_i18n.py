"""User-facing text lives in b24sync/messages.py and its catalog is up to date."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import b24sync
from b24sync import messages
from b24sync.i18n import N_, t

PACKAGE = Path(b24sync.__file__).parent
POT = PACKAGE / "locale" / "b24sync.pot"


def _msgids(text: str) -> set[str]:
    ids, current = set(), None
    for line in text.splitlines():
        if line.startswith("msgid "):
            current = [line[6:].strip('"')]
        elif line.startswith('"') and current is not None:
            current.append(line.strip('"'))
        elif line.startswith("msgstr") and current is not None:
            ids.add("".join(current))
            current = None
    return ids - {""}


def test_catalog_matches_messages(tmp_path):
    out = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-k", "N_", "--no-location",
                    "--omit-header", "--sort-output", "-o", str(out), str(PACKAGE / "messages.py")],
                   check=True, capture_output=True)
    fresh, committed = _msgids(out.read_text("utf-8")), _msgids(POT.read_text("utf-8"))
    assert fresh == committed, "run: pybabel extract -k N_ --no-location --omit-header --sort-output " \
                               "-o b24sync/locale/b24sync.pot b24sync/messages.py"
    assert len(committed) >= 50


def test_every_template_formats_with_its_fields():
    for name in dir(messages):
        value = getattr(messages, name)
        if name.isupper() and isinstance(value, str):
            fields = {f.split("!")[0].split(":")[0] for f in re.findall(r"{([^{}]+)}", value)}
            sample = dict.fromkeys(fields, 1)
            assert t(value, **sample)


def test_no_message_markers_or_fstring_messages_outside_messages_module():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("messages.py", "i18n.py"):
            continue
        text = path.read_text("utf-8")
        if re.search(r"\bN_\(", text) or re.search(r"\bt\(f[\"']", text):
            offenders.append(str(path))
    assert offenders == []
    assert N_("x") == "x"
