"""HTTP Basic as the 1C web-server extension checks it: credentials are UTF-8, names are Cyrillic.

A base's administrator is typically «Администратор»; ``requests`` encodes a ``str`` login as
latin-1 (and fails), other stacks send cp1251 or double-encoded UTF-8. The extension decodes the
base64 payload as UTF-8 only, so every such mangling is a 401, exactly what a client must notice.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from email.message import Message

__all__ = ["check_basic", "decode_basic"]


def decode_basic(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic …`` header, or ``None`` if unusable."""
    if not header:
        return None
    scheme, _, payload = header.strip().partition(" ")
    if scheme.lower() != "basic" or not payload.strip():
        return None
    try:
        raw = base64.b64decode(payload.strip(), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    if not sep:
        return None
    return user, password


def check_basic(headers: Message, users: dict[str, str]) -> str | None:
    """The authenticated user name, or ``None`` (missing, malformed, non-UTF-8 or wrong credentials)."""
    credentials = decode_basic(headers.get("Authorization"))
    if credentials is None:
        return None
    user, password = credentials
    expected = users.get(user)
    if expected is None or not hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8")):
        return None
    return user
