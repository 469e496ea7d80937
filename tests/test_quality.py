"""The quality monitor (thuocdo.metrics.quality, `thuocdo quality`, GET /api/v1/sources/{source}/quality) on a
source delivering weekly files, with a withheld day, a half-volume day, a late batch, a file sent twice, an
in-file duplicate and rejected rows, held against a plain Python model of what was delivered."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Cli, write

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
PLATFORMS = ("zalo", "facebook", "tiktok")
FIRST = dt.date(2025, 1, 6)  # a Monday; twelve weeks of records
WITHHELD = dt.date(2025, 3, 5)
HALF = dt.date(2025, 3, 12)
LATE_DAY = dt.date(2025, 3, 20)


@dataclass(frozen=True)
class Row:
    record_id: str
    user: str
    platform: str
    time: str
    day: dt.date | None  # its local day (None: a time that cannot be read)


@dataclass(frozen=True)
class Delivery:
    name: str
    rows: list[Row]
    committed_at: dt.datetime  # UTC


def _rows() -> dict[dt.date, list[Row]]:
    rng = random.Random(7)
    per_day: dict[dt.date, list[Row]] = {}
    n = 0
    for offset in range(84):
        day = FIRST + dt.timedelta(days=offset)
        volume = 0 if day == WITHHELD else (40 if day.weekday() < 5 else 25) + rng.randint(0, 3)
        if day == HALF:
            volume //= 2
        rows = []
        for i in range(volume):
            n += 1
            # the first record of a day is stamped in UTC on the day before: its local day is still `day`
            time = (f"{day - dt.timedelta(days=1)}T20:30:00Z" if i == 0 else f"{day}T{8 + i % 12:02d}:15:00+07:00")
            rows.append(Row(f"r{n}", f"u{rng.randint(0, 59)}", rng.choice(PLATFORMS), time, day))
        per_day[day] = rows
    return per_day


def deliveries() -> list[Delivery]:
    """One file a week, committed the Monday after at 09:00 local time; part of LATE_DAY three weeks late; the
    tenth week's file sent again; duplicates and bad rows in the eleventh."""
    per_day = _rows()
    late = per_day[LATE_DAY][-10:]
    per_day[LATE_DAY] = per_day[LATE_DAY][:-10]
    found = []
    for week in range(12):
        days = [FIRST + dt.timedelta(days=7 * week + d) for d in range(7)]
        rows = [r for d in days for r in per_day[d]]
        if week == 10:
            rows.append(rows[5])  # the same record twice in the file
            rows.append(Row("bad1", "u1", "khong-co", f"{days[1]}T10:00:00+07:00", days[1]))
            rows.append(Row("bad2", "u2", "khong-co", f"{days[1]}T11:00:00+07:00", days[1]))
            rows.append(Row("bad3", "u3", "zalo", "hôm qua", None))
        monday = days[-1] + dt.timedelta(days=1)
        found.append(Delivery(f"week{week:02d}.csv", rows, dt.datetime.combine(monday, dt.time(2, 0))))
        if week == 9:
            found.append(Delivery("week09-again.csv", rows, dt.datetime.combine(monday, dt.time(5, 0))))
    found.append(Delivery("late.csv", late, dt.datetime(2025, 4, 10, 3, 0)))
    return found


def model(sent: list[Delivery], late_days: int = 2) -> dict[dt.date, dict[str, object]]:
    """What the monitor must say, from the deliveries alone: a record is stored the first time its id comes with
    a known platform; every row with an unknown platform is rejected; the rest are duplicates."""
    seen: set[str] = set()
    days: dict[dt.date, dict[str, object]] = {}

    def day_row(day: dt.date) -> dict[str, object]:
        return days.setdefault(day, {"records": 0, "rejected": 0, "duplicates": 0, "late_records": 0,
                                     "persons": set(), "platforms": set()})

    for offset in range(84):  # every day from the first to the last delivered: a withheld day has no rows
        day_row(FIRST + dt.timedelta(days=offset))
    for delivery in sent:
        delivered_on = (delivery.committed_at + dt.timedelta(hours=7)).date()
        for row in delivery.rows:
            if row.day is None:
                continue
            entry = day_row(row.day)
            if row.platform not in PLATFORMS:
                entry["rejected"] += 1  # type: ignore[operator]
            elif row.record_id in seen:
                entry["duplicates"] += 1  # type: ignore[operator]
            else:
                seen.add(row.record_id)
                entry["records"] += 1  # type: ignore[operator]
                entry["persons"].add(row.user)  # type: ignore[attr-defined]
                entry["platforms"].add(row.platform)  # type: ignore[attr-defined]
                if (delivered_on - row.day).days > late_days:
                    entry["late_records"] += 1  # type: ignore[operator]
    for entry in days.values():
        entry["persons"] = len(entry["persons"])  # type: ignore[arg-type]
        entry["platforms"] = len(entry["platforms"])  # type: ignore[arg-type]
    # the volume rule, written out: the same weekday of the 8 weeks before (from the first day), at least 4
    first = min(d for d, e in days.items() if e["records"])
    for day, entry in days.items():
        history = [days[day - dt.timedelta(weeks=w)]["records"] if day - dt.timedelta(weeks=w) in days else 0
                   for w in range(1, 9) if day - dt.timedelta(weeks=w) >= first]
        entry["baseline"] = None
        entry["status"] = "missing" if not entry["records"] else "ok"
        if len(history) >= 4:
            median = statistics.median(history)
            mad = statistics.median([abs(h - median) for h in history])  # type: ignore[operator]
            entry["baseline"] = median
            allowed = max(3.5 * 1.4826 * mad, 0.2 * median)
            if entry["records"] and entry["records"] < median - allowed:  # type: ignore[operator]
                entry["status"] = "low"
            elif entry["records"] and entry["records"] > median + allowed:  # type: ignore[operator]
                entry["status"] = "high"
    return days


