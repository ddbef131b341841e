"""Times at the edges and in the frames (R22): aware everywhere, compared as instants.

Bitrix24 sends ``DATE_MODIFY`` with the portal's offset of the moment (``+02:00`` in summer,
``+01:00`` in winter for Berlin); the client refuses a value without one. The normalized frames
hold UTC timestamps only (``datetime64[ns, UTC]``), so no comparison downstream can meet a naive
and an aware value (Python's ``TypeError``) or two wall clocks of different offsets. 1C's
``Edm.DateTime`` has no zone at all: it is read as the base's wall clock (``[onec] timezone``) and
written back as one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b24sync.recon import model as md
from b24sync.recon.diff import diff
from b24sync.recon.normalize import normalize_bitrix24, normalize_onec
from b24sync.recon.rules import FieldRules
from b24sync.sources.bitrix24.entities import entity
from b24sync.sources.bitrix24.types import FieldValueError, record_converter
from b24sync.sources.onec.literals import lit_datetime
from b24sync.sources.onec.metadata import EntityTypeInfo
from b24sync.sources.onec.values import read_record, write_value
from tests.unit.test_recon_support import frame, party, ref

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [UTC, BERLIN, ZoneInfo("Europe/Moscow"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"),
         ZoneInfo("Australia/Lord_Howe"), timezone(timedelta(hours=-9, minutes=-30))]
INVOICE = EntityTypeInfo("Document_СчетНаОплатуКлиенту", {"Ref_Key": "Edm.Guid", "Date": "Edm.DateTime"})

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
rendered = st.tuples(instants, st.sampled_from(ZONES)).map(lambda p: p[0].astimezone(p[1]))


def company(n: int, stamp: str) -> dict:
    """A company row as the client hands it over: converted from the portal's JSON."""
    raw = {"ID": str(n), "TITLE": f"ООО «Ромашка {n}»", "PHONE": [], "EMAIL": [], "ASSIGNED_BY_ID": "1",
           "DATE_MODIFY": stamp, "ORIGINATOR_ID": None, "ORIGIN_ID": None, "UF_CRM_1C_ID": None}
    return record_converter(entity("company"), frozenset({"PHONE", "EMAIL"}))(raw)


def assert_utc_only(canonical: pd.DataFrame) -> None:
    """Every time column is UTC; no other column hides a datetime object."""
    for name in canonical.columns:
        column = canonical[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            assert isinstance(column.dtype, pd.DatetimeTZDtype) and str(column.dtype.tz) == "UTC", name
        elif column.dtype == object:
            assert not any(isinstance(v, datetime) for v in column), name


# --- Bitrix24: offsets of the moment, one instant each ------------------------------------------------


def test_date_modify_keeps_the_offset_and_a_naive_one_is_refused():
    before, after = company(1, "2027-10-31T02:40:00+02:00"), company(2, "2027-10-31T02:10:00+01:00")
    assert after["DATE_MODIFY"] > before["DATE_MODIFY"]  # fifty minutes later, though 02:10 < 02:40
    assert max(before["DATE_MODIFY"], after["DATE_MODIFY"]) == datetime(2027, 10, 31, 1, 10, tzinfo=UTC)
    with pytest.raises(FieldValueError, match="DATE_MODIFY"):
        company(3, "2027-10-31T02:10:00")  # would be two different instants that night in Berlin


@settings(max_examples=60, deadline=None)
@given(st.lists(rendered, min_size=1, max_size=12))
def test_any_mix_of_offsets_normalizes_to_utc_instants(moments):
    """Stamps in any zones and offsets (a DST day gives two in one list, so pandas keeps them as
    objects) become one UTC column, ordered as the instants are, with a UTC ``version``."""
    rows = [company(i, m.isoformat()) for i, m in enumerate(moments, start=1)]
    canonical, _ = normalize_bitrix24(pd.DataFrame.from_records(rows), None, None, None, None)
    assert_utc_only(canonical)
    assert str(canonical["modified_at"].dtype) == md.TIME_DTYPE
    assert list(canonical["modified_at"]) == [pd.Timestamp(m).tz_convert("UTC") for m in moments]
    assert [datetime.fromisoformat(v) for v in canonical["version"]] == moments
    assert canonical["modified_at"].max() == pd.Timestamp(max(moments))


@settings(max_examples=60, deadline=None)
@given(rendered, rendered)
def test_the_newest_edit_wins_by_instant_not_by_wall_clock(b24_moment, onec_moment):
    """Both sides edited a ``newest`` field: the later instant wins, whatever the offsets say."""
    b24 = frame(party("company:1", name="Ромашка B", modified_at=pd.Timestamp(b24_moment)))
    onec = frame(party(f"counterparty:{ref(1)}", name="Ромашка O", modified_at=pd.Timestamp(onec_moment)))
    pairs = pd.DataFrame({"b24_key": ["company:1"], "onec_key": [f"counterparty:{ref(1)}"]})
    baseline = pd.DataFrame([{"b24_key": "company:1", "onec_key": f"counterparty:{ref(1)}", "field": "name",
                              "value": "Ромашка"}])
    assert_utc_only(b24)
    assert_utc_only(onec)
    result = diff(pairs, b24, onec, FieldRules({"name": "newest"}), baseline)
    written = result.decisions[result.decisions["field"] == "name"]
    if b24_moment == onec_moment:
        assert written.empty  # the same second: undecided, reported
    else:
        [decision] = list(written.itertuples())
        assert decision.target == ("onec" if b24_moment > onec_moment else "bitrix24")


def test_1c_frames_hold_utc_or_nothing():
    counterparties = pd.DataFrame({"Ref_Key": [ref(1), ref(2)], "DataVersion": ["AAA", "AAB"],
                                   "Description": ["Ромашка", "Лютик"], "КонтактнаяИнформация": [[], []],
                                   "modified_at": [datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN), None]})
    canonical, _ = normalize_onec(counterparties)
    assert_utc_only(canonical)
    assert canonical.loc[0, "modified_at"] == pd.Timestamp("2027-10-31T00:30:00Z")
    assert pd.isna(canonical.loc[1, "modified_at"])


