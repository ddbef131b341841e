"""Client of the b24sync HTTP service a 1C developer publishes (docs/onec-http-service.yaml).

Every write of the service is a ``PUT`` keyed by the Bitrix24 id, idempotent on the 1C side (an
information register maps the key to the object), so unlike OData POSTs these writes *are*
retried after a timeout or a dropped connection: the second PUT finds the first one's object.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from b24sync import messages as m
from b24sync.errors import RemoteError, RemoteUnavailable, TransportError
from b24sync.http.jsonbody import response_json
from b24sync.http.retry import RetryPolicy, RetryState
from b24sync.http.transport import Timeouts, Transport
from b24sync.i18n import t
from b24sync.redact import redact
from b24sync.secrets import Secret
from b24sync.sources.onec.client import basic_auth

log = logging.getLogger("b24sync.onec")

SUPPORTED_MAJOR = "1"


class ServiceError(RemoteError):
    """A structured error of the service: ``code`` (validation_failed, conflict, …), ``field``."""

    def __init__(self, status: int, code: str, message: str, field: str | None, operation: str,
                 details: list[dict[str, Any]] | None = None) -> None:
        self.status, self.code, self.message, self.field, self.details = status, code, message, field, details or []
        self.retryable = status in (423, 500, 502, 503, 504)
        super().__init__(redact(t(m.ONEC_HS_ERROR, operation=operation, code=code, status=status, message=message,
                                  field=f" [{field}]" if field else "")))


class ServiceClient:
    """Calls ``/hs/b24sync/v1/`` of one base."""

    def __init__(self, url: str, user: str, password: Secret | str, *, transport: Transport | None = None,
                 retry: RetryPolicy | None = None, timeouts: Timeouts | None = None) -> None:
        self.root = url if url.endswith("/") else url + "/"
        secret = password if isinstance(password, Secret) else Secret(password, "argument")
        self._auth = basic_auth(user, secret.reveal())
        redact.add(self._auth.split(" ", 1)[1])
        self.transport = transport or Transport(timeouts=timeouts or Timeouts(5.0, 120.0))
        self.retry = retry or RetryPolicy()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        operation = f"{method} {path}"
        url = self.root + quote(path, safe="/")
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
            headers["Content-Type"] = "application/json"
        state = RetryState(self.retry)
        while True:
            try:
                response = self.transport.request(method, url, data=data, headers=headers)
            except TransportError as exc:  # GET and keyed PUT are both idempotent
                last = str(exc)
            else:
                try:
                    payload = response_json(response)
                except ValueError:
                    payload = None
                if response.status_code < 400 and isinstance(payload, dict):
                    return response.status_code, payload
                error = (payload or {}).get("error") if isinstance(payload, dict) else None
                if isinstance(error, dict):
                    exc = ServiceError(response.status_code, str(error.get("code", "")), str(error.get("message", "")),
                                       error.get("field"), operation, error.get("details"))
                else:
                    exc = ServiceError(response.status_code, "http", " ".join(response.text[:160].split()), None,
                                       operation)
                if not exc.retryable:
                    raise exc
                last = str(exc)
            if not state.can_retry():
                raise RemoteUnavailable(redact(t(m.ONEC_UNAVAILABLE, operation=operation, attempts=state.attempt + 1,
                                                 seconds=state.waited, last=last)))
            log.info("retrying %s in %.1fs after: %s", operation, state.backoff(), last)

    def version(self) -> dict[str, Any]:
        """Service, contract and configuration versions; refuses an unknown contract major."""
        _, body = self._call("GET", "version")
        major = str(body.get("contract_version", "")).split(".")[0]
        if major != SUPPORTED_MAJOR:
            raise ServiceError(200, "contract", t(m.ONEC_HS_CONTRACT, version=body.get("contract_version"),
                                                  supported=f"{SUPPORTED_MAJOR}.x"), None, "GET version")
        return body

    def get_counterparty(self, b24_key: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"counterparties/{b24_key}")[1]
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise

    def put_counterparty(self, b24_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create or update a counterparty with its partner and contact information."""
        return self._call("PUT", f"counterparties/{b24_key}", body)[1]

    def put_order(self, deal_id: str | int, body: dict[str, Any]) -> dict[str, Any]:
        """Create (or find again) the customer order of a deal."""
        return self._call("PUT", f"orders/{deal_id}", body)[1]

    def put_lead(self, lead_id: str | int, body: dict[str, Any]) -> dict[str, Any]:
        """Create (or find again) the interest of a Bitrix24 lead."""
        return self._call("PUT", f"leads/{lead_id}", body)[1]
