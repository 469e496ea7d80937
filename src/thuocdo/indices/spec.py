"""How an index is built, as one value: the tree, the indicators of its leaves and the parameters of every
step. ``IndexSpec.steps()`` is the step log (plain JSON-able parameters) and ``IndexSpec.from_steps`` rebuilds
the spec from it, so a published index can be recomputed — or recomputed with other weights.

>>> import json
>>> from thuocdo.indices.tree import IndexTree
>>> tree = IndexTree.from_rows([("I", None, 1), ("a", "I", 1), ("b", "I", 3)])
>>> spec = IndexSpec(tree, ("x_a", "x_b"), Normalisation("min_max"))
>>> [s.name for s in spec.steps()]
['tree', 'impute', 'coverage', 'normalise', 'aggregate', 'views', 'rank']
>>> IndexSpec.from_steps(json.loads(json.dumps([s.as_dict() for s in spec.steps()]))) == spec
True
>>> spec.with_weights({"b": 1}).tree.weight("b")
1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from thuocdo.catalog.frameworks import FrameworkLevel
from thuocdo.indices.aggregate import AGGREGATIONS
from thuocdo.indices.impute import IMPUTATIONS
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.rank import RANK_METHODS
from thuocdo.indices.tree import IndexTree, TreeNode

__all__ = ["IndexSpec", "Normalisation", "Step", "spec_from_framework"]


@dataclass(frozen=True)
class Step:
    """One step of the computation and its parameters (plain values only)."""

    name: str
    params: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, **self.params}


@dataclass(frozen=True)
class IndexSpec:
    tree: IndexTree
    indicators: tuple[str, ...]  # the indicator feeding each leaf, in tree.leaves order
    normalisation: Normalisation = field(default_factory=Normalisation)
    aggregation: str = "arithmetic"
    imputation: tuple[str, ...] = ()  # applied in order, e.g. ("last_value", "zero")
    min_coverage: float = 0.0  # entities with a smaller share of indicators (before imputation) get no score
    rank_method: str = "min"
    rank_decimals: int | None = None  # round scores before ranking (ties as published)
    views: tuple[tuple[str, tuple[str, ...]], ...] = ()  # pillar views: (code, member nodes)

    def __post_init__(self) -> None:
        if len(self.indicators) != len(self.tree.leaves):
            raise ValueError(f"{len(self.indicators)} indicators for {len(self.tree.leaves)} leaves")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}")
        if any(m not in IMPUTATIONS or m == "none" for m in self.imputation):
            raise ValueError(f"unknown imputation in {self.imputation!r} (known: {', '.join(IMPUTATIONS[1:])})")
        if self.rank_method not in RANK_METHODS:
            raise ValueError(f"unknown rank method {self.rank_method!r}")
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ValueError("min_coverage must be between 0 and 1")
        known = set(self.tree.codes)
        for code, members in self.views:
            if not set(members) <= known:
                raise ValueError(f"view {code} names unknown nodes {sorted(set(members) - known)}")

    def with_weights(self, weights: Mapping[str, float]) -> IndexSpec:
        return replace(self, tree=self.tree.with_weights(weights))

    def steps(self) -> tuple[Step, ...]:
        return (
            Step("tree", {"nodes": self.tree.rows(), "indicators": list(self.indicators)}),
            Step("impute", {"methods": list(self.imputation)}),
            Step("coverage", {"min_coverage": self.min_coverage}),
            Step("normalise", self.normalisation.params()),
            Step("aggregate", {"method": self.aggregation}),
            Step("views", {"views": {code: list(members) for code, members in self.views}}),
            Step("rank", {"method": self.rank_method, "decimals": self.rank_decimals}),
        )

    @classmethod
    def from_steps(cls, steps: Sequence[Mapping[str, Any] | Step]) -> IndexSpec:
        """The spec recorded in a step log (``Step`` values or their ``as_dict()`` form)."""
        by_name = {}
        for s in steps:
            d = s.as_dict() if isinstance(s, Step) else dict(s)
            by_name[d.pop("step")] = d
        norm = dict(by_name["normalise"])
        method = norm.pop("method")
        norm = {k: tuple(v) if isinstance(v, list) else v for k, v in norm.items()
                if k in ("lo", "hi", "low", "high", "target", "cap")}
        return cls(
            tree=IndexTree(tuple(TreeNode(str(c), p, float(w), int(d)) for c, p, w, d in by_name["tree"]["nodes"])),
            indicators=tuple(by_name["tree"]["indicators"]),
            normalisation=Normalisation(method, **norm),
            aggregation=by_name["aggregate"]["method"],
            imputation=tuple(by_name["impute"]["methods"]),
            min_coverage=float(by_name["coverage"]["min_coverage"]),
            rank_method=by_name["rank"]["method"],
            rank_decimals=by_name["rank"]["decimals"],
            views=tuple((code, tuple(m)) for code, m in by_name["views"]["views"].items()),
        )


def spec_from_framework(level: FrameworkLevel, *, main_only: bool = False) -> IndexSpec:
    """The spec of a framework level: points as weights, its normalisation, aggregation and missing rule.

    ``main_only`` cuts the tree at the main indices (their values are then the input), as the
    merged-province rule needs.
    """
    tree = IndexTree(tuple(TreeNode(n.code, n.parent, n.points if n.parent is not None else 1.0, n.direction)
                           for n in level.nodes))
    if main_only:
        tree = tree.pruned(level.main_indices)
    by_code = {n.code: n for n in level.nodes}
    indicators = tuple(by_code[c].indicator or c for c in tree.leaves)
    normalisation = Normalisation(level.normalisation)
    if level.normalisation == "goalposts":  # the declared range of each leaf is its pair of goalposts
        ranges = [by_code[c].value_range or (0.0, 1.0) for c in tree.leaves]
        normalisation = Normalisation("goalposts", low=tuple(r[0] for r in ranges), high=tuple(r[1] for r in ranges))
    return IndexSpec(
        tree=tree, indicators=indicators, normalisation=normalisation,
        aggregation=level.aggregation, imputation=("zero",) if level.missing == "zero" else (),
        rank_decimals=level.rank_decimals, views=tuple((v.code, v.members) for v in level.views))
