"""Realistic latency in the emulators (``b24sync sandbox --realistic-latency``): the cost model.

No test here measures the wall clock. Modelled time is read where the emulators expose it: the
``delay`` of a :class:`~b24sync.sandbox.server.Response` (``modelled × scale``, what the HTTP
layer then waits out in the server thread; ``handle()`` is called directly, so nothing sleeps),
the Bitrix24 envelope's ``time`` and the operating-time accounting, driven by a fake clock.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from email.message import Message
from typing import Any
from urllib.parse import quote

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, Portal
from b24sync.sandbox.bitrix24.api import PortalSeed
from b24sync.sandbox.latency import SCALE_ENV, Bitrix24Costs, CostModel, Listing, OneCCosts
from b24sync.sandbox.onec import OneCEmulator, OneCStore
from b24sync.sandbox.server import Request, Response
from tests.contract.b24_fakes import FakeClock

pytestmark = pytest.mark.timeout(60)

B24 = Bitrix24Costs()
ONEC = OneCCosts()
TIME_LIMIT = {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}
DOC_LEADS = 2_387_743  # settings/performance/huge-data.md
PARTNERS = "Catalog_Партнеры"


# --- helpers -----------------------------------------------------------------------------------


def portal_with_leads(count: int) -> Portal:
    """A portal whose lead table holds ``count`` rows (copies of one written lead: fast to build)."""
    portal = Portal(PortalSeed(leads=[{"TITLE": "Лид 1"}], contacts=[{"NAME": "Иван"}]))
    add_leads(portal, count - 1)
    return portal


def add_leads(portal: Portal, count: int) -> None:
    table = portal.store.table("lead")
    template = table.rows[table.ids[0]]
    for _ in range(count):
        table.insert({**template, "TITLE": f"Лид {table.last_id + 1}"})


def b24_request(emu: Bitrix24Emulator, method: str, **params: Any) -> Request:
    headers = Message()
    headers["Content-Type"] = "application/json"
    return Request("POST", f"/rest/{emu.user_id}/{emu.webhook_code}/{method}", "", headers,
                   json.dumps(params).encode(), "127.0.0.1")


def b24_call(emu: Bitrix24Emulator, method: str, **params: Any) -> tuple[Response, dict[str, Any]]:
    """One request through the emulator's handler, without HTTP: nothing waits out the delay."""
    response = emu.handle(b24_request(emu, method, **params))
    return response, json.loads(response.body)


def onec_get(emu: OneCEmulator, path: str, query: str = "") -> Response:
    headers = Message()
    token = base64.b64encode(f"{emu.user}:{emu.password}".encode()).decode()
    headers["Authorization"] = f"Basic {token}"
    headers["Accept"] = "application/json"
    return emu.handle(Request("GET", f"/{emu.base}/odata/standard.odata/{quote(path)}", query, headers, b"",
                              "127.0.0.1", host_header="127.0.0.1:8080"))


@pytest.fixture(scope="module")
def partners_store() -> OneCStore:
    store = OneCStore()
    for n in range(2000):
        store.create(PARTNERS, {"Description": f"Партнёр {n:04d}"}, load_mode=True)
    return store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def started() -> Iterator[list[Bitrix24Emulator]]:
    emulators: list[Bitrix24Emulator] = []
    yield emulators
    for emu in emulators:
        emu.stop()


LIST = {"order": {"ID": "ASC"}, "select": ["ID", "TITLE"]}


# --- the constants reproduce the documented example --------------------------------------------


def test_constants_reproduce_the_huge_data_example() -> None:
    """huge-data.md: one page of 2,387,743 leads, 49.9 s with the count and 0.097 s with start=-1."""
    model = CostModel()
    counted = model.b24_request() + model.b24_call(Listing(pages=1, counted_rows=DOC_LEADS))
    uncounted = model.b24_request() + model.b24_call(Listing(pages=1))
    assert counted == pytest.approx(49.916, abs=0.05)
    assert uncounted == pytest.approx(0.0979, abs=0.002)
    assert model.b24_call() == B24.command  # a call that reads no list page
    assert model.wall(10.0) == 10.0 and CostModel(scale=0.01).wall(10.0) == pytest.approx(0.1)


