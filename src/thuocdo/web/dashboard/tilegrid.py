"""The tile-grid map of Vietnam's provinces: one square per province, placed roughly where the province lies.

No free-licensed province boundaries can be had on this project's machines (the packages that carry Vietnam's
administrative units, `vietnamadminunits` among them, ship names, codes and centre points but no shapes; the
packages with shapes are under licences that forbid redistribution or require a vendor's branding). A tile grid
is the standard cartographic answer for a choropleth of units of unequal size: every unit gets the same area,
so a small province (Bắc Ninh) counts as much to the eye as a large one (Nghệ An).

The squares are placed by :func:`layout` from each province's centre (latitude, longitude, rounded to 0.01°,
from `vietnamadminunits`' dataset, MIT licence): the centres are scaled onto a grid of the given size and each
province takes a cell so that the total squared distance from its scaled centre is as small as a local search
finds (moves to a free cell and swaps of two provinces, until none helps). The result is deterministic.
"""

from __future__ import annotations

import functools

#: centre (latitude, longitude) of each of the 34 units in force since 2025-07-01
CENTRES_34: dict[str, tuple[float, float]] = {
    "01": (21.00, 105.70), "04": (22.75, 106.08), "08": (22.49, 105.10), "11": (21.48, 103.23), "12": (22.32, 103.19),
    "14": (21.19, 104.07), "15": (22.06, 104.35), "19": (22.02, 105.82), "20": (21.77, 106.73), "22": (21.26, 107.22),
    "24": (21.24, 106.17), "25": (20.71, 105.33), "31": (20.88, 106.47), "33": (20.45, 106.46), "37": (20.31, 106.05),
    "38": (20.05, 105.32), "40": (19.24, 104.94), "42": (18.29, 105.73), "44": (17.24, 106.53), "46": (16.33, 107.52),
    "48": (15.63, 107.97), "51": (14.77, 108.14), "52": (13.89, 108.44), "56": (12.07, 108.96), "66": (12.71, 108.47),
    "68": (11.67, 107.97), "75": (11.44, 107.03), "79": (10.99, 106.64), "80": (10.69, 106.12), "82": (10.43, 106.00),
    "86": (10.00, 106.29), "91": (10.18, 105.10), "92": (9.74, 105.76), "96": (9.14, 105.18),
}
#: centre (latitude, longitude) of each of the 63 units in force before 2025-07-01
CENTRES_63: dict[str, tuple[float, float]] = {
    "01": (21.03, 105.83), "02": (22.77, 104.94), "04": (22.64, 106.25), "06": (22.30, 105.88), "08": (22.17, 105.31),
    "10": (22.28, 104.19), "11": (21.81, 103.08), "12": (22.36, 103.27), "14": (21.17, 104.01), "15": (21.68, 104.57),
    "17": (20.69, 105.31), "19": (21.56, 105.88), "20": (21.86, 106.63), "22": (21.24, 107.20), "24": (21.30, 106.63),
    "25": (21.26, 105.13), "26": (21.36, 105.55), "27": (21.12, 106.11), "30": (20.91, 106.39), "31": (20.84, 106.69),
    "33": (20.85, 106.02), "34": (20.54, 106.39), "35": (20.58, 105.92), "36": (20.28, 106.21), "37": (20.21, 105.92),
    "38": (19.83, 105.59), "40": (19.15, 104.85), "42": (18.25, 105.69), "44": (17.46, 106.25), "45": (16.67, 107.01),
    "46": (16.46, 107.59), "48": (16.05, 108.20), "49": (15.60, 107.86), "51": (15.08, 108.71), "52": (14.17, 108.90),
    "54": (13.09, 109.09), "56": (12.21, 109.09), "58": (11.70, 108.90), "60": (11.06, 107.95), "62": (14.52, 107.86),
    "64": (13.77, 108.24), "66": (12.71, 108.24), "67": (12.30, 107.76), "68": (11.58, 108.14), "70": (11.75, 106.72),
    "72": (11.35, 106.06), "74": (11.14, 106.63), "75": (11.11, 107.20), "77": (10.54, 107.24), "79": (10.82, 106.63),
    "80": (10.69, 106.21), "82": (10.42, 106.30), "83": (10.11, 106.44), "84": (9.76, 106.44), "86": (10.09, 106.02),
    "87": (10.49, 105.69), "89": (10.52, 105.13), "91": (9.82, 105.13), "92": (10.05, 105.75), "93": (9.76, 105.64),
    "94": (9.62, 105.88), "95": (9.29, 105.50), "96": (8.96, 105.13),
}
#: grid sizes (columns, rows), tall like the country, and how much more a row's error weighs than a column's
#: (chosen by eye so that neighbours stay neighbours: Nghệ An under Thanh Hóa, Huế under Quảng Trị)
GRID_SIZE = {"34": (6, 11), "63": (8, 16)}
ROW_WEIGHT = {"34": 1.0, "63": 2.0}
NORTH, SOUTH, WEST, EAST = 23.0, 8.9, 102.9, 109.4


def _scaled(centre: tuple[float, float], columns: int, rows: int) -> tuple[float, float]:
    lat, lon = centre
    return (lon - WEST) / (EAST - WEST) * (columns - 1), (NORTH - lat) / (NORTH - SOUTH) * (rows - 1)


def _cost(point: tuple[float, float], cell: tuple[int, int], row_weight: float) -> float:
    return (point[0] - cell[0]) ** 2 + row_weight * (point[1] - cell[1]) ** 2


@functools.cache
def layout(units: str) -> dict[str, tuple[int, int]]:
    """Province code → (column, row) of its square, row 0 at the top (north), for the 34 or the 63 units."""
    centres = CENTRES_34 if units == "34" else CENTRES_63
    columns, rows = GRID_SIZE[units]
    weight = ROW_WEIGHT[units]

    def cost(point: tuple[float, float], cell: tuple[int, int]) -> float:
        return _cost(point, cell, weight)

    points = {code: _scaled(c, columns, rows) for code, c in sorted(centres.items())}
    cells = [(x, y) for y in range(rows) for x in range(columns)]
    taken: dict[tuple[int, int], str] = {}
    place: dict[str, tuple[int, int]] = {}
    for code, point in sorted(points.items(), key=lambda kv: (kv[1][1], kv[1][0])):  # north first
        cell = min((c for c in cells if c not in taken), key=lambda c: (cost(point, c), c))
        taken[cell], place[code] = code, cell
    improved = True
    while improved:
        improved = False
        for code in sorted(place):
            here = place[code]
            for cell in cells:
                other = taken.get(cell)
                if other == code:
                    continue
                before = cost(points[code], here) + (cost(points[other], cell) if other else 0.0)
                after = cost(points[code], cell) + (cost(points[other], here) if other else 0.0)
                if after < before - 1e-9:
                    del taken[here]
                    if other:
                        place[other], taken[here] = here, other
                    place[code], taken[cell] = cell, code
                    here = cell
                    improved = True
    return place
