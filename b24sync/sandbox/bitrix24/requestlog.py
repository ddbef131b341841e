"""What the emulator was asked: one record per HTTP request, for test assertions.

Tests of a sync client mostly need two questions answered: "how many requests did it make" (rate
limits, batching) and "did it write anything" (a dry run must not; a retry must not write twice).
Hence the :attr:`RequestLog.writes` view, which classifies REST methods as reads or writes by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..server import ThreadSafeLog

__all__ = ["READ_METHODS", "READ_SUFFIXES", "RequestLog", "RequestRecord", "is_read_method"]

READ_SUFFIXES = (".get", ".list", ".fields", ".search")
READ_METHODS = frozenset(
    {
        "batch",
        "profile",
        "scope",
        "methods",
        "method.get",
        "server.time",
        "app.info",
        "feature.get",
        "user.current",
        "crm.status.entity.types",
        "crm.status.entity.items",
        "crm.duplicate.findbycomm",
    }
)
READ_PREFIXES = ("crm.enum.",)


def is_read_method(method: str) -> bool:
    """True for methods that never change portal data (``*.get``, ``*.list``, ``crm.enum.*`` …)."""
    name = method.lower()
    return name in READ_METHODS or name.endswith(READ_SUFFIXES) or name.startswith(READ_PREFIXES)


@dataclass
class RequestRecord:
    """One HTTP request as the portal saw it.

    ``path`` has the webhook code replaced by ``***``; ``commands`` are the lower-case methods that
    were dispatched (a batch's sub-methods, ``[api_method]`` otherwise); ``executed`` is false when
    the request was refused before any method ran (rate limit, auth, unknown method, proxy fault).
    ``status`` is the HTTP status sent, or ``0`` when the connection was dropped without an answer;
    ``fault`` names the injected fault, if any; ``refused`` lists the methods the operating-time
    limit refused (429) before running them, so "calls to a blocked method" can be counted.
    """

    ts: float
    http_method: str
    path: str
    api_method: str
    status: int
    commands: list[str]
    remote_addr: str
    executed: bool = True
    fault: str | None = None
    refused: list[str] = field(default_factory=list)


class RequestLog(ThreadSafeLog[RequestRecord]):
    """A list of :class:`RequestRecord` with thread-safe ``append``/``clear`` and a ``writes`` view."""

    @property
    def writes(self) -> list[tuple[RequestRecord, str]]:
        """``(record, method)`` for every executed command that is not a read, in request order."""
        return [
            (record, command)
            for record in self.snapshot()
            if record.executed
            for command in record.commands
            if not is_read_method(command)
        ]

    @property
    def write_methods(self) -> list[str]:
        """Just the method names of :attr:`writes`, e.g. ``["crm.contact.add", "crm.contact.update"]``."""
        return [command for _, command in self.writes]
