"""PHP http_build_query encoding of batch commands, checked against PHP parse_str semantics."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

from b24sync.sources.bitrix24.phpquery import build_query


def test_nested_keys_lists_and_scalars():
    q = build_query({"filter": {">ID": 5, "%TITLE": "Ромашка & Co"}, "select": ["ID", "PHONE"], "start": -1,
                     "fields": {"OPENED": True, "EXPORT": False, "OPPORTUNITY": Decimal("10.50"), "X": None}})
    pairs = parse_qsl(q, keep_blank_values=True)
    assert pairs == [("filter[>ID]", "5"), ("filter[%TITLE]", "Ромашка & Co"), ("select[0]", "ID"),
                     ("select[1]", "PHONE"), ("start", "-1"), ("fields[OPENED]", "Y"), ("fields[EXPORT]", "N"),
                     ("fields[OPPORTUNITY]", "10.50"), ("fields[X]", "")]


def test_references_stay_readable_and_datetimes_iso():
    moscow = timezone(timedelta(hours=3))
    q = build_query({"filter": {">ID": "$result[c0][49][ID]", ">=DATE_MODIFY": datetime(2024, 1, 15, 12, 30,
                                                                                         tzinfo=moscow)}})
    assert "filter[%3EID]=$result[c0][49][ID]" in q
    assert dict(parse_qsl(q))["filter[>=DATE_MODIFY]"] == "2024-01-15T12:30:00+03:00"
