"""Weekly active users (``wau`` of the metric tables) held against a plain Python model: weeks Monday to Sunday
of Asia/Ho_Chi_Minh days lying wholly inside the period, each person weighted by their weight of the month holding
the week's Thursday, the mean over those weeks; across month and year boundaries, with weights changing between
months, by province, for a union of shared-key sources and for the national estimate."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import Cli, write

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
PLATFORMS = ("zalo", "facebook")
PROVINCES = ("01", "79")
FIRST, LAST = dt.date(2021, 12, 20), dt.date(2022, 3, 13)  # across the year's end and three month ends

Record = tuple[str, str, str, dt.date, int, str]  # record id, user, platform, local day, active seconds, province


def records(seed: int, prefix: str, users: int = 40) -> list[Record]:
    rng = random.Random(seed)
    found = []
    day = FIRST
    while day <= LAST:
        for _ in range(rng.randint(3, 12)):
            found.append((f"{prefix}{len(found)}", f"u{rng.randint(0, users - 1)}", rng.choice(PLATFORMS), day,
                          rng.choice((0, 60, 300)), rng.choice(PROVINCES)))
        day += dt.timedelta(days=1)
    return found


def csv_text(rows: list[Record]) -> str:
    # times given in UTC on the evening before for some records: their local day is still `day`
    def time(i: int, day: dt.date) -> str:
        return f"{day - dt.timedelta(days=1)}T18:30:00Z" if i % 3 == 0 else f"{day}T09:00:00+07:00"

    return HEADER + "".join(f"{r},{u},{p},{time(i, d)},{s},1000,{1 if s else 0},0,{v}\n"
                            for i, (r, u, p, d, s, v) in enumerate(rows))


def weights_text(users: int = 40) -> tuple[str, dict[tuple[str, str], float]]:
    rng = random.Random(99)
    weights = {(f"u{i}", month): float(rng.randint(1, 9)) for i in range(users)
               for month in ("2021-12", "2022-01", "2022-02", "2022-03") if rng.random() < 0.9}
    return "user_id,month,weight\n" + "".join(f"{u},{m},{w}\n" for (u, m), w in weights.items()), weights


def mondays(first: dt.date, last: dt.date) -> list[dt.date]:
    """Written apart from thuocdo's: every day that is a Monday and whose Sunday is in the period."""
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)
            if (first + dt.timedelta(days=i)).weekday() == 0 and first + dt.timedelta(days=i + 6) <= last]


