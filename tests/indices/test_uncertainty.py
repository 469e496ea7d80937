"""Monte Carlo and sensitivity against a run-by-run re-computation with plain loops."""

from __future__ import annotations

import numpy as np

from tests.indices import naive
from thuocdo.indices.normalise import Normalisation
from thuocdo.indices.spec import IndexSpec
from thuocdo.indices.tree import IndexTree
from thuocdo.indices.uncertainty import (
    DEFAULT_ALTERNATIVES,
    first_order_indices,
    leave_one_out,
    monte_carlo,
    sensitivity,
)

ROWS = [("I", None, 1.0), ("G1", "I", 2.0), ("G2", "I", 1.0), ("a", "G1", 1.0), ("b", "G1", 1.0), ("c", "G2", 1.0),
        ("d", "G2", 3.0)]
TREE = IndexTree.from_rows(ROWS)
SPEC = IndexSpec(TREE, ("a", "b", "c", "d"), Normalisation("min_max"))
RNG = np.random.default_rng(11)
X = RNG.uniform(0, 10, size=(12, 4))
ENTITIES = [f"e{i}" for i in range(12)]


def _naive_ranks(weights: dict[str, float], normalised: np.ndarray) -> list[float]:
    rows = [(c, p, weights[c]) for c, p, _ in ROWS]
    scores = [naive.tree_scores(rows, dict(zip(TREE.leaves, normalised[e], strict=True)))["I"] for e in range(12)]
    return naive.rank_min_desc(scores)


def test_every_run_matches_a_naive_recomputation_with_its_weights() -> None:
    mc = monte_carlo(SPEC, ENTITIES, X, runs=40, spread=0.4, seed=5)
    normalised = np.column_stack([naive.min_max(list(X[:, j])) for j in range(4)])
    for run in range(40):
        weights = {code: w * mc.multipliers[run, TREE.position[code]] for code, _, w in ROWS}
        assert mc.ranks[run].tolist() == _naive_ranks(weights, normalised)
    nominal = _naive_ranks({c: w for c, _, w in ROWS}, normalised)
    assert mc.nominal_rank.tolist() == nominal
    for e in range(12):  # the percentiles are those of the runs' ranks
        ranks = sorted(mc.ranks[:, e])
        assert mc.p05[e] <= mc.median[e] <= mc.p95[e]
        assert ranks[0] <= mc.p05[e] and mc.p95[e] <= ranks[-1]


def test_no_spread_and_no_alternatives_gives_the_nominal_ranks() -> None:
    mc = monte_carlo(SPEC, ENTITIES, X, runs=30, spread=0.0)
    assert (mc.ranks == mc.nominal_rank).all() and (mc.p05 == mc.p95).all()
    assert mc.mean_shift.tolist() == [0.0] * 30


def test_runs_are_reproducible_and_each_is_a_permutation() -> None:
    a = monte_carlo(SPEC, ENTITIES, X, runs=200, seed=7, alternatives=DEFAULT_ALTERNATIVES)
    b = monte_carlo(SPEC, ENTITIES, X, runs=200, seed=7, alternatives=DEFAULT_ALTERNATIVES)
    assert np.array_equal(a.ranks, b.ranks) and set(a.choice.tolist()) == {0, 1, 2, 3}
    for run in a.ranks:
        assert sorted(run.tolist()) == list(range(1, 13))  # random continuous data: no ties
    s = sensitivity(a, TREE.codes)
    assert set(s) == {*TREE.codes, "method"} and all(0.0 <= v <= 1.0 for v in s.values())


def test_leave_one_out_matches_a_naive_recomputation() -> None:
    got = leave_one_out(SPEC, X)
    normalised = np.column_stack([naive.min_max(list(X[:, j])) for j in range(4)])
    nominal = _naive_ranks({c: w for c, _, w in ROWS}, normalised)
    for i, leaf in enumerate(TREE.leaves):
        dropped = _naive_ranks({c: (0.0 if c == leaf else w) for c, _, w in ROWS}, normalised)
        assert np.isclose(got[i], np.mean(np.abs(np.array(dropped) - nominal)))


def test_first_order_indices_on_a_known_model() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(40000, 3))
    choice = rng.integers(0, 2, size=40000)
    y = 3 * x[:, 0] + x[:, 1] + 2 * choice  # Var(3X₀) = 9/12, Var(X₁) = 1/12, Var(2C) = 1; X₂ has no effect
    s = first_order_indices(np.column_stack([x, choice]), y, bins=20)
    total = 9 / 12 + 1 / 12 + 1.0
    assert np.allclose(s, [9 / 12 / total, 1 / 12 / total, 0.0, 1.0 / total], atol=0.02)
