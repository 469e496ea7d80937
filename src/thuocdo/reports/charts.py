"""Charts of the report, drawn offline with matplotlib: SVG (text kept as text) for HTML/Markdown/PDF, PNG for DOCX.

Vietnamese platforms are drawn in red, foreign ones in grey; numbers on axes use the Vietnamese decimal comma.
Legends sit outside the plotting area (they never cover a bar or its label); a trend of more than
``SMALL_MULTIPLES_FROM`` series is drawn as small multiples (one panel per series, the others in light grey
behind it); the attainment chart breaks its axis at ``ATTAINMENT_CAP`` and prints every bar's true value.
"""

from __future__ import annotations

import io
import re
import textwrap
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
#: a trend with more series than this is drawn as small multiples
SMALL_MULTIPLES_FROM = 7
#: the attainment chart's axis stops here (150%); longer bars are broken and labelled with their true value
ATTAINMENT_CAP = 1.5
#: labels of the attainment chart wrap at this many characters
_LABEL_WIDTH = 56


def _vn(decimals: int = 0) -> FuncFormatter:
    return FuncFormatter(lambda v, _: format_number(v, decimals))


def figure(chart: Chart) -> Any:
    """The chart as a matplotlib figure (the caller closes it)."""
    return _figure(chart)


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
    for y, v in enumerate(values):
        ax.text(v + (errors[y] or 0) + top * 0.01, y, format_number(v, 2 if v < 1 else 1), va="center", fontsize=8)
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.set_major_formatter(_vn(1 if top < 5 else 0))
    ax.tick_params(axis="y", length=0)
    _legend_origin(fig, ax)
    return fig


def _legend_origin(fig: Any, ax: Any) -> None:
    """The origin legend under the plot, outside it: with one or two bars a legend inside covers them."""
    from matplotlib.patches import Patch

    _legend_below(fig, [Patch(color=DOMESTIC, label="Việt Nam"), Patch(color=FOREIGN, label="Nước ngoài")])


def _legend_below(fig: Any, handles: list[Any], title: str | None = None) -> None:
    """Lay the figure out, add room under it and put the legend there, across the figure's width."""
    _tight(fig)
    columns = min(len(handles), 4)
    rows = -(-len(handles) // columns)
    _room_below(fig, 0.12 + 0.2 * rows + (0.2 if title else 0.0))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.01), ncol=columns, frameon=False,
               fontsize=7.5, title=title, title_fontsize=7.5)


def _tight(fig: Any) -> None:
    """`tight_layout`, plus a margin for the labels outside the axes: text measured at the figure's 100 dpi comes
    out up to a few percent wider at other resolutions (the DOCX's 200-dpi PNG, the SVG in a PDF), enough to cut
    the first letters of a long label at the figure's edge."""
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    for ax in fig.axes:
        box = ax.get_position()
        tight = ax.get_tightbbox(renderer)
        left = max(box.x0 * width - tight.x0, 0.0) * 0.1 / width
        right = max(tight.x1 - box.x1 * width, 0.0) * 0.12 / width
        ax.set_position([box.x0 + left, box.y0, box.width - left - right, box.height])


def _room_below(fig: Any, inches: float) -> None:
    """Grow the figure by `inches` at the bottom and keep the axes where they are, for a legend under them."""
    width, height = fig.get_size_inches()
    for ax in fig.axes:
        box = ax.get_position()
        ax.set_position([box.x0, (box.y0 * height + inches) / (height + inches), box.width,
                         box.height * height / (height + inches)])
    fig.set_size_inches(width, height + inches)


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
    _tight(fig)
    return fig


def _trend(d: dict[str, Any]) -> Any:
    if len(d["series"]) >= SMALL_MULTIPLES_FROM:
        return _small_multiples(d)
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
    _tight(fig)
    return fig


