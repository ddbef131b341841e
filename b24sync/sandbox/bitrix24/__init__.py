"""A local Bitrix24 portal for tests: the REST protocol layer plus (in ``portal.py``) the CRM store.

``Portal`` is imported lazily so the protocol layer stays usable on its own.
"""

from __future__ import annotations

from typing import Any

from .limits import Limits
from .requestlog import RequestLog, RequestRecord
from .server import Bitrix24Emulator

__all__ = ["Bitrix24Emulator", "Limits", "Portal", "RequestLog", "RequestRecord"]


def __getattr__(name: str) -> Any:
    if name == "Portal":
        from .portal import Portal

        return Portal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
