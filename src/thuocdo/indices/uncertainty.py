"""Uncertainty and sensitivity of ranks, vectorised: every Monte Carlo run is a row of one numpy batch.

Each run multiplies every weight by an independent factor drawn uniformly from [1 − spread, 1 + spread]
and, when alternatives are given, picks one (normalisation, aggregation) pair at random. The result gives
each entity's median rank and its 5–95% interval. Influence of an indicator: how far ranks move, on average,
when it is left out (``leave_one_out``), and the first-order sensitivity index of the runs' rank shifts to
each weight and to the choice of method (``sensitivity``).

>>> from thuocdo.indices.tree import IndexTree
>>> tree = IndexTree.from_rows([("I", None, 1), ("a", "I", 1), ("b", "I", 1)])
>>> spec = IndexSpec(tree, ("a", "b"))
>>> x = np.array([[0.9, 0.1], [0.5, 0.5], [0.1, 0.2]])
>>> mc = monte_carlo(spec, ["P", "Q", "R"], x, runs=200, spread=0.5, seed=1)
>>> mc.nominal_rank.tolist(), mc.p05.tolist(), mc.p95.tolist()
([1.0, 1.0, 3.0], [1.0, 1.0, 3.0], [2.0, 2.0, 3.0])
>>> leave_one_out(spec, x).round(3).tolist()  # without a: ranks 3,1,2 (shifts 2,0,1); without b: 1,2,3
[1.0, 0.333]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from thuocdo.indices.aggregate import aggregate_tree
from thuocdo.indices.compute import prepare
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.rank import rank_descending, rank_within_groups
from thuocdo.indices.spec import IndexSpec


@dataclass(frozen=True)
class Alternative:
    normalisation: Normalisation
    aggregation: str = "arithmetic"


#: a common set of method alternatives for indicators on any scale (geometric on [1, 100], as COINr advises)
DEFAULT_ALTERNATIVES = (
    Alternative(Normalisation("min_max")),
    Alternative(Normalisation("z_score")),
    Alternative(Normalisation("rank")),
    Alternative(Normalisation("min_max", lo=1.0, hi=100.0), "geometric"),
)


@dataclass(frozen=True)
class MonteCarloResult:
    entities: tuple[str, ...]
    nominal_rank: np.ndarray  # (entities,) with the spec's own weights and methods
    ranks: np.ndarray  # (runs, entities)
    multipliers: np.ndarray  # (runs, nodes) weight factors, in spec.tree.codes order
    choice: np.ndarray  # (runs,) index into alternatives (0 when there are none)
    alternatives: tuple[Alternative, ...]
    median: np.ndarray
    p05: np.ndarray
    p95: np.ndarray

    @property
    def mean_shift(self) -> np.ndarray:
        """(runs,) mean absolute difference between each run's ranks and the nominal ranks."""
        return np.asarray(np.nanmean(np.abs(self.ranks - self.nominal_rank), axis=1), dtype=float)


def _ranks(root: np.ndarray, spec: IndexSpec, rank_groups: Sequence[object] | None) -> np.ndarray:
    if rank_groups is not None:
        return rank_within_groups(root, rank_groups, spec.rank_method, spec.rank_decimals)
    return rank_descending(root, spec.rank_method, spec.rank_decimals)


