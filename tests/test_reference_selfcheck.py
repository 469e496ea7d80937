"""Hand-worked checks of the reference itself (tests/reference.py), before it judges the engine.

Every expected number is worked out by hand in the comments. Catalog look-ups are tiny dicts here.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from random_fixture import FIXTURE_PLATFORMS, make_fixture, to_csv_text, to_ndjson_text
from reference import (
    clean_records,
    parse_record,
    parse_time,
    reference_category_shares,
    reference_metrics,
)

PLATFORMS = {"zalo": "zalo", "com.zing.zalo": "zalo", "viber": "viber", "messenger": "messenger"}
PROVINCES = {
    "Hà Nội": "01", "Ha Noi": "01", "01": "01", "Hồ Chí Minh": "79", "79": "79", "Cần Thơ": "92",
}


def resolve_platform(value: str) -> str | None:
    return PLATFORMS.get(value)


def resolve_province(value: str, on: date) -> str | None:
    return PROVINCES.get(value)


def metrics(records, weights, period, by_province=False) -> pd.DataFrame:
    return reference_metrics(
        records,
        weights,
        period,
        resolve_platform=resolve_platform,
        resolve_province=resolve_province,
        platform_info=FIXTURE_PLATFORMS,
        by_province=by_province,
    )


def row(frame: pd.DataFrame, **where) -> dict:
    selected = frame
    for column, value in where.items():
        selected = selected[selected[column].isna()] if value is None else selected[selected[column] == value]
    assert len(selected) == 1, (where, frame)
    return selected.iloc[0].to_dict()


def rec(user, time, platform="zalo", seconds="", bytes_="", sessions="", installs="", **extra) -> dict:
    return {"user_id": user, "platform": platform, "time": time, "active_seconds": seconds, "bytes": bytes_,
            "sessions": sessions, "installs": installs, **extra}


# A: weight 2 in Jan 2022, active on Jan 5 (two records) and Jan 31 (23:30 local, written in UTC).
# B: weight 3, active on Jan 10 by sessions only (date-only time); a background-only row on Jan 12 adds bytes.
# C: no weight row (w = 1); 2022-01-31T17:30:00Z is 2022-02-01 00:30 local: February, not January.
# D: weight 5, an install-only row in January: not active.
# E (viber, weight 5) and F (messenger, no weight) make a rank tie and a category share.
# A again in Jan 2021 (no weight row: w = 1), for the year-ago change.
RECORDS = {
    "s": [
        rec("A", "2022-01-05T10:00:00+07:00", seconds="600", bytes_="1000000", sessions="1"),
        rec("A", "2022-01-05T20:00:00+07:00", seconds="300", sessions="2"),
        rec("A", "2022-01-31T16:30:00Z", seconds="120", sessions="1"),
        rec("B", "2022-01-10", seconds="0", bytes_="2000000", sessions="1"),
        rec("B", "2022-01-12T09:00:00", seconds="0", bytes_="4000000", sessions="0"),
        rec("C", "2022-01-31T17:30:00Z", seconds="60", sessions="1"),
        rec("D", "2022-01-20 12:00:00-05:00", seconds="0", sessions="0", installs="1"),
        rec("E", "2022-01-15T12:00:00+09:00", platform="viber", seconds="30", sessions="1"),
        rec("F", "2022-01-15T12:00:00+07:00", platform="messenger", seconds="30", sessions="1"),
        rec("A", "2021-01-15T12:00:00+07:00", platform="com.zing.zalo", seconds="60", sessions="1"),
    ]
}
WEIGHTS = {
    "s": [
        {"user_id": "A", "month": "2022-01", "weight": "2"},
        {"user_id": "B", "month": "2022-01", "weight": "3"},
        {"user_id": "D", "month": "2022-01", "weight": "5"},
        {"user_id": "E", "month": "2022-01", "weight": "5"},
        {"user_id": "A", "month": "2022-02", "weight": "7"},  # A has no record in February: no effect
    ]
}


def test_local_days_of_times():
    assert parse_time("2022-01-31T17:30:00Z")[1] == date(2022, 2, 1)  # 00:30 local
    assert parse_time("2022-01-31T16:30:00Z")[1] == date(2022, 1, 31)  # 23:30 local
    assert parse_time("2022-01-31 16:30:00-05:00")[1] == date(2022, 2, 1)  # 21:30 UTC = 04:30 local
    assert parse_time("2022-02-01T01:00:00+09:00")[1] == date(2022, 1, 31)  # 23:00 local
    assert parse_time("2022-01-31T23:59:59")[1] == date(2022, 1, 31)  # naive = local
    assert parse_time("2022-01-31")[1] == date(2022, 1, 31)
    for bad in ["31/01/2022", "2022-13-01", "2022-01-31T25:00:00", "", "yesterday"]:
        assert parse_time(bad) is None


def test_month_by_hand():
    january = metrics(RECORDS, WEIGHTS, "2022-01")
    zalo = row(january, platform="zalo")
    # mau = w(A) + w(B) = 2 + 3 = 5 (C is in February, D only installed)
    assert zalo["mau"] == pytest.approx(5)
    # weighted active person-days = 2 × 2 days (A) + 3 × 1 day (B) = 7; dau = 7 / 31
    assert zalo["dau"] == pytest.approx(7 / 31)
    # seconds = (600 + 300 + 120) × 2 = 2040 → 34 minutes over 7 weighted person-days
    assert zalo["minutes_per_day"] == pytest.approx(34 / 7)
    # bytes = 1e6 × 2 + (2e6 + 4e6) × 3 = 20e6 → 20 MB ÷ mau 5 = 4 (the background row counts)
    assert zalo["mb_per_user"] == pytest.approx(4.0)
    # sessions = (1 + 2 + 1) × 2 + (1 + 0) × 3 = 11; installs = 1 × 5 (D) = 5
    assert zalo["sessions"] == pytest.approx(11)
    assert zalo["installs"] == pytest.approx(5)
    assert zalo["stickiness"] == pytest.approx((7 / 31) / 5)
    # Jan 2021: A alone, no weight row → mau 1; change = (5 − 1) / 1 = 4; no December row → NaN
    assert zalo["mau_change_yoy"] == pytest.approx(4)
    assert pd.isna(zalo["mau_change_prev"])

    # communication in January: zalo 5, viber 5 (E, weight 5), messenger 1 (F) → ranks 1, 1, 3
    assert {p: row(january, platform=p)["rank"] for p in ["zalo", "viber", "messenger"]} == {
        "zalo": 1, "viber": 1, "messenger": 3}
    shares = reference_category_shares(january)
    communication = row(shares, category="communication")
    # domestic 5, foreign 5 + 1 = 6 → share 5/11, ratio 5/6
    assert communication["domestic"] == pytest.approx(5)
    assert communication["foreign"] == pytest.approx(6)
    assert communication["domestic_share"] == pytest.approx(5 / 11)
    assert communication["ratio"] == pytest.approx(5 / 6)

    february = row(metrics(RECORDS, WEIGHTS, "2022-02"), platform="zalo")
    # C only: mau 1, 1 day of 28, 60 s = 1 minute, no bytes; change vs January (1 − 5) / 5 = −0.8
    assert (february["mau"], february["dau"], february["minutes_per_day"]) == pytest.approx((1, 1 / 28, 1))
    assert february["mb_per_user"] == pytest.approx(0)
    assert february["mau_change_prev"] == pytest.approx(-0.8)


def test_quarter_by_hand():
    q1 = row(metrics(RECORDS, WEIGHTS, "2022-Q1"), platform="zalo")
    # monthly mau: Jan 5, Feb 1, Mar 0 (no record at all) → quarter mau = 6 / 3 = 2
    assert q1["mau"] == pytest.approx(2)
    # weighted active person-days: 7 (Jan) + 1 (Feb) over 31 + 28 + 31 = 90 days
    assert q1["dau"] == pytest.approx(8 / 90)
    # minutes: (34 + 1) over 8 weighted person-days
    assert q1["minutes_per_day"] == pytest.approx(35 / 8)
    # mb_per_user: mean of Jan 4.0 and Feb 0.0 (March has no activity, left out) = 2.0
    assert q1["mb_per_user"] == pytest.approx(2.0)
    assert (q1["sessions"], q1["installs"]) == pytest.approx((12, 5))
    assert q1["stickiness"] == pytest.approx((8 / 90) / 2)
    # 2021-Q1: Jan 2021 mau 1 → 1/3; change = (2 − 1/3) / (1/3) = 5; 2021-Q4 has no row → NaN
    assert q1["mau_change_yoy"] == pytest.approx(5)
    assert pd.isna(q1["mau_change_prev"])


def test_quarter_with_an_inactive_month_that_has_a_row():
    records = {
        "t": [
            rec("x", "2022-01-03T08:00:00+07:00", seconds="120", sessions="1"),
            rec("y", "2022-01-04T08:00:00+07:00", seconds="60", sessions="1"),
            rec("x", "2022-02-10T08:00:00+07:00", seconds="0", sessions="0", installs="1"),  # install only
            rec("x", "2022-03-10T08:00:00+07:00", seconds="0", sessions="0", bytes_="5000000"),  # background
        ]
    }
    months = {p: row(metrics(records, {}, p), platform="zalo") for p in ["2022-01", "2022-02", "2022-03"]}
    # January: 2 persons; February and March exist (they have records) with mau 0
    assert [months[p]["mau"] for p in months] == [2, 0, 0]
    assert pd.isna(months["2022-02"]["stickiness"]) and pd.isna(months["2022-03"]["mb_per_user"])
    assert months["2022-02"]["installs"] == 1 and months["2022-02"]["mau_change_prev"] == pytest.approx(-1)
    assert pd.isna(months["2022-03"]["mau_change_prev"])  # previous mau is 0
    q1 = row(metrics(records, {}, "2022-Q1"), platform="zalo")
    # mau = (2 + 0 + 0) / 3; dau = 2 person-days / 90; minutes = 3 / 2; mb = January's only: 0 / 2
    assert (q1["mau"], q1["dau"], q1["minutes_per_day"], q1["mb_per_user"]) == pytest.approx(
        (2 / 3, 2 / 90, 1.5, 0.0))
    assert q1["stickiness"] == pytest.approx((2 / 90) / (2 / 3))


def test_validity_and_duplicates():
    base = rec("u", "2022-01-05T10:00:00+07:00", seconds="60", sessions="1", bytes_="1000000")
    raw = [
        {**base, "record_id": "r1"},
        {**base, "record_id": "r1", "sessions": "9"},  # same record_id, other content: dropped
        {**base, "record_id": "r2"},  # same content, another id: a second record
        dict(base),  # no id
        dict(base),  # exact copy without id: dropped
        {**base, "time": "2022-01-05T03:00:00Z", "platform": "com.zing.zalo"},  # same after parsing: dropped
        {**base, "record_id": ""},  # an empty record_id is no id: duplicate of the content: dropped
        {**base, "platform": "myspace"},  # rejected
        {**base, "active_seconds": "86401"},  # rejected
        {**base, "bytes": "1.5"},  # rejected
        {**base, "user_id": ""},  # rejected
        {**base, "user_id": "ü" * 257},  # rejected
        {**base, "time": "05/01/2022"},  # rejected
        {**base, "record_id": "r3", "province": "Atlantis"},  # unresolvable province: kept, province None
    ]
    reasons = [parse_record(r, resolve_platform=resolve_platform, resolve_province=resolve_province)[1]
               for r in raw]
    assert reasons[7:13] == ["platform", "active_seconds", "bytes", "user_id", "user_id", "time"]
    kept = clean_records(raw, resolve_platform=resolve_platform, resolve_province=resolve_province)
    assert [r.record_id for r in kept] == ["r1", "r2", None, "r3"]
    assert kept[0].sessions == 1 and kept[3].province is None
    # defaults: active_seconds 0, bytes 0, sessions 1, installs 0 when empty or missing
    only = parse_record({"user_id": "v", "platform": "zalo", "time": "2022-01-05"},
                        resolve_platform=resolve_platform, resolve_province=resolve_province)[0]
    assert (only.active_seconds, only.bytes, only.sessions, only.installs, only.active) == (0, 0, 1, 0, True)

    # the same record_id in another source is another record; the same user_id there is another person
    frame = metrics({"s1": raw, "s2": [{**base, "record_id": "r1"}]}, {}, "2022-01")
    assert row(frame, source="s1")["sessions"] == 4  # r1, r2, the id-less row, r3
    assert row(frame, source="s1")["mau"] == 1
    assert row(frame, source="s2")["mau"] == 1


def test_provinces_partition_the_national_figures():
    def p(user, day, seconds, province=None, sessions="1", bytes_=""):
        extra = {} if province is None else {"province": province}
        return rec(user, f"2022-01-{day:02d}T12:00:00+07:00", seconds=str(seconds), sessions=sessions,
                   bytes_=bytes_, **extra)

    records = {
        "s": [
            # P: day 3 tie 100/100 between 01 and 79 → 01; day 4: 79 (the 500 s record has no province);
            #    day 5: 79 → 79 has 2 active days, 01 one → P is in 79
            p("P", 3, 100, "Hà Nội"), p("P", 3, 100, "Hồ Chí Minh"),
            p("P", 4, 50, "79"), p("P", 4, 500),
            p("P", 5, 10, "Hồ Chí Minh"),
            # Q (weight 2): a day in 01, a day in 79, 100 s each → tie on days and seconds → smallest code 01;
            #    the background day in 92 does not count (Q has active days)
            p("Q", 3, 100, "Ha Noi"), p("Q", 4, 100, "79"),
            p("Q", 10, 0, "Cần Thơ", sessions="0", bytes_="9"),
            # R: background only, in 92 → R's month is in 92 (a row with mau 0)
            p("R", 8, 0, "Cần Thơ", sessions="0", bytes_="3000000"),
            # S: active, no province → the unknown-province row
            p("S", 9, 30),
        ]
    }
    weights = {"s": [{"user_id": "Q", "month": "2022-01", "weight": "2"}]}
    frame = metrics(records, weights, "2022-01", by_province=True)
    assert sorted(frame["province"].fillna("?")) == ["01", "79", "92", "?"]
    hcm, hanoi = row(frame, province="79"), row(frame, province="01")
    unknown, cantho = row(frame, province=None), row(frame, province="92")
    # 79: P alone, 3 active days, 100 + 100 + 50 + 500 + 10 = 760 s
    assert (hcm["mau"], hcm["dau"], hcm["minutes_per_day"]) == pytest.approx((1, 3 / 31, 760 / 60 / 3))
    # 01: Q, weight 2, 2 days, 200 s × 2 → 400 / 60 minutes over 4 weighted person-days; bytes 9 × 2
    assert (hanoi["mau"], hanoi["dau"], hanoi["minutes_per_day"]) == pytest.approx((2, 4 / 31, 400 / 60 / 4))
    assert hanoi["mb_per_user"] == pytest.approx(18 / 1e6 / 2)
    assert (cantho["mau"], cantho["sessions"]) == (0, 0) and pd.isna(cantho["mb_per_user"])
    assert unknown["mau"] == 1
    national = row(metrics(records, weights, "2022-01"), platform="zalo")
    for column in ["mau", "dau", "sessions", "installs"]:
        assert frame[column].sum() == pytest.approx(national[column])
    # ranks are per province: each province has one platform here
    assert set(frame["rank"]) == {1}


def test_fixture_is_seeded_and_writable():
    one, again, other = make_fixture(3, 600), make_fixture(3, 600), make_fixture(4, 600)
    assert one.records_by_source == again.records_by_source
    assert one.records_by_source != other.records_by_source
    assert set(one.records_by_source) == {"panel-a", "telco-b"} and not one.weights_by_source["telco-b"]
    rows = one.records_by_source["panel-a"]
    assert to_csv_text(rows).startswith("record_id,user_id,platform,time,")
    assert len(to_ndjson_text(rows).splitlines()) == len(rows)