def period_days(period: str) -> tuple[dt.date, dt.date]:
    year, part = period.split("-")
    if part.startswith("Q"):
        q = int(part[1])
        first = dt.date(int(year), 3 * q - 2, 1)
        end = dt.date(int(year) + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    else:
        first = dt.date(int(year), int(part), 1)
        end = dt.date(int(year) + (first.month == 12), 1 if first.month == 12 else first.month + 1, 1)
    return first, end - dt.timedelta(days=1)


def expected_wau(rows: list[Record], weights: dict[tuple[str, str], float], period: str,
                 by_province: bool = False) -> dict[tuple[str, ...], float]:
    """Σ over the period's weeks of the weighted persons active in the week, ÷ the number of weeks."""
    weeks = mondays(*period_days(period))
    totals: dict[tuple[str, ...], float] = defaultdict(float)
    for monday in weeks:
        thursday = (monday + dt.timedelta(days=3)).strftime("%Y-%m")
        days: dict[tuple[str, str], list[tuple[dt.date, int, str]]] = defaultdict(list)
        for _, user, platform, day, seconds, province in rows:
            if monday <= day <= monday + dt.timedelta(days=6) and seconds > 0:
                days[(user, platform)].append((day, seconds, province))
        for (user, platform), seen in days.items():
            key: tuple[str, ...] = (platform,)
            if by_province:  # most active days in the week, then most seconds, then the smallest code
                per_day: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
                for day, seconds, province in seen:
                    per_day[day][province] += seconds
                # a person-day's province: its record with most active seconds (then the smallest code)
                home = {day: min(p.items(), key=lambda kv: (-kv[1], kv[0]))[0] for day, p in per_day.items()}
                score: dict[str, list[int]] = defaultdict(lambda: [0, 0])
                for day, province in home.items():
                    score[province][0] += 1
                    score[province][1] += per_day[day][province]
                key = (platform, min(score, key=lambda p: (-score[p][0], -score[p][1], p)))
            totals[key] += weights.get((user, thursday), 1.0)
    return {k: v / len(weeks) for k, v in totals.items()}


def table(cli: Cli, period: str, *args: str) -> list[dict[str, object]]:
    result = cli("metrics", "--period", period, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, list[Record], dict[tuple[str, str], float]]:
    folder = tmp_path_factory.mktemp("wau")
    cli = Cli(folder / "home")
    text, weights = weights_text()
    rows = records(1, "p")
    assert cli("ingest", "weights", write(folder / "w.csv", text), "--source", "panel").exit_code == 0
    assert cli("ingest", "usage", write(folder / "u.csv", csv_text(rows)), "--source", "panel").exit_code == 0
    return cli, rows, weights


@pytest.mark.parametrize("period", ["2022-01", "2022-02", "2022-Q1", "2021-12", "2021-Q4"])
def test_wau_of_a_panel_equals_the_plain_model(panel: tuple[Cli, list[Record], dict[tuple[str, str], float]],
                                               period: str) -> None:
    cli, rows, weights = panel
    want = expected_wau(rows, weights, period)
    got = {(r["platform"],): r["wau"] for r in table(cli, period, "--source", "panel") if r["basis"] == "records"}
    assert got.keys() == want.keys()
    assert got == pytest.approx(want, rel=1e-12)


def test_the_weeks_of_a_period(panel: tuple[Cli, list[Record], dict[tuple[str, str], float]]) -> None:
    """The week from Monday 27 December 2021 to Sunday 2 January 2022 is in neither quarter; January's first week
    starts on the 3rd; the quarter's weeks across its month ends count once, weighted by the Thursday's month."""
    from thuocdo.rollups.definitions import weeks_inside

    assert weeks_inside(*period_days("2021-Q4"))[-1] == dt.date(2021, 12, 20)
    assert weeks_inside(*period_days("2022-Q1"))[0] == dt.date(2022, 1, 3)
    assert len(weeks_inside(*period_days("2022-Q1"))) == 12
    for period in ("2021-Q4", "2022-01", "2022-02", "2022-03", "2022-Q1"):
        assert weeks_inside(*period_days(period)) == mondays(*period_days(period))


def test_wau_by_province_partitions_the_nation(panel: tuple[Cli, list[Record], dict[tuple[str, str], float]]) -> None:
    cli, rows, weights = panel
    want = expected_wau(rows, weights, "2022-Q1", by_province=True)
    got = {(r["platform"], r["province"]): r["wau"]
           for r in table(cli, "2022-Q1", "--source", "panel", "--by", "province")}
    assert got == pytest.approx(want, rel=1e-12)
    nation = {(r["platform"],): r["wau"] for r in table(cli, "2022-Q1", "--source", "panel")
              if r["basis"] == "records"}
    for (platform,), value in nation.items():
        assert value == pytest.approx(sum(v for (p, _), v in got.items() if p == platform), rel=1e-12)


def test_wau_lies_between_dau_and_mau(panel: tuple[Cli, list[Record], dict[tuple[str, str], float]]) -> None:
    cli, _, _ = panel
    for r in table(cli, "2022-02", "--source", "panel"):
        if r["basis"] == "records":
            assert r["dau"] <= r["wau"] <= r["mau"] * (1 + 1e-12), r  # type: ignore[operator]


def test_wau_of_a_union_of_shared_key_sources(tmp_path: Path) -> None:
    """Two operators seeing some of the same persons (shared keys): a person active in both in a week counts once."""
    cli = Cli(tmp_path / "home")
    a, b = records(2, "a", users=30), records(3, "b", users=30)
    for name, rows in (("op-a", a), ("op-b", b)):
        assert cli("sources", "declare", name, "--kind", "census", "--link-key", "shared").exit_code == 0
        assert cli("ingest", "usage", write(tmp_path / f"{name}.csv", csv_text(rows)), "--source",
                   name).exit_code == 0
    want = expected_wau(a + b, {}, "2022-Q1")
    got = {(r["platform"],): r["wau"] for r in table(cli, "2022-Q1", "--source", "op-a,op-b")
           if r["basis"] == "records"}
    assert got == pytest.approx(want, rel=1e-12)
    alone = {(r["platform"],): r["wau"] for r in table(cli, "2022-Q1", "--source", "op-a") if r["basis"] == "records"}
    assert alone == pytest.approx(expected_wau(a, {}, "2022-Q1"), rel=1e-12)


def test_wau_of_the_national_estimate_expands_each_week_by_its_thursdays_month(tmp_path: Path) -> None:
    """One operator covering two provinces: the national estimate multiplies its persons of a province and month
    by that province-month's factor g = MAU(national) / MAU(operator); a week's persons take the factor of the
    month of its Thursday."""
    cli = Cli(tmp_path / "home")
    rows = records(4, "o")
    lines = ["province,month,subscribers"] + [f"{p},{m},{n}" for p in PROVINCES for m, n in
                                              (("2022-01", 80), ("2022-02", 120), ("2022-03", 100))]
    coverage = write(tmp_path / "coverage.csv", "\n".join(lines) + "\n")
    assert cli("sources", "declare", "op", "--kind", "census", "--coverage", coverage).exit_code == 0
    assert cli("ingest", "usage", write(tmp_path / "op.csv", csv_text(rows)), "--source", "op").exit_code == 0
    factor: dict[tuple[str, str], float] = {}
    for month in ("2022-01", "2022-02", "2022-03"):
        national = {(r["platform"], r["province"]): r["mau"]
                    for r in table(cli, month, "--source", "national", "--by", "province")}
        own = {(r["platform"], r["province"]): r["mau"]
               for r in table(cli, month, "--source", "op", "--by", "province")}
        for (platform, province), mau in own.items():
            factor[(province, month)] = national[(platform, province)] / mau  # type: ignore[operator]
    weeks = mondays(*period_days("2022-Q1"))
    want: dict[tuple[str, str], float] = defaultdict(float)
    for monday in weeks:
        month = (monday + dt.timedelta(days=3)).strftime("%Y-%m")
        for (platform, province), persons in expected_wau(
                [r for r in rows if monday <= r[3] <= monday + dt.timedelta(days=6)], {}, "2022-Q1",
                by_province=True).items():
            # this week's persons ÷ the quarter's weeks (expected_wau's mean), expanded by the Thursday's factor
            want[(platform, province)] += persons * factor[(province, month)]
    got = {(r["platform"], r["province"]): r["wau"]
           for r in table(cli, "2022-Q1", "--source", "national", "--by", "province")}
    assert got == pytest.approx(dict(want), rel=1e-9)
    assert len({round(f, 6) for f in factor.values()}) > 2  # the factors differ between months
