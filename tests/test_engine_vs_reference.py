"""The engine against the independent reference (tests/reference.py) on a randomised, tricky fixture."""

from __future__ import annotations

import math

import pytest

from tests import reference
from tests.conftest import Cli, write
from tests.random_fixture import FIXTURE_PLATFORMS, make_fixture, to_csv_text, to_ndjson_text, weights_to_csv_text
from thuocdo.catalog import load_catalog

COMPARED = ["mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs", "stickiness"]
RENAMED = {"rank": "rank_in_category", "mau_change_prev": "mau_change_previous", "mau_change_yoy": "mau_change_year"}


def resolve_province(value: str, on: object) -> str | None:
    resolved = load_catalog().resolve_province(value, on)  # type: ignore[arg-type]
    return resolved.new_code if resolved else None


def accepted(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """The engine rejects a row whose province cannot be resolved (the reference would keep it as unknown)."""
    keep = []
    for r in records:
        province = (r.get("province") or "").strip()
        parsed = reference.parse_time(r.get("time"))
        if province and parsed is not None and resolve_province(province, parsed[1]) is None:
            continue
        keep.append(r)
    return keep


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[Cli, dict[str, list[dict[str, str]]], dict[str, list[dict[str, str]]]]:
    tmp = tmp_path_factory.mktemp("ref")
    fx = make_fixture(seed=20220401, n_records=3000)
    cli = Cli(tmp / "home")
    a, b = fx.records_by_source["panel-a"], fx.records_by_source["telco-b"]
    assert cli("ingest", "weights", write(tmp / "w.csv", weights_to_csv_text(fx.weights_by_source["panel-a"])),
               "--source", "panel-a").exit_code == 0
    half = len(a) // 2  # panel-a in two CSV files, telco-b as NDJSON
    for name, rows in (("a1.csv", a[:half]), ("a2.csv", a[half:])):
        result = cli("ingest", "usage", write(tmp / name, to_csv_text(rows)), "--source", "panel-a")
        assert result.exit_code == 0, result.stderr
    result = cli("ingest", "usage", write(tmp / "b.ndjson", to_ndjson_text(b)), "--source", "telco-b")
    assert result.exit_code == 0, result.stderr
    records = {s: accepted(r) for s, r in fx.records_by_source.items()}
    return cli, records, fx.weights_by_source


def _close(a: object, b: object) -> bool:
    none_a = a is None or (isinstance(a, float) and math.isnan(a))
    none_b = b is None or (isinstance(b, float) and math.isnan(b))
    if none_a or none_b:
        return none_a and none_b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize("period", ["2022-Q1", "2022-01", "2022-03", "2021-12", "2021-Q4", "2021-Q1"])
@pytest.mark.parametrize("by_province", [False, True])
def test_engine_matches_reference(case: tuple, period: str, by_province: bool) -> None:
    cli, records, weights = case
    catalog = load_catalog()
    expected = reference.reference_metrics(
        records, weights, period, resolve_platform=catalog.resolve_platform, resolve_province=resolve_province,
        platform_info=FIXTURE_PLATFORMS, by_province=by_province)
    got = cli.metrics(period, *(["--by", "province"] if by_province else []))
    keys = ["source", "platform"] + (["province"] if by_province else [])
    exp_rows = {tuple(None if (isinstance(v, float) and math.isnan(v)) else v for v in (r[k] for k in keys)): r
                for r in expected.to_dict("records")}
    got_rows = {tuple(r[k] for k in keys): r for r in got}
    assert set(got_rows) == set(exp_rows)
    assert len(got_rows) > 5
    for key, e in exp_rows.items():
        g = got_rows[key]
        for col in COMPARED + list(RENAMED):
            ours = g[RENAMED.get(col, col)]
            assert _close(ours, e[col]), f"{period} {key} {col}: engine {ours} ≠ reference {e[col]}"


def test_category_shares_match_reference(case: tuple) -> None:
    cli, records, weights = case
    catalog = load_catalog()
    metrics = reference.reference_metrics(records, weights, "2022-Q1", resolve_platform=catalog.resolve_platform,
                                          resolve_province=resolve_province, platform_info=FIXTURE_PLATFORMS)
    expected = reference.reference_category_shares(metrics, "mau")
    got = {(r["source"], r["category"]): r for r in cli.metrics("2022-Q1", "--by", "category") if r["metric"] == "mau"}
    assert len(expected) >= 4
    for e in expected.to_dict("records"):
        g = got[(e["source"], e["category"])]
        assert _close(g["domestic_share"], e["domestic_share"])
        assert _close(g["domestic_foreign_ratio"], e["ratio"])
