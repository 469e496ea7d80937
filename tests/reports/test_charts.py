"""The report's charts, checked on the figure matplotlib lays out: what the reader sees agrees with the tables
(true values beyond a broken axis), legends name what the colours mean and cover nothing, and a trend of many
series is split into small multiples. Numbers keep the Vietnamese style."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pytest

from thuocdo.reports.charts import _STYLE, ATTAINMENT_CAP, SMALL_MULTIPLES_FROM, figure, render_png, render_svg
from thuocdo.reports.model import Chart
from thuocdo.reports.scorecard import ScorecardInputs, targets_section

CATEGORIES = ["liên lạc", "đi lại", "giao hàng, bưu chính", "mua sắm, thương mại điện tử", "tin tức",
              "chăm sóc sức khỏe", "du lịch", "học tập", "thanh toán số", "an toàn thông tin mạng",
              "chính quyền số, siêu ứng dụng", "mạng xã hội", "giải trí, truyền hình"]


def _target(label: str, attainment: float, status: str, status_vi: str) -> dict[str, Any]:
    return {"target": label, "indicator": label, "label": label, "target_year": 2025, "target_value": 50.0,
            "actual": 50.0 * attainment, "actual_year": 2024, "unit": "percent", "attainment": attainment,
            "gap": 0.0, "status": status, "status_vi": status_vi, "source": "Quyết định 411/QĐ-TTg",
            "needed_per_year": None, "observed_per_year": None, "pace_unit": "points", "series": 0}


@pytest.fixture
def laid_out() -> Any:
    """Lay a chart out as render_svg does and hand back the figure and a renderer (closed afterwards)."""
    figures = []

    def lay(chart: Chart) -> tuple[Any, Any]:
        with plt.rc_context(_STYLE):
            fig = figure(chart)
            fig.canvas.draw()
        figures.append(fig)
        return fig, fig.canvas.get_renderer()

    yield lay
    for fig in figures:
        plt.close(fig)


def test_attainment_shows_true_values_beyond_the_break_and_a_status_legend(laid_out: Any) -> None:
    section = targets_section("1", ScorecardInputs(2024, "DTI", "", "cấp tỉnh", [], [
        _target("Tỷ lệ dân số có tài khoản thanh toán điện tử", 1.74, "achieved", "Đã đạt"),
        _target("Tăng trưởng giao dịch qua Nền tảng tích hợp, chia sẻ dữ liệu quốc gia", 1.752, "achieved", "Đã đạt"),
        _target("Tỷ lệ hồ sơ trực tuyến toàn trình (cả nước)", 0.916, "missed", "Không đạt"),
        _target("Tỷ lệ người dân có hồ sơ sức khỏe điện tử", 0.667, "behind", "Chậm tiến độ"),
    ]))
    chart = section.charts[0]
    assert max(chart.data["values"]) == pytest.approx(1.752)  # the section no longer caps the values
    svg = render_svg(chart)
    for text in ("174,0%", "175,2%", "91,6%", "66,7%"):  # what the table says, nothing capped at "150,0%"
        assert text in svg, text
    assert "150,0%" not in svg
    assert "Trạng thái" in svg and "Đã đạt" in svg and "Không đạt" in svg and "Chậm tiến độ" in svg
    fig, renderer = laid_out(chart)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] < ATTAINMENT_CAP * 100 + 40  # the axis is broken, not stretched to 175%
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["Đã đạt", "Không đạt", "Chậm tiến độ"]
    assert legend.get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0  # under the plot
    full = fig.bbox
    for label in ax.get_yticklabels():  # long labels wrapped, inside the figure
        box = label.get_window_extent(renderer)
        assert box.x0 >= full.x0 and box.x1 <= full.x1, label.get_text()


def test_one_bar_legend_covers_neither_bar_nor_labels(laid_out: Any) -> None:
    chart = Chart("mau-x", "Một nền tảng", "bars", {"labels": ["Avast"], "values": [0.96], "errors": [0.298],
                                                    "domestic": [False]})
    fig, renderer = laid_out(chart)
    ax = fig.axes[0]
    legend = (fig.legends or [ax.get_legend()])[0]
    box = legend.get_window_extent(renderer)
    others = [ax.get_window_extent(renderer), *(t.get_window_extent(renderer) for t in ax.texts),
              *(t.get_window_extent(renderer) for t in ax.get_yticklabels()),
              *(t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text())]
    for other in others:
        assert not box.overlaps(other), (box, other)
    assert [t.get_text() for t in ax.texts] == ["0,96"]  # a value under 1 keeps two decimals, with a comma
    assert "Việt Nam" in render_svg(chart) and "Nước ngoài" in render_svg(chart)


def test_many_series_trend_becomes_small_multiples(laid_out: Any) -> None:
    quarters = ["I/2021", "II/2021", "III/2021", "IV/2021", "I/2022"]
    series = [{"label": c, "values": [10.0 + i, 12.0 + i, None, 14.5 + i, 15.25 + i], "domestic": True}
              for i, c in enumerate(CATEGORIES)]
    many = Chart("ty-trong-xu-huong", "Tỷ trọng", "trend", {"quarters": quarters, "series": series})
    fig, _ = laid_out(many)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(panels) == len(CATEGORIES) >= SMALL_MULTIPLES_FROM
    titles = [ax.get_title(loc="left").replace("\n", " ") for ax in panels]
    assert titles == CATEGORIES
    assert panels[0].get_ylim() == panels[-1].get_ylim()  # one shared scale
    assert [t.get_text() for t in panels[-1].texts] == ["27"]  # the last value of the last panel: 15,25 + 12
    few = Chart("xu-huong", "Vài nền tảng", "trend", {"quarters": quarters, "series": series[:4]})
    fig, _ = laid_out(few)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_legend().get_texts()) == 4
    assert render_png(many)[:4] == b"\x89PNG"
