"""Translation of user-facing text through gettext catalogs.

Every message a person reads is a template in :mod:`b24sync.messages`, marked with :func:`N_`
so Babel extracts it into ``b24sync/locale/b24sync.pot``; :func:`t` translates and formats it
at the moment it is shown, so the language follows ``LANGUAGE``/``LC_MESSAGES`` at run time.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Any

DOMAIN = "b24sync"
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction without translating it yet."""
    return message


@cache
def _translations() -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def t(message: str, /, **values: Any) -> str:
    """Translate a marked template and fill in its ``{named}`` fields."""
    text = _translations().gettext(message)
    return text.format(**values) if values else text
