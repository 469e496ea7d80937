"""Which records a metric reads: one source, a union of sources (``--source a,b``) or the national estimate
(``--source national``), and the margin and source mix of each figure.

A union is one population: the person-days of its sources collapsed person-wise (a person with the same key
counted once; additive measures summed), rolled up as any source. Only census sources (unweighted counts)
can be unioned: a panel's weights stand for a population of their own. The national estimate fuses census
sources and panels (:mod:`thuocdo.metrics.national`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.engines.base import USAGE_WEEK_SCHEMA
from thuocdo.ingest.readers import InputError
from thuocdo.metrics import query as mq
from thuocdo.metrics.national import (
    NATIONAL,
    PANEL_VARIANCE,
    DuckDBRelational,
    Estimate,
    Relational,
    SourceSpec,
    estimate_national,
    union_rows,
)
from thuocdo.reports.uncertainty import Z95
from thuocdo.rollups.definitions import PERSON_DAY_COLUMNS, usage_week_sql
from thuocdo.rollups.rebuild import person_days_sql
from thuocdo.rollups.served import lakehouse_person_days, lakehouse_weeks
from thuocdo.store import Store
from thuocdo.store.sources import SourceInfo, coverage_table, list_sources, person_days_here
from thuocdo.store.sql import literal
from thuocdo.workflows.cluster import home_lakehouse, lakehouse

__all__ = [
    "MARGIN_COLUMNS",
    "NATIONAL",
    "NotPublic",
    "Selection",
    "UnknownSource",
    "default_source",
    "estimable",
    "public_mix",
    "select",
    "selected_usage",
    "weekly_usage",
    "with_margins",
]

#: the columns the metric tables gain, after their own
MARGIN_COLUMNS = (("sources", pa.string()), ("mau_low", pa.float64()), ("mau_high", pa.float64()))
SEPARATOR = ","
KIND_NAMES = {"census": "điều tra toàn bộ (nhà mạng)", "panel": "bảng mẫu", "aggregates": "số liệu công bố"}


class UnknownSource(InputError):
    """A ``--source`` naming a source the store does not have."""


class NotPublic(InputError):
    """A selection the public may not read (a union: with its members' own figures it gives their difference)."""


@dataclass(frozen=True)
class Selection:
    """The records a request reads: ``label`` is what the rows' ``source`` column says."""

    label: str
    kind: str  # single | union | national
    sources: tuple[SourceSpec, ...]


def _spec(info: SourceInfo) -> SourceSpec:
    return SourceSpec(info.name, info.kind, info.link_key)


def usage_sources(store: Store) -> list[SourceInfo]:
    """The sources with usage records (census and panels)."""
    return [s for s in list_sources(store) if s.has_usage]


def default_source(store: Store) -> str | None:
    """What a report, the dashboard and the API show when no source is named: the national estimate when
    several sources have usage records, the one source otherwise (None: no records)."""
    found = usage_sources(store)
    if len(found) > 1 and estimable(store, found):
        return NATIONAL
    return found[0].name if len(found) == 1 else None


def estimable(store: Store, found: Sequence[SourceInfo]) -> bool:
    """Whether a national estimate can rest on the sources: a panel, or a census source with declared coverage
    (without either, the sources are shown each on its own)."""
    census = [s.name for s in found if s.kind == "census"]
    if any(s.kind == "panel" for s in found):
        return True
    return bool(census) and coverage_table(store, census).num_rows > 0


def select(store: Store, text: str | None) -> Selection | None:
    """The selection a ``--source`` value names (None: every source, each on its own rows)."""
    if text is None:
        return None
    known = {s.name: s for s in list_sources(store)}
    if text.strip() == NATIONAL:
        usable = [s for s in known.values() if s.has_usage and s.kind in ("census", "panel")]
        if not usable:
            raise InputError("Chưa có nguồn số liệu sử dụng nào (nhà mạng hoặc bảng mẫu) để ước lượng toàn quốc.")
        return Selection(NATIONAL, "national", tuple(_spec(s) for s in usable))
    names = [n.strip() for n in text.split(SEPARATOR)]
    unknown = [n for n in names if n not in known]
    if unknown or not all(names):
        listed = ", ".join(sorted(known)) or "chưa có nguồn nào"
        raise UnknownSource(f"Không có nguồn {', '.join(repr(n) for n in unknown or [text])} trong kho "
                         f"(các nguồn: {listed}; hoặc '{NATIONAL}' cho ước lượng toàn quốc).")
    if len(set(names)) != len(names):
        raise InputError(f"Nguồn '{text}' nêu một nguồn hai lần.")
    if len(names) == 1:
        return Selection(names[0], "single", (_spec(known[names[0]]),))
    not_census = [n for n in names if known[n].kind != "census"]
    if not_census:
        kinds = ", ".join(f"{n} ({KIND_NAMES.get(known[n].kind, known[n].kind)})" for n in not_census)
        raise InputError(f"Không thể gộp {text}: chỉ gộp được các nguồn điều tra toàn bộ (nhà mạng), mà {kinds} "
                         "thì không — trọng số của bảng mẫu đại diện cho một tổng thể riêng. Dùng "
                         f"'--source {NATIONAL}' để kết hợp nhà mạng với bảng mẫu.")
    label = SEPARATOR.join(names)
    return Selection(label, "union", tuple(_spec(known[n]) for n in names))


class UnionPlace(Protocol):
    """An engine that holds person-days and can run a union of persons where they are
    (:meth:`thuocdo.rollups.spark.SparkRollups.union_place`)."""

    def union_place(self, sources: Sequence[str], months: Sequence[str], *, person_day: str,
                    weights: str) -> Relational: ...


class _EmbeddedPlace:
    """The default engine's place for a union: the store's connection, over the person-days of its lake and,
    for the sources the cluster's lakehouse holds, theirs read through pyiceberg."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.registered: list[str] = []

    def union_place(self, sources: Sequence[str], months: Sequence[str], *, person_day: str,
                    weights: str) -> Relational:
        con, parts, elsewhere = self.store.con, [], []
        for source in sources:
            sql = person_days_sql(self.store, source, months)
            if sql is not None:
                parts.append(sql)
            elif _has_usage(self.store, months, source):  # its rollup is attached: the lakehouse holds it
                elsewhere.append(source)
        columns = ", ".join(PERSON_DAY_COLUMNS)
        if elsewhere:
            con.register("lakehouse_person_day", lakehouse_person_days(lakehouse(self.store.home), elsewhere, months))
            self.registered.append("lakehouse_person_day")
            parts.append(f"SELECT source, {columns} FROM lakehouse_person_day")
        nulls = ", ".join(f"NULL AS {c}" for c in PERSON_DAY_COLUMNS)
        empty = f"SELECT NULL::VARCHAR AS source, {nulls} FROM (SELECT 1) WHERE false"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {person_day} AS {' UNION ALL '.join(parts) or empty}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {weights} AS SELECT source, person, month, weight FROM weights "
                    f"WHERE list_contains({literal(list(months))}, month)")
        self.registered += [person_day, weights]
        return DuckDBRelational(con)

    def close(self) -> None:
        for name in reversed(self.registered):
            if name == "lakehouse_person_day":
                self.store.con.unregister(name)
            else:
                self.store.con.execute(f"DROP VIEW IF EXISTS {name}")
        self.registered.clear()


def population(catalog: Catalog, months: Iterable[str]) -> dict[tuple[str, str], float]:
    """(province, month) → the mobile internet users the estimate stands for (the year's figure)."""
    out: dict[tuple[str, str], float] = {}
    for month in months:
        for province in catalog.provinces_new:
            users = catalog.mobile_internet_users(int(month[:4]), province.code)
            if users is not None:
                out[(province.code, month)] = float(users)
    return out


@dataclass(frozen=True)
class SelectedUsage:
    """A union's or the national estimate's rollups: usage_month rows, usage_week rows (of the weeks asked for)
    and, for the national estimate, the estimate."""

    usage_month: pa.Table
    usage_week: pa.Table
    estimate: Estimate | None


def selected_usage(store: Store, selection: Selection, months: Sequence[str], catalog: Catalog,
                   place: UnionPlace | None = None, weeks: Sequence[dt.date] = ()) -> SelectedUsage:
    """The usage_month rows of a union or of the national estimate over `months` (with the estimate), and its
    usage_week rows of `weeks`. The person-level steps (the union of persons of a union, or of shared-key
    operators; every source's persons week by week) run in `place` (the Spark engine's cluster), by default on
    the store's connection."""
    view, weights = "selected_person_day", "selected_weights"
    if selection.kind == "union":
        together = [s.name for s in selection.sources]
    else:
        shared = [s.name for s in selection.sources if s.kind == "census" and s.link_key == "shared"]
        together = shared if len(shared) > 1 else []
    # the weekly figures of a source of the lakehouse alone are computed from its person-days, where they are
    held = together + [s.name for s in selection.sources if weeks and s.name not in together
                       and s.kind in ("census", "panel") and not person_days_here(store, s.name)]
    embedded = _EmbeddedPlace(store)
    try:
        db = (place or embedded).union_place(held, months, person_day=view, weights=weights)
        if selection.kind == "union":
            rows = union_rows(db, person_day=view, weights=weights, label=selection.label, sources=together,
                              months=months, weeks=weeks)
            return SelectedUsage(rows.usage, _weekly(rows.weekly), None)
        census = [s.name for s in selection.sources if s.kind == "census"]
        store.con.register("selected_coverage", coverage_table(store, census, months))
        try:
            here = [s.name for s in selection.sources if person_days_here(store, s.name)]
            estimate = estimate_national(store.con, selection.sources, person_day=view, weights=weights,
                                         coverage="selected_coverage", population=population(catalog, months),
                                         months=months, stored_usage="usage_month", union_db=db,
                                         weeks=weeks or None, stored_weeks=stored_weeks(store, here, weeks))
        finally:
            store.con.unregister("selected_coverage")
    finally:
        embedded.close()
    if not estimate.usage_month.num_rows and _has_usage(store, months):
        uncovered = ", ".join(s.name for s in selection.sources if s.kind == "census")
        raise InputError("Không ước lượng được toàn quốc: các nguồn nhà mạng "
                         f"({uncovered}) chưa khai báo số thuê bao theo tỉnh và tháng (thuocdo sources declare TÊN "
                         "--kind census --coverage TỆP) và không có bảng mẫu nào.")
    return SelectedUsage(estimate.usage_month, _weekly(estimate.usage_week), estimate)


def _weekly(rows: pa.Table | None) -> pa.Table:
    return USAGE_WEEK_SCHEMA.empty_table() if rows is None else rows.select(USAGE_WEEK_SCHEMA.names).cast(
        USAGE_WEEK_SCHEMA)


def weekly_usage(store: Store, sources: Sequence[str], months: Sequence[str], weeks: Sequence[dt.date],
                 place: UnionPlace | None = None) -> pa.Table:
    """The usage_week rows of each of `sources` (each its own persons) for `weeks`: the stored rollup's for the
    sources of the store's lake; for those the cluster's lakehouse holds, computed from their person-days where
    they are (`place`: the Spark engine's cluster; by default through pyiceberg on the store's connection)."""
    if not weeks or not sources:
        return USAGE_WEEK_SCHEMA.empty_table()
    here = [s for s in sources if person_days_here(store, s)]
    parts = [stored_weeks(store, here, weeks)]
    elsewhere = [s for s in sources if s not in here]
    lake = home_lakehouse(store.home) if elsewhere else None
    missing = {(s, w) for s in elsewhere for w in weeks}
    if lake is not None:  # the lakehouse's stored weeks that are current; the others are computed here
        stored, missing = lakehouse_weeks(store, lake, elsewhere, weeks)
        parts.append(stored)
    if missing:
        view, weights = "weekly_person_day", "weekly_weights"
        embedded = _EmbeddedPlace(store)
        try:
            db = (place or embedded).union_place(sorted({s for s, _ in missing}), months, person_day=view,
                                                 weights=weights)
            computed = _weekly(db.rows(usage_week_sql(view, weights, sorted({w for _, w in missing}))))
        finally:
            embedded.close()
        keep = [(s, w) in missing for s, w in zip(computed["source"].to_pylist(), computed["week"].to_pylist(),
                                                   strict=True)]
        parts.append(computed.filter(pa.array(keep, pa.bool_())))
    return pa.concat_tables(parts)


def stored_weeks(store: Store, sources: Sequence[str], weeks: Sequence[dt.date]) -> pa.Table:
    """The stored usage_week rows of the sources (of the store's lake) and weeks."""
    return _weekly(store.con.sql(
        f"SELECT {', '.join(USAGE_WEEK_SCHEMA.names)} FROM usage_week WHERE list_contains($s, source) "
        "AND list_contains($w::DATE[], week)", params={"s": list(sources), "w": list(weeks)}).to_arrow_table())


def _has_usage(store: Store, months: Sequence[str], source: str | None = None) -> bool:
    """Whether any source (or the one named) has rolled-up usage in the months."""
    return bool(store.con.execute("SELECT count(*) FROM usage_month WHERE list_contains(?, month) "
                                  "AND (? IS NULL OR source = ?)", [list(months), source, source]).fetchall()[0][0])


def _stored_cells(store: Store, months: Sequence[str]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Per stored source: MAU cells with their variance (a panel's Σ w(w − 1); 0 for a count), and each
    cell's single contribution."""
    rows = store.con.execute(
        "SELECT source, platform, month, province, w_persons, "
        "CASE WHEN EXISTS (SELECT 1 FROM weights AS w WHERE w.source = u.source AND w.month = u.month) "
        f"THEN {PANEL_VARIANCE} ELSE 0 END "
        "FROM usage_month AS u WHERE list_contains(?, month)", [list(months)]).fetchall()
    cells = [{"label": s, "platform": p, "month": m, "province": v, "mau": w, "mau_var": var}
             for s, p, m, v, w, var in rows]
    parts = [{"label": c["label"], "platform": c["platform"], "month": c["month"], "province": c["province"],
              "source": c["label"], "mau": c["mau"]} for c in cells]
    return cells, parts


def with_margins(store: Store, table: pa.Table, request: mq.MetricRequest, selection: Selection | None,
                 estimate: Estimate | None) -> pa.Table:
    """The metric table with ``sources`` (each source's share of the row's MAU, ``name=share;…``, largest
    first), ``mau_low`` and ``mau_high`` (the 95% interval; a count of a census source has none of its own
    and gives its value) on the rows computed from records."""
    if request.breakdown is mq.Breakdown.CATEGORY:
        return table
    months = list(request.period.months)
    cells, parts = _stored_cells(store, months)
    if estimate is not None:
        cells += [{"label": NATIONAL, **r} for r in estimate.cells.to_pylist()]
        parts += [{"label": NATIONAL, **r} for r in estimate.contributions.to_pylist()]
    elif selection is not None and selection.kind == "union":  # each member's share: the persons it saw
        members = {s.name for s in selection.sources}
        parts += [{**p, "label": selection.label} for p in parts if p["source"] in members]
    by_province = request.breakdown is mq.Breakdown.PROVINCE
    variance: dict[tuple[object, ...], float] = defaultdict(float)
    for c in cells:
        variance[(c["label"], c["platform"], c["province"] if by_province else None, c["month"])] += float(
            c["mau_var"] or 0.0)  # type: ignore[arg-type]
    shares: dict[tuple[object, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in parts:
        if p["month"] not in months:  # the estimate also covers the periods compared with
            continue
        shares[(p["label"], p["platform"], p["province"] if by_province else None)][str(p["source"])] += float(
            p["mau"] or 0.0)  # type: ignore[arg-type]
    sources: list[str | None] = []
    low: list[float | None] = []
    high: list[float | None] = []
    for r in table.to_pylist():
        key = (r.get("source"), r.get("platform"), r.get("province") if by_province else None)
        if r.get("basis", "records") != "records" or r.get("mau") is None:
            sources.append(None)
            low.append(None)
            high.append(None)
            continue
        se = sum(math.sqrt(variance.get((*key, m), 0.0)) for m in months) / len(months)
        sources.append(_shares(shares.get(key, {}), str(r.get("source"))))
        low.append(max(0.0, float(r["mau"]) - Z95 * se))
        high.append(float(r["mau"]) + Z95 * se)
    for (name, kind), values in zip(MARGIN_COLUMNS, (sources, low, high), strict=True):
        table = table.append_column(pa.field(name, kind), pa.array(values, kind))
    return table


def _shares(parts: dict[str, float], fallback: str) -> str:
    total = sum(parts.values())
    if total <= 0:
        return f"{fallback}=1"
    ordered = sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ";".join(f"{name}={value / total:.4f}".rstrip("0").rstrip(".") for name, value in ordered)


def public_mix(table: pa.Table) -> pa.Table:
    """A metric table as the public sees a fused row: the names of its sources without their shares, and no
    sample size (a share or a sample size times a share gives a source's own count, which may be withheld)."""
    if "sources" not in table.column_names:
        return table
    rows = table.to_pylist()
    fused = [r.get("source") == NATIONAL or SEPARATOR in str(r.get("source") or "") for r in rows]
    names = [";".join(part.partition("=")[0] for part in r["sources"].split(";")) if f and r.get("sources") else
             r.get("sources") for r, f in zip(rows, fused, strict=True)]
    table = table.set_column(table.column_names.index("sources"), "sources", pa.array(names, pa.string()))
    for column in ("sample_persons", "w2_persons"):
        if column in table.column_names:
            values = [None if f else r.get(column) for r, f in zip(rows, fused, strict=True)]
            table = table.set_column(table.column_names.index(column), table.schema.field(column),
                                     pa.array(values, table.schema.field(column).type))
    return table