def monte_carlo(spec: IndexSpec, entities: Sequence[str], values: np.ndarray, *, runs: int = 1000,
                spread: float = 0.25, alternatives: Sequence[Alternative] = (), seed: int = 0, chunk: int = 250,
                groups: Sequence[object] | None = None, previous: np.ndarray | None = None,
                rank_groups: Sequence[object] | None = None) -> MonteCarloResult:
    """Ranks under ``runs`` random draws of the weights (and of the methods, from ``alternatives``)."""
    if not 0.0 <= spread < 1.0:
        raise ValueError("spread must be in [0, 1)")
    prepared = prepare(spec, values, groups=groups, previous=previous)
    tree = spec.tree
    rng = np.random.default_rng(seed)
    multipliers = rng.uniform(1.0 - spread, 1.0 + spread, size=(runs, len(tree.codes)))
    alts = tuple(alternatives) or (Alternative(spec.normalisation, spec.aggregation),)
    choice = rng.integers(0, len(alts), size=runs) if alternatives else np.zeros(runs, dtype=int)
    ranks = np.full((runs, len(entities)), np.nan)
    for a, alt in enumerate(alts):
        leaf_scores = alt.normalisation.apply(prepared.values, tree.leaf_directions)
        picked = np.flatnonzero(choice == a)
        for start in range(0, len(picked), chunk):
            rows = picked[start:start + chunk]
            root = aggregate_tree(tree, leaf_scores, tree.weights * multipliers[rows], alt.aggregation)[..., 0]
            root[:, prepared.excluded] = np.nan
            ranks[rows] = _ranks(root, spec, rank_groups)
    nominal_scores = aggregate_tree(tree, spec.normalisation.apply(prepared.values, tree.leaf_directions),
                                    method=spec.aggregation)[:, 0]
    nominal_scores[prepared.excluded] = np.nan
    nominal = _ranks(nominal_scores, spec, rank_groups)
    with warnings.catch_warnings():  # an entity that is never scored has no rank: NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        p05, median, p95 = (np.nanpercentile(ranks, q, axis=0, method="inverted_cdf") if runs
                            else np.full(len(entities), np.nan) for q in (5, 50, 95))
    return MonteCarloResult(tuple(entities), nominal, ranks, multipliers, choice, alts, median, p05, p95)


def leave_one_out(spec: IndexSpec, values: np.ndarray, *, groups: Sequence[object] | None = None,
                  previous: np.ndarray | None = None, rank_groups: Sequence[object] | None = None) -> np.ndarray:
    """For each leaf (``spec.tree.leaves`` order): the mean absolute rank shift when its weight is set to 0."""
    prepared = prepare(spec, values, groups=groups, previous=previous)
    tree = spec.tree
    leaf_scores = spec.normalisation.apply(prepared.values, tree.leaf_directions)
    weights = np.tile(tree.weights, (len(tree.leaves) + 1, 1))  # row 0: nominal; row i+1: leaf i dropped
    for i, code in enumerate(tree.leaves):
        weights[i + 1, tree.position[code]] = 0.0
    root = aggregate_tree(tree, leaf_scores, weights, spec.aggregation)[..., 0]
    root[:, prepared.excluded] = np.nan
    ranks = _ranks(root, spec, rank_groups)
    return np.asarray(np.nanmean(np.abs(ranks[1:] - ranks[0]), axis=1), dtype=float)


def first_order_indices(inputs: np.ndarray, output: np.ndarray, bins: int = 10) -> np.ndarray:
    """Var(E[Y | Xᵢ]) ÷ Var(Y) for each input column, estimated by binning Xᵢ into equal-count bins
    (a categorical input with few values is grouped by value).

    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(size=(20000, 2))
    >>> first_order_indices(x, 2 * x[:, 0] + x[:, 1]).round(1).tolist()  # exact: 0.8 and 0.2
    [0.8, 0.2]
    """
    x = np.asarray(inputs, dtype=float)
    y = np.asarray(output, dtype=float)
    total = np.var(y)
    if total == 0:
        return np.zeros(x.shape[1])
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        col = x[:, j]
        values = np.unique(col)
        if len(values) <= bins:
            labels = np.searchsorted(values, col)
        else:
            edges = np.quantile(col, np.linspace(0, 1, bins + 1)[1:-1])
            labels = np.searchsorted(edges, col)
        counts = np.bincount(labels)
        means = np.bincount(labels, weights=y) / np.where(counts > 0, counts, 1)
        out[j] = np.sum(counts * (means - y.mean()) ** 2) / len(y) / total
    return out


def sensitivity(mc: MonteCarloResult, codes: Sequence[str]) -> dict[str, float]:
    """First-order sensitivity of the runs' mean rank shift to each node's weight factor (``codes``: the
    spec's ``tree.codes``) and, under the key ``"method"``, to the choice of method."""
    inputs = np.column_stack([mc.multipliers, mc.choice])
    s = first_order_indices(inputs, mc.mean_shift)
    result = {code: float(v) for code, v in zip(codes, s[:-1], strict=True)}
    if len(mc.alternatives) > 1:
        result["method"] = float(s[-1])
    return result
