"""The emulated HTTP service ``/{base}/hs/b24sync/v1/…`` (contract: ``docs/onec-http-service.yaml``).

``make_hs_app(store)`` returns an app for :mod:`b24sync.sandbox.server` that serves the contract
over the same store the OData interface reads, so an object written here is visible through
OData at once, as on a real base. The OData emulator routes ``/hs/b24sync/v1/`` here after Basic
auth; the app does the rest: routing, JSON in and out, and the structured errors. A refusal by
the configuration's own rules (HTTP 500 / code -1 over OData) becomes a 422 here, because the
reference handler runs ``ПроверитьЗаполнение()`` before ``Записать()`` and reports its messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from b24sync.sandbox.server import Request, Response

from .errors import ODataError
from .hs_common import ID_RE, KEY_RE, HsError
from .hs_counterparties import get_counterparty, put_counterparty
from .hs_documents import get_lead, get_order, put_lead, put_order
from .store import OneCStore

__all__ = ["CONTRACT_VERSION", "SERVICE_VERSION", "make_hs_app"]

SERVICE_VERSION = "1.0.0"
CONTRACT_VERSION = "1.0"
ROOT = "/hs/b24sync/v1"

Handler = Callable[[OneCStore, str, dict[str, Any]], tuple[int, dict[str, Any]]]
Getter = Callable[[OneCStore, str], tuple[int, dict[str, Any]]]
ROUTES: tuple[tuple[re.Pattern[str], str, Getter, Handler, str], ...] = (
    (re.compile(r"^/counterparties/([^/]+)$"), "b24_key", get_counterparty, put_counterparty, "counterparties"),
    (re.compile(r"^/orders/([^/]+)$"), "deal_id", get_order, put_order, "orders"),
    (re.compile(r"^/leads/([^/]+)$"), "lead_id", get_lead, put_lead, "leads"),
)


def make_hs_app(
    store: OneCStore, *, configuration: tuple[str, str, str] | None = None
) -> Callable[[Request], Response]:
    """The service app over ``store``; ``configuration`` = (name, synonym, version) for ``GET /version``."""
    name, synonym, version = configuration or ("УправлениеТорговлей", "Управление торговлей, редакция 11",
                                               "11.5.19.123")

    def app(request: Request) -> Response:
        path = unquote(request.path)
        at = path.find(ROOT)
        tail = path[at + len(ROOT):] if at >= 0 else None
        try:
            if tail in ("/version", "/version/"):
                if request.method != "GET":
                    return _not_allowed("GET")
                return _json(200, _version(store, name, synonym, version))
            for pattern, param, getter, putter, _feature in ROUTES:
                match = pattern.match(tail or "")
                if match is None:
                    continue
                key = match.group(1)
                _check_key(param, key)
                if request.method == "GET":
                    return _json(*getter(store, key))
                if request.method == "PUT":
                    status, body = putter(store, key, _body(request))
                    headers = [("Location", f"{path[: at + len(ROOT)]}{tail}")] if status == 201 else []
                    return _json(status, body, headers)
                return _not_allowed("GET, PUT")
            raise HsError(404, "not_found", f"Ресурс {tail or path} не найден в сервисе b24sync/v1.")
        except HsError as exc:
            return _json(exc.status, exc.body())
        except ODataError as exc:  # the configuration's rules refused the write
            if exc.code == "-1":
                error = HsError(422, "validation_failed", exc.message, None,
                                [{"code": "rejected_by_1c", "field": None, "message": exc.message}])
            else:
                error = HsError(500, "internal", exc.message)
            return _json(error.status, error.body())

    return app


def _version(store: OneCStore, name: str, synonym: str, version: str) -> dict[str, Any]:
    return {
        "service": "b24sync",
        "service_version": SERVICE_VERSION,
        "contract_version": CONTRACT_VERSION,
        "configuration": {"name": name, "synonym": synonym, "version": version},
        "platform_version": "8.3.27.1508",
        "time_zone": base_zone(store),
        "server_time": store.now(),
        "features": [r[4] for r in ROUTES if r[4] != "leads" or "Document_CRM_Интерес" in store.schema.sets],
    }


def base_zone(store: OneCStore) -> str:
    """The base's time zone as an IANA name (what ``[onec] timezone`` must say for this base)."""
    if getattr(store.tz, "key", None):  # a named zone (ZoneInfo), with its summer time
        return str(store.tz.key)  # type: ignore[attr-defined]
    offset = store.tz.utcoffset(None)
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return "Europe/Moscow" if hours == 3 else f"Etc/GMT{-hours:+d}"


def _check_key(param: str, key: str) -> None:
    pattern = KEY_RE if param == "b24_key" else ID_RE
    if not pattern.match(key):
        shown = "company-N или contact-N" if param == "b24_key" else "положительное целое число"
        raise HsError(422, "validation_failed", f"{param} «{key}»: ожидается {shown}.", param,
                      [{"code": "invalid_format", "field": param, "message": key}])


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body.decode("utf-8-sig") or "null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise HsError(400, "bad_request", f"Тело запроса не является JSON-объектом: {exc}.") from None
    if not isinstance(body, dict):
        raise HsError(400, "bad_request", "Тело запроса должно быть JSON-объектом.")
    return body


def _json(status: int, body: dict[str, Any], headers: list[tuple[str, str]] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(status, data, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])])


def _not_allowed(allow: str) -> Response:
    """The platform's own answer for a method the URL template does not bind (no JSON body)."""
    return Response(405, b"", [("Allow", allow)])
