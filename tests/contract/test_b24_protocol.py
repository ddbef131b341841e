"""Bitrix24 emulator, protocol layer: URLs, auth, PHP parameter parsing, envelopes, errors.

Real HTTP over loopback with plain ``requests`` against a fake method registry, so these tests
pin down the transport contract independently of the CRM methods.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits, RequestRecord
from tests.contract.b24_fakes import FakeClock, FakeStore, fake_registry

pytestmark = pytest.mark.timeout(30)

TIME_KEYS = ["start", "finish", "duration", "processing", "date_start", "date_finish"]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00\Z")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(store: FakeStore, clock: FakeClock) -> Iterator[Bitrix24Emulator]:
    with Bitrix24Emulator(
        fake_registry(store), clock=clock, webhook_code="secretcode", oauth_token="tok-1"
    ) as emulator:
        yield emulator


def post(emu: Bitrix24Emulator, method: str, **kwargs) -> requests.Response:
    return requests.post(emu.webhook_url + method, timeout=5, **kwargs)


# --- URLs and authentication -------------------------------------------------------------------


def test_webhook_url_shape(emu: Bitrix24Emulator) -> None:
    assert emu.webhook_url == f"http://127.0.0.1:{emu.port}/rest/1/secretcode/"
    assert emu.base_url == f"http://127.0.0.1:{emu.port}"


@pytest.mark.parametrize("suffix", ["", ".json"])
@pytest.mark.parametrize("name", ["test.echo", "TEST.Echo", "test.ECHO"])
def test_method_names_case_insensitive_with_or_without_json(emu: Bitrix24Emulator, name: str, suffix: str) -> None:
    response = post(emu, name + suffix, json={"a": 1})
    assert response.status_code == 200
    assert response.json()["result"] == {"a": 1}


def test_get_and_post_both_work(emu: Bitrix24Emulator) -> None:
    assert requests.get(emu.webhook_url + "test.echo?x=1", timeout=5).json()["result"] == {"x": "1"}
    assert post(emu, "test.echo", data={"x": "2"}).json()["result"] == {"x": "2"}


def test_xml_transport(emu: Bitrix24Emulator) -> None:
    response = requests.get(emu.webhook_url + "test.echo.xml?a[]=1&a[]=2&b[c]=3", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?><response><result>')
    assert "<a><item>1</item><item>2</item></a><b><c>3</c></b>" in response.text
    assert response.text.endswith("</response>")


def test_unknown_method_is_404_even_with_bad_credentials(emu: Bitrix24Emulator) -> None:
    for url in (emu.webhook_url + "no.such.method", f"{emu.base_url}/rest/1/wrong/no.such.method"):
        response = requests.post(url, json={}, timeout=5)
        assert response.status_code == 404
        assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


@pytest.mark.parametrize("path", ["/rest/1/wrong/test.echo", "/rest/2/secretcode/test.echo"])
def test_bad_webhook_code_or_user_is_401(emu: Bitrix24Emulator, store: FakeStore, path: str) -> None:
    response = requests.post(emu.base_url + path, json={}, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}
    assert store.calls == []


@pytest.mark.parametrize("path", ["/rest/secretcode/test.echo", "/rest/1/secretcode/test.echo/", "/rest/"])
def test_malformed_rest_path_is_method_not_found(emu: Bitrix24Emulator, path: str) -> None:
    response = requests.post(emu.base_url + path, json={}, timeout=5)
    assert response.status_code == 404
    assert response.json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_non_rest_path_is_plain_404(emu: Bitrix24Emulator) -> None:
    response = requests.get(emu.base_url + "/crm/contact/", timeout=5)
    assert response.status_code == 404
    assert "text/html" in response.headers["Content-Type"]


def test_oauth_token_in_query_form_or_json(emu: Bitrix24Emulator) -> None:
    url = emu.base_url + "/rest/test.echo.json"
    assert requests.get(url + "?auth=tok-1&x=1", timeout=5).json()["result"] == {"x": "1"}
    assert requests.post(url, data={"auth": "tok-1", "x": "2"}, timeout=5).json()["result"] == {"x": "2"}
    response = requests.post(emu.base_url + "/rest/test.echo", json={"auth": "tok-1", "x": 3}, timeout=5)
    assert response.json()["result"] == {"x": 3}  # the auth param is not passed to the method


def test_oauth_errors(emu: Bitrix24Emulator, store: FakeStore) -> None:
    url = emu.base_url + "/rest/test.echo"
    missing = requests.post(url, json={}, timeout=5)
    assert (missing.status_code, missing.json()["error"]) == (401, "NO_AUTH_FOUND")
    assert missing.json()["error_description"] == "Wrong authorization data"
    wrong = requests.post(url, json={"auth": "nope"}, timeout=5)
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_token")
    emu.expire_oauth_token("tok-2")
    expired = requests.post(url, json={"auth": "tok-1"}, timeout=5)
    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    assert requests.post(url, json={"auth": "tok-2"}, timeout=5).status_code == 200
    assert store.calls == ["test.echo"]


def test_oauth_not_configured_is_no_auth_found(store: FakeStore) -> None:
    with Bitrix24Emulator(fake_registry(store)) as emulator:
        response = requests.post(emulator.base_url + "/rest/test.echo", json={"auth": "anything"}, timeout=5)
        assert (response.status_code, response.json()["error"]) == (401, "NO_AUTH_FOUND")
        assert len(emulator.webhook_code) == 16 and len(emulator.app_token) == 32


# --- PHP parameter parsing ---------------------------------------------------------------------


def test_form_nested_keys_and_appends(emu: Bitrix24Emulator) -> None:
    body = (
        "fields[TITLE]=A+B%26C&fields[PHONE][0][VALUE]=%2B7+495&fields[PHONE][0][VALUE_TYPE]=WORK"
        "&select[]=ID&select[]=NAME&filter%5B%3E%3DDATE_MODIFY%5D=2024-01-15T12%3A30%3A00%2B03%3A00&start=50"
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = post(emu, "test.echo", data=body, headers=headers).json()["result"]
    assert result == {
        "fields": {"TITLE": "A B&C", "PHONE": [{"VALUE": "+7 495", "VALUE_TYPE": "WORK"}]},
        "select": ["ID", "NAME"],
        "filter": {">=DATE_MODIFY": "2024-01-15T12:30:00+03:00"},
        "start": "50",  # everything from a form is a string
    }


def test_requests_dict_encoding_of_prefixed_filter_keys(emu: Bitrix24Emulator) -> None:
    data = {"filter[>=DATE_MODIFY]": "2024-01-01", "filter[!@ID][]": ["1", "2"], "order[ID]": "ASC"}
    result = post(emu, "test.echo", data=data).json()["result"]
    assert result == {"filter": {">=DATE_MODIFY": "2024-01-01", "!@ID": ["1", "2"]}, "order": {"ID": "ASC"}}


def test_unencoded_equals_sign_in_key_splits_like_php(emu: Bitrix24Emulator) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = post(emu, "test.echo", data="filter[>=ID]=5", headers=headers).json()["result"]
    assert result == {"filter_>": "ID]=5"}  # PHP splits at the first '=', the lone '[' becomes '_'


def test_json_body_keeps_types(emu: Bitrix24Emulator) -> None:
    payload = {"fields": {"N": 1, "F": 1.5, "B": True, "Z": None, "L": [1, "2"]}, "halt": False}
    assert post(emu, "test.echo", json=payload).json()["result"] == payload


def test_json_body_with_charset_parameter(emu: Bitrix24Emulator) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = post(emu, "test.echo", data=json.dumps({"x": 1}).encode(), headers=headers)
    assert response.json()["result"] == {"x": 1}


def test_invalid_json_body_is_silently_empty(emu: Bitrix24Emulator) -> None:
    headers = {"Content-Type": "application/json"}
    response = post(emu, "test.echo", data=b'{"fields": {broken', headers=headers)
    assert response.status_code == 200
    assert response.json()["result"] == {}


def test_json_without_header_is_parsed_as_a_form(emu: Bitrix24Emulator) -> None:
    headers = {"Content-Type": "text/plain"}
    response = post(emu, "test.echo", data=b'{"x":1}', headers=headers)
    assert response.json()["result"] == {'{"x":1}': ""}


def test_query_and_body_merge_body_wins_top_level_only(emu: Bitrix24Emulator) -> None:
    url = emu.webhook_url + "test.echo?a[x]=1&b=query&only=q"
    result = requests.post(url, json={"a": {"y": 2}, "b": "body"}, timeout=5).json()["result"]
    assert result == {"a": {"y": 2}, "b": "body", "only": "q"}


def test_multipart_form_fields(emu: Bitrix24Emulator) -> None:
    files = {"fields[NAME]": (None, "Иван"), "select[]": (None, "ID")}
    assert post(emu, "test.echo", files=files).json()["result"] == {"fields": {"NAME": "Иван"}, "select": ["ID"]}


# --- Envelopes and errors ----------------------------------------------------------------------


def test_success_envelope_keys_types_and_headers(emu: Bitrix24Emulator, clock: FakeClock) -> None:
    response = post(emu, "test.shape", json={})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert float(response.headers["X-Bitrix-Rest-Time"]) >= 0
    body = response.json()
    assert list(body) == ["result", "time"]
    assert body["result"]["NAME"] == "Иван/Ёж <b>&'"
    assert "\\u0418" in response.text and "\\/" in response.text and "<" not in response.text
    t = body["time"]
    assert list(t) == [*TIME_KEYS, "operating_reset_at", "operating"]
    for key in ("start", "finish", "duration", "processing", "operating"):
        assert isinstance(t[key], float), key
    assert isinstance(t["operating_reset_at"], int)
    assert t["start"] == clock.now and t["finish"] >= t["start"]
    assert abs(t["duration"] - (t["finish"] - t["start"])) < 1e-6
    assert ISO.match(t["date_start"]) and ISO.match(t["date_finish"])
    assert t["date_start"] == "2024-08-29T10:34:19+03:00"


def test_list_envelope_total_and_next(emu: Bitrix24Emulator, store: FakeStore) -> None:
    store.items.extend({"N": str(i)} for i in range(120))
    first = post(emu, "test.list", json={}).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 120, 50)
    assert list(first)[:3] == ["result", "total", "next"]
    last = post(emu, "test.list", json={"start": 100}).json()
    assert (len(last["result"]), last["total"]) == (20, 120)
    assert "next" not in last


def test_context_now_and_user(emu: Bitrix24Emulator) -> None:
    assert post(emu, "test.now", json={}).json()["result"] == {"now": "2024-08-29T10:34:19+03:00", "user": 1}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("test.fail", {"error": "", "error_description": "Not found"}),
        ("test.fail_int", {"error": 100, "error_description": "Unknown field definition I_D"}),
        (
            "test.fail_extra",
            {"error": "INVALID_ARG_VALUE", "error_description": "Invalid filter", "argument": "filter"},
        ),
    ],
)
def test_rest_errors_render_code_as_given(emu: Bitrix24Emulator, method: str, expected: dict) -> None:
    response = post(emu, method, json={})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == expected


def test_unexpected_exception_is_500_and_logged(emu: Bitrix24Emulator, capfd: pytest.CaptureFixture[str]) -> None:
    response = post(emu, "test.crash", json={})
    assert response.status_code == 500
    assert response.json() == {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
    assert "ZeroDivisionError" in capfd.readouterr().err
    assert post(emu, "test.echo", json={}).status_code == 200  # the server lives on


def test_limits_off_envelope_has_no_operating_keys(store: FakeStore) -> None:
    with Bitrix24Emulator(fake_registry(store), limits=None) as emulator:
        body = requests.post(emulator.webhook_url + "test.echo", json={}, timeout=5).json()
        assert list(body["time"]) == TIME_KEYS


# --- Request log -------------------------------------------------------------------------------


def test_request_log_records_and_writes(emu: Bitrix24Emulator) -> None:
    post(emu, "test.add", json={"fields": {"A": 1}})
    post(emu, "test.list", json={})
    post(emu, "batch", json={"cmd": {"a": "test.add?fields[A]=2", "b": "test.list", "c": "crm.contact.update"}})
    requests.post(f"{emu.base_url}/rest/1/wrong/test.add", json={}, timeout=5)
    log = emu.request_log
    assert [r.status for r in log] == [200, 200, 200, 401]
    first = log[0]
    assert isinstance(first, RequestRecord)
    assert (first.http_method, first.path, first.api_method) == ("POST", "/rest/1/***/test.add", "test.add")
    assert (first.commands, first.remote_addr, first.ts) == (["test.add"], "127.0.0.1", emu.clock())
    assert log[2].commands == ["test.add", "test.list"]  # the unknown method never ran
    assert all("secretcode" not in r.path for r in log)
    assert (log[3].commands, log[3].executed) == (["test.add"], False)
    assert emu.request_log.write_methods == ["test.add", "test.add"]  # the 401 attempt never executed
    assert [rec.api_method for rec, _ in emu.request_log.writes] == ["test.add", "batch"]
    emu.request_log.clear()
    assert len(emu.request_log) == 0


def test_read_method_classification() -> None:
    from b24sync.sandbox.bitrix24.requestlog import is_read_method

    reads = ["crm.contact.list", "crm.deal.get", "crm.contact.fields", "user.search", "user.get", "profile",
             "scope", "methods", "crm.status.entity.types", "crm.duplicate.findbycomm", "crm.enum.addresstype",
             "crm.deal.productrows.get"]
    writes = ["crm.contact.add", "crm.contact.update", "crm.contact.delete", "crm.deal.productrows.set",
              "crm.contact.userfield.add", "crm.address.add", "crm.item.update"]
    assert all(is_read_method(m) for m in reads)
    assert not any(is_read_method(m) for m in writes)


def test_limits_instance_is_per_emulator(store: FakeStore) -> None:
    a = Bitrix24Emulator(fake_registry(store))
    b = Bitrix24Emulator(fake_registry(store))
    assert a.limits is not b.limits and a.limits == Limits()


def test_path_with_encoded_method(emu: Bitrix24Emulator) -> None:
    response = requests.post(emu.webhook_url + quote("test.echo"), json={"q": 1}, timeout=5)
    assert response.json()["result"] == {"q": 1}


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_requests_run_one_method_at_a_time(store: FakeStore) -> None:
    with Bitrix24Emulator(fake_registry(store), limits=None) as emulator:

        def one(_: int) -> int:
            return requests.post(emulator.webhook_url + "test.exclusive", json={}, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(one, range(120)))
    assert statuses == [200] * 120
    assert store.max_active == 1


def test_injected_call_lock_is_honoured(store: FakeStore) -> None:
    lock = threading.RLock()
    with Bitrix24Emulator(fake_registry(store), call_lock=lock, limits=None) as emulator:
        done = threading.Event()

        def call() -> None:
            requests.post(emulator.webhook_url + "test.echo", json={}, timeout=10)
            done.set()

        with lock:
            worker = threading.Thread(target=call)
            worker.start()
            assert not done.wait(0.2)  # parked on the lock the store's owner holds
            assert store.calls == []
        assert done.wait(5)
        worker.join()
        assert store.calls == ["test.echo"]
