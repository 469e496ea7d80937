"""The geometry of the dashboard's inline SVG line charts."""

from __future__ import annotations

import itertools
import math
from typing import Any

from thuocdo.web.dashboard.periods import period_label


def line_chart(points: list[tuple[str, float | None]], label: Any, width: int = 1100,
               height: int = 300) -> dict[str, Any]:
    """An SVG line chart's geometry: one point per period (None: a gap), y from 0, four gridlines."""
    left, right, top, bottom = 90, 40, 16, 40
    values = [v for _, v in points if v is not None]
    top_value = _nice(max(values)) if values else 1.0
    n = max(len(points) - 1, 1)
    x = [left + (width - left - right) * i / n for i in range(len(points))]

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_value)

    segments: list[list[str]] = []
    current: list[str] = []
    dots = []
    for (period, v), xi in zip(points, x, strict=True):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{xi:.1f},{y(v):.1f}")
        dots.append({"x": round(xi, 1), "y": round(y(v), 1), "title": f"{period_label(period, True)}: {label(v)}"})
    if current:
        segments.append(current)
    grid = [{"y": round(y(top_value * k / 4), 1), "label": label(top_value * k / 4)} for k in range(5)]
    step = max(1, math.ceil(len(points) / 9))
    ticks = [{"x": round(xi, 1), "label": f"{int(p[5:7])}/{p[:4]}"}
             for i, ((p, _), xi) in enumerate(zip(points, x, strict=True)) if i % step == 0 and "Q" not in p]
    return {"width": width, "height": height, "lines": [" ".join(s) for s in segments], "dots": dots, "grid": grid,
            "ticks": ticks, "left": left, "right": width - right, "bottom": height - bottom}


def _nice(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (the top of a chart's axis)."""
    if value <= 0:
        return 1.0
    scale: float = 10 ** math.floor(math.log10(value))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= value)


def quarter_tick(label: str) -> str:
    """'2022-Q1' → 'I/2022'; a month '2022-01' → '1/2022'."""
    year, part = label[:4], label[5:]
    if part.startswith("Q"):
        return f"{('I', 'II', 'III', 'IV')[int(part[1]) - 1]}/{year}"
    return f"{int(part)}/{year}"


def small_chart(periods: list[str], series: list[dict[str, Any]], label: Any, width: int = 300,
                height: int = 150) -> dict[str, Any]:
    """A small multi-line chart's geometry (one panel of small multiples): `series` are dicts with `name`, `css`
    and `values` (one per period, None for a gap); y from 0 to a nice top, three gridlines, the first and last
    periods as ticks, and each line's last value written at its end."""
    left, right, top, bottom = 66, 66, 8, 24
    values = [v for s in series for v in s["values"] if v is not None]
    top_value = _nice(max(values)) if values else 1.0
    n = max(len(periods) - 1, 1)
    x = [left + (width - left - right) * i / n for i in range(len(periods))]

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / top_value)

    lines = []
    for s in series:
        segments: list[list[str]] = [[]]
        dots: list[dict[str, Any]] = []
        for period, v, xi in zip(periods, s["values"], x, strict=True):
            if v is None:
                segments.append([])
                continue
            segments[-1].append(f"{xi:.1f},{y(v):.1f}")
            dots.append({"x": round(xi, 1), "y": round(y(v), 1),
                         "title": f"{s['name']}, {period_label(period)}: {label(v)}"})
        last = dots[-1] if dots else None
        lines.append({"name": s["name"], "css": s["css"], "points": [" ".join(seg) for seg in segments if seg],
                      "dots": dots, "end": None if last is None else
                      {"x": last["x"] + 6, "y": last["y"] + 4,
                       "text": label(next(v for v in reversed(s["values"]) if v is not None))}})
    _spread([line["end"] for line in lines if line["end"]])
    grid = [{"y": round(y(top_value * k / 2), 1), "label": label(top_value * k / 2)} for k in range(3)]
    ends = [0, len(periods) - 1] if len(periods) > 1 else [0]
    ticks = [{"x": round(x[i], 1), "label": quarter_tick(periods[i]), "anchor": "start" if i == 0 else "end"}
             for i in ends] if periods else []
    return {"width": width, "height": height, "lines": lines, "grid": grid, "ticks": ticks, "left": left,
            "right": width - right, "bottom": height - bottom}


def _spread(labels: list[dict[str, Any]], gap: float = 11.0) -> None:
    """Move end labels apart vertically so that two lines ending close together keep legible labels."""
    labels.sort(key=lambda lab: lab["y"])
    for upper, lower in itertools.pairwise(labels):
        if lower["y"] - upper["y"] < gap:
            middle = (upper["y"] + lower["y"]) / 2
            upper["y"], lower["y"] = round(middle - gap / 2, 1), round(middle + gap / 2, 1)
