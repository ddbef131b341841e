"""Bitrix24 emulator, ``batch``: length limit, halt, substitution, section shapes, nesting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from b24sync.sandbox.bitrix24 import Bitrix24Emulator
from b24sync.sandbox.bitrix24.batch import substitute
from tests.contract.b24_fakes import FakeClock, FakeStore, fake_registry

pytestmark = pytest.mark.timeout(30)

SUB_TIME_KEYS = ["start", "finish", "duration", "processing", "date_start", "date_finish"]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def emu(store: FakeStore) -> Iterator[Bitrix24Emulator]:
    with Bitrix24Emulator(fake_registry(store), clock=FakeClock(), limits=None) as emulator:
        yield emulator


def batch(emu: Bitrix24Emulator, **kwargs: Any) -> dict[str, Any]:
    response = requests.post(emu.webhook_url + "batch", timeout=10, **kwargs)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == ["result", "time"]
    return body["result"]


def test_sections_and_sub_times(emu: Bitrix24Emulator, store: FakeStore) -> None:
    store.items.extend({"N": str(i)} for i in range(60))
    result = batch(emu, json={"halt": 0, "cmd": {"echo": "test.echo?x=1", "page": "test.list", "bad": "test.fail"}})
    assert list(result) == ["result", "result_error", "result_total", "result_next", "result_time"]
    assert result["result"]["echo"] == {"x": "1"}
    assert len(result["result"]["page"]) == 50
    assert result["result_error"] == {"bad": {"error": "", "error_description": "Not found"}}
    assert result["result_total"] == {"page": 60}
    assert result["result_next"] == {"page": 50}
    assert list(result["result_time"]) == ["echo", "page"]  # failed commands have no time
    assert list(result["result_time"]["echo"]) == SUB_TIME_KEYS
    assert isinstance(result["result_time"]["echo"]["start"], float)


def test_empty_sections_are_json_arrays(emu: Bitrix24Emulator) -> None:
    ok = batch(emu, json={"cmd": {"a": "test.echo"}})
    assert ok["result_error"] == [] and ok["result_total"] == [] and ok["result_next"] == []
    failed = batch(emu, json={"cmd": {"a": "test.fail", "b": "no.such.method"}})
    assert failed["result"] == [] and failed["result_time"] == []
    assert failed["result_error"]["b"] == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
    nothing = batch(emu, json={})
    assert nothing == {"result": [], "result_error": [], "result_total": [], "result_next": [], "result_time": []}


def test_list_form_cmd_gives_json_arrays(emu: Bitrix24Emulator) -> None:
    result = batch(emu, json={"cmd": ["test.echo?a=0", "test.fail", "test.echo?a=2"]})
    assert result["result"] == {"0": {"a": "0"}, "2": {"a": "2"}}  # keys 0 and 2 are not a list
    assert result["result_error"] == {"1": {"error": "", "error_description": "Not found"}}
    all_ok = batch(emu, json={"cmd": ["test.echo?a=0", "test.echo?a=1"]})
    assert all_ok["result"] == [{"a": "0"}, {"a": "1"}]
    assert isinstance(all_ok["result_time"], list) and len(all_ok["result_time"]) == 2
    numeric_keys = batch(emu, json={"cmd": {"0": "test.echo?a=0", "1": "test.echo?a=1"}})
    assert numeric_keys["result"] == [{"a": "0"}, {"a": "1"}]  # PHP casts "0", "1" to int keys


def test_at_most_fifty_commands_run(emu: Bitrix24Emulator, store: FakeStore) -> None:
    cmd = {f"c{i:02d}": f"test.echo?i={i}" for i in range(53)}
    result = batch(emu, json={"cmd": cmd})
    assert len(result["result"]) == 50 and "c49" in result["result"] and "c50" not in result["result"]
    exceeded = {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}
    assert result["result_error"] == {"c50": exceeded, "c51": exceeded, "c52": exceeded}
    assert store.calls.count("test.echo") == 50
    assert emu.request_log[-1].commands == ["test.echo"] * 50


@pytest.mark.parametrize(
    ("halt", "halts"),
    [(1, True), (True, True), (0, False), (False, False), ("1", True), ("false", True), ("0", False), ("", False)],
)
def test_halt_php_bool_json(emu: Bitrix24Emulator, store: FakeStore, halt: Any, halts: bool) -> None:
    result = batch(emu, json={"halt": halt, "cmd": {"a": "test.echo", "b": "test.fail", "c": "test.add"}})
    assert list(result["result_error"]) == ["b"]
    if halts:
        assert list(result["result"]) == ["a"] and store.items == []
        assert "c" not in result["result_time"]
    else:
        assert list(result["result"]) == ["a", "c"] and len(store.items) == 1


@pytest.mark.parametrize(("halt", "halts"), [("false", True), ("true", True), ("0", False), ("", False)])
def test_halt_php_bool_form(emu: Bitrix24Emulator, store: FakeStore, halt: str, halts: bool) -> None:
    data = {"halt": halt, "cmd[a]": "test.fail_int", "cmd[b]": "test.add"}
    result = batch(emu, data=data)
    assert result["result_error"] == {"a": {"error": 100, "error_description": "Unknown field definition I_D"}}
    assert (store.items == []) is halts


def test_halt_stops_on_empty_string_error_code(emu: Bitrix24Emulator, store: FakeStore) -> None:
    result = batch(emu, json={"halt": 1, "cmd": ["test.fail", "test.add"]})
    assert result["result_error"] == [{"error": "", "error_description": "Not found"}]
    assert store.items == []


def test_cmd_and_halt_names_are_case_insensitive(emu: Bitrix24Emulator, store: FakeStore) -> None:
    result = batch(emu, json={"HALT": 1, "Cmd": {"a": "test.fail", "b": "test.add"}})
    assert list(result["result_error"]) == ["a"] and store.items == []


def test_form_encoded_cmd_is_url_decoded_once_more(emu: Bitrix24Emulator) -> None:
    # the client encodes the sub-query, then the form encodes the whole command again
    body = "cmd%5Ba%5D=test.echo%3Fname%3DA%2526B%26fields%255BX%255D%3D1%2B2&halt=0"
    result = batch(emu, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert result["result"]["a"] == {"name": "A&B", "fields": {"X": "1 2"}}


def test_json_cmd_sub_query_is_decoded_once(emu: Bitrix24Emulator) -> None:
    result = batch(emu, json={"cmd": {"a": "test.echo?name=A%26B&filter[%3E%3DID]=5&select[]=ID&select[]=NAME"}})
    assert result["result"]["a"] == {"name": "A&B", "filter": {">=ID": "5"}, "select": ["ID", "NAME"]}


def test_nested_batch_and_download_are_rejected(emu: Bitrix24Emulator, store: FakeStore) -> None:
    result = batch(emu, json={"cmd": {"inner": "batch?cmd[x]=test.add", "dl": "download", "ok": "test.echo"}})
    not_allowed = {
        "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
        "error_description": "Method is not allowed for batch usage",
    }
    assert result["result_error"] == {"inner": not_allowed, "dl": not_allowed}
    assert list(result["result"]) == ["ok"] and store.items == []


def test_non_string_commands_are_skipped(emu: Bitrix24Emulator) -> None:
    result = batch(emu, json={"cmd": {"a": 5, "b": {"x": 1}, "c": "test.echo"}})
    assert list(result["result"]) == ["c"] and result["result_error"] == []


def test_sub_method_names_case_insensitive(emu: Bitrix24Emulator) -> None:
    assert batch(emu, json={"cmd": {"a": "TEST.Echo?x=1"}})["result"] == {"a": {"x": "1"}}


# --- substitution -----------------------------------------------------------------------------


def test_result_substitution_whole_value_keeps_type(emu: Bitrix24Emulator) -> None:
    cmd = {
        "shape": "test.shape",
        "use": "test.echo?id=$result[shape][ID]&deep=$result[shape][DEEP]&list=$result[shape][LIST]"
        "&leaf=$result[shape][DEEP][A][B]&idx=$result[shape][LIST][1]",
    }
    used = batch(emu, json={"cmd": cmd})["result"]["use"]
    assert used == {"id": 7, "deep": {"A": {"B": "leaf"}}, "list": [10, 20], "leaf": "leaf", "idx": 20}


def test_result_substitution_embedded_scalars_only(emu: Bitrix24Emulator) -> None:
    cmd = {
        "shape": "test.shape",
        "use": "test.echo?a=ID-$result[shape][ID]&b=x$result[shape][DEEP]&c=[$result[shape][DEEP][A][B]]"
        "&d=n:$result[shape][NAME]&e=$result[shape][ID] and $result[shape][LIST][0]",
    }
    used = batch(emu, json={"cmd": cmd})["result"]["use"]
    assert used["a"] == "ID-7"  # numbers are cast to string
    assert used["b"] == "x$result[shape][DEEP]"  # arrays cannot be embedded: left as written
    assert used["c"] == "[leaf"  # the reference runs to the next whitespace, swallowing the "]"
    assert used["d"] == "n:Иван/Ёж <b>&'"
    assert used["e"] == "7 and 10"


def test_missing_path_resolves_to_deepest_value(emu: Bitrix24Emulator) -> None:
    cmd = {
        "shape": "test.shape",
        "use": "test.echo?a=$result[shape][DEEP][nope][B]&b=$result[shape][NULL][x]&c=$result[nope][ID]"
        "&d=pre-$result[shape][DEEP][A][B][zzz]",
    }
    used = batch(emu, json={"cmd": cmd})["result"]["use"]
    assert used["a"] == {"A": {"B": "leaf"}}  # stopped at [nope], kept DEEP
    assert used["b"]["ID"] == 7  # a null value counts as missing: the walk stays on the result
    assert used["c"] == {"shape": batch_shape_result()}  # no such command: the whole section
    assert used["d"] == "pre-leaf"


def batch_shape_result() -> dict[str, Any]:
    return {"ID": 7, "NAME": "Иван/Ёж <b>&'", "NULL": None, "DEEP": {"A": {"B": "leaf"}}, "LIST": [10, 20]}


def test_next_total_time_error_references(emu: Bitrix24Emulator, store: FakeStore) -> None:
    store.items.extend({"N": str(i)} for i in range(70))
    cmd = {
        "page": "test.list",
        "bad": "test.fail_int",
        "use": "test.echo?start=$next[page]&total=$total[page]&t=$time[page][start]&code=$error[bad][error]"
        "&text=$error[bad][error_description]&label=n$next[page]",
    }
    result = batch(emu, json={"cmd": cmd})
    used = result["result"]["use"]
    assert used["start"] == 50 and used["total"] == 70 and used["code"] == 100
    assert used["t"] == result["result_time"]["page"]["start"]
    assert used["text"] == "Unknown field definition I_D" and used["label"] == "n50"


def test_substitution_in_keys_and_values_of_nested_params() -> None:
    # parse_str cannot produce a key holding "[...]", so keys are exercised on the function directly
    sections = {"result": {"a": {"ID": 5, "CODE": "X"}}, "next": {}, "total": {}, "time": {}, "error": {}}
    params = {"k$result[a][CODE]": "v", "f": {"=ID": "$result[a][ID]", "list": ["$result[a][CODE]", "a"]}}
    assert substitute(params, sections) == {"kX": "v", "f": {"=ID": 5, "list": ["X", "a"]}}


def test_chained_add_then_list_by_id(emu: Bitrix24Emulator, store: FakeStore) -> None:
    cmd = {
        "first": "test.add?fields[NAME]=A",
        "second": "test.add?fields[NAME]=B&fields[PARENT]=$result[first]",
        "check": "test.echo?parent=$result[second]",
    }
    result = batch(emu, json={"cmd": cmd, "halt": 1})
    assert result["result"] == {"first": 1, "second": 2, "check": {"parent": 2}}
    assert store.items == [{"NAME": "A"}, {"NAME": "B", "PARENT": 1}]
