"""Charts of the report, drawn offline with matplotlib: SVG (text kept as text) for HTML/Markdown/PDF, PNG for DOCX.

Vietnamese platforms are drawn in red, foreign ones in grey; numbers on axes use the Vietnamese decimal comma.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from thuocdo.reports.model import Chart
from thuocdo.reports.vietnamese import format_number

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

DOMESTIC = "#c8102e"
FOREIGN = "#7f8c8d"
FONT = ["DejaVu Sans", "Liberation Sans", "Arial", "sans-serif"]
_STYLE: dict[RcKeyType, Any] = {"font.family": "sans-serif", "font.sans-serif": FONT, "font.size": 9,
                                "svg.fonttype": "none", "svg.hashsalt": "thuocdo", "axes.spines.top": False,
                                "axes.spines.right": False}
_LINE_COLOURS = ["#c8102e", "#1f4e79", "#e67e22", "#2e8b57", "#8e44ad", "#7f8c8d", "#b7950b", "#17a589",
                 "#5d6d7e", "#a93226", "#2874a6", "#af601a", "#196f3d"]


def _vn(decimals: int = 0) -> FuncFormatter:
    return FuncFormatter(lambda v, _: format_number(v, decimals))


def _figure(chart: Chart) -> Any:
    with plt.rc_context(_STYLE):
        match chart.kind:
            case "bars":
                return _bars(chart.data)
            case "shares":
                return _shares(chart.data)
            case "trend":
                return _trend(chart.data)
            case "pillars":
                return _pillars(chart.data)
            case "intervals":
                return _intervals(chart.data)
            case "attainment":
                return _attainment(chart.data)
            case _:
                raise ValueError(chart.kind)


def _bars(d: dict[str, Any]) -> Any:
    labels, values, errors = d["labels"][::-1], d["values"][::-1], d["errors"][::-1]
    colours = [DOMESTIC if x else FOREIGN for x in d["domestic"][::-1]]
    fig, ax = plt.subplots(figsize=(6.3, 0.32 * len(labels) + 0.9))
    ax.barh(labels, values, xerr=errors, color=colours, error_kw={"ecolor": "#333333", "capsize": 2, "lw": 0.8})
    top = max(v + e for v, e in zip(values, errors, strict=True)) if values else 1
    decimals = 2 if top < 1 else 1
    for y, v in enumerate(values):
        ax.text(v + (errors[y] or 0) + top * 0.01, y, format_number(v, decimals), va="center", fontsize=8)
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.set_major_formatter(_vn(1 if top < 5 else 0))
    ax.tick_params(axis="y", length=0)
    _legend_origin(ax)
    fig.tight_layout()
    return fig


def _legend_origin(ax: Any) -> None:
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=DOMESTIC, label="Việt Nam"), Patch(color=FOREIGN, label="Nước ngoài")],
              loc="lower right", frameon=False, fontsize=8)


def _shares(d: dict[str, Any]) -> Any:
    labels, shares = d["labels"][::-1], [s * 100 for s in d["shares"][::-1]]
    fig, ax = plt.subplots(figsize=(6.3, 0.32 * len(labels) + 0.9))
    ax.barh(labels, shares, color=DOMESTIC, label="Việt Nam")
    ax.barh(labels, [100 - s for s in shares], left=shares, color=FOREIGN, label="Nước ngoài")
    for y, s in enumerate(shares):
        inside = s > 12
        ax.text(s - 1 if inside else s + 1, y, format_number(s, 1) + "%", va="center",
                ha="right" if inside else "left", fontsize=7.5,
                color="white" if inside else "white" if s > 85 else "black")
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.tick_params(axis="y", length=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _trend(d: dict[str, Any]) -> Any:
    fig, ax = plt.subplots(figsize=(6.3, 3.0))
    x = list(range(len(d["quarters"])))
    peak = 0.0
    for i, s in enumerate(d["series"]):
        pts = [(xi, v) for xi, v in zip(x, s["values"], strict=True) if v is not None]
        if not pts:
            continue
        peak = max(peak, *(v for _, v in pts))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3.5, lw=1.6,
                color=_LINE_COLOURS[i % len(_LINE_COLOURS)], label=s["label"],
                linestyle="-" if s.get("domestic", True) else "--")
    ax.set_xticks(x, d["quarters"])
    ax.set_ylim(0, peak * 1.12 if peak else 1)
    ax.yaxis.set_major_formatter(_vn(1 if peak < 5 else 0))
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7.5)
    fig.tight_layout()
    return fig


def _pillars(d: dict[str, Any]) -> Any:
    """Grouped horizontal bars: each unit's pillar scores (0–1), the first unit on top."""
    labels, series = d["labels"][::-1], d["series"]
    fig, ax = plt.subplots(figsize=(6.3, 0.42 * len(labels) + 1.0))
    height = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        values = [v if v is not None else 0.0 for v in s["values"][::-1]]
        ys = [y + (len(series) - 1 - i - (len(series) - 1) / 2) * height for y in range(len(labels))]
        ax.barh(ys, values, height=height, color=_LINE_COLOURS[i % len(_LINE_COLOURS)], label=s["label"])
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_vn(1))
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=len(series), frameon=False, fontsize=7.5)
    fig.tight_layout()
    return fig


def _intervals(d: dict[str, Any]) -> Any:
    """Each unit's rank (dot) and its 5–95% rank interval (line), rank 1 on top."""
    labels = d["labels"]
    n = len(labels)
    fig, ax = plt.subplots(figsize=(6.3, 0.14 * n + 1.0))
    ys = list(range(n))
    for y, lo, hi in zip(ys, d["low"], d["high"], strict=True):
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [y, y], color=FOREIGN, lw=1.2)
    ax.plot(d["rank"], ys, "o", color=DOMESTIC, markersize=2.8)
    ax.set_yticks(ys, labels, fontsize=6 if n > 40 else 7.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xlabel("Thứ hạng", fontsize=8)
    ax.xaxis.set_major_formatter(_vn(0))
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    fig.tight_layout()
    return fig


def _attainment(d: dict[str, Any]) -> Any:
    """Attainment of each target (share of the target reached, capped at 150%), with the 100% line."""
    labels, values, colours = d["labels"][::-1], [v * 100 for v in d["values"][::-1]], d["colours"][::-1]
    fig, ax = plt.subplots(figsize=(6.3, 0.3 * len(labels) + 0.9))
    ax.barh(labels, values, color=colours)
    for y, v in enumerate(values):
        ax.text(v + 1, y, format_number(v, 1) + "%", va="center", fontsize=7.5)
    ax.axvline(100, color="#333333", lw=0.8, linestyle="--")
    ax.set_xlim(0, max(115.0, max(values, default=0) + 15))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.tick_params(axis="y", length=0, labelsize=7.5)
    fig.tight_layout()
    return fig


def render_svg(chart: Chart) -> str:
    """The chart as an SVG element to embed in HTML: no XML prolog, ids prefixed with the chart's key so that
    several charts in one page never share an id."""
    fig = _figure(chart)
    buf = io.StringIO()
    with plt.rc_context(_STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "thuocdo"})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    ids = set(re.findall(r'id="([^"]+)"', text))
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{chart.key}-{m.group(1)}"', text)
    return re.sub(r"#([A-Za-z_][\w.-]*)",
                  lambda m: f"#{chart.key}-{m.group(1)}" if m.group(1) in ids else m.group(0), text)


def render_png(chart: Chart, dpi: int = 200) -> bytes:
    fig = _figure(chart)
    buf = io.BytesIO()
    with plt.rc_context(_STYLE):
        fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