def test_scale_comes_from_the_environment_and_is_validated() -> None:
    assert CostModel.from_env(environ={}).scale == 1.0
    assert CostModel.from_env(environ={SCALE_ENV: "0.01"}).scale == 0.01
    assert CostModel.from_env(0.5, environ={SCALE_ENV: "0.01"}).scale == 0.5  # an explicit scale wins
    for bad in ("-1", "fast", "nan", "inf"):
        with pytest.raises(ValueError):
            CostModel.from_env(environ={SCALE_ENV: bad})
    with pytest.raises(ValueError):
        CostModel(scale=-0.1)


# --- off by default ----------------------------------------------------------------------------


def test_the_switch_is_off_by_default(monkeypatch: pytest.MonkeyPatch, partners_store: OneCStore) -> None:
    from b24sync.sandbox.run import start_sandbox

    monkeypatch.setenv(SCALE_ENV, "3")  # a scale alone does not switch anything on
    with start_sandbox(size=20, limits=False) as sandbox:
        assert sandbox.costs is None and sandbox.bitrix24.costs is None and sandbox.onec.costs is None
        assert sandbox.info()["LATENCY"] == "off"
        assert list(sandbox.info())[:-1] == ["BITRIX24_WEBHOOK", "BITRIX24_APP_TOKEN", "BITRIX24_LIMITS",
                                             "ONEC_ODATA", "ONEC_HS", "ONEC_USER", "ONEC_PASSWORD"]
        response, body = b24_call(sandbox.bitrix24, "crm.company.list", **LIST)
        assert response.status == 200 and response.delay == 0.0 and body["total"] > 0
    emu = Bitrix24Emulator(portal_with_leads(500).registry, limits=None)
    assert emu.costs is None and b24_call(emu, "crm.lead.list", **LIST)[0].delay == 0.0
    onec = OneCEmulator(partners_store)
    assert onec.costs is None and onec_get(onec, PARTNERS, "$top=50&$skip=1900").delay == 0.0


def test_the_switch_on_uses_the_environment_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    from b24sync.sandbox.run import start_sandbox

    monkeypatch.setenv(SCALE_ENV, "0.25")
    with start_sandbox(size=20, limits=False, realistic_latency=True) as sandbox:
        assert sandbox.costs is not None and sandbox.costs.scale == 0.25
        assert sandbox.bitrix24.costs is sandbox.costs and sandbox.onec.costs is sandbox.costs
        assert sandbox.info()["LATENCY"] == "realistic x0.25"
        response, _ = b24_call(sandbox.bitrix24, "crm.company.list", start=-1, **LIST)
        assert response.delay == pytest.approx(0.25 * (B24.request + B24.command + B24.list_page))


# --- Bitrix24: counting total costs in proportion to the table ---------------------------------


def test_counted_list_costs_the_count_of_the_table_and_start_minus_one_does_not() -> None:
    portal = portal_with_leads(2000)
    emu = Bitrix24Emulator(portal.registry, limits=None, costs=CostModel())
    counted, body = b24_call(emu, "crm.lead.list", **LIST)
    unbounded, body_fast = b24_call(emu, "crm.lead.list", start=-1, **LIST)
    assert body["total"] == 2000 and body_fast["total"] == 0
    base = B24.request + B24.command + B24.list_page
    assert unbounded.delay == pytest.approx(base)
    assert counted.delay == pytest.approx(base + 2000 * B24.count_row)
    assert counted.delay > unbounded.delay

    add_leads(portal, 6000)  # the table grows four times: so does the count, not the start=-1 page
    bigger, _ = b24_call(emu, "crm.lead.list", **LIST)
    assert bigger.delay - base == pytest.approx(4 * (counted.delay - base))
    assert b24_call(emu, "crm.lead.list", start=-1, **LIST)[0].delay == pytest.approx(base)
    # a filter does not spare the count its scan (model: the whole table), only start=-1 does
    filtered, _ = b24_call(emu, "crm.lead.list", filter={">ID": 7990}, **LIST)
    assert filtered.delay == pytest.approx(bigger.delay)
    # the universal method pays the same way
    item, _ = b24_call(emu, "crm.item.list", entityTypeId=1, order={"id": "ASC"}, select=["id"])
    item_fast, _ = b24_call(emu, "crm.item.list", entityTypeId=1, order={"id": "ASC"}, select=["id"], start=-1)
    assert item.delay == pytest.approx(bigger.delay) and item_fast.delay == pytest.approx(base)