def _small_multiples(d: dict[str, Any]) -> Any:
    """One small panel per series (its name above it, its last value at the end of its line), every other
    series drawn thin and light grey behind it, one shared scale: readable where 13 lines in one chart are not."""
    series = [s for s in d["series"] if any(v is not None for v in s["values"])]
    columns = 4
    rows = -(-len(series) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.3, 1.45 * rows + 0.3), sharex=True, sharey=True,
                             squeeze=False)
    x = list(range(len(d["quarters"])))
    peak = max((v for s in series for v in s["values"] if v is not None), default=0.0)
    decimals = 1 if peak < 5 else 0

    def points(s: dict[str, Any]) -> tuple[list[int], list[float]]:
        pts = [(xi, v) for xi, v in zip(x, s["values"], strict=True) if v is not None]
        return [p[0] for p in pts], [p[1] for p in pts]

    for i, ax in enumerate(axes.flat):
        if i >= len(series):
            ax.axis("off")
            continue
        for other in series:
            if other is not series[i]:
                ax.plot(*points(other), color="#d5d8dc", lw=0.8)
        xs, ys = points(series[i])
        colour = DOMESTIC if series[i].get("domestic", True) else "#1f4e79"
        ax.plot(xs, ys, color=colour, lw=1.8, marker="o", markersize=2.5)
        ax.annotate(format_number(ys[-1], decimals), (xs[-1], ys[-1]), xytext=(3, 3), textcoords="offset points",
                    fontsize=7, color=colour)
        title = textwrap.wrap(series[i]["label"], 24)
        ax.set_title("\n".join(title[:2]) + ("…" if len(title) > 2 else ""), fontsize=7, loc="left", pad=2)
        ax.grid(axis="y", color="#eeeeee", lw=0.5)
        ax.tick_params(labelsize=6.5, length=2)
    first = axes.flat[0]
    first.set_ylim(0, peak * 1.2 if peak else 1)
    ends = [0, len(x) - 1] if len(x) > 1 else [0]
    first.set_xticks(ends, [d["quarters"][i] for i in ends])  # the first and last quarters: the span
    first.set_xlim(-0.3, len(x) - 0.7)
    first.yaxis.set_major_formatter(_vn(decimals))
    for ax in axes.flat:
        ax.xaxis.set_tick_params(labelbottom=True)
        for label, align in zip(ax.get_xticklabels(), ("left", "right"), strict=False):
            label.set_horizontalalignment(align)
    fig.tight_layout(h_pad=0.5, w_pad=0.6)
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
    _tight(fig)
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
    _tight(fig)
    return fig


def _attainment(d: dict[str, Any]) -> Any:
    """Attainment of each target (share of the target reached) with the 100% line. The axis stops at
    ATTAINMENT_CAP: a longer bar is cut there with a break mark (two slanted strokes) and an arrow, and its label
    gives the true value, as the table does. A legend names each status by its colour."""
    from matplotlib.patches import Patch

    labels = [textwrap.fill(label, _LABEL_WIDTH) for label in d["labels"][::-1]]
    values = [v * 100 for v in d["values"][::-1]]
    colours = d["colours"][::-1]
    cap = ATTAINMENT_CAP * 100
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = plt.subplots(figsize=(6.3, 0.17 * lines + 0.08 * len(labels) + 0.8))  # 25 targets fit a page
    ys = list(range(len(labels)))
    ax.barh(ys, [min(v, cap) for v in values], color=colours)
    for y, v in zip(ys, values, strict=True):
        text = format_number(v, 1) + "%"
        if v > cap:  # the break: white slanted strokes across the bar's end, an arrow on, the true value beyond
            for dx in (-7.0, -4.5):
                ax.plot([cap + dx - 1.2, cap + dx + 1.2], [y - 0.42, y + 0.42], color="white", lw=1.6,
                        solid_capstyle="butt")
            ax.annotate("", xy=(cap + 7, y), xytext=(cap, y),
                        arrowprops={"arrowstyle": "-|>", "color": colours[y], "lw": 1.2, "shrinkA": 0, "shrinkB": 0})
            ax.text(cap + 8, y, text, va="center", fontsize=7.5, fontweight="bold")
        else:
            ax.text(v + 1.5, y, text, va="center", fontsize=7.5)
    ax.axvline(100, color="#333333", lw=0.8, linestyle="--")
    ax.set_yticks(ys, labels)
    over = any(v > cap for v in values)
    ax.set_xlim(0, cap + 32 if over else max(115.0, max(values, default=0) + 15))
    ax.set_xticks([t for t in (0, 25, 50, 75, 100, 125, 150) if t <= (cap if over else ax.get_xlim()[1])])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.tick_params(axis="y", length=0, labelsize=7.5)
    statuses = d.get("statuses")
    handles = []
    if statuses:
        seen: dict[str, str] = {}
        for status, colour in zip(d["statuses"], d["colours"], strict=True):
            seen.setdefault(status, colour)
        handles = [Patch(color=c, label=s) for s, c in seen.items()]
    if handles:
        _legend_below(fig, handles, "Trạng thái")
    else:
        _tight(fig)
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
