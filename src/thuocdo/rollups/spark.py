"""The rollups on Apache Spark: the same definitions as on the embedded store, run by :mod:`thuocdo.engines.spark`.

:class:`SparkRollups` reads the ``person_day`` files that the store's manifest (``lake_files``) lists for the
months a query needs, collapses the days held in several files (:data:`PERSON_DAY_MERGE`), rebuilds
``person_month`` and ``usage_month`` with :data:`PERSON_MONTH` / :data:`USAGE_MONTH`, adds the lakehouse's stored
``usage_month`` rows (kept up to date by :mod:`thuocdo.rollups.lakehouse`), and then runs metric queries over them
like any engine. It also builds and unions the per-day sketches (:mod:`thuocdo.rollups.sketches`)
with Spark's own DataSketches functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import reduce
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from thuocdo.engines.base import Relations
from thuocdo.engines.spark import SparkEngine, split_cte
from thuocdo.rollups import lakehouse, lakehouse_months, person_rollups, sketches
from thuocdo.rollups.definitions import (
    PERSON_DAY_COLUMNS,
    PERSON_DAY_MERGE,
    PERSON_MONTH,
    PERSON_MONTH_COLUMNS,
    USAGE_MONTH,
    rollup_sql,
)
from thuocdo.rollups.rebuild import person_day_files
from thuocdo.rollups.served import weights_stamps
from thuocdo.store import StoreError
from thuocdo.store.lakehouse import Lakehouse, table_name

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: the stored person_day files, as written by ingestion (a schema given up front spares Spark a footer scan)
PERSON_MONTH_SCHEMA = ("source STRING, platform STRING, person BIGINT, month STRING, province STRING, "
                       "active_days BIGINT, active_seconds BIGINT, bytes BIGINT, sessions BIGINT, installs BIGINT")
PERSON_DAY_SCHEMA = ("platform STRING, person BIGINT, day DATE, month STRING, active_seconds BIGINT, bytes BIGINT, "
                     "sessions BIGINT, installs BIGINT, active BOOLEAN, province STRING, province_seconds BIGINT")


class SparkRollups:
    """The rollups built by a Spark engine, and metric queries run over them
    (an :class:`~thuocdo.engines.base.Engine`)."""

    name = "spark"
    dialect = "spark"

    def __init__(self, engine: SparkEngine, *, lake: Lakehouse | None = None) -> None:
        self.engine = engine
        self.lake = lake  # a lakehouse whose person_day table holds sources too (thuocdo.rollups.lakehouse)
        self.store = engine.store
        self.spark = engine.spark
        self._rollup: tuple[frozenset[str], str, DataFrame] | None = None
        self._settled = False  # while true, the rollup built here is current (see settled)

    # -- the relations ---------------------------------------------------------------------------------------
    def person_day(self, months: Iterable[str], *, with_lakehouse: bool = True) -> DataFrame:
        """The stored person_day rows of the months, with their source (from the manifest), as one DataFrame with
        one row per person-day: of the days a late file or a merge of the inbox appended to, held in several
        files, the rows of the day's largest file that no other file names pass through and the others are
        collapsed (``PERSON_DAY_MERGE``), as :func:`thuocdo.rollups.rebuild.person_days_sql` does; and the
        lakehouse's, unless `with_lakehouse` is false."""
        largest: dict[str, list[str]] = {}
        others: dict[str, list[str]] = {}
        for source, path, first in person_day_files(self.store, sorted(set(months))):
            (largest if first else others).setdefault(source, []).append(path)

        def read(by_source: dict[str, list[str]]) -> DataFrame | None:
            frames = [self.engine.read_parquet(paths, PERSON_DAY_SCHEMA, {"source": source})
                      for source, paths in by_source.items()]
            return reduce(lambda a, b: a.unionByName(b), frames) if frames else None

        whole, late = read(largest), read(others)
        parts = None
        if whole is not None and late is not None:
            met = late.select("source", "platform", "person", "day")
            self.engine.view("person_day_parts", whole.join(met, ["source", "platform", "person", "day"], "left_semi")
                             .unionByName(late))
            parts = self.engine.sql(rollup_sql(PERSON_DAY_MERGE)).select(*PERSON_DAY_COLUMNS, "source")
            whole = whole.join(met, ["source", "platform", "person", "day"], "left_anti")
        frames = [f for f in (whole, parts) if f is not None]
        if self.lake is not None and with_lakehouse:
            frames.append(lakehouse.person_day(self.spark, self.lake, months))
        if not frames:
            return self.engine.empty(f"{PERSON_DAY_SCHEMA}, source STRING")
        return reduce(lambda a, b: a.unionByName(b), frames)

    def person_months(self, source: str, months: Sequence[str]) -> DataFrame:
        """A source's stored person-months of the months (:data:`PERSON_MONTH_COLUMNS`): the embedded lake's
        files, or the lakehouse's table brought up to date first."""
        base, patches = person_rollups.files(self.store, person_rollups.MONTHLY, source, months)
        if base or patches:  # the patch's rows for the persons it holds, the base's for the others
            if not patches or not base:
                return self.engine.read_parquet(patches or base).select(*PERSON_MONTH_COLUMNS)
            patch = self.engine.read_parquet(patches).select(*PERSON_MONTH_COLUMNS)
            held = self.engine.read_parquet(base).select(*PERSON_MONTH_COLUMNS)
            return (held.join(patch.select("month", "person").distinct(), ["month", "person"], "left_anti")
                    .select(*PERSON_MONTH_COLUMNS).unionByName(patch))
        if self.lake is None:
            return self.engine.empty(PERSON_MONTH_SCHEMA)
        lakehouse.bring_up_to_date(self.spark, self.lake, [source])
        lakehouse_months.update_person_month(self.spark, self.lake, [source])
        return (self.spark.table(table_name(self.lake, "person_month"))
                .where(f"source = '{source.replace(chr(39), chr(39) * 2)}' AND month IN ({lakehouse.quoted(months)})")
                .select(*PERSON_MONTH_COLUMNS))

    def union_place(self, sources: Sequence[str], months: Sequence[str], *, person_day: str,
                    weights: str) -> SparkRelational:
        """Where a union of the sources' persons runs on Spark: views `person_day` (their person-days of the
        months, the embedded lake's and the lakehouse's) and `weights` (the store's, of the months)."""
        from pyspark.sql import functions as F

        self.engine.view(person_day, self.person_day(months).where(F.col("source").isin(list(sources))))
        self.engine.view(weights, self.engine.store_table(
            "SELECT source, person, month, weight FROM weights WHERE list_contains($m, month)", {"m": list(months)}))
        return SparkRelational(self.engine)

    def _fingerprint(self, months: list[str]) -> str:
        """What the rollup of these months is built from: the listed person_day files, the weights batches, and
        the lakehouse's records and person-months (their current snapshots)."""
        lake = ""
        if self.lake is not None:
            lake = ":".join(str(lakehouse.current_snapshot(self.spark, table_name(self.lake, name)))
                            for name in ("usage_records", "usage_month"))
        row = self.store.con.sql(
            "SELECT (SELECT md5(string_agg(path, ',' ORDER BY path)) FROM lake_files "
            "        WHERE dataset = 'person_day' AND list_contains($m, month)), "
            "       (SELECT md5(string_agg(DISTINCT batch_id, ',' ORDER BY batch_id)) FROM weights "
            "        WHERE list_contains($m, month))", params={"m": months}).fetchall()[0]
        return f"{row[0]}/{row[1]}/{lake}"

    @contextmanager
    def settled(self) -> Iterator[None]:
        """A block of queries that read the rollups as they are when it starts: a rollup built here that covers a
        query's months is used without looking again at what it was built from (the inputs' fingerprint reads the
        lakehouse's snapshots: about a third of a query's time on a cluster). The tables of one report or one set
        of metrics then come from one state of the store, even if a delivery lands meanwhile."""
        self._settled = True
        try:
            yield
        finally:
            self._settled = False

    def prepare(self, months: Iterable[str]) -> None:
        """Register ``usage_month`` covering the months, rebuilt from person_day unless the rollup already built
        here covers them and its inputs (person_day files, weights) have not changed since (not looked at again
        in a :meth:`settled` block)."""
        wanted = set(months)
        if self._rollup is not None:
            built, fingerprint, frame = self._rollup
            if wanted <= built and (self._settled or self._fingerprint(sorted(built)) == fingerprint):
                self.engine.view("usage_month", frame)
                return
            self._rollup = None
        ordered = sorted(wanted)
        # the lakehouse's usage_month (every rollup brought up to date first), then what the rollup is built from
        stored = None
        if self.lake is not None:
            weights = self.engine.store_table("SELECT source, person, month, weight FROM weights")
            stored = lakehouse_months.usage_month(self.spark, self.lake, ordered, weights, weights_stamps(self.store))
        fingerprint = self._fingerprint(ordered)
        summed = stored
        if person_day_files(self.store, ordered) or stored is None:  # the embedded lake's sources, summed here
            self.engine.view("person_day", self.person_day(ordered, with_lakehouse=False))
            self.engine.view("weights", self.engine.store_table(
                "SELECT source, person, month, weight FROM weights WHERE list_contains($m, month)", {"m": ordered}))
            # Spark computes a WITH clause again at every reference: person_month's one aggregation of all the
            # records (`agg`, referred to twice) runs once as its own query, kept on disk
            agg, person_month = split_cte(rollup_sql(PERSON_MONTH), "agg")
            self.engine.view("agg", self.engine.on_disk(self.engine.sql(agg)))
            self.engine.view("person_month", self.engine.sql(person_month))
            embedded = self.engine.sql(rollup_sql(USAGE_MONTH))
            summed = embedded if stored is None else embedded.unionByName(stored)
        assert summed is not None
        usage_month = self.engine.local(summed)  # small: broadcast to every query
        self.engine.view("usage_month", usage_month)
        self._rollup = (frozenset(wanted), fingerprint, usage_month)

    def run(self, query: exp.Expr, relations: Relations) -> pa.Table:
        """A metric query, over the rollups of the months it needs."""
        if relations.usage_month is None:
            self.prepare(relations.periods.column("month").to_pylist())
        return self.engine.run(query, relations)

    # -- mergeable distinct counts (see thuocdo.rollups.sketches) -------------------------------------------
    def sketch_cells(self, months: Iterable[str], lg_k: int = sketches.LG_K) -> pa.Table:
        """The sketch_day cells of the months built by Spark (``hll_sketch_agg``, DataSketches HLL_8)."""
        self.engine.view("sketch_person_day", self.person_day(months))
        cells = self.engine.arrow(self.spark.sql(
            f"SELECT source, platform, day, month, province, CAST({int(lg_k)} AS INT) AS lg_k, COUNT(*) AS persons, "
            f"hll_sketch_agg(person, {int(lg_k)}) AS sketch FROM sketch_person_day WHERE active "
            "GROUP BY source, platform, day, month, province"))
        return cells.cast(sketches.SKETCH_DAY_SCHEMA)

    def build_sketch_days(self, *, sources: Sequence[str] | None = None, months: Sequence[str] | None = None,
                          lg_k: int = sketches.LG_K) -> list[tuple[str, str]]:
        """Like :func:`thuocdo.rollups.sketches.build_sketch_days`, the sketches computed by Spark."""
        stale = sketches.stale_months(self.store, sources=sources, months=months, lg_k=lg_k)
        batch_ids = sketches.sketch_batch_ids(self.store, sources, months, lg_k)
        if not stale:
            return []
        cells = self.sketch_cells(sorted({m for _, m in stale}), lg_k)
        for source, month in stale:
            mine = cells.filter(pc.and_(pc.equal(cells.column("source"), source),
                                        pc.equal(cells.column("month"), month)))
            sketches.write_sketch_days(self.store, source, month, mine, batch_ids[(source, month)])
        return stale

    def distinct_persons(self, first_day: dt.date, last_day: dt.date, *, by: Sequence[str] = ("source", "platform"),
                         lg_k: int = sketches.LG_K) -> pa.Table:
        """Like :func:`thuocdo.rollups.sketches.distinct_persons`: Spark unions the stored sketches
        (``hll_union_agg``) per group; the driver reads each union's estimate and bounds."""
        months = sketches.months_between(first_day, last_day)
        stale = sketches.stale_months(self.store, months=months, lg_k=lg_k)
        if stale:
            raise StoreError("Sketch chưa cập nhật cho " + ", ".join(f"{s} {m}" for s, m in stale))
        paths = [r[0] for r in self.store.con.sql(
            "SELECT path FROM lake_files WHERE dataset = $d AND list_contains($m, month) ORDER BY path",
            params={"d": sketches.SKETCH_DAY, "m": months}).fetchall()]
        if not paths:
            return sketches.union_cells(sketches.SKETCH_DAY_SCHEMA.empty_table(), by, lg_k)
        self.engine.view("sketch_day", self.engine.read_parquet(paths))
        keys = ", ".join(f"`{c}`" for c in by)
        unions = self.engine.arrow(self.spark.sql(
            f"SELECT {keys}, hll_union_agg(sketch) AS sketch FROM sketch_day "
            f"WHERE day BETWEEN DATE '{first_day.isoformat()}' AND DATE '{last_day.isoformat()}' GROUP BY {keys}"))
        return sketches.union_cells(unions, by, lg_k)


class SparkRelational:
    """Queries written in DuckDB's dialect run by Spark over its views, each kept result computed once on local
    disk: the person-level work of a union of sources (:func:`thuocdo.metrics.national.union_rows`) on the
    cluster that holds the person-days."""

    def __init__(self, engine: SparkEngine) -> None:
        self.engine = engine

    def keep(self, name: str, sql: str) -> None:
        self.engine.view(name, self.engine.on_disk(self.engine.sql(rollup_sql(sql))))

    def rows(self, sql: str) -> pa.Table:
        return self.engine.arrow(self.engine.sql(rollup_sql(sql)))

    def drop(self, name: str) -> None:
        self.engine.spark.catalog.dropTempView(name)
