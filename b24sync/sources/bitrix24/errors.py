"""Bitrix24 errors as exception classes, chosen by the ``error`` code first, then HTTP status.

The ``error`` field may be a code string, ``""`` (old crm.* methods) or an integer (ORM
methods), so classification never assumes a non-empty string.
"""

from __future__ import annotations

from typing import Any

from b24sync import messages as m
from b24sync.errors import RemoteError
from b24sync.i18n import t
from b24sync.redact import redact


class Bitrix24Error(RemoteError):
    """An error envelope ``{"error", "error_description"}`` from the portal."""

    def __init__(self, code: str | int, description: str, *, status: int, method: str,
                 record: str | None = None) -> None:
        self.code, self.description, self.status, self.method, self.record = (
            code, description, status, method, record)
        template = m.B24_ERROR_RECORD if record else m.B24_ERROR
        super().__init__(redact(t(template, method=method, record=record, code=code if code != "" else '""',
                                  description=description, status=status)))


class QueryLimitExceeded(Bitrix24Error):
    """503: the leaky bucket overflowed. The request was not executed, so re-sending is safe."""

    retryable = True


class OperationTimeLimit(Bitrix24Error):
    """429: this method used up its operating time; only it must wait for the reset."""

    retryable = True


class Overloaded(Bitrix24Error):
    """503 ``OVERLOAD_LIMIT``: REST is blocked for the portal; wait long, then retry."""

    retryable = True


class AuthError(Bitrix24Error):
    """401: the webhook is wrong, inactive, or lacks a scope."""


class AccessDenied(Bitrix24Error):
    """403: the webhook's user may not do this, or the plan has no REST."""


class MethodNotFound(Bitrix24Error):
    """404: no such method (also what a malformed webhook path gets)."""


class NotFound(Bitrix24Error):
    """400: the record with that ID does not exist."""


class InvalidRequest(Bitrix24Error):
    """400: the portal refused the parameters (validation, bad filter, bad ID)."""


class ServerError(Bitrix24Error):
    """5xx from the portal or its front proxy (often an HTML page)."""

    retryable = True


class InDoubt(RemoteError):
    """A write may or may not have been applied; it must be looked up, never blindly re-sent."""

    def __init__(self, method: str, reason: str, records: list[str]) -> None:
        self.method, self.reason, self.records = method, reason, records
        super().__init__(redact(t(m.B24_IN_DOUBT, method=method, reason=reason,
                                  records=", ".join(records) or "-")))


_BY_CODE: dict[str, type[Bitrix24Error]] = {
    "QUERY_LIMIT_EXCEEDED": QueryLimitExceeded,
    "OPERATION_TIME_LIMIT": OperationTimeLimit,
    "OVERLOAD_LIMIT": Overloaded,
    "NO_AUTH_FOUND": AuthError,
    "INVALID_CREDENTIALS": AuthError,
    "INSUFFICIENT_SCOPE": AuthError,
    "EXPIRED_TOKEN": AuthError,
    "INVALID_TOKEN": AuthError,
    "AUTHORIZATION_ERROR": AuthError,
    "INVALID_REQUEST": AuthError,
    "ACCESS_DENIED": AccessDenied,
    "USER_ACCESS_ERROR": AccessDenied,
    "PORTAL_DELETED": AccessDenied,
    "ERROR_METHOD_NOT_FOUND": MethodNotFound,
    "NOT_FOUND": NotFound,
    "INTERNAL_SERVER_ERROR": ServerError,
    "ERROR_UNEXPECTED_ANSWER": ServerError,
}

_NOT_FOUND_TEXTS = ("not found", "не найден")


def error_class(code: Any, description: str, status: int) -> type[Bitrix24Error]:
    """Pick the exception class for an error envelope."""
    key = str(code).upper() if code not in (None, "") else ""
    if key in _BY_CODE:
        return _BY_CODE[key]
    low = (description or "").lower()
    if status == 400 and any(text in low for text in _NOT_FOUND_TEXTS) and "typeaddress" not in low:
        return NotFound
    if status == 401:
        return AuthError
    if status == 403:
        return AccessDenied
    if status == 404:
        return MethodNotFound
    if status == 429:
        return OperationTimeLimit
    if status >= 500:
        return ServerError
    return InvalidRequest


def make_error(code: Any, description: Any, *, status: int, method: str,
               record: str | None = None) -> Bitrix24Error:
    code = code if isinstance(code, (str, int)) else str(code)
    description = "" if description is None else str(description)
    return error_class(code, description, status)(code, description, status=status, method=method,
                                                  record=record)
