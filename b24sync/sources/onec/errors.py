"""1C errors: the ``odata.error`` envelope (JSON or Atom) mapped to exception classes.

The code is a string (``"9"``, ``"-1"``), the message may be Russian or English whatever its
``lang`` says. Code ``-1`` is application code refusing the write (``ПередЗаписью``, posting,
a closed period): HTTP 500, but deterministic, so never retried.
"""

from __future__ import annotations

from b24sync import messages as m
from b24sync.errors import RemoteError
from b24sync.i18n import t
from b24sync.redact import redact


class OneCError(RemoteError):
    """An error answer from the 1C base; keeps the base's own message."""

    def __init__(self, status: int, code: str, message: str, *, operation: str, record: str | None = None) -> None:
        self.status, self.code, self.message, self.operation, self.record = status, code, message, operation, record
        template = m.ONEC_ERROR_RECORD if record else m.ONEC_ERROR
        super().__init__(redact(t(template, operation=operation, record=record, code=code, message=message,
                                  status=status)))


class BusinessError(OneCError):
    """Code -1: the configuration's own checks refused the write or the posting."""


class AuthError(OneCError):
    """401 / code 20: wrong user or password, or no right to the object (RLS)."""


class NotFound(OneCError):
    """404: code 8 (entity set not published) or 9 (no such object)."""


class BadRequest(OneCError):
    """400: the request itself is wrong (filter syntax, unknown property, bad literal)."""


class PreconditionFailed(OneCError):
    """412: ``If-Match`` named an older ``DataVersion``; nothing was written."""


class ServerError(OneCError):
    """5xx other than code -1, HTML error pages, 503 during a restart: transient."""

    retryable = True


class InDoubt(RemoteError):
    """A write that may or may not have been applied; look it up before any re-send."""

    def __init__(self, operation: str, reason: str, record: str) -> None:
        self.operation, self.reason, self.record = operation, reason, record
        super().__init__(redact(t(m.ONEC_IN_DOUBT, operation=operation, reason=reason, record=record)))


def classify(status: int, code: str) -> type[OneCError]:
    if code == "-1":
        return BusinessError
    if status == 401 or code == "20":
        return AuthError
    if status == 404 or code in ("8", "9"):
        return NotFound
    if status == 412:
        return PreconditionFailed
    if status >= 500:
        return ServerError
    return BadRequest