def _csv(rows: list[Row]) -> str:
    return HEADER + "".join(f"{r.record_id},{r.user},{r.platform},{r.time},60,1000,1,0,\n" for r in rows)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    from thuocdo.store import Store

    folder = tmp_path_factory.mktemp("quality")
    cli = Cli(folder / "home")
    for delivery in deliveries():
        path = write(folder / delivery.name, _csv(delivery.rows))
        result = cli("ingest", "usage", path, "--source", "op")
        assert result.exit_code in (0, 1), result.stderr  # 1: some rows quarantined
    with Store(cli.home) as store:  # when each file was delivered
        for delivery in deliveries():
            store.con.execute("UPDATE batches SET committed_at = ? WHERE file LIKE ?",
                              [delivery.committed_at, f"%{delivery.name}"])
        assert store.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == len(deliveries())
    return cli


def monitor_rows(cli: Cli, period: str, *extra: str) -> list[dict[str, object]]:
    result = cli("quality", "--source", "op", "--period", period, "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def test_the_monitor_equals_a_plain_model_of_the_deliveries(delivered: Cli) -> None:
    expected = model(deliveries())
    for period in ("2025-03", "2025-Q1"):
        found = monitor_rows(delivered, period)
        first = dt.date(2025, 3, 1) if period == "2025-03" else FIRST  # the delivered range starts on FIRST
        assert [r["day"] for r in found] == [str(first + dt.timedelta(days=i)) for i in range(len(found))]
        assert found[-1]["day"] == "2025-03-30"  # the last day with records
        for row in found:
            want = expected.get(dt.date.fromisoformat(str(row["day"])))
            assert want is not None, row
            assert {k: row[k] for k in want} == pytest.approx(want), row["day"]


def test_the_withheld_the_half_volume_and_the_late_day(delivered: Cli) -> None:
    found = {r["day"]: r for r in monitor_rows(delivered, "2025-03")}
    assert found[str(WITHHELD)]["status"] == "missing" and found[str(WITHHELD)]["records"] == 0
    assert found[str(HALF)]["status"] == "low"
    assert found[str(LATE_DAY)]["status"] == "ok"  # ten records short until the late file: in it, and late
    assert found[str(LATE_DAY)]["late_records"] >= 10  # type: ignore[operator]
    statuses = [r["status"] for r in found.values()]
    assert statuses.count("missing") == 1 and statuses.count("low") == 1 and "high" not in statuses
    # the tenth week sent twice: its records are duplicates, none stored twice
    week10 = [found[str(dt.date(2025, 3, 10) + dt.timedelta(days=d))] for d in range(7)]
    assert all(r["duplicates"] == r["records"] for r in week10 if r["day"] != str(HALF))


def test_a_later_threshold_counts_fewer_late_records(delivered: Cli) -> None:
    strict, lenient = monitor_rows(delivered, "2025-03", "--late-days", "0"), monitor_rows(
        delivered, "2025-03", "--late-days", "6")
    expected = model(deliveries(), late_days=6)
    assert [r["late_records"] for r in lenient] == [expected[dt.date.fromisoformat(str(r["day"]))]["late_records"]
                                                    for r in lenient]
    assert [r["late_records"] for r in strict] == [r["records"] for r in strict]  # every file came a day later


def test_the_summary_under_the_table(delivered: Cli) -> None:
    result = delivered("quality", "--source", "op", "--period", "2025-03")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Ngày đủ số liệu: 28/30 (thiếu 1, thấp bất thường 1, cao bất thường 0)" in text
    assert "thiếu" in text and "Ngoài ra 1 dòng bị loại không đọc được thời gian." in text


def test_the_summary_counts(delivered: Cli) -> None:
    from thuocdo.model.periods import Period
    from thuocdo.store import Store
    from thuocdo.workflows.quality import summaries

    expected = model(deliveries())
    march = [e for d, e in expected.items() if d.month == 3]
    with Store(delivered.home) as store:
        summary = summaries(store, Period.parse("2025-03"))["op"]
    records = sum(e["records"] for e in march)  # type: ignore[misc]
    rejected = sum(e["rejected"] for e in march)  # type: ignore[misc]
    duplicates = sum(e["duplicates"] for e in march)  # type: ignore[misc]
    assert (summary.records, summary.rejected, summary.duplicates) == (records, rejected, duplicates)
    assert summary.rejected_share == pytest.approx(rejected / (records + rejected + duplicates))
    assert (summary.days, summary.days_complete, summary.days_missing, summary.days_low) == (30, 28, 1, 1)
    assert summary.first_day == FIRST and summary.last_day == dt.date(2025, 3, 30)
    # lateness of March's records: Monday's file carries 7..1 days of lateness; the lower median by hand
    lateness: list[int] = []
    seen: set[str] = set()
    for delivery in deliveries():
        on = (delivery.committed_at + dt.timedelta(hours=7)).date()
        for r in delivery.rows:
            if r.day and r.platform in PLATFORMS and r.record_id not in seen:
                seen.add(r.record_id)
                if r.day.month == 3:
                    lateness.append((on - r.day).days)
    lateness.sort()
    assert summary.median_lateness_days == lateness[(len(lateness) - 1) // 2]
    assert summary.rejected_undated == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--source", "khong-co", "--period", "2025-03"], "Không có nguồn 'khong-co'"),
    (["--source", "op", "--period", "2025-13"], "không hợp lệ"),
    (["--source", "op", "--period", "2025-03", "--late-days", "-1"], "từ 0 trở lên"),
])
def test_bad_requests_exit_2_with_a_reason(delivered: Cli, args: list[str], message: str) -> None:
    result = delivered("quality", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_a_source_without_records_is_refused(cli: Cli, tmp_path: Path) -> None:
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2025-03,2\n")
    assert cli("ingest", "weights", weights, "--source", "panel").exit_code == 0
    result = cli("quality", "--source", "panel", "--period", "2025-03")
    assert result.exit_code == 2 and "không gửi bản ghi sử dụng" in result.stderr


def test_the_api_answers_analysts_and_the_sources_own_key(delivered: Cli) -> None:
    from fastapi.testclient import TestClient

    from thuocdo.web.app import create_app
    from thuocdo.workflows.access import Access

    analyst, _ = Access(delivered.home).create_key("analyst")
    own, _ = Access(delivered.home).create_key("source", source="op")
    other, _ = Access(delivered.home).create_key("source", source="another")
    url = "/api/v1/sources/op/quality"
    with TestClient(create_app(delivered.home)) as client:
        for key in (analyst, own):
            answer = client.get(url, params={"period": "2025-03"}, headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["days"] == monitor_rows(delivered, "2025-03")
            assert answer.json()["summary"]["days_missing"] == 1
        assert client.get(url, params={"period": "2025-03"},
                          headers={"Authorization": f"Bearer {other}"}).status_code == 403
        assert client.get(url, params={"period": "2025-03"}).status_code in (401, 403)
        assert client.get("/api/v1/sources/khong-co/quality", params={"period": "2025-03"},
                          headers={"Authorization": f"Bearer {analyst}"}).status_code == 404
        assert client.get(url, params={"period": "2025-03", "late_days": -1},
                          headers={"Authorization": f"Bearer {analyst}"}).status_code == 422


def test_batches_posted_to_the_api_are_counted_as_the_same_files_are(delivered: Cli, tmp_path: Path) -> None:
    """The HTTP collector writes each batch's rows per day as file ingestion does: the same deliveries posted give
    the same monitor (the commit times set as the files' were)."""
    from fastapi.testclient import TestClient

    from thuocdo.store import Store
    from thuocdo.web.app import create_app
    from thuocdo.workflows.access import Access

    posted = Cli(tmp_path / "posted")
    key, _ = Access(posted.home).create_key("source", source="op")
    with TestClient(create_app(posted.home)) as client:
        for delivery in deliveries():
            body = [{"record_id": r.record_id, "user_id": r.user, "platform": r.platform, "time": r.time,
                     "active_seconds": "60", "bytes": "1000", "sessions": "1", "installs": "0"} for r in delivery.rows]
            answer = client.post("/api/v1/sources/op/usage", json=body, headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code in (200, 201, 207), answer.text
    with Store(posted.home) as store:
        batches = [r[0] for r in store.con.execute("SELECT batch_id FROM batches ORDER BY committed_at").fetchall()]
        assert len(batches) == len(deliveries())
        for batch_id, delivery in zip(batches, deliveries(), strict=True):
            store.con.execute("UPDATE batches SET committed_at = ? WHERE batch_id = ?",
                              [delivery.committed_at, batch_id])
        # each batch's rows per day add up to its ledger entry
        assert store.con.execute("""
            SELECT count(*) FROM batches b JOIN (SELECT batch_id, sum(stored) AS s, sum(good - stored) AS d,
                                                        sum(rejected) AS r FROM batch_days GROUP BY batch_id) x
            USING (batch_id) WHERE b.stored <> x.s OR b.duplicates <> x.d OR b.rejected <> x.r""").fetchall()[0][0] == 0
    for period in ("2025-03", "2025-Q1"):
        assert monitor_rows(posted, period) == monitor_rows(delivered, period)
