"""The geometry of the dashboard's choropleth: a tile grid of the 34 (or 63) provinces (see
:mod:`thuocdo.web.dashboard.tilegrid`), each square filled by the class of its value, with the legend's classes.

Classes are the quintiles of the values shown (fewer when there are few distinct values), so that each colour
holds about as many provinces; a province without a published value is grey and says so in its tooltip, with
the reason when its figure is withheld.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from typing import Any

from thuocdo.web.dashboard.tilegrid import GRID_SIZE, layout

#: light to dark navy: five classes
PALETTE = ("#dce6f2", "#a8c3e0", "#6d9bcb", "#356fa8", "#14365d")
MISSING = "#eceff1"
CELL, GAP = 54, 4


def _breaks(values: list[float], classes: int) -> list[float]:
    """Upper bounds of each class but the last (quantiles of the values)."""
    ordered = sorted(values)
    cuts: list[float] = []
    for k in range(1, classes):
        cut = ordered[min(len(ordered) - 1, math.ceil(k * len(ordered) / classes) - 1)]
        if not cuts or cut > cuts[-1]:
            cuts.append(cut)
    return cuts[: classes - 1]


def tile_map(values: dict[str, float | None], names: dict[str, str], units: str,
             label: Callable[[float], str], labels: dict[str, list[str]] | None = None,
             withheld: dict[str, str] | None = None) -> dict[str, Any]:
    """Squares (x, y, fill, tooltip, short label) for every province of the 34 or 63 units, and the legend
    (colour, from, to). `names` are the tooltips' names; `labels` the tiles' lines (default: the name on two
    lines); `withheld` the reason a province's figure is not published."""
    place = layout(units)
    shown = [v for code, v in values.items() if code in place and v is not None and math.isfinite(v)]
    cuts = _breaks(shown, len(PALETTE)) if shown else []
    palette = PALETTE[len(PALETTE) - len(cuts) - 1:] if shown else PALETTE

    def klass(v: float) -> int:
        return next((i for i, c in enumerate(cuts) if v <= c), len(cuts))

    cells = []
    for code, (col, row) in sorted(place.items()):
        v = values.get(code)
        known = v is not None and math.isfinite(v)
        name = names.get(code, code)
        fill = palette[klass(v)] if known and v is not None else MISSING
        dark = known and v is not None and klass(v) >= len(cuts) - 1 and len(cuts) >= 2
        reason = (withheld or {}).get(code)
        cells.append({"code": code, "name": name, "x": col * (CELL + GAP), "y": row * (CELL + GAP), "size": CELL,
                      "fill": fill, "ink": "#ffffff" if dark else "#1c2430",
                      "lines": (labels or {}).get(code) or textwrap.wrap(name, 10)[:2],
                      "value": label(v) if known and v is not None else "–",
                      "title": f"{name}: {label(v)}" if known and v is not None else
                      f"{name}: không công bố ({reason})" if reason else f"{name}: không có số liệu công bố"})
    columns, rows = GRID_SIZE[units]
    legend = []
    for i, colour in enumerate(palette if shown else ()):
        members = [v for v in shown if klass(v) == i]  # each class from its smallest to its largest value
        if members:
            legend.append({"fill": colour, "low": label(min(members)), "high": label(max(members))})
    return {"cells": cells, "width": columns * (CELL + GAP) - GAP, "height": rows * (CELL + GAP) - GAP,
            "legend": legend, "missing": MISSING, "units": units,
            "any_missing": any(c["fill"] == MISSING for c in cells)}
