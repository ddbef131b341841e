"""The seam between the Bitrix24 emulator's HTTP protocol layer and its REST methods.

The protocol layer (``server.py``: URLs, auth, PHP-style parameter parsing, envelopes, ``batch``,
rate limits, outgoing events) knows nothing about CRM entities. The methods (``methods/``) know
nothing about HTTP: each is a plain function ``(params, ctx) -> MethodResult`` registered under
its lower-case REST name, and signals failure by raising :class:`RestError` with the code,
description and HTTP status the real portal uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any


class RestError(Exception):
    """A Bitrix24 REST error: rendered as ``{"error": code, "error_description": description}``.

    ``code`` may be ``""`` or an ``int``, as old crm.* and ORM methods really answer.
    """

    def __init__(self, code: str | int, description: str, status: int = 400, **extra: Any) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra


@dataclass
class MethodResult:
    """What a method returns: ``result`` plus the optional list paging keys lifted to the top level."""

    result: Any
    total: int | None = None
    next: int | None = None


@dataclass
class CallContext:
    """Per-call facts a method may need, supplied by the protocol layer.

    ``now()`` is the portal's current time (aware, in the portal's offset); ``emit(event, fields)``
    queues an outgoing event such as ``("ONCRMCONTACTADD", {"ID": "12"})`` for delivery after
    the call; ``user_id`` is the webhook's user.
    """

    user_id: int
    now: Callable[[], datetime]
    emit: Callable[[str, dict[str, Any]], None]
    scopes: frozenset[str] = frozenset({"crm", "user", "catalog"})


Method = Callable[[dict[str, Any], CallContext], MethodResult]


@dataclass
class MethodRegistry:
    """Lower-case method name -> implementation."""

    methods: dict[str, Method] = field(default_factory=dict)

    def register(self, name: str) -> Callable[[Method], Method]:
        def decorator(fn: Method) -> Method:
            self.methods[name.lower()] = fn
            return fn

        return decorator

    def get(self, name: str) -> Method | None:
        return self.methods.get(name.lower())


MOSCOW = timezone(timedelta(hours=3))
"""The default portal offset: datetimes are rendered as ``2024-08-15T10:38:21+03:00``."""


@dataclass
class PortalSeed:
    """Initial portal content, each record in the shape ``crm.<entity>.add`` takes as ``FIELDS``.

    Upper-case old-style field names, values as a REST client would send them (strings or
    numbers; multifields ``PHONE``/``EMAIL`` as lists of ``{"VALUE": …, "VALUE_TYPE": …}``).
    Users and products are the fresh portal's own (IDs in :data:`BUILTIN_USER_IDS` and
    :data:`BUILTIN_PRODUCT_IDS`). Other references are by ID, and IDs are positions: the n-th
    record of a list (1-based) is loaded with ``ID = n``, so a
    contact's ``COMPANY_ID = 3`` means the third company, a requisite's ``ENTITY_ID`` the position
    of its company or contact, an address's ``ENTITY_ID`` the position of its requisite.
    Deals may carry ``PRODUCT_ROWS`` (``crm.deal.productrows.set`` rows). Timestamps
    ``DATE_CREATE``/``DATE_MODIFY`` may be given (as with ``IMPORT=Y``).
    """

    companies: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    requisites: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    leads: list[dict[str, Any]] = field(default_factory=list)


BUILTIN_USER_IDS = range(1, 6)
"""A fresh sandbox portal has five employees: 1 is the administrator who owns the webhook."""

BUILTIN_PRODUCT_IDS = range(1, 13)
"""A fresh sandbox portal has a catalog of twelve products."""
