"""Every method against a naive re-computation (tests/indices/naive.py), plus the invariants as properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.indices import naive
from thuocdo.indices.aggregate import aggregate_tree, weighted_arithmetic, weighted_geometric
from thuocdo.indices.impute import coverage, impute_group_mean, impute_last_value, impute_mean, impute_zero
from thuocdo.indices.normalise import Normalisation, distance_to_target, goalposts, min_max, rank_score, z_score
from thuocdo.indices.rank import rank_ascending, rank_descending, rank_within_groups
from thuocdo.indices.tree import IndexTree, TreeError

SETTINGS = settings(max_examples=60, deadline=None)
weights = st.one_of(st.just(0.0), st.floats(1e-3, 10.0))  # 0 (unscored) or a normal positive weight
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
maybe_missing = st.one_of(finite, st.just(math.nan))
columns = st.lists(st.integers(-50, 50).map(float), min_size=2, max_size=30)


def same(a: object, b: object) -> bool:
    return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), equal_nan=True, rtol=1e-9, atol=1e-12))


# -- normalisation ---------------------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(maybe_missing, min_size=2, max_size=30).filter(lambda xs: len(naive.present(xs)) >= 1),
       st.sampled_from([1, -1]))
def test_min_max_matches_naive_and_stays_in_range(xs: list[float], direction: int) -> None:
    got = min_max(np.array(xs), direction).ravel()
    assert same(got, naive.min_max(xs, direction))
    ok = got[~np.isnan(got)]
    assert np.all((ok >= 0) & (ok <= 1))
    lohi = min_max(np.array(xs), direction, lo=1, hi=100).ravel()
    assert np.all((lohi[~np.isnan(lohi)] >= 1) & (lohi[~np.isnan(lohi)] <= 100 + 1e-9))


@SETTINGS
@given(columns.filter(lambda xs: len(set(xs)) > 1), st.sampled_from([1, -1]))
def test_z_score_matches_naive(xs: list[float], direction: int) -> None:
    assert same(z_score(np.array(xs), direction).ravel(), naive.z_score(xs, direction))


@SETTINGS
@given(st.lists(maybe_missing, min_size=1, max_size=30), st.sampled_from([1, -1]))
def test_goalposts_and_distance_to_target_stay_in_range(xs: list[float], direction: int) -> None:
    g = goalposts(np.array(xs), low=-100.0, high=250.0, direction=direction).ravel()
    for v, s in zip(xs, g, strict=True):
        expected = (v + 100) / 350 if direction > 0 else (250 - v) / 350
        assert (math.isnan(v) and math.isnan(s)) or math.isclose(s, min(1.0, max(0.0, expected)), abs_tol=1e-12)
    d = distance_to_target(np.abs(np.array(xs)) + 1.0, target=80.0, direction=direction).ravel()
    ok = d[~np.isnan(d)]
    assert np.all((ok >= 0) & (ok <= 1))


@SETTINGS
@given(st.lists(maybe_missing, min_size=2, max_size=30).filter(lambda xs: len(naive.present(xs)) >= 2))
def test_rank_score_matches_naive_average_ranks(xs: list[float]) -> None:
    n = len(naive.present(xs))
    expected = [math.nan if math.isnan(r) else (r - 1) / (n - 1) for r in naive.rank_average_asc(xs)]
    got = rank_score(np.array(xs)).ravel()
    assert same(got, expected)
    assert np.all((got[~np.isnan(got)] >= 0) & (got[~np.isnan(got)] <= 1))


def test_missing_values_stay_missing_even_in_a_column_with_one_value() -> None:
    x = np.array([[np.nan], [3.0], [np.nan]])
    for method in ("min_max", "z_score", "rank", "none"):
        got = Normalisation(method).apply(x).ravel()
        assert np.isnan(got[0]) and np.isnan(got[2]) and not np.isnan(got[1]), method


def test_normalisation_is_column_wise_and_flips_direction_per_indicator() -> None:
    x = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    got = Normalisation("min_max").apply(x, np.array([1.0, -1.0]))
    assert same(got, np.column_stack([naive.min_max(x[:, 0]), naive.min_max(x[:, 1], -1)]))
    with pytest.raises(ValueError, match="unknown normalisation"):
        Normalisation("softmax")


# -- ranks -----------------------------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.integers(0, 8).map(float), min_size=1, max_size=40))
def test_rank_with_ties_matches_naive_and_distinct_values_give_a_permutation(xs: list[float]) -> None:
    got = rank_descending(xs)
    assert same(got, naive.rank_min_desc(xs))
    distinct = sorted(set(xs))
    r = rank_descending(distinct)
    assert sorted(r.tolist()) == list(range(1, len(distinct) + 1))  # a permutation of 1..n
    assert same(rank_ascending(xs, "average"), naive.rank_average_asc(xs))


@SETTINGS
@given(st.lists(st.lists(maybe_missing, min_size=5, max_size=5), min_size=1, max_size=6))
def test_rank_is_vectorised_over_rows(rows: list[list[float]]) -> None:
    got = rank_descending(np.array(rows))
    for row, ranks in zip(rows, got, strict=True):
        assert same(ranks, naive.rank_min_desc(row))


def test_rank_rounds_before_ties_and_ranks_within_groups() -> None:
    s = 0.39035 + 0.62690 + 0.35438, 0.18755 + 0.49672 + 0.68736  # equal as published, maybe not as floats
    assert rank_descending([s[0] / 3, s[1] / 3, 0.5], decimals=6).tolist() == [2.0, 2.0, 1.0]
    assert rank_within_groups([3, 1, 2, 5, 4], ["a", "a", "b", "b", "a"]).tolist() == [2.0, 3.0, 2.0, 1.0, 1.0]


# -- missing values --------------------------------------------------------------------------------------------
X = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 5.0], [4.0, 6.0, np.nan], [2.0, 8.0, 1.0]])


def test_imputations_match_naive_and_flag_every_filled_cell() -> None:
    filled, mask = impute_mean(X)
    for j in range(3):
        mean = sum(naive.present(list(X[:, j]))) / len(naive.present(list(X[:, j])))
        for i in range(4):
            assert filled[i, j] == (mean if math.isnan(X[i, j]) else X[i, j])
    assert mask.tolist() == np.isnan(X).tolist()
    groups = ["n", "n", "s", "s"]
    g, gmask = impute_group_mean(X, groups)
    assert g[1, 0] == 1.0 and g[0, 1] != g[0, 1] and g[2, 2] == 1.0  # column 1 has no value in group n
    assert gmask.tolist() == (np.isnan(X) & ~np.isnan(g)).tolist()
    previous = np.array([np.full((4, 3), 9.0), np.full((4, 3), 7.0)])
    previous[0, 1, 0] = np.nan  # the latest earlier value is missing: the one before is used
    last, lmask = impute_last_value(X, previous)
    assert last[1, 0] == 7.0 and last[0, 1] == 9.0 and lmask.sum() == np.isnan(X).sum()
    zero, zmask = impute_zero(X)
    assert np.nansum(zero) == np.nansum(X) and zmask.sum() == 4
    assert coverage(X, weights=[1, 1, 0]).tolist() == [0.5, 0.0, 1.0, 1.0]


# -- aggregation -----------------------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.tuples(st.one_of(st.floats(0.01, 100), st.just(math.nan)), weights), min_size=1,
                max_size=12),
       st.floats(0.001, 1e4))
def test_weighted_means_match_naive_and_scaling_the_weights_changes_nothing(pairs: list[tuple[float, float]],
                                                                          c: float) -> None:
    x = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    a = float(weighted_arithmetic(x, w))
    assert same(a, naive.weighted_mean(list(x), list(w)))
    assert same(weighted_arithmetic(x, w * c), a)
    g = float(weighted_geometric(x, w))
    assert same(g, naive.weighted_geometric(list(x), list(w)))
    assert same(weighted_geometric(x, w * c), g)


def test_geometric_refuses_non_positive_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        weighted_geometric(np.array([0.0, 1.0]), np.array([1.0, 1.0]))


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str | None, float]]:
    """A random tree of any depth: each new node hangs under a random earlier node."""
    n = draw(st.integers(2, 25))
    rows: list[tuple[str, str | None, float]] = [("n0", None, 1.0)]
    for i in range(1, n):
        parent = rows[draw(st.integers(0, i - 1))][0]
        rows.append((f"n{i}", parent, draw(weights)))
    return rows


@SETTINGS
@given(trees(), st.integers(0, 2**31 - 1), st.floats(0.01, 100.0))
def test_tree_aggregation_matches_recursion_for_any_depth(rows: list[tuple[str, str | None, float]], seed: int,
                                                          c: float) -> None:
    tree = IndexTree.from_rows(rows)
    rng = np.random.default_rng(seed)
    leaf = rng.uniform(0, 1, size=(3, len(tree.leaves)))
    leaf[rng.uniform(size=leaf.shape) < 0.2] = np.nan
    got = aggregate_tree(tree, leaf)
    for e in range(3):
        expected = naive.tree_scores(rows, dict(zip(tree.leaves, leaf[e], strict=True)))
        assert same([got[e, tree.position[code]] for code, _, _ in rows], [expected[code] for code, _, _ in rows])
    scaled = tree.with_weights({code: w * c for code, _, w in rows[1:]})
    assert same(aggregate_tree(scaled, leaf), got)  # weights that sum to anything give the same index


def test_a_batch_of_weight_vectors_is_one_pass() -> None:
    tree = IndexTree.from_rows([("I", None, 1), ("a", "I", 1), ("b", "I", 1)])
    leaf = np.array([[0.2, 0.8], [0.6, 0.4]])
    w = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 3.0]])  # codes order: I, a, b
    root = aggregate_tree(tree, leaf, w)[..., 0]
    assert same(root, [[0.2, 0.6], [0.8, 0.4], [0.65, 0.45]])


def test_tree_rejects_cycles_and_bad_rows() -> None:
    with pytest.raises(TreeError, match="one root"):
        IndexTree.from_rows([("a", None, 1), ("b", None, 1)])
    with pytest.raises(TreeError, match="cycle"):
        IndexTree.from_rows([("r", None, 1), ("a", "b", 1), ("b", "a", 1)])
    with pytest.raises(TreeError, match="unknown parent"):
        IndexTree.from_rows([("r", None, 1), ("a", "x", 1)])
    with pytest.raises(TreeError, match="weight"):
        IndexTree.from_rows([("r", None, 1), ("a", "r", -2)])
