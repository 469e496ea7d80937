"""The scorecard report on a hand-made set of indicator values whose scores are worked out by hand.

Hà Nội scores 0.8 and Hải Phòng 0.6 on every DTI 2025 main index of 2024, so their totals and pillars are 0.8
and 0.6 (a weighted mean of equal values); no other former province has values. In the 34 view, Hà Nội is
unchanged and the new Hải Phòng (Hải Phòng + Hải Dương) is the mean of its former units with values: 0.6.
Online dossiers 45.8% against the 2024 target of 50%: attainment 45.8 / 50 = 91.6%, gap 4.2 points, missed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from docx import Document

from tests.conftest import Cli, write
from thuocdo.catalog.frameworks import load_framework
from thuocdo.reports.render import to_markdown
from thuocdo.reports.scorecard import build_scorecard
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.reports import scorecard_inputs


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scorecard")
    leaves = [n.indicator for n in load_framework("dti-2025").level("province").leaves if n.indicator]
    lines = ["entity,indicator,period,value"]
    for entity, value in (("Hà Nội", 0.8), ("Hải Phòng", 0.6)):
        lines += [f"{entity},{ind},2024,{value}" for ind in leaves]
    lines.append("VN,online_dossiers,2024,45.8")
    home = folder / "home"
    report = ingest_workflow.ingest(home, "indicators", [write(folder / "v.csv", "\n".join(lines) + "\n")], "tinh")
    assert not report.errors and report.rejected == 0
    return home


@pytest.fixture(scope="module")
def text(home: Path) -> str:
    return to_markdown(build_scorecard(scorecard_inputs(home, 2024, runs=50)))


def test_rankings_in_the_63_and_34_views(text: str) -> None:
    assert "| 1 | Hà Nội | 0,8000 | 1 | – | 0,8000 | 0,8000 | 0,8000 |" in text
    assert "| 2 | Hải Phòng | 0,6000 | 2 | – | 0,6000 | 0,6000 | 0,6000 |" in text
    assert "Dẫn đầu là Hà Nội (0,8000) và Hải Phòng (0,6000); cuối bảng là Hải Phòng (0,6000)." in text
    assert "Điểm trung bình của 2 đơn vị là 0,7000." in text
    assert "### 1. Xếp hạng 63 tỉnh, thành phố (trước ngày 01/7/2025)" in text
    assert "### 2. Xếp hạng 34 tỉnh, thành phố (từ ngày 01/7/2025)" in text
    assert "trung bình điểm các chỉ số chính của các tỉnh cũ hợp thành" in text  # only in the 34 view
    assert text.count("| – | Hà Giang | – |") == 1  # a former province without values, in the 63 view only
    assert "Năm 2024 Hà Nội dẫn đầu".lower() in text.lower()


def test_targets_with_attainment_gap_and_status(text: str) -> None:
    assert ("| Tỷ lệ hồ sơ trực tuyến toàn trình (cả nước) | 2024 | 50% | 45,8% (2024) | 91,6% | 4,2 điểm % "
            "| Không đạt |") in text
    assert "| Thứ hạng EGDI của Liên hợp quốc | 2030 | hạng 50 | – | – | – | Chưa có số liệu |" in text
    assert "Có 1 mục tiêu chậm tiến độ hoặc không đạt: tỷ lệ hồ sơ trực tuyến toàn trình (cả nước) (2024)." in text


def test_vietnamese_only_nfc_and_numbered_charts(text: str) -> None:
    assert unicodedata.normalize("NFC", text) == text
    visible = re.sub(r"\]\([^)]*\)", "]", text)
    for word in ("None", "nan", "province", "achieved", "missed", "percent", "dti_"):
        assert word not in visible, word
    assert re.findall(r"\*Hình (\d+)\.", text) == ["1", "2", "3", "4", "5"]  # pillars and intervals ×2, targets


def test_the_command_writes_every_format(home: Path, tmp_path: Path) -> None:
    result = Cli(home)("scorecard", "--year", "2024", "--runs", "0", "--format", "md,docx", "--output", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bao-cao-chi-so-chuyen-doi-so-2024.docx",
                                                           "bao-cao-chi-so-chuyen-doi-so-2024.md", "bieu-do"]
    doc = Document(str(tmp_path / "bao-cao-chi-so-chuyen-doi-so-2024.docx"))
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert {"Hà Nội", "0,8000", "91,6%", "Không đạt"} <= cells
    missing = Cli(home)("scorecard", "--year", "2019", "--runs", "0", "--output", tmp_path)
    assert missing.exit_code == 2 and "Chưa có giá trị chỉ số cấp tỉnh của dti-2022 cho năm 2019" in missing.stderr