# --- 1C: the base's wall clock, no zone -----------------------------------------------------------------


@pytest.mark.parametrize(("wire", "instant"), [
    ("2027-10-31T01:59:59", "2027-10-30T23:59:59Z"),  # summer time
    ("2027-10-31T03:00:00", "2027-10-31T02:00:00Z"),  # winter time
    ("2027-10-31T02:30:00", "2027-10-31T00:30:00Z"),  # the repeated hour: 1C cannot say which, the first
    ("2027-11-01T00:30:00", "2027-10-31T23:30:00Z"),  # past midnight there, the day before in UTC
])
def test_1c_dates_are_read_as_the_bases_wall_clock(wire, instant):
    record = read_record(INVOICE, {"Ref_Key": ref(1), "Date": wire}, BERLIN)
    assert record["Date"] == datetime.fromisoformat(instant)  # equal as instants, the repeated hour too
    assert record["Date"].replace(tzinfo=None) == datetime.fromisoformat(wire)
    assert record["Date"].strftime("%d.%m.%Y") == wire[8:10] + "." + wire[5:7] + "." + wire[:4]
    assert read_record(INVOICE, {"Ref_Key": ref(1), "Date": "0001-01-01T00:00:00"}, BERLIN)["Date"] is None


@settings(max_examples=80, deadline=None)
@given(instants)
def test_1c_dates_round_trip_through_the_base_wall_clock(instant):
    """An aware value is written as Berlin's wall clock and read back as the same instant, except in
    the hour Berlin repeats in autumn: a zone-less 1C date there can only mean the first one."""
    wire = write_value(instant, "Edm.DateTime", BERLIN)
    assert "+" not in wire and "Z" not in wire and len(wire) == 19
    back = read_record(INVOICE, {"Ref_Key": ref(1), "Date": wire}, BERLIN)["Date"]
    local = instant.astimezone(BERLIN)
    if local.fold:
        assert back == instant - timedelta(hours=1)
    else:
        assert back == instant
    assert lit_datetime(instant, BERLIN) == f"datetime'{wire}'"


def test_1c_dates_without_a_configured_zone_are_never_guessed():
    assert write_value(datetime(2027, 10, 31, 2, 30), "Edm.DateTime", None) == "2027-10-31T02:30:00"  # local as is
    with pytest.raises(ValueError, match="time zone"):
        write_value(datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "Edm.DateTime", None)
    naive = read_record(INVOICE, {"Ref_Key": ref(1), "Date": "2027-10-31T02:30:00"}, None)["Date"]
    assert naive.tzinfo is None  # only a client told no zone gives naive values, and all of them are
