"""Random usage files, with duplicates (inside a file and across files), bad rows and late days, ingested one
after another: each file's counts, the quarantine and the stored person-days equal a plain Python model of the
rules of DESIGN.md (validation, keyed pseudonyms, exactly once, the Asia/Ho_Chi_Minh day, the person-day merge).

The model computes person keys with the reference HMAC (`pseudonymise.person_key`), times with Python's
`datetime`, and the province of a value with the catalogue (the names are the catalogue's, not the rules')."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thuocdo.catalog import load_catalog
from thuocdo.ingest.pseudonymise import person_key
from thuocdo.ingest.validate import province_codes
from thuocdo.rollups.rebuild import person_days_sql
from thuocdo.store import Store
from thuocdo.workflows import ingest as ingest_workflow

SOURCE = "model-op"
COLUMNS = ["record_id", "user_id", "platform", "time", "active_seconds", "sessions", "province"]
PLATFORMS = {"zalo": "zalo", "com.zing.zalo": "zalo", "tiktok": "tiktok"}
PROVINCES = ["", "01", "Hà Nội", "79", "Đà Nẵng"]
LOCAL = dt.timezone(dt.timedelta(hours=7))
#: one defect per bad row, and the field it is reported on
DEFECTS = {"platform": "không-có", "time": "hôm qua", "active_seconds": "-5", "province": "Atlantis", "user_id": ""}

good_row = st.fixed_dictionaries({
    "record_id": st.sampled_from(["r1", "r2", "r3", "r4", "", ""]),
    "user_id": st.sampled_from(["u1", "u2", "u3"]),
    "platform": st.sampled_from(sorted(PLATFORMS)),
    # days 1-6 of January at any hour and offset: a file may bring days earlier than the last file's (late days),
    # and an offset may move a record into 31 December (local day)
    "time": st.tuples(st.integers(1, 6), st.sampled_from([0, 3, 10, 23]),
                      st.sampled_from(["+07:00", "Z", "-05:00", ""])).map(
        lambda t: f"2022-01-{t[0]:02d}T{t[1]:02d}:30:00{t[2]}"),
    "active_seconds": st.sampled_from(["0", "60", "600", "3000"]),
    "sessions": st.sampled_from(["0", "1", "2"]),
    "province": st.sampled_from(PROVINCES),
})
row = st.one_of(good_row.map(lambda r: (r, None)),
                st.tuples(good_row, st.sampled_from(sorted(DEFECTS))))
files = st.lists(st.lists(row, min_size=1, max_size=12), min_size=1, max_size=4)


@dataclass
class Model:
    """What the rules make of the files: per file (stored, duplicates, rejected), the quarantined lines with the
    field of their problem, and the person-days."""

    counts: list[tuple[int, int, int]]
    quarantined: set[tuple[str, int, tuple[str, ...]]]
    person_days: list[tuple]


def _utc(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=LOCAL)).astimezone(dt.UTC)


def model(batches: list[list[tuple[dict[str, str], str | None]]], secret: bytes) -> Model:
    catalog = load_catalog()
    codes = {value: province_codes(catalog, value)[0] for value in PROVINCES if value}  # all days are before 2025
    stored_keys: set[tuple[dt.date, tuple]] = set()
    records: list[tuple[str, int, dt.date, int, int, str | None]] = []
    counts, quarantined = [], set()
    for n, rows in enumerate(batches):
        name = f"f{n}.csv"
        seen: set[tuple] = set()
        stored = duplicates = rejected = 0
        for line, (values, defect) in enumerate(rows, start=2):  # line 1 is the header
            if defect is not None:
                rejected += 1
                quarantined.add((name, line, (defect,)))
                continue
            person = person_key(secret, SOURCE, values["user_id"])
            platform, utc = PLATFORMS[values["platform"]], _utc(values["time"])
            seconds, sessions = int(values["active_seconds"]), int(values["sessions"])
            province = codes.get(values["province"])
            key = (("i", values["record_id"]) if values["record_id"] else
                   ("c", person, platform, utc, seconds, sessions, province or ""))
            if key in seen:  # inside a file, the first line of a record counts
                duplicates += 1
                continue
            seen.add(key)
            day = (utc + dt.timedelta(hours=7)).date()
            if (day, key) in stored_keys:  # across files, a record is a key on its local day
                duplicates += 1
                continue
            stored_keys.add((day, key))
            stored += 1
            records.append((platform, person, day, seconds, sessions, province))
        counts.append((stored, duplicates, rejected))
    days: dict[tuple[str, int, dt.date], list[tuple[int, int, str | None]]] = {}
    for platform, person, day, seconds, sessions, province in records:
        days.setdefault((platform, person, day), []).append((seconds, sessions, province))
    person_days = []
    for (platform, person, day), parts in days.items():
        placed = [(s, p) for s, _, p in parts if p is not None]
        # the province of the record with the most active seconds, then the smallest code
        best = min(placed, key=lambda sp: (-sp[0], int(sp[1])))[1] if placed else None
        person_days.append((platform, person, day, sum(s for s, _, _ in parts), sum(n for _, n, _ in parts),
                            any(s > 0 or n > 0 for s, n, _ in parts), best,
                            max((s for s, _ in placed), default=None)))
    return Model(counts, quarantined, sorted(person_days, key=repr))


def _write(path: Path, rows: list[tuple[dict[str, str], str | None]], n: int) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line, (values, defect) in enumerate(rows, start=2):
        # a bad row: one defect, and a record_id of its own, so that no two bad lines are the same line
        writer.writerow(values if defect is None else
                        {**values, defect: DEFECTS[defect], "record_id": f"bad-{n}-{line}"})
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files)
def test_the_store_equals_a_plain_model_of_the_rules(tmp_path_factory: pytest.TempPathFactory,
                                                     batches: list[list[tuple[dict[str, str], str | None]]]) -> None:
    tmp = tmp_path_factory.mktemp("model")
    home = tmp / "home"
    paths = [_write(tmp / f"f{n}.csv", rows, n) for n, rows in enumerate(batches)]
    report = ingest_workflow.ingest(home, "usage", paths, SOURCE)
    assert not report.errors
    with Store(home, read_only=True) as store:
        want = model(batches, store.secret)
        assert [(r.stored, r.duplicates, r.rejected) for r in report.results] == want.counts
        problems = store.con.execute(
            "SELECT file, line, list_sort(list_distinct([p.field FOR p IN from_json(problems, "
            "'[{\"field\": \"VARCHAR\"}]')])) FROM quarantine WHERE source = ?", [SOURCE]).fetchall()
        assert {(f, line, tuple(fields)) for f, line, fields in problems} == want.quarantined
        sql = person_days_sql(store, SOURCE, ["2021-12", "2022-01"])
        got = store.con.execute(
            f"SELECT platform, person, day, active_seconds, sessions, active, province, province_seconds "
            f"FROM ({sql})").fetchall() if sql else []
        assert sorted(got, key=repr) == want.person_days
