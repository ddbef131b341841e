"""Bitrix24 emulator: outgoing events (form-encoded, one attempt) and injected transport faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator
from tests.contract.b24_fakes import FakeClock, FakeStore, fake_registry

pytestmark = pytest.mark.timeout(30)


class Receiver:
    """A bare outgoing-webhook handler: records each POST, answers with ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/handler"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def forms(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(body, keep_blank_values=True)) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def add(emu: Bitrix24Emulator, **kwargs: Any) -> requests.Response:
    return requests.post(emu.webhook_url + "test.add", json={"fields": {"A": 1}}, timeout=5, **kwargs)


# --- events ------------------------------------------------------------------------------------


def test_event_delivered_form_encoded_with_app_token(store: FakeStore, receiver: Receiver) -> None:
    clock = FakeClock()
    with Bitrix24Emulator(fake_registry(store), events_url=receiver.url, clock=clock, app_token="tok" * 8) as emu:
        assert add(emu).json()["result"] == 1
        assert emu.flush_events(5)
        headers, body = receiver.received[0]
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert body.startswith("event=ONTESTADD&event_handler_id=1&data%5BFIELDS%5D%5BID%5D=1&ts=")
        form = receiver.forms()[0]
        assert form == {
            "event": "ONTESTADD",
            "event_handler_id": "1",
            "data[FIELDS][ID]": "1",
            "ts": str(int(clock.now)),
            "auth[domain]": "sandbox.bitrix24.local",
            "auth[client_endpoint]": f"{emu.base_url}/rest/",
            "auth[server_endpoint]": "https://oauth.bitrix.info/rest/",
            "auth[member_id]": form["auth[member_id]"],
            "auth[application_token]": "tok" * 8,
        }
        assert len(form["auth[member_id]"]) == 32 and int(form["auth[member_id]"], 16) >= 0
        assert (emu.events_sent, emu.events_failed) == (1, 0)


def test_events_from_batch_arrive_in_order(store: FakeStore, receiver: Receiver) -> None:
    with Bitrix24Emulator(fake_registry(store), events_url=receiver.url) as emu:
        cmd = {"a": "test.add", "b": "test.fail", "c": "test.add", "d": "test.add"}
        requests.post(emu.webhook_url + "batch", json={"cmd": cmd}, timeout=5)
        assert emu.flush_events(5)
    assert [f["data[FIELDS][ID]"] for f in receiver.forms()] == ["1", "2", "3"]


def test_failed_calls_emit_nothing(store: FakeStore, receiver: Receiver) -> None:
    with Bitrix24Emulator(fake_registry(store), events_url=receiver.url) as emu:
        emu.faults.add("test.add", "html502")
        assert add(emu).status_code == 502
        assert emu.flush_events(5)
    assert receiver.received == [] and store.items == []


def test_no_retry_when_handler_fails(store: FakeStore) -> None:
    failing = Receiver(status=500)
    try:
        with Bitrix24Emulator(fake_registry(store), events_url=failing.url) as emu:
            add(emu)
            add(emu)
            assert emu.flush_events(5)
            assert (emu.events_sent, emu.events_failed) == (0, 2)
        assert len(failing.received) == 2  # exactly one attempt per event
    finally:
        failing.close()


def test_unreachable_handler_is_counted_and_ignored(store: FakeStore) -> None:
    dead = Receiver()
    dead.close()  # nothing listens on this port any more
    with Bitrix24Emulator(fake_registry(store), events_url=dead.url, events_timeout=0.5) as emu:
        assert add(emu).status_code == 200
        assert emu.flush_events(5)
        assert (emu.events_sent, emu.events_failed) == (0, 1)
        assert [e.name for e in emu.emitted_events] == ["ONTESTADD"]


def test_without_events_url_events_are_only_recorded(store: FakeStore) -> None:
    with Bitrix24Emulator(fake_registry(store)) as emu:
        add(emu)
        assert emu.flush_events(1)
        assert emu.emitted_events[0].data == {"FIELDS": {"ID": "1"}}
        assert emu.events_sent == 0


# --- faults ------------------------------------------------------------------------------------


@pytest.fixture
def emu(store: FakeStore) -> Iterator[Bitrix24Emulator]:
    with Bitrix24Emulator(fake_registry(store), limits=None) as emulator:
        yield emulator


@pytest.mark.parametrize(("kind", "status", "title"), [("html502", 502, "502 Bad Gateway"),
                                                       ("html504", 504, "504 Gateway Time-out")])
def test_html_gateway_errors_do_not_execute(emu: Bitrix24Emulator, store: FakeStore, kind: str, status: int,
                                            title: str) -> None:
    emu.faults.add("test.add", kind)
    response = add(emu)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html"
    assert f"<title>{title}</title>" in response.text
    with pytest.raises(ValueError):
        response.json()
    assert store.items == []
    assert add(emu).status_code == 200 and len(store.items) == 1  # the fault was used up
    assert emu.request_log[0].fault == kind and emu.request_log[0].executed is False


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [("internal500", 500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}),
     ("overload503", 503, {"error": "OVERLOAD_LIMIT", "error_description": "REST API is blocked due to overload."})],
)
def test_json_server_errors_do_not_execute(emu: Bitrix24Emulator, store: FakeStore, kind: str, status: int,
                                           error: dict) -> None:
    emu.faults.add(None, kind)
    response = add(emu)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == error
    assert store.items == []


