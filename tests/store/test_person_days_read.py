"""Reading a source's person-days (`rollups.rebuild.person_days_sql`) when days are held in several files: the
rows of a day's largest file that no other file names pass through, the others are collapsed with the rows they
meet. Held against a plain Python model of the collapse on random files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS
from thuocdo.rollups.rebuild import person_days_sql
from thuocdo.store import Store

SOURCE = "telco-a"
BIG = 2**63 - 1

#: one file's rows: (platform, person, day of March) -> (seconds, bytes, sessions, installs, province or None)
_key = st.tuples(st.sampled_from(["zalo", "tiktok"]), st.integers(1, 4), st.integers(1, 3))
_value = st.tuples(st.integers(0, 500), st.integers(0, 10**6), st.integers(0, 3), st.integers(0, 2),
                   st.sampled_from([None, "01", "48", "79"]))
_file = st.dictionaries(_key, _value, min_size=1, max_size=12)


def _write(store: Store, n: int, rows: dict[tuple[str, int, int], tuple[int, int, int, int, str | None]]) -> None:
    """Write one file per day of `rows` (one row per person-day, as every writer does) and list it."""
    for day in sorted({d for _, _, d in rows}):
        date = dt.date(2022, 3, day)
        mine = [(k, v) for k, v in rows.items() if k[2] == day]
        relative = f"person_day/source={SOURCE}/month=2022-03/day={date}/f{n}.parquet"
        path = store.lake / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table({
            "platform": [k[0] for k, _ in mine], "person": pa.array([k[1] for k, _ in mine], pa.int64()),
            "day": pa.array([date] * len(mine), pa.date32()), "month": ["2022-03"] * len(mine),
            "active_seconds": pa.array([v[0] for _, v in mine], pa.int64()),
            "bytes": pa.array([v[1] for _, v in mine], pa.int64()),
            "sessions": pa.array([v[2] for _, v in mine], pa.int64()),
            "installs": pa.array([v[3] for _, v in mine], pa.int64()),
            "active": [v[0] > 0 or v[2] > 0 for _, v in mine],
            "province": pa.array([v[4] for _, v in mine], pa.string()),
            "province_seconds": pa.array([v[0] if v[4] else None for _, v in mine], pa.int64())})
        assert table.column_names == list(PERSON_DAY_COLUMNS)
        pq.write_table(table, path)
        store.con.execute("INSERT INTO lake_files VALUES (?, 'person_day', ?, '2022-03', ?, ?, ?)",
                          [relative, SOURCE, date, f"b{n}", len(mine)])


def _model(files: list[dict[tuple[str, int, int], tuple[int, int, int, int, str | None]]]) -> list[tuple]:
    """The collapse by hand: sums, active on any part, the province of the part with most seconds (then the
    smallest code) with those seconds."""
    parts: dict[tuple[str, int, int], list[tuple[int, int, int, int, str | None]]] = {}
    for rows in files:
        for key, value in rows.items():
            parts.setdefault(key, []).append(value)
    out = []
    for (platform, person, day), values in parts.items():
        with_province = [v for v in values if v[4] is not None]
        best = min(with_province, key=lambda v: (-v[0], v[4])) if with_province else None
        out.append((SOURCE, platform, person, dt.date(2022, 3, day), "2022-03",
                    min(sum(v[0] for v in values), BIG), min(sum(v[1] for v in values), BIG),
                    sum(v[2] for v in values), sum(v[3] for v in values),
                    any(v[0] > 0 or v[2] > 0 for v in values),
                    best[4] if best else None, max((v[0] for v in with_province), default=None)))
    return sorted(out, key=repr)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_file, min_size=1, max_size=4))
def test_person_days_of_days_in_several_files_match_a_model(tmp_path_factory: pytest.TempPathFactory,
                                                            files: list[dict]) -> None:
    with Store(tmp_path_factory.mktemp("pd")) as store:
        for n, rows in enumerate(files):
            _write(store, n, rows)
        sql = person_days_sql(store, SOURCE, ["2022-03"])
        assert sql is not None
        got = store.con.execute(f"SELECT source, {', '.join(PERSON_DAY_COLUMNS)} FROM ({sql})").fetchall()
        assert sorted(got, key=repr) == _model(files)
        # of some persons only (a late file's), filtered before the collapse
        sql = person_days_sql(store, SOURCE, ["2022-03"], persons="(SELECT unnest([1, 3]) AS person)")
        got = store.con.execute(f"SELECT source, {', '.join(PERSON_DAY_COLUMNS)} FROM ({sql})").fetchall()
        assert sorted(got, key=repr) == [r for r in _model(files) if r[2] in (1, 3)]
        # of some days only
        days = [dt.date(2022, 3, 2)]
        sql = person_days_sql(store, SOURCE, ["2022-03"], days)
        want = [r for r in _model(files) if r[3] in days]
        got = store.con.execute(f"SELECT source, {', '.join(PERSON_DAY_COLUMNS)} FROM ({sql})").fetchall() if sql \
            else []
        assert sorted(got, key=repr) == want


def test_a_late_file_meets_only_the_rows_it_names(tmp_path: Path) -> None:
    # a day of three persons, then a late file with a second part of person 2's day and a new person 9
    with Store(tmp_path / "home") as store:
        _write(store, 0, {("zalo", p, 1): (100 * p, 10, 1, 0, "01") for p in (1, 2, 3)})
        _write(store, 1, {("zalo", 2, 1): (500, 5, 2, 1, "48"), ("zalo", 9, 1): (0, 7, 0, 0, None)})
        sql = person_days_sql(store, SOURCE, ["2022-03"])
        got = store.con.execute(f"SELECT person, active_seconds, bytes, sessions, installs, active, province, "
                                f"province_seconds FROM ({sql}) ORDER BY person").fetchall()
        assert got == [(1, 100, 10, 1, 0, True, "01", 100), (2, 700, 15, 3, 1, True, "48", 500),
                       (3, 300, 10, 1, 0, True, "01", 300), (9, 0, 7, 0, 0, False, None, None)]
