"""The geometry of the dashboard's inline SVG line charts."""

from __future__ import annotations

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