def test_batch_pays_the_request_once_and_each_command() -> None:
    emu = Bitrix24Emulator(portal_with_leads(300).registry, limits=None, costs=CostModel(scale=0.5))
    cmd = {f"p{i}": f"crm.lead.list?order[ID]=ASC&filter[>ID]={i * 50}&start=-1" for i in range(6)}
    cmd["get"] = "crm.lead.get?id=1"
    response, body = b24_call(emu, "batch", cmd=cmd)
    assert response.status == 200 and not body["result"]["result_error"]
    per_page = B24.command + B24.list_page
    modelled = B24.request + 6 * per_page + B24.command
    assert response.delay == pytest.approx(0.5 * modelled)  # the scale shortens only the wait
    times = body["result"]["result_time"]
    assert all(times[f"p{i}"]["processing"] >= per_page for i in range(6))  # portal time, unscaled
    assert times["get"]["processing"] >= B24.command
    starts = [times[f"p{i}"]["start"] for i in range(6)]
    assert all(b - a >= per_page for a, b in zip(starts, starts[1:], strict=False))  # run one after another
    assert body["time"]["duration"] >= modelled and body["time"]["processing"] >= modelled - B24.request


def test_refused_requests_cost_nothing_and_errors_cost_the_call() -> None:
    emu = Bitrix24Emulator(portal_with_leads(10).registry, limits=None, costs=CostModel())
    wrong = b24_request(emu, "crm.lead.list")
    wrong.path = wrong.path.replace(emu.webhook_code, "elsewhere")
    refused = emu.handle(wrong)
    assert refused.status == 401 and refused.delay == 0.0  # answered before any method ran
    missing, _ = b24_call(emu, "crm.lead.get", id=999)
    assert missing.status == 400 and missing.delay == pytest.approx(B24.request + B24.command)


# --- Bitrix24: modelled time is operating time -------------------------------------------------


def doc_sized_costs(rows: int) -> CostModel:
    """Default constants, but a count of ``rows`` rows costs what it costs on the 2.39M-lead portal."""
    return CostModel(Bitrix24Costs(count_row=B24.count_row * DOC_LEADS / rows), scale=0)


def test_counted_pages_exhaust_the_operating_time_and_get_429(clock: FakeClock, started: list) -> None:
    emu = Bitrix24Emulator(portal_with_leads(2000).registry, limits=Limits(), clock=clock,
                           costs=doc_sized_costs(2000)).start()
    started.append(emu)
    page = B24.command + B24.list_page + B24.count_row * DOC_LEADS  # 49.9 s per counted page
    with requests.Session() as s:
        def call(method: str, **params: Any) -> requests.Response:
            return s.post(emu.webhook_url + method, json=params, timeout=10)

        operating = []
        for n in range(10):  # 0, 49.9, ..., 449 s before each call: all under 480
            response = call("crm.lead.list", start=n * 50, **LIST)
            assert response.status_code == 200
            times = response.json()["time"]
            assert times["processing"] >= page and times["duration"] >= page + B24.request
            operating.append(times["operating"])
            clock.advance(10)
        assert operating == pytest.approx([page * (n + 1) for n in range(10)], abs=0.5)
        blocked = call("crm.lead.list", start=500, **LIST)  # 499 s > 480 s: the method is blocked
        assert blocked.status_code == 429 and blocked.json() == TIME_LIMIT
        assert call("crm.lead.list", start=-1, **LIST).status_code == 429  # the whole method, any paging
        assert call("crm.contact.list", start=-1, **LIST).status_code == 200  # other methods work
        assert emu.request_log[-3].refused == ["crm.lead.list"]
        clock.advance(600)  # the ten-minute window has moved past every recorded bucket
        assert call("crm.lead.list", start=-1, **LIST).status_code == 200


def test_start_minus_one_pages_stay_under_the_limit(clock: FakeClock, started: list) -> None:
    emu = Bitrix24Emulator(portal_with_leads(2000).registry, limits=Limits(), clock=clock,
                           costs=doc_sized_costs(2000)).start()
    started.append(emu)
    with requests.Session() as s:
        for n in range(40):  # each page 0.068 s: under the 0.1 s a call must last to be recorded
            body = s.post(emu.webhook_url + "crm.lead.list", json={"filter": {">ID": n * 50}, "start": -1, **LIST},
                          timeout=10).json()
            assert body["time"]["operating"] == 0.0 and len(body["result"]) == 50


