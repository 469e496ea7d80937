"""The per-person rollups of the embedded lake (person-months and person-weeks): each period's base files and
its patch, and the sums kept in step by difference.

A period's rows are held in two datasets of the lake: the base (``person_month``, ``person_week``: the period's
rows as its last whole build left them) and the patch (``person_month_patch``, ``person_week_patch``: the rows of
the persons changed since, every platform of each). A person found in a period's patch has exactly the patch's
rows there; everyone else has the base's (:func:`effective_sql`). A late delivery therefore writes files the size
of the persons it touched, not of the period: the patch is rewritten with them (:func:`stage_patch`), and the
base only when the patch has grown to :data:`COMPACT_SHARE` of it.

The sums (``usage_month``, ``usage_week``) are brought up to date the same way (:func:`apply_delta`): the sums of
the touched persons' new rows are added and those of the rows they replace are subtracted (the rollup's own
summing query over each, :data:`~thuocdo.rollups.definitions.USAGE_MONTH` or
:data:`~thuocdo.rollups.definitions.USAGE_WEEK`: the definition is not written twice). A group (platform ×
period × province) that lost rows is summed again exactly from the period's rows, so that a group left without
any disappears as it would from a whole build. Sums of weights added and subtracted differ from a whole build's
by rounding only (about 1e-16 of the sum); counts are exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from thuocdo.rollups.definitions import (
    PERSON_MONTH_COLUMNS,
    PERSON_WEEK_COLUMNS,
    USAGE_MONTH,
    USAGE_WEEK,
    reading,
)
from thuocdo.store.home import Store
from thuocdo.store.lake import stage_partitions
from thuocdo.store.sql import literal

#: a patch is folded into a new base when it holds more rows than this share of the base
COMPACT_SHARE = 0.1


@dataclass(frozen=True)
class PersonRollup:
    """A per-person rollup: its base dataset (also the relation its summing query reads), the period its rows
    are replaced by (a person's rows of one month, or of one week), its columns and its summing query."""

    name: str
    period: str
    columns: tuple[str, ...]
    summed: str
    sums: tuple[str, ...]

    @property
    def patch(self) -> str:
        return f"{self.name}_patch"

    @property
    def group(self) -> tuple[str, ...]:
        """The columns naming a row of the sums."""
        return ("source", "platform", self.period, "province")

    @property
    def weekly(self) -> bool:
        """Files partitioned by week (the lake's ``day`` holds the week's Monday) within the month of its
        Thursday, rather than by month."""
        return self.period == "week"


MONTHLY = PersonRollup("person_month", "month", PERSON_MONTH_COLUMNS, USAGE_MONTH,
                       ("persons", "w_persons", "w2_persons", "w_active_days", "w_seconds", "w_bytes", "w_sessions",
                        "w_installs"))
WEEKLY = PersonRollup("person_week", "week", PERSON_WEEK_COLUMNS, USAGE_WEEK, ("persons", "w_persons", "w2_persons"))


def files(store: Store, rollup: PersonRollup, source: str, periods: Sequence[str] | Sequence[dt.date],
          ) -> tuple[list[str], list[str]]:
    """The listed base files and patch files of a source's periods (months, or the Mondays of weeks)."""
    if rollup.weekly:
        return (store.files(rollup.name, source=source, days=list(periods)),
                store.files(rollup.patch, source=source, days=list(periods)))
    return (store.files(rollup.name, source=source, months=[str(p) for p in periods]),
            store.files(rollup.patch, source=source, months=[str(p) for p in periods]))


def effective_sql(rollup: PersonRollup, base: Sequence[str], patches: Sequence[str], *,
                  persons: str | None = None) -> str | None:
    """The rows held by these base and patch files: the patch's rows for the persons it holds (per period), the
    base's for the others (None: no file); only those of the relation `persons` (period, person) when given, each
    file filtered by it first."""
    columns = ", ".join(rollup.columns)
    if not base and not patches:
        return None
    of = f" SEMI JOIN {persons} USING ({rollup.period}, person)" if persons else ""
    patch = f"SELECT {columns} FROM read_parquet({literal(list(patches))}){of}"
    if not patches:
        return f"SELECT {columns} FROM read_parquet({literal(list(base))}){of}"
    if not base:
        return patch
    return (f"SELECT {columns} FROM read_parquet({literal(list(base))}){of} "
            f"ANTI JOIN (SELECT DISTINCT {rollup.period}, person FROM read_parquet({literal(list(patches))})) "
            f"USING ({rollup.period}, person) UNION ALL {patch}")


def held_sql(store: Store, rollup: PersonRollup, source: str, periods: Sequence[str] | Sequence[dt.date]) -> str | None:
    """A query of a source's rows of the periods, None when none are stored."""
    return effective_sql(rollup, *files(store, rollup, source, periods))


def person_month_sql(store: Store, source: str, months: Sequence[str]) -> str | None:
    """A query of a source's person-months of the months (:data:`PERSON_MONTH_COLUMNS`), None when none are
    stored."""
    return held_sql(store, MONTHLY, source, months)


def stage_base(store: Store, rollup: PersonRollup, source: str, batch_id: str, sql: str,
               replaces: list[str]) -> None:
    """Stage the rows of `sql` as the base of their periods, replacing the files `replaces`."""
    _stage(store, rollup, rollup.name, source, batch_id, sql, replaces)


def _stage(store: Store, rollup: PersonRollup, dataset: str, source: str, batch_id: str, sql: str,
           replaces: list[str]) -> None:
    """Stage rows of the rollup as files of `dataset`: one per month, or per week (its Monday as the lake's day)."""
    if rollup.weekly:
        sql = f"SELECT *, week AS day FROM ({sql})"
    stage_partitions(store, dataset, source, batch_id, sql, {}, replaces=replaces, daily=rollup.weekly)


def stage_patch(store: Store, rollup: PersonRollup, source: str, batch_id: str, base: list[str], patches: list[str],
                *, touched: str, changed: str) -> bool:
    """Stage a period's new rows after the persons of `touched` (a relation of period and person) changed, their
    new rows in the table `changed`: a new patch (the old one without those persons, then their rows), or, when
    that patch would hold more than :data:`COMPACT_SHARE` of the base, a new base with everything folded in.
    Leaves ``<name>_before`` (the rows those persons had). Returns whether only the patch was rewritten (the
    sums can then be updated by difference: :func:`apply_delta`)."""
    con = store.con
    key = f"{rollup.period}, person"
    held = effective_sql(rollup, base, patches)
    assert held is not None  # an update by persons needs a base (rebuild._touched_persons)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rollup.name}_before AS "
                f"{effective_sql(rollup, base, patches, persons=touched)}")
    # the rollup's own columns: a stored file also holds its partition's (a week's `day`), which the new rows lack
    kept = (f"SELECT {', '.join(rollup.columns)} FROM read_parquet({literal(patches)}) ANTI JOIN {touched} "
            f"USING ({key}) UNION ALL BY NAME " if patches else "")
    patch_sql = f"{kept}SELECT * FROM {changed}"
    patch_rows, base_rows = con.execute(
        f"SELECT (SELECT count(*) FROM ({patch_sql})), "
        "(SELECT coalesce(sum(rows), 0) FROM lake_files WHERE list_contains($rel, path))",
        {"rel": store.relative(base)}).fetchall()[0]
    if patch_rows > COMPACT_SHARE * base_rows:
        whole = f"SELECT * FROM ({held}) ANTI JOIN {touched} USING ({key}) UNION ALL BY NAME SELECT * FROM {changed}"
        stage_base(store, rollup, source, batch_id, whole, base + patches)
        return False
    _stage(store, rollup, rollup.patch, source, batch_id, patch_sql, patches)
    return True


