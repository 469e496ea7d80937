"""Hypothesis properties of the pipeline: MAU ≤ Σ daily active ≤ days × MAU; order, splitting and
re-ingesting change nothing."""

from __future__ import annotations

import csv
import io
import math
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import metrics as metric_workflow

COLUMNS = ["user_id", "platform", "time", "active_seconds", "bytes", "sessions", "installs", "province"]
OFFSETS = ["+07:00", "Z", "-05:00", "+09:00", ""]

record = st.fixed_dictionaries({
    "user_id": st.sampled_from(["a", "b", "c", "Đức", "😀", "x,y", 'q"uote']),
    "platform": st.sampled_from(["zalo", "com.zing.zalo", "messenger", "mocha"]),
    "time": st.tuples(st.integers(1, 31), st.integers(0, 23), st.sampled_from(OFFSETS)).map(
        lambda t: f"2022-01-{t[0]:02d}T{t[1]:02d}:30:00{t[2]}"),
    "active_seconds": st.integers(0, 3000).map(str),
    "bytes": st.integers(0, 10**7).map(str),
    "sessions": st.integers(0, 3).map(str),
    "installs": st.integers(0, 1).map(str),
    "province": st.sampled_from(["", "Hà Nội", "Thừa Thiên Huế", "ho chi minh", "Long An"]),
})
records = st.lists(record, min_size=1, max_size=60)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _ingest(home: Path, parts: list[list[dict[str, str]]]) -> None:
    files = []
    for i, part in enumerate(parts):
        path = home.parent / f"{home.name}-{i}.csv"
        path.write_text(_csv(part), encoding="utf-8")
        files.append(path)
    ingest_workflow.ingest(home, "usage", files, "p")


def _metrics(home: Path, period: str, by: str = "platform") -> list[dict[str, object]]:
    return metric_workflow.metrics(home, metric_workflow.metric_request(period, by)).to_pylist()


def _same(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for k in x:
            u, v = x[k], y[k]
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12):
                    return False
            elif u != v:
                return False
    return True


@SETTINGS
@given(rows=records)
def test_mau_bounds_daily_actives(rows: list[dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "h"
        _ingest(home, [rows])
        for r in _metrics(home, "2022-01"):
            days = 31
            active_person_days = r["dau"] * days  # type: ignore[operator]
            assert r["mau"] <= active_person_days + 1e-9  # type: ignore[operator]
            assert active_person_days <= days * r["mau"] + 1e-9  # type: ignore[operator]


@SETTINGS
@given(rows=records, seed=st.integers(0, 10**6), cut=st.floats(0, 1))
def test_order_splitting_and_reingesting_change_nothing(rows: list[dict[str, str]], seed: int, cut: float) -> None:
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    k = int(len(shuffled) * cut)
    with tempfile.TemporaryDirectory() as tmp:
        one, split = Path(tmp) / "one", Path(tmp) / "split"
        _ingest(one, [rows])
        _ingest(split, [shuffled[:k], shuffled[k:]] if 0 < k < len(shuffled) else [shuffled])
        for period, by in (("2022-01", "platform"), ("2022-02", "platform"), ("2022-Q1", "province")):
            expected = _metrics(one, period, by)
            assert _same(_metrics(split, period, by), expected)
        _ingest(split, [rows, shuffled])  # re-ingesting (both orders) changes nothing
        assert _same(_metrics(split, "2022-Q1", "province"), _metrics(one, "2022-Q1", "province"))
