"""Auth, the HTTP-service mount, transport faults and the request log of the 1C emulator."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from b24sync.sandbox.onec import OneCEmulator, OneCStore
from b24sync.sandbox.server import Request, Response

from .onec_support import jget, post_json, seed, session

K = "Catalog_Контрагенты"


def basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii"), "Accept": "application/json"}


@pytest.fixture(scope="module")
def emu():
    store = OneCStore()
    seed(store)

    def hs_app(request: Request) -> Response:
        body = json.dumps({"path": request.path, "method": request.method}, ensure_ascii=False).encode()
        return Response(200, body, [("Content-Type", "application/json;charset=utf-8")])

    with OneCEmulator(store, users={"Администратор": "пароль-123", "Обмен": "secret"}, hs_app=hs_app) as emulator:
        yield emulator


def test_cyrillic_login_as_utf8_is_accepted(emu):
    assert emu.user == "Администратор" and emu.password == "пароль-123"
    url = emu.odata_url + K
    r = requests.get(url, headers=basic("Администратор:пароль-123".encode()))
    assert r.status_code == 200 and len(r.json()["value"]) == 3
    utf8_auth = ("Администратор".encode(), "пароль-123".encode())
    r = requests.get(url, auth=utf8_auth, headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert requests.get(url, headers=basic(b"\xd0\x9e\xd0\xb1\xd0\xbc\xd0\xb5\xd0\xbd:secret")).status_code == 200


def test_missing_wrong_or_mangled_credentials_are_401(emu):
    url = emu.odata_url + K
    r = requests.get(url)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(url, headers=basic("Администратор:неверный".encode())).status_code == 401
    assert requests.get(url, headers=basic("Администратор:пароль-123".encode("cp1251"))).status_code == 401
    double = "Администратор".encode().decode("latin-1").encode("utf-8") + ":пароль-123".encode()
    assert requests.get(url, headers=basic(double)).status_code == 401
    assert requests.get(url, headers={"Authorization": "Basic !!!"}).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer x"}).status_code == 401
    with pytest.raises(UnicodeEncodeError):  # what a client passing str to requests' Basic auth meets
        requests.get(url, auth=("Администратор", "пароль-123"))


def test_misconfigured_publication_answers_html_200():
    with OneCEmulator(auth_html_200=True) as emu:
        r = requests.get(emu.odata_url + K + "?$format=json")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")


def test_hs_requests_go_to_the_app_after_auth(emu):
    s = session(emu)
    r = s.post(emu.hs_url + "counterparties/42", data=b"{}")
    assert r.status_code == 200 and r.json() == {"path": "/trade/hs/b24sync/v1/counterparties/42", "method": "POST"}
    assert requests.get(emu.hs_url + "ping").status_code == 401
    with OneCEmulator() as bare:
        assert session(bare).get(bare.hs_url + "ping").status_code == 404
    assert s.get(emu.base_url + "ws/other").status_code == 404
    assert s.get(emu.odata_url.replace("/trade/", "/ut/") + K).status_code == 404


def test_web_server_faults_before_1c(emu):
    s = session(emu)
    emu.faults.add("html500", entity_set=K, method="GET")
    emu.faults.add("web503")
    r = s.get(emu.odata_url + K + "?$format=json")
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/html")
    r = s.get(emu.odata_url + "Catalog_Партнеры?$format=json")
    assert r.status_code == 503 and "<html>" in r.text
    assert s.get(emu.odata_url + K + "?$format=json").status_code == 200
    assert emu.faults.pending == 0


def test_drop_after_commit_leaves_the_object_written(emu):
    s = session(emu)
    partner = jget(s, emu.odata_url + "Catalog_Партнеры?$top=1")["value"][0]["Ref_Key"]
    emu.faults.add("drop_after_commit", entity_set=K, method="POST")
    before = len(emu.store.records(K))
    with pytest.raises(requests.ConnectionError):
        post_json(s, emu.odata_url + K, {"Description": "Одуванчик ООО", "ЮрФизЛицо": "ЮрЛицо",
                                         "Партнер_Key": partner, "ИНН": "7728168971"})
    assert len(emu.store.records(K)) == before + 1  # a blind retry would duplicate it
    assert emu.request_log[-1].status == 0 and emu.request_log[-1].fault == "drop_after_commit"


def test_truncated_and_slow_answers(emu):
    s = session(emu)
    emu.faults.add("truncated", entity_set=K)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        s.get(emu.odata_url + K + "?$format=json").json()
    emu.faults.add("slow", entity_set=K, delay=0.5)
    with pytest.raises(requests.Timeout):
        s.get(emu.odata_url + K + "?$format=json", timeout=0.2)
    with pytest.raises(ValueError):
        emu.faults.add("nonsense")


def test_reset_before_and_timeout_after_the_write(emu):
    s = session(emu)
    partner = jget(s, emu.odata_url + "Catalog_Партнеры?$top=1")["value"][0]["Ref_Key"]
    body = {"Description": "Ромашка ООО", "ЮрФизЛицо": "ЮрЛицо", "Партнер_Key": partner, "ИНН": "7707083893"}
    before = len(emu.store.records(K))
    emu.faults.add("reset", entity_set=K, method="POST")
    with pytest.raises(requests.ConnectionError):
        post_json(s, emu.odata_url + K, body)
    assert len(emu.store.records(K)) == before  # closed before 1C saw it
    emu.faults.add("timeout", entity_set=K, method="POST", delay=0.4)
    with pytest.raises(requests.ConnectionError):  # waited out: the connection closes without an answer
        post_json(s, emu.odata_url + K, body)
    assert len(emu.store.records(K)) == before + 1
    assert [r.fault for r in list(emu.request_log)[-2:]] == ["reset", "timeout"]
    assert [r.status for r in list(emu.request_log)[-2:]] == [0, 0]


def test_request_log_keeps_the_wire_format(emu):
    s = session(emu)
    emu.request_log.clear()
    s.get(emu.odata_url + K + "?$filter=ИНН%20eq%20'7701234567'&$top=5&$format=json")
    s.get(emu.odata_url + K + "?$filter=ИНН+eq+'7701234567'&$format=json")
    first, second = emu.request_log.snapshot()
    assert first.path == f"/trade/odata/standard.odata/{K}" and first.entity_set == K
    assert "%20" in first.query and "$top=5" in first.query and first.status == 200
    assert first.headers["Authorization"] == "***" and first.user == "Администратор"
    assert second.status == 400 and second.error_code == "14" and "+eq+" in second.query
    assert emu.request_log.writes == []