def test_batch_commands_charge_operating_time_one_by_one(clock: FakeClock, started: list) -> None:
    emu = Bitrix24Emulator(portal_with_leads(2000).registry, limits=Limits(), clock=clock,
                           costs=doc_sized_costs(2000)).start()
    started.append(emu)
    cmd = {f"c{i:02d}": f"crm.lead.list?order[ID]=ASC&select[]=ID&start={i * 50}" for i in range(12)}
    with requests.Session() as s:
        result = s.post(emu.webhook_url + "batch", json={"cmd": cmd}, timeout=10).json()["result"]
        assert sorted(result["result"]) == [f"c{i:02d}" for i in range(10)]
        assert result["result_error"] == {"c10": TIME_LIMIT, "c11": TIME_LIMIT}
        assert s.post(emu.webhook_url + "crm.lead.list", json=LIST, timeout=10).status_code == 429


def test_operating_time_without_limits_is_not_reported(started: list) -> None:
    emu = Bitrix24Emulator(portal_with_leads(100).registry, limits=None, costs=CostModel(scale=0)).start()
    started.append(emu)
    body = requests.post(emu.webhook_url + "crm.lead.list", json=LIST, timeout=10).json()
    assert "operating" not in body["time"]
    assert body["time"]["processing"] >= B24.command + B24.list_page + 100 * B24.count_row


# --- 1C: $skip, rows, counts -------------------------------------------------------------------


def test_deep_skip_costs_more_than_shallow(partners_store: OneCStore) -> None:
    emu = OneCEmulator(partners_store, costs=CostModel())
    shallow = onec_get(emu, PARTNERS, "$top=50&$skip=0&$format=json")
    deep = onec_get(emu, PARTNERS, "$top=50&$skip=1900&$format=json")
    assert shallow.status == deep.status == 200
    assert len(json.loads(deep.body)["value"]) == 50
    assert shallow.delay == pytest.approx(ONEC.request + 50 * ONEC.row)
    assert deep.delay == pytest.approx(ONEC.request + 50 * ONEC.row + 1900 * ONEC.skip_row)
    assert deep.delay > shallow.delay
    past_the_end = onec_get(emu, PARTNERS, "$top=50&$skip=5000&$format=json")  # reads what exists, no more
    assert past_the_end.delay == pytest.approx(ONEC.request + 2000 * ONEC.skip_row)


def test_onec_rows_counts_and_scale(partners_store: OneCStore) -> None:
    emu = OneCEmulator(partners_store, costs=CostModel(scale=0.1))
    count = onec_get(emu, PARTNERS + "/$count")
    assert count.status == 200 and count.delay == pytest.approx(0.1 * (ONEC.request + 2000 * ONEC.count_row))
    everything = onec_get(emu, PARTNERS, "$select=Ref_Key&$format=json")
    assert everything.delay == pytest.approx(0.1 * (ONEC.request + 2000 * ONEC.row))
    emu.costs = None  # switched off at runtime
    assert onec_get(emu, PARTNERS, "$top=1&$skip=1000&$format=json").delay == 0.0


def test_onec_waits_in_the_server_thread_over_http(partners_store: OneCStore) -> None:
    with OneCEmulator(partners_store, costs=CostModel(scale=0.001)) as emu:
        s = requests.Session()
        s.auth = (emu.user.encode(), emu.password.encode())
        r = s.get(emu.odata_url + PARTNERS + "?$top=5&$skip=1000&$format=json", timeout=10)
        assert r.status_code == 200 and len(r.json()["value"]) == 5
        assert emu.request_log[-1].status == 200


# --- the command line --------------------------------------------------------------------------


def test_command_line_switch_prints_its_key_and_rejects_a_bad_scale() -> None:
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "b24sync", "sandbox", "--size", "20", "--no-limits", "--realistic-latency"]
    bad = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, SCALE_ENV: "fast"})
    assert bad.returncode == 2 and "B24SYNC_LATENCY_SCALE" in bad.stderr and "READY" not in bad.stdout
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, SCALE_ENV: "0"})
    facts: dict[str, str] = {}
    try:
        for line in proc.stdout or []:
            key, _, value = line.strip().partition("=")
            facts[key] = value
            if key == "READY":
                break
    finally:
        proc.terminate()
        proc.wait(20)
    assert facts["READY"] == "1" and facts["LATENCY"] == "realistic x0" and facts["BITRIX24_LIMITS"] == "off"
