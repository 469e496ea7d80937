"""Index frameworks and the national targets, shipped as data (sources and judgement calls in SOURCES.md).

One TOML file per framework (``dti-2022.toml``, ``dti-2025.toml``, ``egdi.toml``, ``desi-2022.toml``), each
naming its legal source and saying what of it is not public; ``targets.csv`` (the national scorecard) and
``ministries.csv`` (the units ranked by the ministerial DTI, with their group). Files are read on first call
and cached; importing this package does no I/O.

>>> dti = load_framework("dti-2022").level("province")
>>> sum(n.points for n in dti.nodes if n.code in dti.main_indices)
1000.0
>>> [v.code for v in dti.views]
['digital_government', 'digital_economy', 'digital_society']
"""

from __future__ import annotations

import csv
import functools
import io
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from thuocdo.catalog.model import CatalogError
from thuocdo.model.tree import tree_problem

_PACKAGE: Final = "thuocdo.catalog.frameworks"
NORMALISATIONS: Final = frozenset({"none", "min_max", "z_score", "goalposts", "distance_to_target", "rank"})
AGGREGATIONS: Final = frozenset({"arithmetic", "geometric"})
MISSING_RULES: Final = frozenset({"zero", "renormalise"})
_UNIT_RANGES: Final = {"percent": (0.0, 100.0), "rank": (1.0, 1000.0)}
MINISTRY_GROUPS: Final = {"public_services": "Nhóm bộ, ngành có cung cấp dịch vụ công",
                          "no_public_services": "Nhóm bộ, ngành không cung cấp dịch vụ công"}


class FrameworkError(CatalogError):
    """A framework is unknown, or a shipped framework file breaks one of its rules."""


@dataclass(frozen=True)
class FrameworkNode:
    """One node of an index tree: the root, a group, a main index or an indicator."""

    code: str
    parent: str | None
    points: float  # weight among its siblings (the framework's points); 0 = shown but not scored
    label_vi: str
    label_en: str = ""
    indicator: str | None = None  # id of the indicator values that feed a leaf
    value_range: tuple[float, float] | None = None  # valid values of that indicator
    direction: int = 1  # +1: higher is better; -1: lower is better
    sub_indicators: int | None = None  # how many sub-indicators the source counts under it
    assumed: bool = False  # the points are our assumption, not transcribed from the source
    note: str = ""


@dataclass(frozen=True)
class FrameworkView:
    """A pillar view: the score of some nodes together (their points obtained ÷ their maximum)."""

    code: str
    label_vi: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class FrameworkLevel:
    """The tree of one level (province, ministry, nation) of a framework, and how it is scored."""

    level: str
    label_vi: str
    scale: float  # maximum points (1000 for DTI); the total is published as a share of it
    decimals: int  # decimals of the published 0–1 value
    rank_decimals: int  # scores are rounded to this many decimals before ranking (ties as published)
    normalisation: str
    aggregation: str
    missing: str  # "zero": a missing value scores 0; "renormalise": weights of present values rescaled
    main_indices: tuple[str, ...]
    nodes: tuple[FrameworkNode, ...]
    views: tuple[FrameworkView, ...] = ()
    rank_groups: str | None = None  # "ministry_group": ranked within the groups of ministries.csv

    def node(self, code: str) -> FrameworkNode:
        for n in self.nodes:
            if n.code == code:
                return n
        raise KeyError(code)

    @property
    def leaves(self) -> tuple[FrameworkNode, ...]:
        parents = {n.parent for n in self.nodes}
        return tuple(n for n in self.nodes if n.code not in parents)


@dataclass(frozen=True)
class Framework:
    id: str
    name_vi: str
    name_en: str
    legal_source: str
    url: str
    years: tuple[int, ...]
    not_public: str
    levels: Mapping[str, FrameworkLevel]

    def level(self, name: str) -> FrameworkLevel:
        if name not in self.levels:
            raise FrameworkError(f"Bộ chỉ số {self.id} không có cấp '{name}' (có: {', '.join(self.levels)}).")
        return self.levels[name]


