"""One check of ``b24sync doctor``: a name, a status, what was found, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL, FIXED = "ok", "warning", "failed", "fixed"


@dataclass
class Check:
    """``status`` is ok / warning / failed / fixed; ``fix`` says what to do when it is not ok."""

    name: str
    status: str
    detail: str
    fix: str = ""
