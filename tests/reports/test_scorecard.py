"""The scorecard report on a hand-made set of indicator values whose scores are worked out by hand.

Hà Nội scores 0.8 and Hải Phòng 0.6 on every DTI 2025 main index of 2024, so their totals and pillars are 0.8
and 0.6 (a weighted mean of equal values); no other former province has values. In the 34 view, Hà Nội is
unchanged and the new Hải Phòng (Hải Phòng + Hải Dương) is the mean of its former units with values: 0.6.
Online dossiers 45.8% against the 2024 target of 50%: gap 4.2 points, missed (a value for the target year falls
short); against the 2025 target of 80% with 38.0% in 2023: a trend of 7.8 points a year where 34.2 are needed:
behind. Huế appears under its 2024 name, Thừa Thiên Huế, in the 63 view. The values come from the source "tinh"
(measured or published, not illustrative), the 2023 dossiers value from "btttt-tong-ket-2024".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import pytest
from docx import Document

from tests.conftest import Cli, write
from thuocdo.catalog.frameworks import load_framework
from thuocdo.reports.issuance import IssueError, IssueSettings
from thuocdo.reports.model import Report
from thuocdo.reports.render import to_markdown
from thuocdo.reports.scorecard import build_scorecard
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.reports import scorecard_inputs


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scorecard")
    leaves = [n.indicator for n in load_framework("dti-2025").level("province").leaves if n.indicator]
    lines = ["entity,indicator,period,value"]
    for entity, value in (("Hà Nội", 0.8), ("Hải Phòng", 0.6), ("Thừa Thiên Huế", 0.5), ("TP. Hồ Chí Minh", 0.7)):
        lines += [f"{entity},{ind},2024,{value},,,," for ind in leaves]
    lines.append("VN,online_dossiers,2024,45.8,,,,")
    lines.append("VN,online_dossiers,2023,38.0,,,Báo cáo tổng kết năm 2024,btttt-tong-ket-2024")
    lines[0] = "entity,indicator,period,value,self_score,council_score,evidence,source"
    home = folder / "home"
    report = ingest_workflow.ingest(home, "indicators", [write(folder / "v.csv", "\n".join(lines) + "\n")], "tinh")
    assert not report.errors and report.rejected == 0
    return home


@pytest.fixture(scope="module")
def report(home: Path) -> Report:
    return build_scorecard(scorecard_inputs(home, 2024, runs=50))


@pytest.fixture(scope="module")
def text(report: Report) -> str:
    return to_markdown(report)


def test_rankings_in_the_63_and_34_views(text: str) -> None:
    assert "| 1 | Hà Nội | 0,8000 | 1 | – | 0,8000 | 0,8000 | 0,8000 |" in text
    assert "| 3 | Hải Phòng | 0,6000 | 3 | – | 0,6000 | 0,6000 | 0,6000 |" in text
    assert ("Dẫn đầu là Hà Nội (0,8000), TP. Hồ Chí Minh (0,7000) và Hải Phòng (0,6000); cuối bảng là "
            "Thừa Thiên Huế (0,5000).") in text
    assert "Điểm trung bình của 4 đơn vị là 0,6500." in text
    assert "### 1. Xếp hạng 63 tỉnh, thành phố (trước ngày 01/7/2025)" in text
    assert "### 2. Xếp hạng 34 tỉnh, thành phố (theo Nghị quyết 202/2025/QH15, từ ngày 01/7/2025)" in text
    assert "trung bình điểm các chỉ số chính của các tỉnh cũ hợp thành" in text  # only in the 34 view
    assert text.count("| – | Hà Giang | – |") == 1  # a former province without values, in the 63 view only
    assert "Năm 2024 Hà Nội dẫn đầu".lower() in text.lower()


def test_names_as_they_were(text: str) -> None:
    """The 63 view names the units of 2024 (Thừa Thiên Huế, not Huế), the 34 view those from 01/07/2025;
    Hồ Chí Minh City keeps its prefix."""
    table_63, table_34 = text.split("### 2. Xếp hạng 34", maxsplit=1)[0], text.split("### 2. Xếp hạng 34")[1]
    assert "| Thừa Thiên Huế |" in table_63 and "| Huế |" not in table_63
    assert "| Huế |" in table_34 and "Thừa Thiên Huế" not in table_34.split("## III")[0]
    assert "| TP. Hồ Chí Minh |" in text and "| Hồ Chí Minh |" not in text


def test_the_date_and_the_issuer_follow_what_the_report_cites(report: Report) -> None:
    """The 2024 scorecard cites Decision 405/QĐ-BKHCN (03/04/2025) and the 34 units of 01/07/2025: it is dated no
    earlier than 01/07/2025, so it is issued by the Ministry of Science and Technology (the Ministry of
    Information and Communications merged into it on 01/03/2025)."""
    cited = {c.reference: c.date for c in report.citations}
    assert cited["405/QĐ-BKHCN"] == dt.date(2025, 4, 3) and cited["202/2025/QH15"] == dt.date(2025, 7, 1)
    assert report.date >= max(cited.values()) and report.date == dt.date(2025, 7, 1)
    assert report.issuer == "BỘ KHOA HỌC VÀ CÔNG NGHỆ" and report.number.endswith("/BC-BKHCN")
    assert report.signer == report.issuer
    assert report.classification == "LƯU HÀNH NỘI BỘ"


def test_an_earlier_date_drops_what_did_not_exist_yet_or_fails(home: Path) -> None:
    """Dated 15/01/2025 (asked for), the scorecard cannot show the 34 units (from 01/07/2025) and cannot cite
    Decision 405/QĐ-BKHCN (03/04/2025): the 34 view is left out, and the citation is refused with the day to use."""
    early = IssueSettings(date=dt.date(2025, 1, 15))
    inputs = scorecard_inputs(home, 2024, runs=0, settings=early)
    assert [r.units for r in inputs.rankings] == ["63"]
    with pytest.raises(IssueError, match=r"405/QĐ-BKHCN \(03/4/2025\).*từ 03/4/2025"):
        build_scorecard(inputs, early)
    with pytest.raises(IssueError, match="không ban hành báo cáo này vào ngày 01/7/2025"):
        build_scorecard(scorecard_inputs(home, 2024, runs=0), IssueSettings(issuer="bo-tttt"))


def test_targets_with_unit_aware_gaps_paces_and_defined_statuses(text: str) -> None:
    assert ("| Tỷ lệ hồ sơ trực tuyến toàn trình (cả nước) | 2024 | 50% | 45,8% (2024) | 4,2 điểm % "
            "| +7,8 điểm %/năm (2 năm, 2023–2024) | – | Không đạt |") in text
    assert ("| Tỷ lệ hồ sơ trực tuyến toàn trình (cả nước) | 2025 | 80% | 45,8% (2024) | 34,2 điểm % "
            "| +7,8 điểm %/năm (2 năm, 2023–2024) | +34,2 điểm %/năm | Chậm tiến độ |") in text
    assert "| Thứ hạng EGDI của Liên hợp quốc | 2030 | hạng 50 | – | – | – | – | Chưa có số liệu |" in text
    for status in ("Đã đạt", "Không đạt", "Đúng tiến độ", "Chậm tiến độ", "Đi ngược mục tiêu", "Chưa đạt",
                   "Chưa có số liệu"):
        assert f"- {status}: " in text  # every status defined in the legend
    assert "mục tiêu ÷ thực tế" not in text
    assert "Không đạt (đã qua năm hạn): 1 mục tiêu — tỷ lệ hồ sơ trực tuyến toàn trình (cả nước) (2024)." in text


def test_every_actual_carries_its_source(text: str) -> None:
    assert ("| Tỷ lệ hồ sơ trực tuyến toàn trình (cả nước) | 2023 | 38% | Báo cáo tổng kết năm 2024 của Bộ Thông tin "
            "và Truyền thông (số liệu tổng hợp đã công bố) | Báo cáo tổng kết năm 2024 |") in text
    assert "| 2024 | 45,8% | nguồn dữ liệu «tinh» (số liệu tổng hợp đã công bố) | – |" in text
    assert "minh họa" not in text  # no illustrative source: no banner


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
    assert {"Hà Nội", "0,8000", "4,2 điểm %", "Không đạt"} <= cells
    missing = Cli(home)("scorecard", "--year", "2019", "--runs", "0", "--output", tmp_path)
    assert missing.exit_code == 2 and "Chưa có giá trị chỉ số cấp tỉnh của dti-2022 cho năm 2019" in missing.stderr
