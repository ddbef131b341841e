"""The protocol layer serving the real in-memory portal, driven by plain HTTP and by fast_bitrix24.

fast_bitrix24 is an unmodified third-party client: if it works here, the emulator speaks the
protocol the way real portals do (JSON content type, envelopes, batch shapes, paging).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator, Limits

Portal = pytest.importorskip("b24sync.sandbox.bitrix24.portal").Portal
fast_bitrix24 = pytest.importorskip("fast_bitrix24")

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def emu() -> Iterator[Bitrix24Emulator]:
    with Bitrix24Emulator(Portal().registry, limits=Limits()) as emulator:
        yield emulator


def add_contacts(emu: Bitrix24Emulator, n: int) -> None:
    """Create ``n`` contacts through ``batch`` (as a client would), 50 per request."""
    for first in range(1, n + 1, 50):
        cmd = {f"c{i}": f"crm.contact.add?fields[NAME]=Имя{i}&fields[LAST_NAME]=Фамилия{i}"
               for i in range(first, min(first + 50, n + 1))}
        response = requests.post(emu.webhook_url + "batch", json={"halt": 1, "cmd": cmd}, timeout=10)
        assert response.json()["result"]["result_error"] == []


def test_batch_add_then_list_with_result_substitution(emu: Bitrix24Emulator) -> None:
    add_contacts(emu, 130)
    emu.request_log.clear()
    cmd = {
        "add": "crm.contact.add?fields[NAME]=Пётр&fields[LAST_NAME]=Новый&fields[PHONE][0][VALUE]=%2B79990001122"
        "&fields[PHONE][0][VALUE_TYPE]=WORK",
        "list": "crm.contact.list?filter[ID]=$result[add]&select[]=ID&select[]=NAME&select[]=PHONE",
        "get": "crm.contact.get?id=$result[add]",
    }
    response = requests.post(emu.webhook_url + "batch", json={"halt": 1, "cmd": cmd}, timeout=10)
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["result_error"] == []
    new_id = result["result"]["add"]
    assert isinstance(new_id, int) and new_id == 131
    [listed] = result["result"]["list"]
    assert (listed["ID"], listed["NAME"]) == (str(new_id), "Пётр")
    assert listed["PHONE"][0]["VALUE"] == "+79990001122"
    assert result["result_total"] == {"list": 1}
    assert result["result"]["get"]["LAST_NAME"] == "Новый"
    assert emu.request_log.write_methods == ["crm.contact.add"]


def test_plain_list_paging_envelope(emu: Bitrix24Emulator) -> None:
    add_contacts(emu, 130)
    body = requests.post(emu.webhook_url + "crm.contact.list.json", json={"order": {"ID": "ASC"}, "start": 100},
                         timeout=10).json()
    assert body["total"] == 130 and "next" not in body and len(body["result"]) == 30
    assert body["time"]["operating"] >= 0.0


def test_fast_bitrix24_get_all_call_and_call_batch(emu: Bitrix24Emulator) -> None:
    logging.getLogger("fast_bitrix24").setLevel(logging.WARNING)
    b = fast_bitrix24.Bitrix(emu.webhook_url, verbose=False)
    add_contacts(emu, 130)
    emu.request_log.clear()

    everyone = b.get_all("crm.contact.list", {"select": ["ID", "NAME"]})
    assert sorted(int(c["ID"]) for c in everyone) == list(range(1, 131))

    new_ids = b.call("crm.contact.add", [{"fields": {"NAME": f"Новый{i}"}} for i in range(60)])
    assert sorted(new_ids) == list(range(131, 191))

    single = b.call("crm.contact.get", {"id": 5})
    assert single["order0000000000"]["NAME"] == "Имя5"  # 1.8.14 keeps its batch label on one dict result
    assert b.call("crm.contact.update", {"id": 5, "fields": {"NAME": "Изменён"}}) is True

    batch = b.call_batch({"halt": 0, "cmd": {"one": "crm.contact.get?id=1", "count": "crm.contact.list?select[]=ID"}})
    assert batch["one"]["ID"] == "1"
    assert len(batch["count"]) == 50

    assert len(b.get_all("crm.contact.list", {"select": ["ID"], "filter": {">ID": 130}})) == 60
    batches = [r for r in emu.request_log if r.api_method == "batch"]
    assert batches and all(r.status == 200 for r in emu.request_log)
    assert len(emu.request_log.write_methods) == 61


def test_fast_bitrix24_retries_through_html_gateway_errors(emu: Bitrix24Emulator) -> None:
    logging.getLogger("fast_bitrix24").setLevel(logging.CRITICAL)
    add_contacts(emu, 60)
    emu.faults.add("crm.contact.list", "html502", count=2)
    b = fast_bitrix24.Bitrix(emu.webhook_url, verbose=False)
    assert len(b.get_all("crm.contact.list", {"select": ["ID"]})) == 60
    assert [r.status for r in emu.request_log if r.fault] == [502, 502]
    assert emu.faults.pending == 0
