"""Second, deliberately naive implementations (plain Python loops, no numpy tricks) to check the engine against."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

NAN = float("nan")


def present(values: Sequence[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def min_max(column: Sequence[float], direction: int = 1) -> list[float]:
    xs = [direction * v for v in column]
    ok = present(xs)
    lo, hi = min(ok), max(ok)
    return [NAN if math.isnan(v) else (0.5 if hi == lo else (v - lo) / (hi - lo)) for v in xs]


def z_score(column: Sequence[float], direction: int = 1) -> list[float]:
    xs = [direction * v for v in column]
    ok = present(xs)
    mean, sd = statistics.mean(ok), statistics.stdev(ok)
    return [NAN if math.isnan(v) else (v - mean) / sd for v in xs]


def rank_min_desc(values: Sequence[float]) -> list[float]:
    """1 + the number of strictly greater values (competition ranking)."""
    ok = present(values)
    return [NAN if math.isnan(v) else 1.0 + sum(1 for w in ok if w > v) for v in values]


def rank_average_asc(values: Sequence[float]) -> list[float]:
    ok = present(values)
    out = []
    for v in values:
        if math.isnan(v):
            out.append(NAN)
            continue
        below = sum(1 for w in ok if w < v)
        equal = sum(1 for w in ok if w == v)
        out.append(below + (equal + 1) / 2)
    return out


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    pairs = [(v, w) for v, w in zip(values, weights, strict=True) if not math.isnan(v)]
    total = sum(w for _, w in pairs)
    return NAN if total == 0 else sum(v * w for v, w in pairs) / total


def weighted_geometric(values: Sequence[float], weights: Sequence[float]) -> float:
    pairs = [(v, w) for v, w in zip(values, weights, strict=True) if not math.isnan(v)]
    total = sum(w for _, w in pairs)
    return NAN if total == 0 else math.prod(v ** (w / total) for v, w in pairs)


def tree_scores(rows: Sequence[tuple[str, str | None, float]], leaf_values: dict[str, float]) -> dict[str, float]:
    """Every node's score by recursion over (code, parent, weight) rows."""
    children: dict[str, list[tuple[str, float]]] = {}
    for code, parent, weight in rows:
        if parent is not None:
            children.setdefault(parent, []).append((code, weight))

    def score(code: str) -> float:
        if code not in children:
            return leaf_values[code]
        kids = children[code]
        return weighted_mean([score(c) for c, _ in kids], [w for _, w in kids])

    return {code: score(code) for code, _, _ in rows}
