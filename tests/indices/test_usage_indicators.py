"""Indicators computed from the usage metrics, on a hand-made panel whose shares are worked out by hand.

Six kinds of persons without weights, each kind twenty persons (so that every cell below is published: 20
panelists or more), one record per person, platform and month, every month of 2023-Q1 and 2023-Q2 (so a
quarter's MAU is the number of its users); the MAUs below are per twenty persons:

| quarter | zalo (vn) | messenger (foreign) | be (vn) |
|---|---|---|---|
| 2023-Q1 | h1 h2 h3 d1 | h1 d1 d2 | h4 |
| 2023-Q2 | h1 h2 h3 h4 d1 d2 | h1 | – |

h… live in Hà Nội (01), d… in Đà Nẵng (48). Nation: Vietnamese 5 then 6 (mean 5.5), all 8 then 7 (mean 7.5):
share 5.5 / 7.5 = 73.33%, ratio 5.5 / 2 = 275%; Zalo's year MAU (4 + 6) / 2 = 5. Hà Nội: Vietnamese 4 and 4 of
5 and 5: 80%, ratio 400%, Zalo (3 + 4) / 2 = 3.5. Đà Nẵng: Vietnamese 1 and 2 of 3 and 2: 1.5 / 2.5 = 60%,
ratio 150%, Zalo (1 + 2) / 2 = 1.5. Mocha (Vietnamese) has 3 panelists in Hà Nội in 2023-Q1: too few to publish,
so it is left out of every value (the values rest on published cells only) and nothing above changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli, write
from thuocdo.catalog import load_catalog
from thuocdo.indices.usage import COMPUTED_SOURCE
from thuocdo.workflows import indices as workflow
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows import store as store_workflow

USERS = {
    "2023-Q1": {"zalo": ["h1", "h2", "h3", "d1"], "messenger": ["h1", "d1", "d2"], "be": ["h4"]},
    "2023-Q2": {"zalo": ["h1", "h2", "h3", "h4", "d1", "d2"], "messenger": ["h1"]},
}
MONTHS = {"2023-Q1": ("01", "02", "03"), "2023-Q2": ("04", "05", "06")}
COPIES = 20  # persons of each kind


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("usage-indicators")
    lines = ["user_id,platform,time,active_seconds,sessions,province"]
    for quarter, platforms in USERS.items():
        for month in MONTHS[quarter]:
            for platform, persons in platforms.items():
                for p in persons:
                    province = "Hà Nội" if p.startswith("h") else "Đà Nẵng"
                    lines.extend(f"{p}-{i},{platform},2023-{month}-05T10:00:00+07:00,600,1,{province}"
                                 for i in range(COPIES))
            if quarter == "2023-Q1":  # a small cell, withheld: left out of the values
                lines.extend(f"h1-{i},mocha,2023-{month}-05T10:00:00+07:00,600,1,Hà Nội" for i in range(3))
    home = folder / "home"
    report = ingest_workflow.ingest(home, "usage", [write(folder / "usage.csv", "\n".join(lines) + "\n")], "panel")
    assert not report.errors and report.rejected == 0
    return home


def test_shares_ratios_and_penetration_for_the_nation_and_each_province(home: Path) -> None:
    first = workflow.compute_usage_indicators(home, 2023)
    assert (first.stored, first.rejected) == (9, 0)
    catalog = load_catalog()
    values = {(level, entity, indicator): v for level, entity, indicator, _p, v in workflow.read_computed(home, 2023)}
    expected = {
        ("nation", "VN", "domestic_mau_share"): 100 * 5.5 / 7.5,
        ("nation", "VN", "domestic_foreign_mau_ratio"): 275.0,
        ("nation", "VN", "top_domestic_penetration"): 100 * 5 * COPIES / catalog.mobile_internet_users(2023, None),
        ("province_new", "01", "domestic_mau_share"): 80.0,
        ("province_new", "01", "domestic_foreign_mau_ratio"): 400.0,
        ("province_new", "01", "top_domestic_penetration"):
            100 * 3.5 * COPIES / catalog.mobile_internet_users(2023, "01"),
        ("province_new", "48", "domestic_mau_share"): 60.0,
        ("province_new", "48", "domestic_foreign_mau_ratio"): 150.0,
        ("province_new", "48", "top_domestic_penetration"):
            100 * 1.5 * COPIES / catalog.mobile_internet_users(2023, "48"),
    }
    assert values.keys() == expected.keys()
    for key, value in expected.items():
        assert values[key] == pytest.approx(value, rel=1e-12), key


def test_recomputing_stores_nothing_twice_and_the_values_carry_their_provenance(home: Path) -> None:
    workflow.compute_usage_indicators(home, 2023)
    again = workflow.compute_usage_indicators(home, 2023, "panel")
    assert (again.stored, again.duplicates) == (0, 9)
    with store_workflow.open_store(home) as store:
        evidence = store.con.execute(
            "SELECT evidence FROM indicator_values WHERE source = ? AND entity = 'VN' AND indicator = ?",
            [COMPUTED_SOURCE, "top_domestic_penetration"]).fetchall()
    assert evidence == [("tính từ chỉ số sử dụng của nguồn panel, trung bình 2 quý có số liệu (2023-Q1, 2023-Q2); "
                         "nền tảng: zalo",)]


def test_the_command_prints_the_national_values_and_a_year_without_usage_fails(home: Path) -> None:
    cli = Cli(home)
    result = cli("compute-indicators", "--year", "2023")
    assert result.exit_code == 0, result.stderr
    assert "73,33%" in result.stdout and "275,00%" in result.stdout
    empty = cli("compute-indicators", "--year", "2019")
    assert empty.exit_code == 2
    assert "Chưa có số liệu sử dụng nào trong năm 2019" in empty.stderr
