"""MAU bands (thuocdo.metrics.bands, `thuocdo bands`, GET /api/v1/bands): counts by hand on small tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import Cli, write
from thuocdo.catalog import load_catalog
from thuocdo.metrics.bands import ThresholdError, bands, parse_thresholds

MAU = {"facebook": 25_000_000.0, "zalo": 10_000_000.0, "tiktok": 9_999_999.0, "shopee": 5_000_000.0,
       "momo": 1_000_000.0, "vneid": 999_999.0, "youtube": None}


def test_a_platform_on_a_threshold_goes_in_the_upper_band() -> None:
    table = pa.table({"platform": list(MAU), "mau": pa.array(list(MAU.values()), pa.float64())})
    found, missing = bands(table, load_catalog(), parse_thresholds(None), dt.date(2022, 3, 31))
    rows = found.to_pylist()
    assert [(r["band_low"], r["band_high"]) for r in rows] == [
        (10_000_000, None), (5_000_000, 10_000_000), (1_000_000, 5_000_000), (0, 1_000_000)]
    # >= 10 M: Facebook, Zalo (exactly 10 M); 5-10 M: TikTok, Shopee (exactly 5 M); 1-5 M: MoMo; below: VNeID
    assert [r["names"] for r in rows] == ["Facebook, Zalo", "TikTok, Shopee", "MoMo", "VNeID"]
    assert [(r["platforms"], r["vn_platforms"], r["foreign_platforms"]) for r in rows] == [
        (2, 1, 1), (2, 0, 2), (1, 1, 0), (1, 1, 0)]
    assert missing == 1  # YouTube has no figure


def test_names_are_those_of_the_period() -> None:
    table = pa.table({"platform": ["x"], "mau": [3.0]})
    before, _ = bands(table, load_catalog(), (2.0,), dt.date(2023, 6, 30))
    after, _ = bands(table, load_catalog(), (2.0,), dt.date(2023, 9, 30))
    assert before["names"][0].as_py() == "Twitter" and after["names"][0].as_py() == "X (Twitter)"


@pytest.mark.parametrize("text", ["5000000,10000000", "10,10", "0", "-1,-2", "abc", "", "10,inf", "nan"])
def test_thresholds_must_be_positive_and_strictly_decreasing(text: str) -> None:
    with pytest.raises(ThresholdError, match="Ngưỡng"):
        parse_thresholds(text)


def test_parsed_thresholds() -> None:
    assert parse_thresholds("3, 2,1.5") == (3.0, 2.0, 1.5)
    assert parse_thresholds(None) == (10_000_000.0, 5_000_000.0, 1_000_000.0)


HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
# Zalo: u1, u2, u3; Facebook: u1; MoMo: u2, u3 — January 2022
RECORDS = HEADER + "".join(f"r{i},{user},{platform},2022-01-0{i % 9 + 1}T10:00:00+07:00,60,1000,1,0,Hà Nội\n"
                           for i, (user, platform) in enumerate([("u1", "zalo"), ("u2", "zalo"), ("u3", "zalo"),
                                                                 ("u1", "facebook"), ("u2", "momo"), ("u3", "momo")]))


@pytest.fixture
def one_source(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("ingest", "usage", write(tmp_path / "r.csv", RECORDS), "--source", "op").exit_code == 0
    return cli


def test_the_command_counts_the_bands_of_the_default_source(one_source: Cli) -> None:
    result = one_source("bands", "--period", "2022-01", "--thresholds", "3,2", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["band_low"], r["band_high"], r["platforms"], r["vn_platforms"], r["names"]) for r in rows] == [
        (3, None, 1, 1, "Zalo"), (2, 3, 1, 1, "MoMo"), (0, 2, 1, 0, "Facebook")]
    shown = one_source("bands", "--period", "2022-01", "--thresholds", "3,2")
    assert shown.exit_code == 0 and "Zalo" in shown.stdout and "Số nền tảng" in shown.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--thresholds", "2,3"], "giảm dần"), (["--thresholds", "0"], "số dương"),
    (["--source", "không-có"], "Không có nguồn"), (["--period", "2022-13"], "")])
def test_bad_requests_exit_2_with_a_reason(one_source: Cli, args: list[str], message: str) -> None:
    period = [] if "--period" in args else ["--period", "2022-01"]
    result = one_source("bands", *period, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_the_api_gives_the_same_bands(one_source: Cli, home: Path) -> None:
    from fastapi.testclient import TestClient

    from thuocdo.web.app import create_app
    from thuocdo.workflows.access import Access

    key, _ = Access(home).create_key("analyst")
    with TestClient(create_app(home)) as client:
        answer = client.get("/api/v1/bands", params={"period": "2022-01", "thresholds": "3,2"},
                            headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["source"] == "op" and body["missing"] == 0
        assert [(r["platforms"], r["names"]) for r in body["rows"]] == [(1, "Zalo"), (1, "MoMo"), (1, "Facebook")]
        # the API takes the thresholds in any order, and refuses what is not a list of positive integers
        again = client.get("/api/v1/bands", params={"period": "2022-01", "thresholds": "2,3,3"},
                           headers={"Authorization": f"Bearer {key}"})
        assert again.status_code == 200 and again.json()["rows"] == body["rows"]
        bad = client.get("/api/v1/bands", params={"period": "2022-01", "thresholds": "0,3"},
                         headers={"Authorization": f"Bearer {key}"})
        assert bad.status_code == 422
