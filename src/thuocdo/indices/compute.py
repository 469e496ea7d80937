"""The index pipeline: impute → availability threshold → normalise → aggregate the tree → pillar views → rank.

>>> from thuocdo.indices.tree import IndexTree
>>> tree = IndexTree.from_rows([("I", None, 1), ("a", "I", 1), ("b", "I", 3)])
>>> spec = IndexSpec(tree, ("x_a", "x_b"), imputation=("mean",))
>>> r = compute_index(spec, ["P", "Q", "R"], np.array([[0.2, 0.4], [0.6, np.nan], [1.0, 0.8]]))
>>> r.score().round(2).tolist(), r.rank.tolist(), r.filled[1].tolist()
([0.35, 0.6, 0.85], [3.0, 2.0, 1.0], ['', 'mean'])
>>> rebuilt = compute_index(IndexSpec.from_steps(r.log).with_weights({"b": 1}), r.entities, r.values)
>>> rebuilt.score().round(2).tolist()
[0.3, 0.6, 0.9]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from thuocdo.indices.aggregate import aggregate_tree, weighted_arithmetic
from thuocdo.indices.impute import coverage, impute_group_mean, impute_last_value, impute_mean, impute_zero
from thuocdo.indices.rank import rank_descending, rank_within_groups
from thuocdo.indices.spec import IndexSpec, Step


@dataclass(frozen=True)
class Prepared:
    """The values after imputation, with what was filled and who falls below the availability threshold."""

    values: np.ndarray  # (entities, leaves)
    filled: np.ndarray  # (entities, leaves) of str: "" or the imputation method that filled the cell
    coverage: np.ndarray  # (entities,) share of scored indicators present before imputation
    excluded: np.ndarray  # (entities,) bool: below the threshold, or without any value


def prepare(spec: IndexSpec, values: np.ndarray, *, groups: Sequence[object] | None = None,
            previous: np.ndarray | None = None) -> Prepared:
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(spec.tree.leaves):
        raise ValueError(f"values must be (entities, {len(spec.tree.leaves)} leaves), got {x.shape}")
    leaf_weights = spec.tree.weights[[spec.tree.position[c] for c in spec.tree.leaves]]
    cov = coverage(x, leaf_weights)
    filled = np.full(x.shape, "", dtype=object)
    for method in spec.imputation:
        match method:
            case "mean":
                x, mask = impute_mean(x)
            case "group_mean":
                if groups is None:
                    raise ValueError("group_mean imputation needs groups")
                x, mask = impute_group_mean(x, groups)
            case "last_value":
                if previous is None:
                    mask = np.zeros(x.shape, dtype=bool)
                else:
                    x, mask = impute_last_value(x, previous)
            case "zero":
                x, mask = impute_zero(x)
            case _:
                raise AssertionError(method)
        filled[mask & (filled == "")] = method
    return Prepared(x, filled, cov, (cov < spec.min_coverage) | (cov == 0))  # no data at all: never scored


@dataclass(frozen=True)
class IndexResult:
    spec: IndexSpec
    entities: tuple[str, ...]
    values: np.ndarray  # the input values (entities, leaves), before imputation
    scores: np.ndarray  # (entities, nodes) in spec.tree.codes order; leaves hold normalised values
    views: dict[str, np.ndarray]
    rank: np.ndarray
    prepared: Prepared
    log: tuple[Step, ...]

    def score(self, code: str | None = None) -> np.ndarray:
        return self.scores[:, self.spec.tree.position[code or self.spec.tree.root]]

    @property
    def filled(self) -> np.ndarray:
        return self.prepared.filled


def compute_index(spec: IndexSpec, entities: Sequence[str], values: np.ndarray, *,
                  groups: Sequence[object] | None = None, previous: np.ndarray | None = None,
                  rank_groups: Sequence[object] | None = None) -> IndexResult:
    """Score and rank entities on a spec.

    ``values``: (entities, leaves) raw indicator values in ``spec.tree.leaves`` order, NaN where missing;
    ``groups``: each entity's group for ``group_mean`` imputation; ``previous``: earlier periods' values
    (most recent first) for ``last_value``; ``rank_groups``: rank inside each group (ministries).
    """
    raw = np.asarray(values, dtype=float)
    prepared = prepare(spec, raw, groups=groups, previous=previous)
    tree = spec.tree
    leaf_scores = spec.normalisation.apply(prepared.values, tree.leaf_directions)
    scores = aggregate_tree(tree, leaf_scores, method=spec.aggregation)
    scores[prepared.excluded] = np.nan
    views = {}
    for code, members in spec.views:
        cols = [tree.position[m] for m in members]
        views[code] = weighted_arithmetic(scores[:, cols], tree.weights[cols])
    root = scores[:, 0]
    if rank_groups is not None:
        rank = rank_within_groups(root, rank_groups, spec.rank_method, spec.rank_decimals)
    else:
        rank = rank_descending(root, spec.rank_method, spec.rank_decimals)
    counts = {m: int(np.sum(prepared.filled == m)) for m in spec.imputation}
    data_steps: dict[str, dict[str, Any]] = {
        "impute": {"filled": counts},
        "coverage": {"excluded": [e for e, x in zip(entities, prepared.excluded, strict=True) if x]},
        "rank": {"groups": rank_groups is not None},
    }
    log = tuple(Step(s.name, {**s.params, **data_steps.get(s.name, {})}) for s in spec.steps())
    return IndexResult(spec, tuple(entities), raw, scores, views, rank, prepared, log)
