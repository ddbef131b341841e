"""PHP ``parse_str`` / ``(bool)`` / ``http_build_query`` semantics of the Bitrix24 emulator."""

from __future__ import annotations

import pytest

from b24sync.sandbox.bitrix24.phpparams import (
    array_replace,
    http_build_query,
    parse_request_params,
    parse_str,
    php_bool,
    php_key,
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a=1&b=x+y&c=%D0%98%2B", {"a": "1", "b": "x y", "c": "И+"}),
        ("a[b][c]=1&a[b][d]=2", {"a": {"b": {"c": "1", "d": "2"}}}),
        ("s[]=ID&s[]=NAME", {"s": ["ID", "NAME"]}),
        ("s[0]=ID&s[1]=NAME", {"s": ["ID", "NAME"]}),
        ("s[1]=ID&s[0]=NAME", {"s": {"1": "ID", "0": "NAME"}}),  # not 0..n-1 in order: an object
        ("s[5]=a&s[]=b", {"s": {"5": "a", "6": "b"}}),  # append continues after the largest int key
        ("s[x]=a&s[]=b", {"s": {"x": "a", "0": "b"}}),
        ("f[%3E%3DDATE]=2024&f[!%40ID][]=1", {"f": {">=DATE": "2024", "!@ID": ["1"]}}),
        ("flag&empty=", {"flag": "", "empty": ""}),
        ("a=1&a=2", {"a": "2"}),
        ("a=1&a[x]=2", {"a": {"x": "2"}}),
        ("a[x]=2&a=1", {"a": "1"}),
        ("a.b=1&c d=2", {"a_b": "1", "c_d": "2"}),  # PHP mangles '.' and ' ' in top-level names
        ("a[b=1", {"a_b": "1"}),  # an unmatched '[' becomes '_'
        ("a[b]x[c]=1", {"a": {"b": "1"}}),  # text after ']' that is not '[' is dropped
        ("=1&[x]=2&&", {}),  # nameless pairs are skipped
        ("a[b.c]=1", {"a": {"b.c": "1"}}),  # inner keys are kept verbatim
        ("x=%ZZ%", {"x": "%ZZ%"}),  # invalid escapes stay literal
    ],
)
def test_parse_str(query: str, expected: dict) -> None:
    assert parse_str(query) == expected


def test_php_key_casts_canonical_integers_only() -> None:
    assert [php_key(k) for k in ["0", "12", "-3", "05", "1.0", "-0", " 1", "x"]] == [0, 12, -3, "05", "1.0", "-0",
                                                                                    " 1", "x"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), (False, False), (0, False), (0.0, False), ("", False), ("0", False), ([], False), ({}, False),
     (True, True), (1, True), ("1", True), ("false", True), ("0.0", True), (" ", True), ([0], True), ("N", True)],
)
def test_php_bool(value: object, expected: bool) -> None:
    assert php_bool(value) is expected


def test_array_replace_is_shallow() -> None:
    assert array_replace({"a": {"x": 1}, "b": 1}, {"a": {"y": 2}}) == {"a": {"y": 2}, "b": 1}


def test_request_params_json_form_and_invalid() -> None:
    assert parse_request_params("q=1", b'{"q": 2, "n": [1]}', "application/json") == {"q": 2, "n": [1]}
    assert parse_request_params("q=1", b"{bad", "application/json") == {"q": "1"}
    assert parse_request_params("", b"[1, 2]", "application/json; charset=utf-8") == {"0": 1, "1": 2}
    assert parse_request_params("", b'"text"', "application/json") == {}
    assert parse_request_params("q=1", b"q=2&r[]=3", "application/x-www-form-urlencoded") == {"q": "2", "r": ["3"]}
    assert parse_request_params("q=1", b"q=2", None) == {"q": "2"}
    assert parse_request_params("q=1", b"", "application/json") == {"q": "1"}


def test_http_build_query_round_trips_through_parse_str() -> None:
    data = {"event": "ONCRMCONTACTADD", "data": {"FIELDS": {"ID": 82}}, "auth": {"token": "a&b=c"},
            "list": ["x", "y"], "flag": True, "off": False, "none": None, "f": 1.0}
    query = http_build_query(data)
    assert query.startswith("event=ONCRMCONTACTADD&data%5BFIELDS%5D%5BID%5D=82&auth%5Btoken%5D=a%26b%3Dc")
    assert parse_str(query) == {"event": "ONCRMCONTACTADD", "data": {"FIELDS": {"ID": "82"}},
                                "auth": {"token": "a&b=c"}, "list": ["x", "y"], "flag": "1", "off": "0", "f": "1"}
