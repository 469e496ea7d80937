"""An index as a tree of any depth: each node has a code, a parent, a weight (or points) and a direction.

Leaves carry indicator values; every other node is the aggregate of its children, weighted by their
weights (points are weights: 100, 100, 200 weigh as 1, 1, 2). A weight of 0 keeps a node visible but unscored.

>>> t = IndexTree.from_rows([("I", None, 1), ("A", "I", 2), ("B", "I", 1), ("a1", "A", 1), ("a2", "A", 3)])
>>> t.leaves
('a1', 'a2', 'B')
>>> t.children("A"), t.internal_bottom_up
(('a1', 'a2'), ('A', 'I'))
>>> t.depth
2
>>> t.pruned(["A"]).leaves
('A', 'B')
>>> t.with_weights({"a2": 1}).weight("a2")
1.0
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from thuocdo.model.tree import tree_problem


class TreeError(ValueError):
    """The rows do not form one tree (unknown parent, cycle, several roots, bad weight or direction)."""


@dataclass(frozen=True)
class TreeNode:
    code: str
    parent: str | None
    weight: float = 1.0
    direction: int = 1  # +1: higher is better; -1: lower is better (used by normalisation of leaves)


@dataclass(frozen=True)
class IndexTree:
    nodes: tuple[TreeNode, ...]

    def __post_init__(self) -> None:
        problem = tree_problem([(n.code, n.parent, n.weight) for n in self.nodes])
        if problem is not None:
            raise TreeError(problem)
        for n in self.nodes:
            if n.direction not in (1, -1):
                raise TreeError(f"node {n.code}: direction must be +1 or -1")

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> IndexTree:
        """Rows of (code, parent, weight[, direction]); parent None (or "") marks the root."""
        nodes = []
        for row in rows:
            code, parent, weight = str(row[0]), row[1], float(row[2])
            direction = int(row[3]) if len(row) > 3 else 1
            nodes.append(TreeNode(code, str(parent) if parent not in (None, "") else None, weight, direction))
        return cls(tuple(nodes))

    # -- structure -------------------------------------------------------------------------------
    @functools.cached_property
    def _children(self) -> dict[str, tuple[str, ...]]:
        kids: dict[str, list[str]] = {n.code: [] for n in self.nodes}
        for n in self.nodes:
            if n.parent is not None:
                kids[n.parent].append(n.code)
        return {k: tuple(v) for k, v in kids.items()}

    @functools.cached_property
    def _preorder(self) -> tuple[str, ...]:
        order: list[str] = []
        stack = [self.root]
        seen: set[str] = set()
        while stack:
            code = stack.pop()
            if code in seen:
                break
            seen.add(code)
            order.append(code)
            stack.extend(reversed(self._children[code]))
        return tuple(order)

    @functools.cached_property
    def root(self) -> str:
        return next(n.code for n in self.nodes if n.parent is None)

    @functools.cached_property
    def codes(self) -> tuple[str, ...]:
        """Every node, depth first (a parent before its children, siblings in the given order)."""
        return self._preorder

    @functools.cached_property
    def position(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    @functools.cached_property
    def _by_code(self) -> dict[str, TreeNode]:
        return {n.code: n for n in self.nodes}

    def children(self, code: str) -> tuple[str, ...]:
        return self._children[code]

    def node(self, code: str) -> TreeNode:
        return self._by_code[code]

    def weight(self, code: str) -> float:
        return self._by_code[code].weight

    @functools.cached_property
    def leaves(self) -> tuple[str, ...]:
        return tuple(c for c in self.codes if not self._children[c])

    @functools.cached_property
    def internal_bottom_up(self) -> tuple[str, ...]:
        """The non-leaf nodes, each after all of its descendants (the order of aggregation)."""
        return tuple(c for c in reversed(self.codes) if self._children[c])

    @functools.cached_property
    def depth(self) -> int:
        def level(code: str) -> int:
            parent = self._by_code[code].parent
            return 0 if parent is None else 1 + level(parent)
        return max(level(c) for c in self.leaves)

    def descendants(self, code: str) -> tuple[str, ...]:
        out: list[str] = []
        for child in self._children[code]:
            out.append(child)
            out.extend(self.descendants(child))
        return tuple(out)

    @functools.cached_property
    def weights(self) -> np.ndarray:
        """Node weights in :attr:`codes` order."""
        return np.array([self._by_code[c].weight for c in self.codes], dtype=float)

    @functools.cached_property
    def leaf_directions(self) -> np.ndarray:
        return np.array([self._by_code[c].direction for c in self.leaves], dtype=float)

    # -- variants --------------------------------------------------------------------------------
    def with_weights(self, weights: Mapping[str, float]) -> IndexTree:
        """The same tree with some weights replaced (the others kept)."""
        unknown = set(weights) - set(self._by_code)
        if unknown:
            raise TreeError(f"unknown nodes: {sorted(unknown)}")
        return IndexTree(tuple(replace(n, weight=float(weights.get(n.code, n.weight))) for n in self.nodes))

    def pruned(self, at: Iterable[str]) -> IndexTree:
        """The tree cut at the given nodes: they become leaves and their descendants are dropped."""
        drop = {d for code in at for d in self.descendants(code)}
        return IndexTree(tuple(n for n in self.nodes if n.code not in drop))

    def rows(self) -> list[list[object]]:
        """(code, parent, weight, direction) rows, in the given order (for the step log)."""
        return [[n.code, n.parent, n.weight, n.direction] for n in self.nodes]
