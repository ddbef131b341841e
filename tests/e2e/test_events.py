"""``b24sync serve``: the receiver, its durable queue and the worker, over loopback.

The receiver is hit the way Bitrix24 hits it (form bodies built like the emulator's outgoing
webhooks), and the worker runs the real targeted reconcile against the emulators.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests

from b24sync.config import load_config
from b24sync.doctor import run_doctor
from b24sync.events.queue import EventQueue
from b24sync.events.serve import start_service
from b24sync.events.worker import Worker
from b24sync.reconcile import run_reconcile
from b24sync.sandbox.run import start_sandbox
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.read import export_all
from b24sync.state import State


@pytest.fixture
def world(tmp_path):
    with start_sandbox(size=300, seed=7, limits=False) as sandbox:
        config = load_config(sandbox.write_config(tmp_path / "b24sync.toml"))
        run_doctor(config, fix=True)
        run_reconcile(config)
        yield sandbox, config


def body(event: str, record: int, token: str, **extra: str) -> str:
    return urlencode({"event": event, "event_handler_id": "1", "data[FIELDS][ID]": str(record),
                      "ts": str(int(time.time())), "auth[domain]": "sandbox.bitrix24.ru",
                      "auth[application_token]": token, **extra})


def post(url: str, text: str | bytes) -> requests.Response:
    return requests.post(url, data=text, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=60)


def rows(config) -> list[tuple]:
    return State(config.state_path).db.execute(
        "select event, entity, entity_id, status, attempts from events order by id").fetchall()


def test_the_receiver_checks_token_shape_and_size_before_storing(world):
    sandbox, config = world
    token = config.require_app_token().reveal()
    service = start_service(config, token, port=0, worker=False)
    try:
        url = service.url
        assert post(url, body("ONCRMCONTACTADD", 5, "wrong-token")).status_code == 401
        assert post(url, body("ONCRMCONTACTADD", 5, "")).status_code == 401
        assert post(url, "event=ONCRMCONTACTADD&data[FIELDS][ID]=5").status_code == 401
        assert post(url, b"\xff\xfe not a form").status_code == 400
        assert post(url, body("ONCRMCONTACTADD", 5, token, pad="x" * 70_000)).status_code in (400, 413)
        assert post(url, body("ONCRMCONTACTADD", "пять", token)).status_code == 400  # type: ignore[arg-type]
        assert rows(config) == []  # nothing invalid is ever stored
        ignored = post(url, body("ONCRMACTIVITYADD", 5, token))
        assert ignored.status_code == 202 and rows(config) == []
        first = post(url, body("ONCRMCONTACTADD", 5, token))
        again = post(url, body("ONCRMCONTACTADD", 5, token))
        assert first.status_code == again.status_code == 200
        assert first.json()["duplicate"] is False and again.json() == {**first.json(), "duplicate": True}
        assert rows(config) == [("ONCRMCONTACTADD", "contact", 5, "queued", 0)]
        health = requests.get(url.rsplit("/", 2)[0] + "/healthz", timeout=5).json()
        assert health["ok"] and health["queue"] == {"queued": 1}
    finally:
        service.stop()


def test_a_burst_of_events_is_processed_exactly_once(world):
    sandbox, config = world
    token = config.require_app_token().reveal()
    b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
    contacts = [int(c["ID"]) for c in export_all(b24, "contact", select=["ID"])]
    companies = [int(c["ID"]) for c in export_all(b24, "company", select=["ID"])]
    distinct = [("ONCRMCONTACTUPDATE", i) for i in contacts] + [("ONCRMCOMPANYUPDATE", i) for i in companies]
    rng = random.Random(3)
    events = [rng.choice(distinct) for _ in range(800)]
    valid = events + rng.sample(events, 200)  # 20 % duplicates
    bodies = [body(name, record, token) for name, record in valid]
    bodies += [body("ONCRMCONTACTUPDATE", rng.choice(contacts), "not-the-token") for _ in range(100)]
    rng.shuffle(bodies)
    service = start_service(config, token, port=0)
    try:
        def send(text: str) -> tuple[int, bool]:
            answer = post(service.url, text)
            return answer.status_code, answer.status_code == 200 and not answer.json()["duplicate"]

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(send, bodies))
        codes = [code for code, _ in answers]
        assert codes.count(401) == 100 and codes.count(200) == 1000
        accepted = sum(1 for _, new in answers if new)
        queue = service.receiver.queue
        deadline = time.monotonic() + 120
        while queue.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queue.pending() == 0
    finally:
        service.stop()
    stored = rows(config)
    assert {(e, i) for e, _, i, _, _ in stored} == set(valid)  # every valid event, no invalid one
    assert len(stored) == accepted  # duplicates collapsed into the event still waiting
    assert all(status == "done" and attempts == 1 for *_, status, attempts in stored)  # each processed once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(config, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "b24sync", "--config", str(config.path), "serve", "--port",
                             str(port), "--no-worker"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not start")


def test_events_acknowledged_before_a_kill_are_all_processed_after_restart(world):
    sandbox, config = world
    token = config.require_app_token().reveal()
    port = _free_port()
    url = f"http://127.0.0.1:{port}{config.serve.path}"
    proc = _serve(config, port)
    acknowledged: list[int] = []

    def send(record: int) -> None:
        try:
            if post(url, body("ONCRMCONTACTUPDATE", record, token)).status_code == 200:
                acknowledged.append(record)
        except requests.RequestException:
            pass  # not acknowledged: Bitrix24 would not retry; the scheduled reconcile covers it

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(send, record) for record in range(1, 401)]
        while len(acknowledged) < 100:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        for future in futures:
            future.result()
    assert 100 <= len(acknowledged) < 400
    proc = _serve(config, port)  # restarted: it must not have lost anything it acknowledged
    try:
        queue = EventQueue(config.state_path)
        stored = {row[2] for row in rows(config)}
        assert set(acknowledged) <= stored
        worker = Worker(config, queue, run=lambda cfg, targets: None)  # the queue's promise, not the sync's
        assert worker.drain(timeout=60)
        done = {row[2] for row in rows(config) if row[3] == "done"}
        assert set(acknowledged) <= done
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


def test_a_contact_added_in_bitrix24_reaches_1c_through_an_event(world):
    sandbox, config = world
    service = start_service(config, config.require_app_token().reveal(), port=0)
    sandbox.bitrix24.events_url = service.url
    try:
        b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
        contact = b24.call("crm.contact.add", {"fields": {
            "NAME": "Ярослава", "LAST_NAME": "Ёлкина", "PHONE": [{"VALUE": "+7 912 345-67-89", "VALUE_TYPE": "WORK"}],
            "EMAIL": [{"VALUE": "yaroslava.yolkina@example.ru", "VALUE_TYPE": "WORK"}]}})
        deadline = time.monotonic() + 30
        ref = None
        while ref is None and time.monotonic() < deadline:
            ref = b24.call("crm.contact.get", {"id": contact})["UF_CRM_1C_ID"] or None
            time.sleep(0.1)
        assert ref, "the counterparty did not reach 1C"
        counterparty = sandbox.store.get("Catalog_Контрагенты", ref)
        assert counterparty["Description"] == "Ёлкина Ярослава" and counterparty["ЮрФизЛицо"] == "ФизЛицо"
    finally:
        service.stop()
    journal = State(config.state_path).db.execute(
        "select count(*) from journal where entity = 'counterparty' and action = 'create' and status = 'done' "
        "and operation like ?", [f'%contact:{contact}"%']).fetchone()[0]
    assert journal == 1


def test_a_deal_moved_into_the_stage_gets_its_order_through_an_event(world):
    sandbox, config = world
    from b24sync.sandbox.bitrix24.methods.reference import CUSTOM_STAGE_ID

    service = start_service(config, config.require_app_token().reveal(), port=0)
    sandbox.bitrix24.events_url = service.url
    try:
        b24 = Bitrix24Client(sandbox.bitrix24.webhook_url)
        company = next(c for c in export_all(b24, "company", select=["ID", "UF_CRM_1C_ID"]) if c["UF_CRM_1C_ID"])
        deal = b24.call("crm.deal.add", {"fields": {"TITLE": "Срочная поставка", "COMPANY_ID": company["ID"],
                                                    "ASSIGNED_BY_ID": 2, "STAGE_ID": "NEW"}})
        b24.call("crm.deal.productrows.set", {"id": deal, "rows": [{"PRODUCT_ID": 2, "PRICE": 21490, "QUANTITY": 1}]})
        b24.call("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": CUSTOM_STAGE_ID}})
        deadline, ref = time.monotonic() + 30, None
        while ref is None and time.monotonic() < deadline:
            ref = b24.call("crm.deal.get", {"id": deal})["UF_CRM_1C_ORDER_ID"] or None
            time.sleep(0.1)
        assert ref and sandbox.store.get("Document_ЗаказКлиента", ref)["Контрагент_Key"] == company["UF_CRM_1C_ID"]
    finally:
        service.stop()


def test_an_event_that_keeps_failing_ends_dead_and_status_shows_it(world, tmp_path):
    sandbox, config = world
    from typer.testing import CliRunner

    from b24sync.cli import app
    from b24sync.errors import RemoteError

    queue = EventQueue(config.state_path, max_attempts=3, backoff_seconds=0.01)
    queue.put("ONCRMCONTACTUPDATE", "contact", 4242)
    calls = []

    def failing(cfg, targets):
        calls.append(targets)
        raise RemoteError("1C answered 500: Не удалось записать: Поле \"Партнер\" не заполнено")

    worker = Worker(config, queue, run=failing)
    deadline = time.monotonic() + 10
    while queue.pending() and time.monotonic() < deadline:
        worker.round()
        time.sleep(0.02)
    assert len(calls) == 3 and queue.counts() == {"dead": 1}
    shown = CliRunner().invoke(app, ["--config", str(config.path), "status"], env={"COLUMNS": "250"})
    assert "Dead event" in shown.output and "contact:4242" in shown.output and "Партнер" in shown.output
