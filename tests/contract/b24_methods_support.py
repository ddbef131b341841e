"""Helpers for the CRM-method contract tests: a fresh portal served over real HTTP on loopback.

Tests talk to the emulator with plain ``requests``, either as JSON or as PHP-style form bodies
(``filter[>ID]=5``), because that is how real clients reach a portal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator
from b24sync.sandbox.bitrix24.api import MOSCOW, CallContext, PortalSeed, RestError
from b24sync.sandbox.bitrix24.portal import Portal


def php_form(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested params the way PHP's ``http_build_query`` does (``a[b][0]=x``)."""
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]" if prefix else str(k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(value, bool):
            out.append((prefix, "Y" if value else "N"))
        elif value is not None:
            out.append((prefix, str(value)))

    walk("", params)
    return out


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def result(self) -> Any:
        assert "result" in self.body, self.body
        return self.body["result"]

    @property
    def error(self) -> tuple[Any, str]:
        return self.body.get("error"), self.body.get("error_description", "")


@dataclass
class B24:
    """A portal plus its HTTP endpoint; ``call`` goes over the wire, ``direct`` straight to the method."""

    portal: Portal
    emulator: Bitrix24Emulator
    session: requests.Session = field(default_factory=requests.Session)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def call(self, method: str, params: dict[str, Any] | None = None, *, form: bool = False) -> Reply:
        url = self.emulator.webhook_url + method
        if form:
            response = self.session.post(url, data=php_form(params or {}), timeout=30)
        else:
            response = self.session.post(url, json=params or {}, timeout=30)
        return Reply(response.status_code, response.json())

    def ok(self, method: str, params: dict[str, Any] | None = None, *, form: bool = False) -> Any:
        reply = self.call(method, params, form=form)
        assert reply.status == 200, reply.body
        return reply.result

    def direct(self, method: str, params: dict[str, Any] | None = None) -> Any:
        fn = self.portal.registry.get(method)
        assert fn is not None, method
        ctx = CallContext(user_id=1, now=lambda: datetime.now(MOSCOW),
                          emit=lambda name, data: self.events.append((name, data)))
        return fn(params or {}, ctx)

    def direct_error(self, method: str, params: dict[str, Any] | None = None) -> RestError:
        with pytest.raises(RestError) as caught:
            self.direct(method, params)
        return caught.value

    def event_names(self) -> list[str]:
        return [e.name for e in self.emulator.emitted_events]


def make_b24(seed: PortalSeed | None = None, **portal_kw: Any) -> Iterator[B24]:
    portal = Portal(seed, **portal_kw)
    emulator = Bitrix24Emulator(portal.registry, limits=None).start()
    try:
        yield B24(portal, emulator)
    finally:
        emulator.stop()


def people(count: int) -> list[dict[str, Any]]:
    """``count`` Cyrillic contacts with a phone and an e-mail each."""
    first = ["Анна", "Иван", "Пётр", "Мария", "Ольга", "Сергей", "Юлия"]
    last = ["Иванова", "Петров", "Сидоров", "Кузнецова", "Смирнов", "Ёлкина", "Щукин"]
    return [{"NAME": first[i % 7], "LAST_NAME": last[i % 7], "ASSIGNED_BY_ID": 1 + i % 5,
             "PHONE": [{"VALUE": f"+7 (916) {i:03d}-00-{i % 100:02d}", "VALUE_TYPE": "WORK"}],
             "EMAIL": [{"VALUE": f"klient{i}@почта.рф", "VALUE_TYPE": "WORK"}]}
            for i in range(1, count + 1)]