def test_drop_after_commit_executes_then_closes(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.add("test.add", "drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        add(emu)
    assert len(store.items) == 1  # the write happened: a blind retry duplicates it
    record = emu.request_log[0]
    assert (record.executed, record.status, record.fault) == (True, 0, "drop_after_commit")
    assert add(emu).json()["result"] == 2


def test_slow_after_commit_times_out_the_client_after_the_write(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.add("test.add", "slow_after_commit", delay=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(emu.webhook_url + "test.add", json={}, timeout=0.2)
    assert len(store.items) == 1


def test_slow_after_commit_default_delay_is_configurable(emu: Bitrix24Emulator) -> None:
    assert emu.faults.slow_seconds == 5.0
    emu.faults.slow_seconds = 0.3
    emu.faults.add(None, "slow_after_commit")
    response = requests.post(emu.webhook_url + "test.echo", json={"x": 1}, timeout=5)
    assert response.json()["result"] == {"x": 1}
    assert response.elapsed.total_seconds() >= 0.3


def test_redirect_302_to_other_host_name(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.add("test.echo", "redirect302")
    response = requests.get(emu.webhook_url + "test.echo?x=1", timeout=5, allow_redirects=False)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.hostname, location.port) == ("localhost", emu.port)
    assert (location.path, location.query) == (f"/rest/1/{emu.webhook_code}/test.echo", "x=1")
    assert store.calls == []
    followed = requests.get(response.headers["Location"], timeout=5)
    assert followed.json()["result"] == {"x": "1"}


def test_truncated_body_after_execution(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.add("test.add", "truncated")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        add(emu)
    assert len(store.items) == 1


def test_fault_matches_batch_commands_and_counts(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.add("TEST.ADD", "internal500", count=2)
    assert emu.faults.pending == 2
    assert requests.post(emu.webhook_url + "test.echo", json={}, timeout=5).status_code == 200
    batch = requests.post(emu.webhook_url + "batch", json={"cmd": {"a": "test.echo", "b": "test.add"}}, timeout=5)
    assert batch.status_code == 500
    assert add(emu).status_code == 500
    assert add(emu).status_code == 200
    assert emu.faults.pending == 0 and len(store.items) == 1
    assert emu.faults.fired == [("batch", "internal500"), ("test.add", "internal500")]


def test_unknown_fault_kind_is_rejected(emu: Bitrix24Emulator) -> None:
    with pytest.raises(ValueError):
        emu.faults.add(None, "explode")


def test_reset_closes_the_connection_before_execution(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.add("test.add", "reset")
    with pytest.raises(requests.ConnectionError):
        add(emu)
    assert store.items == []  # not executed: yet to the client it looks like a write in doubt
    assert (emu.request_log[0].executed, emu.request_log[0].status, emu.request_log[0].fault) == (False, 0, "reset")


def test_timeout_executes_then_answers_nothing(emu: Bitrix24Emulator, store: FakeStore) -> None:
    emu.faults.timeout_seconds = 0.4
    emu.faults.add("test.add", "timeout")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(emu.webhook_url + "test.add", json={}, timeout=0.2)
    assert len(store.items) == 1
    emu.faults.add("test.add", "timeout")  # a client that waits longer sees the connection closed, no answer
    with pytest.raises(requests.ConnectionError):
        requests.post(emu.webhook_url + "test.add", json={}, timeout=5)
    assert len(store.items) == 2 and emu.request_log[-1].status == 0


def test_random_slow_faults_wait_a_seeded_draw_from_the_range() -> None:
    from b24sync.sandbox.bitrix24.faults import Faults

    def delays(seed: int) -> list[float]:
        faults = Faults(seed)
        faults.probabilities, faults.slow_range = {"slow_after_commit": 1.0}, (0.0, 2.0)
        return [faults.take(["crm.company.list"]).delay for _ in range(50)]

    assert delays(3) == delays(3) and delays(3) != delays(4)
    assert all(0.0 <= d <= 2.0 for d in delays(3)) and len(set(delays(3))) == 50


def test_seeded_probabilities_are_reproducible(store: FakeStore) -> None:
    def run(seed: int) -> list[int]:
        with Bitrix24Emulator(fake_registry(FakeStore()), limits=None, fault_seed=seed) as emulator:
            emulator.faults.probabilities = {"html502": 0.3, "overload503": 0.3}
            with requests.Session() as s:
                return [s.post(emulator.webhook_url + "test.echo", json={}, timeout=5).status_code
                        for _ in range(40)]

    first, second, other = run(7), run(7), run(8)
    assert first == second
    assert first != other
    assert {200, 502, 503} == set(first)
