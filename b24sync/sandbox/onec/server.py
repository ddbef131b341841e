"""``OneCEmulator``: a 1C publication on loopback — ``/<base>/odata/standard.odata/`` and ``/<base>/hs/…``.

Gates in the order a real publication applies them: path outside the publication (web-server 404
page) -> injected web-server faults (HTML 500, 503 while 1C restarts, a reset connection) -> HTTP
Basic (401, decoded as UTF-8) -> the OData handler or the HTTP-service app -> after-commit faults
(dropped connection, slow answer, no answer until a timeout, cut body). Every request lands in :attr:`request_log`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from email.utils import formatdate
from urllib.parse import quote

from ..latency import CostModel
from ..server import LoopbackService, Request, Response
from .auth import check_basic
from .faults import BEFORE_EXECUTION, Faults
from .odata import ODataApp, Reply
from .requestlog import RequestLog, RequestRecord
from .store import OneCStore
from .urls import decode_path

__all__ = ["OneCEmulator"]

_HTML = {
    500: "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>"
         "<p>The server encountered an internal error or misconfiguration.</p></body></html>",
    503: "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>"
         "<p>Сервер 1С:Предприятия временно недоступен.</p></body></html>",
    404: "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
    200: "<html><head><title>1С:Предприятие</title></head><body><p>Ошибка аутентификации</p></body></html>",
}


def _html(status: int) -> Response:
    return Response(status, _HTML[status].encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")])


class OneCEmulator(LoopbackService):
    """A local 1C:UT publication serving ``store`` over real HTTP.

    ``users``: login -> password (default ``{"Администратор": <random>}``). ``published``: the OData
    composition (default: every set of the model, tabular-part sets included). ``hs_app`` answers
    requests under ``hs_url`` after Basic auth (``None``: 404). ``auth_html_200``: the misconfigured
    publication that answers failed auth with an HTML page and HTTP 200. ``costs``: realistic
    latency (:mod:`b24sync.sandbox.latency`; ``None`` = off): a per-request overhead after auth,
    plus per-row, ``$skip`` and count time on reads, waited out before answering.
    """

    def __init__(
        self,
        store: OneCStore | None = None,
        *,
        base: str = "trade",
        users: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        if_match: str = "ignore",
        published: set[str] | None = None,
        hs_app: Callable[[Request], Response] | None = None,
        clock: Callable[[], float] = time.time,
        inlinecount_ignores_paging: bool = True,
        skip_latency: float = 0.0,
        auth_html_200: bool = False,
        costs: CostModel | None = None,
    ) -> None:
        self.store = store or OneCStore(clock=clock)
        self.base = base.strip("/")
        self.users = users if users is not None else {"Администратор": secrets.token_urlsafe(12)}
        self.host, self.requested_port = host, port
        self.server_name = "onec-emulator"
        self.published = set(published) if published is not None else set(self.store.schema.all_set_names())
        self.hs_app = hs_app
        self.clock = clock
        self.auth_html_200 = auth_html_200
        self.app = ODataApp(self.store, self.published, if_match=if_match,
                            inlinecount_ignores_paging=inlinecount_ignores_paging, skip_latency=skip_latency,
                            costs=costs)
        self.request_log = RequestLog()
        self.faults = Faults()

    # lifecycle (start/stop/context manager/port come from LoopbackService) ---------------------

    @property
    def base_url(self) -> str:
        return f"{self.origin}/{quote(self.base)}/"

    @property
    def odata_url(self) -> str:
        return f"{self.base_url}odata/standard.odata/"

    @property
    def hs_url(self) -> str:
        return f"{self.base_url}hs/b24sync/v1/"

    @property
    def user(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.user]

    @property
    def if_match(self) -> str:
        return self.app.if_match

    @if_match.setter
    def if_match(self, mode: str) -> None:
        if mode not in ("ignore", "enforce"):
            raise ValueError("if_match must be 'ignore' or 'enforce'")
        self.app.if_match = mode

    @property
    def rls(self) -> dict[str, Callable[[dict], bool]]:
        """Set name -> predicate of records hidden by record-level security (401/code 20 unless allowedOnly)."""
        return self.app.rls

    @property
    def costs(self) -> CostModel | None:
        """The cost model of realistic latency (``None`` = off); may be swapped between requests."""
        return self.app.costs

    @costs.setter
    def costs(self, model: CostModel | None) -> None:
        self.app.costs = model

    # request handling ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request (the ``app`` run by the loopback server)."""
        headers = {k: ("***" if k.lower() == "authorization" else v) for k, v in request.headers.items()}
        record = RequestRecord(self.clock(), request.method, request.path, request.query, headers, request.body)
        try:
            response = self._process(request, record)
            record.status = 0 if response.drop else response.status
            # the web server in front of 1C runs on the 1C server's clock: its Date header shows a skew
            response.headers.append(("Date", formatdate(self.store.clock(), usegmt=True)))
            return response
        finally:
            self.request_log.append(record)

    def _process(self, request: Request, record: RequestRecord) -> Response:
        try:
            path = decode_path(request.path)
        except Exception:
            return _html(404)
        record.path = path
        prefix = f"/{self.base}/"
        if not (path + "/").startswith(prefix):
            return _html(404)
        rest = path[len(prefix):]
        is_odata = re.match(r"^odata/standard\.odata(?=/|$)", rest)
        is_hs = rest.startswith("hs/b24sync/v1/") or rest == "hs/b24sync/v1"
        if not (is_odata or is_hs):
            return _html(404)
        set_name = ""
        if is_odata:
            first = rest[len("odata/standard.odata"):].lstrip("/").split("/", 1)[0]
            set_name = first.split("(", 1)[0]
        record.entity_set = set_name
        fault = self.faults.take(request.method, set_name)
        record.fault = fault.kind if fault else None
        if fault is not None and fault.kind == "reset":
            return Response(0, drop=True)
        if fault is not None and fault.kind in BEFORE_EXECUTION:
            return _html(500 if fault.kind == "html500" else 503)
        user = check_basic(request.headers, self.users)
        if user is None:
            if self.auth_html_200:
                return _html(200)
            return Response(401, b"", [("WWW-Authenticate", 'Basic realm="1C:Enterprise"'),
                                       ("Content-Type", "text/plain; charset=utf-8")])
        record.user = user
        if is_hs:
            if self.hs_app is None:
                return _html(404)
            response = self.hs_app(request)
        else:
            host = request.host_header or f"{self.host}:{self.port}"
            root = f"http://{host}/{quote(self.base)}/odata/standard.odata/"
            reply = self.app.handle(request.method, rest[len("odata/standard.odata"):], request.query,
                                    request.headers, request.body, root)
            record.error_code = reply.error_code
            response = _to_response(reply)
        costs = self.costs
        if costs is not None:
            response.delay += costs.wall(costs.onec_request())
        if fault is not None:
            if fault.kind == "drop_after_commit":
                response.drop = True
            elif fault.kind == "slow":
                response.delay += fault.delay
            elif fault.kind == "timeout":
                response.delay += fault.delay
                response.drop = True
            elif fault.kind == "truncated":
                response.truncate = True
        return response


def _to_response(reply: Reply) -> Response:
    headers = [("DataServiceVersion", "3.0"), *reply.headers]
    return Response(reply.status, reply.body, headers, delay=reply.delay)
