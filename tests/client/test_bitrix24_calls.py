"""The Bitrix24 client against the emulator over loopback: calls, errors, retries, redaction."""

from __future__ import annotations

import logging

import pytest
import requests

from b24sync.errors import RemoteUnavailable, TransportError
from b24sync.sandbox.bitrix24 import Limits
from b24sync.sources.bitrix24.client import Bitrix24Client
from b24sync.sources.bitrix24.errors import (
    AuthError,
    InDoubt,
    InvalidRequest,
    MethodNotFound,
    NotFound,
)
from tests.conftest import FakeClock, contacts_seed, make_client


def token_of(emulator) -> str:
    return emulator.webhook_url.rstrip("/").rsplit("/", 1)[-1]


def test_call_roundtrip_with_cyrillic(start_emulator):
    emu = start_emulator()
    client = make_client(emu)
    phone = [{"VALUE": "8 (916) 123-45-67", "VALUE_TYPE": "WORK"}]
    new_id = client.call("crm.contact.add", {"fields": {"NAME": "Ёжик", "LAST_NAME": "Туманов", "PHONE": phone}})
    assert isinstance(new_id, int)
    got = client.call("crm.contact.get", {"id": new_id})
    assert got["NAME"] == "Ёжик" and got["ID"] == str(new_id)
    assert got["PHONE"][0]["VALUE"] == "8 (916) 123-45-67"
    env = client.call_envelope("crm.contact.list", {"filter": {"NAME": "Ёжик"}, "select": ["ID"]})
    assert env.total == 1 and {"start", "finish", "duration"} <= set(env.time)


def test_documented_errors_become_clear_exceptions(start_emulator):
    emu = start_emulator()
    client = make_client(emu)
    with pytest.raises(MethodNotFound) as err:
        client.call("crm.contact.nosuchmethod")
    assert err.value.status == 404 and err.value.code == "ERROR_METHOD_NOT_FOUND"
    assert "crm.contact.nosuchmethod" in str(err.value)
    with pytest.raises(NotFound) as err:
        client.call("crm.contact.get", {"id": 987654})
    assert err.value.status == 400 and "Not found" in str(err.value)
    with pytest.raises(InvalidRequest) as err:
        client.call("crm.contact.get", {"id": "abc"})
    assert "ID is not defined or invalid" in str(err.value)
    with pytest.raises(ValueError, match="at most 50"):
        client.batch({f"c{i}": ("crm.contact.list", {}) for i in range(51)})


def test_bad_webhook_path_is_an_auth_error_without_the_token(start_emulator):
    emu = start_emulator()
    wrong = emu.webhook_url.replace(token_of(emu), "wrongtoken123")
    client = Bitrix24Client(wrong, retry=make_client(emu).retry)
    with pytest.raises(AuthError) as err:
        client.call("crm.contact.list")
    assert err.value.status == 401
    assert "wrongtoken123" not in str(err.value)


def test_batch_per_command_errors_are_returned_with_their_key(start_emulator):
    emu = start_emulator(contacts_seed(3))
    client = make_client(emu)
    result = client.batch({"ok": ("crm.contact.get", {"id": 1}), "missing": ("crm.contact.get", {"id": 999}),
                           "chained": ("crm.contact.get", {"id": "$result[ok][ID]"})})
    assert result.result["ok"]["ID"] == "1" and result.result["chained"]["ID"] == "1"
    assert isinstance(result.errors["missing"], NotFound)
    assert result.errors["missing"].record == "missing"


def test_reads_are_retried_through_proxy_errors_and_server_errors(start_emulator):
    emu = start_emulator(contacts_seed(2))
    client = make_client(emu)
    emu.faults.add("crm.contact.get", "html502")
    emu.faults.add("crm.contact.get", "internal500")
    emu.faults.add("crm.contact.get", "truncated")
    assert client.call("crm.contact.get", {"id": 2})["ID"] == "2"
    statuses = [r.status for r in emu.request_log.snapshot()]
    assert statuses == [502, 500, 200, 200]


