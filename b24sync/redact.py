"""Scrubbing secrets out of any text before it is printed, logged or raised.

The Bitrix24 inbound-webhook token sits in the URL *path* (``/rest/<user>/<token>/method``), so
query-string masking alone would leak it; every known secret value is also masked literally,
wherever it appears (tracebacks, request reprs, third-party messages).
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_PATTERNS = [
    # Bitrix24 inbound webhook: /rest/<user id>/<token>/...
    (re.compile(r"(/rest/\d+/)[^/\s'\"?#]+"), r"\1" + MASK),
    # OAuth tokens and event application tokens in query strings or form bodies
    (
        re.compile(
            r"((?:auth|access_token|refresh_token|application_token|password|token)"
            r"(?:%5D|\])?=)[^&\s'\"]+",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # HTTP Basic / Bearer credentials in headers
    (re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?(?:Basic|Bearer)\s+)[A-Za-z0-9+/=._-]+"), r"\1" + MASK),
]


class Redactor:
    """Masks registered secret values and the secret-bearing URL/header patterns."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        """Remember a secret value so it is masked wherever it later appears."""
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)

    def __call__(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


redact = Redactor()
"""The process-wide redactor: secrets register themselves here when they are loaded."""
