"""The shape every index tree must have, checked once for the framework files and for the index engine.

>>> tree_problem([("I", None, 1.0), ("a", "I", 2.0)]) is None
True
>>> tree_problem([("I", None, 1.0), ("a", "b", 1.0), ("b", "a", 1.0)])
'the parent links contain a cycle'
>>> tree_problem([("I", None, 1.0), ("a", "I", -1.0)], weight_name="points")
'node a: points -1.0, expected a number ≥ 0'
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def tree_problem(nodes: Sequence[tuple[str, str | None, float]], *, weight_name: str = "weight") -> str | None:
    """The first reason why rows of (code, parent, weight) are not one tree (unique codes, exactly one root,
    known parents, finite weights ≥ 0, no cycle), or None when they are one."""
    codes = [code for code, _, _ in nodes]
    if len(set(codes)) != len(codes):
        return "duplicate node codes"
    roots = [code for code, parent, _ in nodes if parent is None]
    if len(roots) != 1:
        return f"expected exactly one root, found {roots}"
    known = set(codes)
    children: dict[str, list[str]] = {code: [] for code in codes}
    for code, parent, weight in nodes:
        if parent is not None and parent not in known:
            return f"node {code}: unknown parent {parent}"
        if not (math.isfinite(weight) and weight >= 0):
            return f"node {code}: {weight_name} {weight}, expected a number ≥ 0"
        if parent is not None:
            children[parent].append(code)
    reached, stack = set(), [roots[0]]
    while stack:
        code = stack.pop()
        if code not in reached:
            reached.add(code)
            stack.extend(children[code])
    if len(reached) != len(codes):
        return "the parent links contain a cycle"
    return None
