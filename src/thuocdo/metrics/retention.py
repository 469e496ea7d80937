"""Retention cohorts: of the persons active on a platform in a cohort month, the share active on it again k months
later (the question behind the reports' "suy giảm": does a platform lose its users, or fail to gain new ones).

For a source, a platform and a cohort month *c*: the cohort is the persons with an active day on the platform in
*c*, each weighted by their weight of month *c* (1 without panel weights). For k = 0..N, ``retained_persons`` is
the weighted number of them active on the platform in month *c + k*, ``retained_share`` its ratio to
``cohort_persons`` (k = 0: 1). With ``--by province`` a person counts in the province of their cohort
person-month. Where the data is a panel, ``margin`` is the half-width of the share's 95% interval: the ratio
estimator's linearised variance, Σ w² (y − p)² / (Σ w)², with y = 1 for a person retained (0 otherwise) and p the
share (a census source has none: its share is a count of everyone); ``cohort_sample`` is the cohort's unweighted
size (what disclosure control counts).

The months followed need not come after the cohort: with an earlier month, the share is that of the cohort's
persons who were active then already (1 − the share of new users).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyarrow as pa

from thuocdo.model.periods import Period, PeriodError, PeriodKind
from thuocdo.store.sql import literal

COLUMNS = ("platform", "province", "cohort", "month", "months_since", "cohort_persons", "retained_persons",
           "retained_share", "margin", "cohort_sample")
SCHEMA = pa.schema([("platform", pa.string()), ("province", pa.string()), ("cohort", pa.string()),
                    ("month", pa.string()), ("months_since", pa.int64()), ("cohort_persons", pa.float64()),
                    ("retained_persons", pa.float64()), ("retained_share", pa.float64()), ("margin", pa.float64()),
                    ("cohort_sample", pa.int64())])


def months_after(cohort: str, n: int) -> list[str]:
    """The cohort month and the `n` months after it (YYYY-MM)."""
    start = Period.parse(cohort)
    if start.kind is not PeriodKind.MONTH:
        raise PeriodError(f"Nhóm '{cohort}' phải là một tháng (YYYY-MM).")
    first = start.year * 12 + start.index - 1
    return [f"{(first + k) // 12:04d}-{(first + k) % 12 + 1:02d}" for k in range(n + 1)]


def retention_sql(person_month: str, weights: str, source: str, months: Sequence[str],
                  platform: str | None = None, by_province: bool = False) -> str:
    """The sums of a retention table (DuckDB's dialect, printed for Spark by SQLGlot) over relations
    `person_month` (:data:`thuocdo.rollups.definitions.PERSON_MONTH_COLUMNS`: one row per source, platform, person
    and month) and `weights` (source, person, month, weight): per platform (and cohort province), month and k,
    Σ w of the cohort, Σ w·y, Σ w², Σ w²·y and the cohort's size. ``months[0]`` is the cohort's month; each month
    of `months` is followed, k its position."""
    cohort = months[0]
    ks = ", ".join(f"({literal(m)}, {k})" for k, m in enumerate(months))
    area = "c.province" if by_province else "CAST(NULL AS VARCHAR)"
    only = f"AND platform = {literal(platform)}" if platform else ""
    return f"""
    WITH active AS (
        SELECT platform, person, month, province FROM {person_month}
        WHERE source = {literal(source)} AND month IN ({', '.join(literal(m) for m in months)})
          AND active_days > 0 {only}
    ), cohort AS (
        SELECT a.platform, a.person, a.province, COALESCE(w.weight, 1.0) AS w
        FROM active AS a
        LEFT JOIN {weights} AS w ON w.source = {literal(source)} AND w.person = a.person AND w.month = a.month
        WHERE a.month = {literal(cohort)}
    ), later AS (
        SELECT * FROM (VALUES {ks}) AS v(month, k)
    ), flags AS (
        SELECT c.platform, {area} AS province, l.month, l.k, c.w,
               CASE WHEN a.person IS NULL THEN 0.0 ELSE 1.0 END AS y
        FROM cohort AS c CROSS JOIN later AS l
        LEFT JOIN active AS a ON a.platform = c.platform AND a.person = c.person AND a.month = l.month
    )
    SELECT platform, province, month, k, SUM(w) AS sw, SUM(w * y) AS swy, SUM(w * w) AS sw2, SUM(w * w * y) AS sw2y,
           COUNT(*) AS n
    FROM flags GROUP BY platform, province, month, k
    """


def retention_table(sums: pa.Table, cohort: str, panel: bool, z: float) -> pa.Table:
    """The retention table (:data:`SCHEMA`) from the sums of :func:`retention_sql`; a panel's margins at `z`
    standard errors."""
    rows = []
    for r in sorted(sums.to_pylist(), key=lambda r: (r["platform"], r["province"] or "", r["k"])):
        share = r["swy"] / r["sw"] if r["sw"] else None
        margin = None
        if panel and share is not None:
            # Σ w²(y − p)² = Σw²y·(1 − p)² + (Σw² − Σw²y)·p²
            spread = r["sw2y"] * (1 - share) ** 2 + (r["sw2"] - r["sw2y"]) * share ** 2
            margin = z * math.sqrt(max(spread, 0.0)) / r["sw"]
        rows.append({"platform": r["platform"], "province": r["province"], "cohort": cohort, "month": r["month"],
                     "months_since": r["k"], "cohort_persons": r["sw"], "retained_persons": r["swy"],
                     "retained_share": share, "margin": margin, "cohort_sample": r["n"]})
    return pa.Table.from_pylist(rows, schema=SCHEMA)