def test_reads_give_up_after_the_attempt_cap(start_emulator):
    emu = start_emulator(contacts_seed(1))
    client = make_client(emu)
    emu.faults.add(None, "html504", count=20)
    with pytest.raises(RemoteUnavailable) as err:
        client.call("crm.contact.get", {"id": 1})
    assert err.value.exit_code == 69
    assert len(emu.request_log.snapshot()) == client.retry.max_attempts


@pytest.mark.parametrize("fault", ["html502", "internal500", "drop_after_commit"])
def test_writes_are_never_blindly_resent(start_emulator, fault):
    emu = start_emulator()
    client = make_client(emu)
    emu.faults.add("crm.contact.add", fault)
    with pytest.raises(InDoubt) as err:
        client.call("crm.contact.add", {"fields": {"NAME": "Сомнение", "ORIGINATOR_ID": "b24sync",
                                                   "ORIGIN_ID": "1c-42"}})
    assert "crm.contact.add" in str(err.value)
    adds = [r for r in emu.request_log.snapshot() if r.api_method == "crm.contact.add"]
    assert len(adds) == 1  # one attempt only
    found = client.call("crm.contact.list", {"filter": {"ORIGIN_ID": "1c-42"}, "select": ["ID"]})
    assert len(found) == (1 if fault == "drop_after_commit" else 0)


def test_query_limit_rejections_are_waited_out_and_resent_even_for_writes(start_emulator):
    clock = FakeClock()
    emu = start_emulator(limits=Limits(bucket_size=5, drain_per_second=2.0), clock=clock.time)
    # The client believes in a bigger bucket than the portal has: the portal must reject, the client adapt.
    client = make_client(emu, rate=100.0, burst=100, clock=clock)
    ids = [client.call("crm.contact.add", {"fields": {"NAME": f"Контакт {i}"}}) for i in range(12)]
    assert len(set(ids)) == 12
    log = emu.request_log.snapshot()
    rejected = [r for r in log if r.status == 503]
    assert rejected and all(not r.executed for r in rejected)
    names = [c["NAME"] for c in client.call("crm.contact.list", {"select": ["NAME"], "order": {"ID": "ASC"}})]
    assert names == [f"Контакт {i}" for i in range(12)]  # each created exactly once


def test_operating_time_limit_pauses_only_that_method(start_emulator):
    clock = FakeClock()
    limits = Limits(operating_limit=10.0, simulated_duration={"crm.contact.list": 4.0})
    emu = start_emulator(contacts_seed(5), limits=limits, clock=clock.time)
    client = make_client(emu, clock=clock)
    start = clock.time()
    for _ in range(6):
        client.call("crm.contact.list", {"select": ["ID"]})
        client.call("crm.company.list", {"select": ["ID"]})
    blocked = [r for r in emu.request_log.snapshot() if r.status == 429]
    assert blocked and all(r.api_method == "crm.contact.list" for r in blocked)
    assert clock.time() - start >= 60  # the client waited for the reset instead of hammering
    assert len(blocked) <= 3


def test_token_never_appears_in_transport_errors_or_logs(start_emulator, caplog):
    emu = start_emulator()
    client = make_client(emu)
    token = token_of(emu)
    emu.stop()
    caplog.set_level(logging.DEBUG)
    with pytest.raises((TransportError, RemoteUnavailable)) as err:
        client.call("crm.contact.list")
    assert token not in str(err.value)
    assert "/rest/1/***/" in str(err.value) or "***" in str(err.value)
    assert token not in caplog.text


def test_malformed_json_body_reaches_the_emulator_as_empty_params(start_emulator):
    emu = start_emulator()
    response = requests.post(emu.webhook_url + "crm.contact.add.json", data=b"{not json",
                             headers={"Content-Type": "application/json"}, timeout=5)
    body = response.json()
    assert response.status_code == 400 and "error" in body
