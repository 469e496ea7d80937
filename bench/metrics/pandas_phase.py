"""Measured: the pandas groupby/nunique an analyst would write (reading the Parquet copies timed apart)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from .common import METRICS, NATIONAL, PERIOD_ROWS, Clock
from .compare import write_result

if TYPE_CHECKING:
    import pandas


def phase_pandas(workdir: Path) -> dict:
    """Read the Parquet copies (timed apart), compute the metric set and write its results."""
    import pandas as pd
    import pyarrow as pa

    t0 = time.perf_counter()
    raw = pd.read_parquet(workdir / "raw.parquet",
                          columns=["user_id", "platform", "time", "active_seconds", "bytes", "sessions", "installs",
                                   "province"])
    weights = pd.read_parquet(workdir / "weights.parquet")
    provinces = pd.read_parquet(workdir / "provinces.parquet")
    load_s = time.perf_counter() - t0

    with Clock() as c:
        out = pandas_metrics(raw, weights, provinces)
    write_result(workdir / "result_pandas.parquet", pa.Table.from_pandas(out, preserve_index=False))
    return {"load_s": load_s, "compute_s": c.wall, "compute_cpu_s": c.cpu}


def pandas_metrics(raw: pandas.DataFrame, weights: pandas.DataFrame,
                   provinces: pandas.DataFrame) -> pandas.DataFrame:
    """What an analyst writes: local day and month, active flag, per person-month sums and nunique active days,
    weights merged, then per platform (× province) × month and per period."""
    import numpy as np
    import pandas as pd

    df = raw
    local = df["time"].dt.tz_convert("Asia/Ho_Chi_Minh")
    df["day"] = local.dt.tz_localize(None).dt.normalize()
    df["month"] = local.dt.month  # one year: the month number is enough
    df["province"] = df["province"].map(dict(zip(provinces["value"], provinces["code"], strict=True)))
    df["active"] = (df["sessions"] > 0) | (df["active_seconds"] > 0)
    keys = ["user_id", "platform", "month"]
    pm = df.groupby(keys, sort=False).agg(secs=("active_seconds", "sum"), bytes=("bytes", "sum"),
                                          sessions=("sessions", "sum"), installs=("installs", "sum"),
                                          province=("province", "min"))
    pm["active_days"] = df[df["active"]].groupby(keys, sort=False)["day"].nunique()
    pm["active_days"] = pm["active_days"].fillna(0)
    weights = weights.assign(month=weights["month"].str.slice(5, 7).astype("int64"))
    pm = pm.reset_index().merge(weights, on=["user_id", "month"], how="left")
    pm["w"] = pm["weight"].fillna(1.0)
    pm["mau_m"] = np.where(pm["active_days"] > 0, pm["w"], 0.0)
    pm["wdays"] = pm["w"] * pm["active_days"]
    for src, dst in (("secs", "wsec"), ("bytes", "wbytes"), ("sessions", "wsess"), ("installs", "winst")):
        pm[dst] = pm["w"] * pm[src]
    sums = ["mau_m", "wdays", "wsec", "wbytes", "wsess", "winst"]
    national = pm.groupby(["platform", "month"], sort=False)[sums].sum().reset_index()
    national["province"] = NATIONAL
    by_province = pm.groupby(["platform", "province", "month"], sort=False)[sums].sum().reset_index()
    monthly = pd.concat([national, by_province], ignore_index=True)
    periods = pd.DataFrame([(p, int(m[5:]), n, d) for p, m, n, d in PERIOD_ROWS],
                           columns=["period", "month", "n_months", "n_days"])
    x = monthly.merge(periods, on="month")
    x["mb_m"] = np.where(x["mau_m"] > 0, x["wbytes"] / 1e6 / x["mau_m"].where(x["mau_m"] > 0), np.nan)
    g = x.groupby(["period", "platform", "province"], sort=False).agg(
        mau_sum=("mau_m", "sum"), n_months=("n_months", "max"), wdays=("wdays", "sum"), n_days=("n_days", "max"),
        wsec=("wsec", "sum"), mb_per_user=("mb_m", "mean"), sessions=("wsess", "sum"), installs=("winst", "sum"))
    g["mau"] = g["mau_sum"] / g["n_months"]
    g["dau"] = g["wdays"] / g["n_days"]
    g["minutes_per_day"] = g["wsec"] / 60.0 / g["wdays"].where(g["wdays"] > 0)
    return g.reset_index()[["period", "platform", "province", *METRICS]]