@dataclass(frozen=True)
class Target:
    """A numeric national target: reached when the indicator is ≥ (higher) or ≤ (lower) the target."""

    id: str
    indicator: str
    label_vi: str
    unit: str  # percent | rank | usd_bn | percent_per_year
    direction: int  # +1 higher is better, -1 lower is better
    year: int
    target: float
    source: str
    note: str


@dataclass(frozen=True)
class Ministry:
    id: str
    name_vi: str
    short_name: str
    kind: str
    group: str  # a key of MINISTRY_GROUPS


def _text(name: str) -> str:
    return (resources.files(_PACKAGE) / name).read_text(encoding="utf-8")


def framework_ids() -> tuple[str, ...]:
    """The ids of the shipped frameworks (the TOML file names)."""
    files = resources.files(_PACKAGE).iterdir()
    return tuple(sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml")))


@functools.cache
def load_framework(framework_id: str) -> Framework:
    """The framework with this id; :class:`FrameworkError` (in Vietnamese) when there is none."""
    if framework_id not in framework_ids():
        raise FrameworkError(f"Không có bộ chỉ số '{framework_id}' (có: {', '.join(framework_ids())}).")
    name = f"{framework_id}.toml"
    data = tomllib.loads(_text(name))
    if data.get("id") != framework_id:
        raise FrameworkError(f"{name}: id {data.get('id')!r} differs from the file name")
    for key in ("name_vi", "legal_source", "not_public"):
        if not str(data.get(key, "")).strip():
            raise FrameworkError(f"{name}: missing {key}")
    levels = {level: _level(name, level, spec) for level, spec in data.get("levels", {}).items()}
    if not levels:
        raise FrameworkError(f"{name}: no [levels.*] table")
    return Framework(framework_id, data["name_vi"], data.get("name_en", ""), data["legal_source"].strip(),
                     data.get("url", ""), tuple(int(y) for y in data.get("years", ())), data["not_public"].strip(),
                     levels)


def _level(file: str, level: str, spec: dict[str, Any]) -> FrameworkLevel:
    where = f"{file} [levels.{level}]"
    nodes = tuple(_node(where, raw) for raw in spec.get("nodes", ()))
    views = tuple(FrameworkView(v["code"], v["label_vi"], tuple(v["members"])) for v in spec.get("views", ()))
    result = FrameworkLevel(
        level=level, label_vi=spec.get("label_vi", level), scale=float(spec.get("scale", 1)),
        decimals=int(spec.get("decimals", 4)), rank_decimals=int(spec.get("rank_decimals", spec.get("decimals", 4))),
        normalisation=spec.get("normalisation", "none"),
        aggregation=spec.get("aggregation", "arithmetic"), missing=spec.get("missing", "renormalise"),
        main_indices=tuple(spec.get("main_indices", ())), nodes=nodes, views=views,
        rank_groups=spec.get("rank_groups"))
    _check_level(where, result)
    return result


def _node(where: str, raw: dict[str, Any]) -> FrameworkNode:
    try:
        rng = raw.get("range")
        direction = {"higher": 1, "lower": -1}[raw.get("direction", "higher")]
        return FrameworkNode(
            code=raw["code"], parent=raw.get("parent"), points=float(raw.get("points", 1.0)),
            label_vi=raw["label_vi"], label_en=raw.get("label_en", ""), indicator=raw.get("indicator"),
            value_range=(float(rng[0]), float(rng[1])) if rng else None, direction=direction,
            sub_indicators=raw.get("sub_indicators"), assumed=bool(raw.get("assumed", False)),
            note=raw.get("note", ""))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise FrameworkError(f"{where}: bad node {raw!r} ({exc!r})") from exc


def _check_level(where: str, level: FrameworkLevel) -> None:
    problem = tree_problem([(n.code, n.parent, n.points) for n in level.nodes], weight_name="points")
    if problem is not None:
        raise FrameworkError(f"{where}: {problem}")
    by_code = {n.code: n for n in level.nodes}
    for n in level.nodes:
        if n.value_range is not None and not n.value_range[0] < n.value_range[1]:
            raise FrameworkError(f"{where}: node {n.code} has an empty range {n.value_range}")
    children: dict[str, list[FrameworkNode]] = {}
    for n in level.nodes:
        if n.parent is not None:
            children.setdefault(n.parent, []).append(n)
    for code, kids in children.items():
        total = sum(k.points for k in kids)
        if by_code[code].parent is not None and not math.isclose(total, by_code[code].points):
            raise FrameworkError(f"{where}: the points of {code}'s children sum to {total}, not {by_code[code].points}")
    for leaf in level.leaves:
        if leaf.indicator is None:
            raise FrameworkError(f"{where}: leaf {leaf.code} names no indicator")
    for code in (*level.main_indices, *(m for v in level.views for m in v.members)):
        if code not in by_code:
            raise FrameworkError(f"{where}: unknown node {code} in main_indices or views")
    for rule, allowed in ((level.normalisation, NORMALISATIONS), (level.aggregation, AGGREGATIONS),
                          (level.missing, MISSING_RULES)):
        if rule not in allowed:
            raise FrameworkError(f"{where}: unknown rule {rule!r} (allowed: {sorted(allowed)})")


def _csv(name: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(_text(name)))
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
        raise FrameworkError(f"{name}: missing column(s) {', '.join(missing)}")
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


@functools.lru_cache(maxsize=1)
def load_targets() -> tuple[Target, ...]:
    """The national targets scorecard (``targets.csv``), in file order."""
    rows = _csv("targets.csv", ("id", "indicator", "label_vi", "unit", "direction", "year", "target", "source", "note"))
    targets = []
    for r in rows:
        if r["direction"] not in ("higher", "lower") or not r["source"]:
            raise FrameworkError(f"targets.csv row {r['id']}: direction must be higher/lower and source is required")
        direction = 1 if r["direction"] == "higher" else -1
        targets.append(Target(r["id"], r["indicator"], r["label_vi"], r["unit"], direction,
                              int(r["year"]), float(r["target"]), r["source"], r["note"]))
    if len({t.id for t in targets}) != len(targets):
        raise FrameworkError("targets.csv: duplicate ids")
    return tuple(targets)


@functools.lru_cache(maxsize=1)
def load_ministries() -> tuple[Ministry, ...]:
    """The ministries and government agencies ranked by the ministerial DTI, with their group."""
    rows = _csv("ministries.csv", ("id", "name_vi", "short_name", "kind", "group"))
    ministries = tuple(Ministry(r["id"], r["name_vi"], r["short_name"], r["kind"], r["group"]) for r in rows)
    for m in ministries:
        if m.group not in MINISTRY_GROUPS:
            raise FrameworkError(f"ministries.csv row {m.id}: unknown group {m.group!r}")
    return ministries


def known_indicators() -> dict[str, tuple[float, float] | None]:
    """Every indicator id a framework leaf or a target reads, with its valid range when one is declared."""
    found: dict[str, tuple[float, float] | None] = {}
    for fid in framework_ids():
        for level in load_framework(fid).levels.values():
            for n in level.nodes:
                if n.indicator is not None:
                    found[n.indicator] = n.value_range
    for t in load_targets():
        found.setdefault(t.indicator, _UNIT_RANGES.get(t.unit))
    for r in _csv("indicators.csv", ("id", "label_vi", "unit", "source")):
        found.setdefault(r["id"], _UNIT_RANGES.get(r["unit"]))
    return found


def indicator_labels() -> dict[str, str]:
    """Vietnamese labels of the indicators that are not framework nodes (targets and monitored indicators)."""
    labels = {r["id"]: r["label_vi"] for r in _csv("indicators.csv", ("id", "label_vi", "unit", "source"))}
    for t in load_targets():
        labels.setdefault(t.indicator, t.label_vi)
    return labels
