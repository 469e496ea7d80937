"""Measured: one hand-written DuckDB SQL query over the raw table computing the same numbers as thuocdo."""

from __future__ import annotations

from pathlib import Path

from .common import PERIOD_ROWS, Clock
from .compare import write_result

#: the hand-written query: raw records → person × platform × day → person × platform × month (+ weight)
#: → platform (× province) × month → periods. Persons are the raw user_id; the province of a person-month is
#: min(code) (each generated person has one home province, so thuocdo's rule reduces to it).
BASELINE_SQL = """
WITH rec AS (
    SELECT r.user_id, r.platform, CAST(timezone('Asia/Ho_Chi_Minh', r."time") AS DATE) AS day,
           r.active_seconds, r.bytes, r.sessions, r.installs, p.code AS province
    FROM raw AS r LEFT JOIN provinces AS p ON r.province = p.value
), person_day AS (
    SELECT user_id, platform, day, bool_or(sessions > 0 OR active_seconds > 0) AS active,
           sum(active_seconds) AS secs, sum(bytes) AS bytes, sum(sessions) AS sessions,
           sum(installs) AS installs, min(province) AS province
    FROM rec GROUP BY user_id, platform, day
), person_month AS (
    SELECT user_id, platform, strftime(day, '%Y-%m') AS month, count(*) FILTER (WHERE active) AS active_days,
           sum(secs) AS secs, sum(bytes) AS bytes, sum(sessions) AS sessions, sum(installs) AS installs,
           min(province) AS province
    FROM person_day GROUP BY ALL
), weighted AS (
    SELECT pm.*, coalesce(w.weight, 1.0) AS w
    FROM person_month AS pm LEFT JOIN weights AS w ON w.user_id = pm.user_id AND w.month = pm.month
), monthly AS (
    SELECT platform, CASE WHEN grouping(province) = 1 THEN '' ELSE province END AS province, month,
           coalesce(sum(w) FILTER (WHERE active_days > 0), 0) AS mau_m, sum(w * active_days) AS wdays,
           sum(w * secs) AS wsec, sum(w * bytes) AS wbytes, sum(w * sessions) AS wsess, sum(w * installs) AS winst
    FROM weighted GROUP BY GROUPING SETS ((platform, month), (platform, province, month))
), periods(period, month, n_months, n_days) AS (
    VALUES {periods}
)
SELECT p.period, m.platform, m.province,
       sum(m.mau_m) / max(p.n_months) AS mau,
       sum(m.wdays) / max(p.n_days) AS dau,
       sum(m.wsec) / 60.0 / nullif(sum(m.wdays), 0) AS minutes_per_day,
       avg(CASE WHEN m.mau_m > 0 THEN m.wbytes / 1e6 / m.mau_m END) AS mb_per_user,
       sum(m.wsess) AS sessions, sum(m.winst) AS installs
FROM monthly AS m JOIN periods AS p ON m.month = p.month
GROUP BY p.period, m.platform, m.province
""".replace("{periods}", ", ".join(f"('{p}', '{m}', {n}, {d})" for p, m, n, d in PERIOD_ROWS))


def phase_sql(workdir: Path) -> dict:
    """``BASELINE_SQL`` on the prepared database, twice; the results of the second run are written."""
    import duckdb

    con = duckdb.connect(str(workdir / "raw.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    clocks: list[Clock] = []
    table = None
    for _ in range(2):
        with Clock() as c:
            table = con.sql(BASELINE_SQL).to_arrow_table()
        clocks.append(c)
    con.close()
    write_result(workdir / "result_sql.parquet", table)
    return {"cold_s": clocks[0].wall, "warm_s": clocks[1].wall, "cold_cpu_s": clocks[0].cpu,
            "warm_cpu_s": clocks[1].cpu}
