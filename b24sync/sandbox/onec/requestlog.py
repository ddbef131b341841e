"""Every request the publication received, as tests need to assert on the exact wire format.

``path`` is percent-decoded (Cyrillic readable), ``query`` is the raw query string (so ``%20``
versus ``+`` and ``guid'…'`` literals stay visible), ``headers`` have ``Authorization`` redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..server import ThreadSafeLog

__all__ = ["RequestLog", "RequestRecord"]


@dataclass
class RequestRecord:
    ts: float
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    entity_set: str = ""
    user: str = ""
    fault: str | None = None
    error_code: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PATCH", "PUT", "MERGE", "DELETE")


class RequestLog(ThreadSafeLog[RequestRecord]):
    """A thread-safe list of :class:`RequestRecord`."""

    @property
    def writes(self) -> list[RequestRecord]:
        """Write requests that succeeded (2xx), in order."""
        return [r for r in self.snapshot() if r.is_write and 200 <= r.status < 300]
