"""The usage-metric dictionary of DESIGN.md: each metric once, as SQL over the monthly rollup.

``monthly`` rows hold, per source × platform (× province) × month of the period, the weighted sums of the
``usage_month`` rollup: ``mau_m`` (Σ w over active persons), ``wdays`` (Σ w × active days), ``wsec``,
``wbytes``, ``wsess``, ``winst`` and ``n_m`` (unweighted active persons). ``p`` is the period row
(``n_months``, ``n_days``). Each expression aggregates over the months of one period.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    sql: str  # an aggregate over the period's monthly rows
    unit: str
    doc: str


METRICS: tuple[Metric, ...] = (
    Metric("mau", "SUM(m.mau_m) / MAX(p.n_months)", "persons",
           "Σ w over distinct persons active in the month; a quarter is the mean of its months (0 when idle)."),
    Metric("dau", "SUM(m.wdays) / MAX(p.n_days)", "persons",
           "mean over every calendar day of the period of the weighted persons active that day."),
    Metric("minutes_per_day", "SUM(m.wsec) / 60.0 / NULLIF(SUM(m.wdays), 0)", "minutes",
           "Σ active seconds × w / 60 ÷ Σ over days of that day's weighted active persons."),
    Metric("mb_per_user", "AVG(CASE WHEN m.mau_m > 0 THEN m.wbytes / 1000000.0 / m.mau_m END)", "MB",
           "Σ bytes × w / 10⁶ ÷ mau per month; a quarter is the mean over its months with activity."),
    Metric("sessions", "SUM(m.wsess)", "sessions", "Σ sessions × w."),
    Metric("installs", "SUM(m.winst)", "installs", "Σ installs × w."),
    Metric("sample_persons", "SUM(m.n_m) * 1.0 / MAX(p.n_months)", "persons",
           "unweighted active persons (panel sample size), mean over the period's months."),
    Metric("w2_persons", "SUM(m.w2_m) / MAX(p.n_months)", "persons²",
           "Σ w² over active persons, mean over the period's months (for the effective sample size)."),
)

#: derived per row after the period aggregates
STICKINESS = "dau / NULLIF(mau, 0)"

#: additive metrics whose domestic share and domestic/foreign ratio are reported per category
SHARE_METRICS: tuple[str, ...] = ("mau", "dau", "sessions", "installs", "mb_per_user")

MONTHLY_SUMS = {
    "mau_m": "w_persons", "n_m": "persons", "w2_m": "w2_persons", "wdays": "w_active_days", "wsec": "w_seconds",
    "wbytes": "w_bytes", "wsess": "w_sessions", "winst": "w_installs",
}
