"""The 1C OData client: typed reads with keyset paging, the cheap DataVersion scan, safe writes.

Every request goes through the shared :class:`~b24sync.http.transport.Transport` with Basic auth
encoded as UTF-8 (``requests`` would use latin-1 and fail on «Администратор»), ``$format=json``
plus ``Accept: application/json`` (1C answers Atom otherwise), and query strings with ``%20`` for
spaces. Reads are retried on transport errors, 5xx and HTML pages; writes never are after an
ambiguous failure (:class:`~.errors.InDoubt`), and code ``-1`` (a business refusal) never is.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

from b24sync import messages as m
from b24sync.errors import RemoteUnavailable, TransportError
from b24sync.http.jsonbody import response_json
from b24sync.http.retry import RetryPolicy, RetryState
from b24sync.http.transport import Timeouts, Transport
from b24sync.i18n import t
from b24sync.redact import redact
from b24sync.secrets import Secret
from b24sync.sources.onec.errors import InDoubt, OneCError, ServerError, classify
from b24sync.sources.onec.literals import EMPTY_GUID, any_of, build_query, lit_guid, quote_path
from b24sync.sources.onec.metadata import EntityTypeInfo, Metadata, parse_metadata
from b24sync.sources.onec.values import record_reader, write_record

log = logging.getLogger("b24sync.onec")

MAX_URL = 7_500  # web servers in front of 1C refuse URLs over ~8 KB
Progress = Callable[[int], None]


def basic_auth(user: str, password: str) -> str:
    """The Basic credentials as 1C's web extension decodes them: base64 of UTF-8."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class OneCClient:
    """Reads and writes one 1C base through its standard OData interface.

    :param odata_url: the service root, ``http://HOST/BASE/odata/standard.odata/``.
    :param server_tz: the base's time zone: 1C datetimes carry none.
    """

    def __init__(
        self,
        odata_url: str,
        user: str,
        password: Secret | str,
        *,
        server_tz: tzinfo | None = None,
        transport: Transport | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        page_size: int = 1000,
        honour_if_match: bool = False,
    ) -> None:
        self.root = odata_url if odata_url.endswith("/") else odata_url + "/"
        secret = password if isinstance(password, Secret) else Secret(password, "argument")
        self._auth = basic_auth(user, secret.reveal())
        from b24sync.redact import redact as registry

        registry.add(self._auth.split(" ", 1)[1])
        self.user = user
        self.server_tz = server_tz
        self.transport = transport or Transport(timeouts=timeouts or Timeouts(5.0, 120.0))
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self.honour_if_match = honour_if_match
        self._metadata: Metadata | None = None

    def __repr__(self) -> str:
        return f"OneCClient(root={self.root!r}, user={self.user!r})"

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    # -- the exchange ------------------------------------------------------------------------------

    def _url(self, path: str, params: Mapping[str, Any] | None = None, *, json_format: bool = True) -> str:
        query = dict(params or {})
        if json_format:
            query.setdefault("$format", "json")
        qs = build_query(query)
        return f"{self.root}{quote_path(path)}" + (f"?{qs}" if qs else "")

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 body: Any = None, headers: Mapping[str, str] | None = None, operation: str,
                 record: str | None = None, json_format: bool = True, expect_json: bool = True) -> Any:
        url = self._url(path, params, json_format=json_format)
        send_headers = {"Authorization": self._auth, "Accept": "application/json" if json_format else "*/*",
                        "DataServiceVersion": "3.0", "MaxDataServiceVersion": "3.0", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            send_headers["Content-Type"] = "application/json"
        elif method in ("POST", "DELETE"):
            send_headers["Content-Length"] = "0"
        read = method == "GET"
        state = RetryState(self.retry)
        while True:
            try:
                response = self.transport.request(method, url, data=data, headers=send_headers)
            except TransportError as exc:
                if not read and exc.sent:
                    raise InDoubt(operation, str(exc), record or path) from None
                self._retry_or_raise(state, operation, str(exc))
                continue
            try:
                return self._parse(response, operation, record, expect_json)
            except ServerError as exc:
                if not read:
                    raise InDoubt(operation, str(exc), record or path) from None
                self._retry_or_raise(state, operation, str(exc))

    def _parse(self, response: Any, operation: str, record: str | None, expect_json: bool) -> Any:
        status = response.status_code
        ctype = response.headers.get("Content-Type", "")
        if status >= 400:
            code, message = _error_of(response.text, ctype)
            if code is None:  # an HTML page from the web server or a proxy
                cls = ServerError if status >= 500 else classify(status, "")
                raise cls(status, str(status), _excerpt(response.text), operation=operation, record=record)
            raise classify(status, code)(status, code, message, operation=operation, record=record)
        if not expect_json:
            return response.text
        if status == 204 or not response.content:
            return None
        if "json" not in ctype:
            cls = OneCError if status == 200 else ServerError
            raise cls(status, "", t(m.ONEC_NOT_JSON, operation=operation, content_type=ctype or "?", status=status,
                                    excerpt=_excerpt(response.text)), operation=operation, record=record)
        try:
            return response_json(response)
        except ValueError:
            raise ServerError(status, "", t(m.ONEC_NOT_JSON, operation=operation, content_type=ctype, status=status,
                                            excerpt=_excerpt(response.text)), operation=operation,
                              record=record) from None

    def _retry_or_raise(self, state: RetryState, operation: str, last: str) -> None:
        if not state.can_retry():
            raise RemoteUnavailable(redact(t(m.ONEC_UNAVAILABLE, operation=operation, attempts=state.attempt + 1,
                                             seconds=state.waited, last=last)))
        delay = state.backoff()
        log.info("retrying %s in %.1fs after: %s", operation, delay, last)

    # -- metadata ------------------------------------------------------------------------------------

    def metadata(self) -> Metadata:
        """The base's ``$metadata`` (fetched once per client)."""
        if self._metadata is None:
            text = self._request("GET", "$metadata", operation="GET $metadata", json_format=False,
                                 expect_json=False)
            self._metadata = parse_metadata(text.encode("utf-8"))
        return self._metadata

    def _info(self, entity_set: str) -> EntityTypeInfo | None:
        return self.metadata().entity(entity_set)

    def _typed(self, entity_set: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        read = record_reader(self._info(entity_set), self.server_tz, entity_set)
        return [read(row) for row in rows]

    # -- reads ---------------------------------------------------------------------------------------

    def get(self, entity_set: str, ref: str, *, select: Sequence[str] | None = None) -> dict[str, Any] | None:
        """One object by ``Ref_Key``, or ``None`` if the base has no such object."""
        from b24sync.sources.onec.errors import NotFound

        params = {"$select": ",".join(select)} if select else None
        try:
            raw = self._request("GET", f"{entity_set}({lit_guid(ref)})", params=params,
                                operation=f"GET {entity_set}", record=ref)
        except NotFound as exc:
            if exc.code == "9":
                return None
            raise
        return self._typed(entity_set, [raw])[0]

    def query(self, entity_set: str, *, filter: str | None = None, select: Sequence[str] | None = None,
              orderby: str | None = None, top: int | None = None, skip: int | None = None,
              expand: str | None = None) -> list[dict[str, Any]]:
        """One GET of a collection (no paging: without ``top`` 1C returns the whole table)."""
        params = {"$filter": filter, "$select": ",".join(select) if select else None, "$orderby": orderby,
                  "$top": top, "$skip": skip, "$expand": expand}
        body = self._request("GET", entity_set, params=params, operation=f"GET {entity_set}")
        return self._typed(entity_set, body.get("value", []))

    def count(self, entity_set: str, *, filter: str | None = None) -> int:
        """``/$count``: a plain-text integer, possibly with a BOM."""
        params = {"$filter": filter} if filter else None
        text = self._request("GET", f"{entity_set}/$count", params=params, operation=f"COUNT {entity_set}",
                             json_format=False, expect_json=False)
        return int(text.lstrip("\ufeff").strip())

    def server_date(self, entity_set: str) -> datetime | None:
        """The clock of the web server in front of 1C: the HTTP ``Date`` header (UTC, whole seconds) of
        one small read of ``entity_set``; ``None`` when the answer carries none. Not retried."""
        response = self.transport.request("GET", self._url(entity_set, {"$top": 1, "$select": "Ref_Key"}),
                                          headers={"Authorization": self._auth, "Accept": "application/json"})
        self._parse(response, f"GET {entity_set}", None, True)
        try:
            return parsedate_to_datetime(response.headers["Date"])
        except (KeyError, TypeError, ValueError):
            return None

    def iterate(self, entity_set: str, *, filter: str | None = None, select: Sequence[str] | None = None,
                page_size: int | None = None, progress: Progress | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every matching object, a page at a time, by keyset on ``Ref_Key`` (never deep ``$skip``).

        Order and comparison both happen in the base, on the same binary layout of the reference,
        so ``Ref_Key gt guid'<last of page>'`` continues exactly where the page ended.
        """
        size = page_size or self.page_size
        fields = list(select) if select else None
        if fields and "Ref_Key" not in fields:
            fields.insert(0, "Ref_Key")
        last: str | None = None
        while True:
            clauses = [f"({filter})"] if filter else []
            if last is not None:
                clauses.append(f"Ref_Key gt {lit_guid(last)}")
            page = self.query(entity_set, filter=" and ".join(clauses) or None, select=fields,
                              orderby="Ref_Key", top=size)
            if page:
                yield page
                if progress:
                    progress(len(page))
                last = page[-1]["Ref_Key"]
            if len(page) < size:
                return

    def scan_versions(self, entity_set: str, *, filter: str | None = None, page_size: int | None = None,
                      progress: Progress | None = None) -> dict[str, str]:
        """``Ref_Key → DataVersion`` for the whole set: the cheap half of an incremental read."""
        versions: dict[str, str] = {}
        for page in self.iterate(entity_set, filter=filter, select=["Ref_Key", "DataVersion"],
                                 page_size=page_size or max(self.page_size, 5000), progress=progress):
            versions.update((row["Ref_Key"], row["DataVersion"]) for row in page)
        return versions

    def fetch_many(self, entity_set: str, refs: Iterable[str], *, select: Sequence[str] | None = None,
                   progress: Progress | None = None) -> list[dict[str, Any]]:
        """The objects with these refs, in as few requests as the URL length allows."""
        refs = list(dict.fromkeys(refs))
        out: list[dict[str, Any]] = []
        per_ref = len(build_query({"f": " or " + any_of("Ref_Key", [EMPTY_GUID])[1:-1]})) - 2  # encoded size
        base = len(self._url(entity_set, {"$select": ",".join(select) if select else None}))
        chunk = max(1, (MAX_URL - base - 64) // per_ref)
        for start in range(0, len(refs), chunk):
            part = refs[start:start + chunk]
            out.extend(self.query(entity_set, filter=any_of("Ref_Key", part), select=select))
            if progress:
                progress(len(part))
        return out

    def changed(self, entity_set: str, known: Mapping[str, str], *, select: Sequence[str] | None = None,
                filter: str | None = None, progress: Progress | None = None
                ) -> tuple[list[dict[str, Any]], list[str]]:
        """Objects new or changed since ``known`` (Ref_Key → DataVersion), and refs gone since.

        1C has no modification timestamp, so this is the incremental read: scan the small
        ``(Ref_Key, DataVersion)`` pairs of the whole set, then fetch only what differs.
        """
        current = self.scan_versions(entity_set, filter=filter)
        changed_refs = [ref for ref, version in current.items() if known.get(ref) != version]
        gone = [ref for ref in known if ref not in current]
        return self.fetch_many(entity_set, changed_refs, select=select, progress=progress), gone

    # -- writes --------------------------------------------------------------------------------------

    def check_keys(self, entity_set: str, values: Mapping[str, Any], record: str) -> None:
        """Refuse keys this base does not have: 1C would drop them silently and lose the data."""
        from b24sync.sources.onec.errors import BadRequest

        info = self._info(entity_set)
        if info is None:
            return
        for key in values:
            if not info.allows(key):
                raise BadRequest(400, "10", t(m.ONEC_UNKNOWN_PROPERTY, entity_set=entity_set, name=key,
                                              record=record), operation=f"write {entity_set}", record=record)

    def create(self, entity_set: str, values: Mapping[str, Any], *, record: str | None = None,
               load_mode: bool = False) -> dict[str, Any]:
        """POST a new object; returns it as the base stored it (with ``Ref_Key``, ``DataVersion``)."""
        label = record or entity_set
        self.check_keys(entity_set, values, label)
        body = write_record(self._info(entity_set), values, self.server_tz)
        headers = {"1C_OData-DataLoadMode": "true"} if load_mode else None
        raw = self._request("POST", entity_set, body=body, headers=headers, operation=f"POST {entity_set}",
                            record=label)
        return self._typed(entity_set, [raw])[0]

    def update(self, entity_set: str, ref: str, values: Mapping[str, Any], *, data_version: str | None = None,
               record: str | None = None, load_mode: bool = False) -> dict[str, Any]:
        """PATCH the listed properties (a tabular part given here replaces the whole table)."""
        label = record or ref
        self.check_keys(entity_set, values, label)
        headers: dict[str, str] = {}
        if data_version and self.honour_if_match:
            headers["If-Match"] = data_version
        if load_mode:
            headers["1C_OData-DataLoadMode"] = "true"
        body = write_record(self._info(entity_set), values, self.server_tz)
        raw = self._request("PATCH", f"{entity_set}({lit_guid(ref)})", body=body, headers=headers,
                            operation=f"PATCH {entity_set}", record=label)
        return self._typed(entity_set, [raw])[0]

    def mark_deleted(self, entity_set: str, ref: str, mark: bool = True) -> dict[str, Any]:
        """The soft delete 1C users expect (``DELETE`` would remove the object physically)."""
        return self.update(entity_set, ref, {"DeletionMark": mark})

    def delete(self, entity_set: str, ref: str) -> None:
        """Physically delete an object (no referential checks in 1C: use with care)."""
        self._request("DELETE", f"{entity_set}({lit_guid(ref)})", operation=f"DELETE {entity_set}", record=ref,
                      expect_json=False)

    def post(self, entity_set: str, ref: str, *, operational: bool = False) -> None:
        """Post a document (``/Post``); an empty 200 is success."""
        self._request("POST", f"{entity_set}({lit_guid(ref)})/Post",
                      params={"PostingModeOperational": "true" if operational else "false"},
                      operation=f"Post {entity_set}", record=ref, expect_json=False)

    def unpost(self, entity_set: str, ref: str) -> None:
        self._request("POST", f"{entity_set}({lit_guid(ref)})/Unpost", operation=f"Unpost {entity_set}",
                      record=ref, expect_json=False)


def _excerpt(text: str) -> str:
    return redact(" ".join(text[:160].split()))


def _error_of(text: str, content_type: str) -> tuple[str | None, str]:
    """The ``odata.error`` code and message from a JSON or Atom body, or ``(None, "")``."""
    if "json" in content_type:
        try:
            error = json.loads(text).get("odata.error", {})
            message = error.get("message", {})
            return str(error.get("code")), message.get("value", "") if isinstance(message, dict) else str(message)
        except (ValueError, AttributeError):
            return None, ""
    import re

    code = re.search(r"<(?:m:)?code>([^<]*)</(?:m:)?code>", text)
    message = re.search(r"<(?:m:)?message[^>]*>([^<]*)</(?:m:)?message>", text)
    if code:
        return code.group(1), message.group(1) if message else ""
    return None, ""