def apply_delta(store: Store, rollup: PersonRollup, base: list[str], patches: list[str], table: str, *,
                changed: str) -> None:
    """Inside the rollup's transaction, once the new patch is listed (`base`, `patches`: the periods' files now):
    bring the rows of the sums `table` up to date from ``<name>_before`` (subtracted) and `changed` (added); the
    groups that lost rows are summed again whole."""
    con = store.con
    keys = ", ".join(rollup.group)
    sums = ", ".join(f"sum(sign * {c}) AS {c}" for c in rollup.sums)
    parts = " UNION ALL BY NAME ".join(
        f"SELECT *, {sign} AS sign FROM ({part})"
        for relation, sign in ((changed, 1), (f"{rollup.name}_before", -1))
        for part in (reading(rollup.summed, {rollup.name: relation}).sql("duckdb"),
                     f"SELECT {keys}, count(*) AS n FROM {relation} GROUP BY ALL"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE sums_delta AS SELECT {keys}, {sums}, sum(sign * n)::BIGINT AS n "
                f"FROM ({parts}) GROUP BY {keys}")
    same = " AND ".join(f"u.{k} IS NOT DISTINCT FROM d.{k}" for k in rollup.group)
    # the groups that lost rows (a person moved province): summed again from the periods' rows
    con.execute(f"DELETE FROM {table} AS u USING sums_delta AS d WHERE {same} AND d.n < 0")
    shrunk = con.execute("SELECT count(*) FROM sums_delta WHERE n < 0").fetchall()[0][0]
    held = effective_sql(rollup, base, patches)
    if held is not None and shrunk:
        con.execute(f"CREATE OR REPLACE TEMP VIEW rows_shrunk AS SELECT * FROM ({held}) AS p SEMI JOIN "
                    f"(SELECT * FROM sums_delta WHERE n < 0) AS s ON p.platform = s.platform "
                    f"AND p.{rollup.period} = s.{rollup.period} AND p.province IS NOT DISTINCT FROM s.province")
        summed = reading(rollup.summed, {rollup.name: "rows_shrunk"}).sql("duckdb")
        con.execute(f"INSERT INTO {table} BY NAME {summed}")
        con.execute("DROP VIEW rows_shrunk")
    con.execute(f"UPDATE {table} AS u SET {', '.join(f'{c} = u.{c} + d.{c}' for c in rollup.sums)} "
                f"FROM sums_delta AS d WHERE {same} AND d.n >= 0")
    con.execute(f"INSERT INTO {table} BY NAME SELECT {keys}, {', '.join(rollup.sums)} FROM sums_delta AS d "
                f"WHERE d.n > 0 AND NOT EXISTS (SELECT 1 FROM {table} AS u WHERE {same})")
    con.execute(f"DROP TABLE sums_delta; DROP TABLE IF EXISTS {rollup.name}_before")

