"""Retention cohorts (thuocdo.metrics.retention, `thuocdo retention`, GET /api/v1/retention) on a panel small
enough to compute by hand: persons leaving and returning, weights changing between months."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import Cli, write

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
# Zalo: u1 in January, February, March; u2 in January and March (leaves, returns); u3 in January only (79);
# u4 from February (not in the January cohort). Facebook: u5 in January and February.
ACTIVE = [("u1", "zalo", 1, "01"), ("u1", "zalo", 2, "01"), ("u1", "zalo", 3, "01"),
          ("u2", "zalo", 1, "01"), ("u2", "zalo", 3, "01"), ("u3", "zalo", 1, "79"),
          ("u4", "zalo", 2, "01"), ("u4", "zalo", 3, "01"), ("u5", "facebook", 1, "01"), ("u5", "facebook", 2, "01")]
RECORDS = HEADER + "".join(f"r{i},{user},{platform},2022-{month:02d}-10T10:00:00+07:00,60,1000,1,0,{province}\n"
                           for i, (user, platform, month, province) in enumerate(ACTIVE))
# January weights (the cohort's); February's differ, and must not be used for the January cohort
WEIGHTS = "user_id,month,weight\n" + "".join(
    f"{u},2022-01,{w}\n" for u, w in (("u1", 10), ("u2", 20), ("u3", 30), ("u5", 5))) + "".join(
    f"{u},2022-02,{w}\n" for u, w in (("u1", 100), ("u4", 7), ("u5", 50)))
Z95 = 1.959964


@pytest.fixture
def panel(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("ingest", "weights", write(tmp_path / "w.csv", WEIGHTS), "--source", "panel").exit_code == 0
    assert cli("ingest", "usage", write(tmp_path / "r.csv", RECORDS), "--source", "panel").exit_code == 0
    return cli


def rows(cli: Cli, *args: str) -> list[dict[str, object]]:
    result = cli("retention", "--cohort", "2022-01", "--months", "2", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def test_retention_of_a_cohort_with_persons_leaving_and_returning(panel: Cli) -> None:
    found = {(r["platform"], r["months_since"]): r for r in rows(panel)}
    zalo = [found[("zalo", k)] for k in range(3)]
    # the January cohort of Zalo: u1 (10), u2 (20), u3 (30) = 60; February: u1 = 10; March: u1 and u2 = 30
    assert [r["month"] for r in zalo] == ["2022-01", "2022-02", "2022-03"]
    assert [r["cohort_persons"] for r in zalo] == [60, 60, 60]
    assert [r["retained_persons"] for r in zalo] == [60, 10, 30]
    assert [r["retained_share"] for r in zalo] == pytest.approx([1, 1 / 6, 0.5])
    # a panel: Σw²(y − p)² / (Σw)², here in March p = 1/2: (100 + 400)·¼ + 900·¼ = 350
    assert zalo[2]["margin"] == pytest.approx(Z95 * math.sqrt(350) / 60)
    assert zalo[0]["margin"] == pytest.approx(0)
    facebook = [found[("facebook", k)] for k in range(3)]
    assert [r["retained_share"] for r in facebook] == [1, 1, 0] and facebook[0]["cohort_persons"] == 5
    assert zalo[0]["name"] == "Zalo" and "province" not in zalo[0]


def test_retention_by_the_cohorts_province_and_for_one_platform(panel: Cli) -> None:
    found = {(r["province"], r["months_since"]): r for r in rows(panel, "--by", "province", "--platform", "zalo")}
    assert {r["platform"] for r in found.values()} == {"zalo"}
    assert [found[("01", k)]["retained_persons"] for k in range(3)] == [30, 10, 30]  # u1, u2
    assert [found[("79", k)]["retained_persons"] for k in range(3)] == [30, 0, 0]  # u3


def test_months_without_data_are_left_out(panel: Cli) -> None:
    result = panel("retention", "--cohort", "2022-02", "--months", "5", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert sorted({r["month"] for r in json.loads(result.stdout)}) == ["2022-02", "2022-03"]


@pytest.mark.parametrize(("args", "message"), [
    (["--cohort", "2022-01", "--months", "-1"], "từ 0 trở lên"),
    (["--cohort", "2022-13", "--months", "1"], ""),
    (["--cohort", "2022-Q1", "--months", "1"], "một tháng"),
    (["--cohort", "2021-06", "--months", "1"], "chưa có số liệu tháng 2021-06"),
    (["--cohort", "2022-01", "--months", "1", "--platform", "khong-co"], "Không có nền tảng"),
    (["--cohort", "2022-01", "--months", "1", "--source", "national"], "từng nguồn"),
    (["--cohort", "2022-01", "--months", "1", "--source", "khong-co"], "Không có nguồn"),
])
def test_bad_requests_exit_2_with_a_reason(panel: Cli, args: list[str], message: str) -> None:
    result = panel("retention", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_the_api_gives_the_same_table_to_analysts_only(panel: Cli, home: Path) -> None:
    from fastapi.testclient import TestClient

    from thuocdo.web.app import create_app
    from thuocdo.workflows.access import Access

    analyst, _ = Access(home).create_key("analyst")
    operator, _ = Access(home).create_key("source", source="panel")
    with TestClient(create_app(home)) as client:
        answer = client.get("/api/v1/retention", params={"cohort": "2022-01", "months": 2},
                            headers={"Authorization": f"Bearer {analyst}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"] == rows(panel) and answer.json()["months"] == ["2022-01", "2022-02", "2022-03"]
        refused = client.get("/api/v1/retention", params={"cohort": "2022-01", "months": 2},
                             headers={"Authorization": f"Bearer {operator}"})
        assert refused.status_code == 403
        missing = client.get("/api/v1/retention", params={"cohort": "2021-06", "months": 2},
                             headers={"Authorization": f"Bearer {analyst}"})
        assert missing.status_code == 404


def test_a_late_record_kept_in_the_month_s_patch_counts(panel: Cli, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """u3 (January cohort, weight 30) comes back in February by a late file: its person-months go to February's
    patch (the share limits lifted: the panel is tiny) and retention reads the base and the patch."""
    from thuocdo.rollups import person_rollups, rebuild
    from thuocdo.store import Store

    monkeypatch.setattr(rebuild, "INCREMENTAL_SHARE", 1e9)
    monkeypatch.setattr(person_rollups, "COMPACT_SHARE", 1e9)
    late = HEADER + "late1,u3,zalo,2022-02-20T10:00:00+07:00,60,1000,1,0,79\n"
    assert panel("ingest", "usage", write(tmp_path / "late.csv", late), "--source", "panel").exit_code == 0
    with Store(panel.home) as store:
        assert len(store.files("person_month_patch", source="panel", months=["2022-02"])) == 1
    zalo = {r["months_since"]: r for r in rows(panel) if r["platform"] == "zalo"}
    # February: u1 (10) and now u3 (30) of the cohort's 60
    assert zalo[1]["retained_persons"] == 40 and zalo[1]["retained_share"] == pytest.approx(2 / 3)
    assert zalo[2]["retained_persons"] == 30  # March unchanged: u1 and u2
