"""`thuocdo demo` runs the whole pipeline end to end (on a small panel here)."""

from __future__ import annotations

import pytest

from tests.conftest import Cli


@pytest.mark.slow
def test_demo_runs_end_to_end(cli: Cli) -> None:
    result = cli("demo", "--persons", "150", "--seed", "7")
    assert result.exit_code == 0, result.stderr
    assert "Zalo" in result.stdout and "Tỷ trọng MAU của nền tảng Việt Nam" in result.stdout
    rows = {r["platform"]: r for r in cli.metrics("2022-Q1", "--source", "demo-panel")}
    assert rows["zalo"]["mau"] > rows["mocha"]["mau"] > 0  # calibrated audiences keep their order
    assert rows["vnexpress"]["visits"] == 135_700_000  # a published figure from the second source
    scorecard = (cli.home / "bao-cao" / "bao-cao-chi-so-chuyen-doi-so-2024.md").read_text(encoding="utf-8")
    assert "Xếp hạng 34 tỉnh, thành phố" in scorecard and "Tình hình thực hiện các mục tiêu quốc gia" in scorecard
    assert "Chỉ số tính từ dữ liệu sử dụng nền tảng số" in scorecard  # computed from the demo panel (2022)
    # the API step: 42 records posted (one repeated, one with an unknown platform), then the same batch again
    assert "API: lô 42 bản ghi" in result.stdout and "40 đã lưu, 1 trùng, 1 bị loại" in result.stdout
    assert "0 lưu thêm, 41 trùng" in result.stdout
    july = {r["platform"]: r for r in cli.metrics("2022-07", "--source", "demo-telco")}
    assert july["zalo"]["mau"] == 14 and july["mocha"]["mau"] == 13 and july["messenger"]["mau"] == 13
