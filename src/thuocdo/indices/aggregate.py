"""Weighted aggregation along the last axis, and of a whole tree from its leaves.

A missing child (NaN) drops out and the weights of the present children are re-normalised; a node whose
present children all weigh 0 is missing. Weights need not sum to 1: only their ratios count.

>>> float(weighted_arithmetic(np.array([0.5, 1.0, np.nan]), np.array([100, 300, 600])))  # (50 + 300) / 400
0.875
>>> round(float(weighted_geometric(np.array([1.0, 4.0]), np.array([1, 1]))), 12)
2.0
>>> from thuocdo.indices.tree import IndexTree
>>> t = IndexTree.from_rows([("I", None, 1), ("A", "I", 1), ("B", "I", 1), ("a1", "A", 1), ("a2", "A", 3)])
>>> aggregate_tree(t, np.array([[0.2, 0.6, 1.0]])).round(3).tolist()  # columns: I, A, a1, a2, B
[[0.75, 0.5, 0.2, 0.6, 1.0]]
"""

from __future__ import annotations

import numpy as np

from thuocdo.indices.tree import IndexTree

AGGREGATIONS = ("arithmetic", "geometric")


def weighted_arithmetic(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ wᵢxᵢ ÷ Σ wᵢ over the present xᵢ (last axis; ``w`` broadcasts against ``x``)."""
    x = np.asarray(x, dtype=float)
    w = np.broadcast_to(np.asarray(w, dtype=float), x.shape)
    present = ~np.isnan(x)
    num = np.sum(np.where(present, w * np.where(present, x, 0.0), 0.0), axis=-1)
    den = np.sum(np.where(present, w, 0.0), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_geometric(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """exp(Σ wᵢ ln xᵢ ÷ Σ wᵢ) over the present xᵢ; values must be positive (normalise onto e.g. [1, 100])."""
    x = np.asarray(x, dtype=float)
    w = np.broadcast_to(np.asarray(w, dtype=float), x.shape)
    present = ~np.isnan(x)
    if np.any(present & (x <= 0) & (w > 0)):
        raise ValueError("geometric aggregation needs positive values: normalise onto a positive range first")
    logs = np.log(np.where(present & (x > 0), x, 1.0))
    return np.asarray(np.exp(weighted_arithmetic(np.where(present, logs, np.nan), w)), dtype=float)


def aggregate(x: np.ndarray, w: np.ndarray, method: str) -> np.ndarray:
    match method:
        case "arithmetic":
            return weighted_arithmetic(x, w)
        case "geometric":
            return weighted_geometric(x, w)
    raise ValueError(f"unknown aggregation {method!r} (known: {', '.join(AGGREGATIONS)})")


def aggregate_tree(tree: IndexTree, leaf_scores: np.ndarray, weights: np.ndarray | None = None,
                   method: str = "arithmetic") -> np.ndarray:
    """Every node's score from the leaves' scores, bottom-up.

    ``leaf_scores`` has shape (..., entities, leaves) in ``tree.leaves`` order; ``weights`` has shape
    (..., nodes) in ``tree.codes`` order (default: the tree's own weights), so a batch of weight vectors
    (a Monte Carlo run per row) is aggregated in one pass. Returns (..., entities, nodes) in ``tree.codes``
    order; the root is column 0.
    """
    leaf_scores = np.asarray(leaf_scores, dtype=float)
    w = tree.weights if weights is None else np.asarray(weights, dtype=float)
    batch = np.broadcast_shapes(leaf_scores.shape[:-2], w.shape[:-1])
    n_entities = leaf_scores.shape[-2]
    scores = np.full((*batch, n_entities, len(tree.codes)), np.nan)
    pos = tree.position
    leaf_cols = [pos[c] for c in tree.leaves]
    scores[..., leaf_cols] = leaf_scores
    for code in tree.internal_bottom_up:
        cols = [pos[c] for c in tree.children(code)]
        child_w = w[..., None, cols]  # (..., 1, k): the same weights for every entity of a run
        scores[..., pos[code]] = aggregate(scores[..., cols], child_w, method)
    return scores
