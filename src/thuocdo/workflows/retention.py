"""`thuocdo retention`: the retention cohorts of a source (:mod:`thuocdo.metrics.retention`), from its stored
person-months: the embedded store's, or for a source the cluster's lakehouse holds, its Iceberg ``person_month``
rows of the cohort's months (read through pyiceberg)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from thuocdo.catalog import load_catalog
from thuocdo.ingest.readers import InputError
from thuocdo.metrics.retention import months_after, retention_sql, retention_table
from thuocdo.model.periods import Period
from thuocdo.reports.uncertainty import Z95
from thuocdo.rollups.served import lakehouse_person_months
from thuocdo.store.sources import source_info, usage_months
from thuocdo.store.sql import literal
from thuocdo.workflows import estimates
from thuocdo.workflows.cluster import lakehouse
from thuocdo.workflows.store import bring_up_to_date, open_store

__all__ = ["InputError", "NoData", "Retention", "retention"]


class NoData(InputError):
    """Nothing to measure: an unknown platform, no usage records, or a cohort month without data."""


@dataclass(frozen=True)
class Retention:
    table: pa.Table
    source: str
    months: list[str]  # the months of the table: the cohort's and those after it with data


def retention(home: str | Path | None, cohort: str, months: int, *, platform: str | None = None,
              source: str | None = None, by_province: bool = False) -> Retention:
    """The retention table of a cohort month over the `months` after it (those with data), for one source (the
    default view's when it is one source). InputError (Vietnamese) for what cannot be answered; PeriodError for
    a cohort that is not a month."""
    if months < 0:
        raise InputError(f"--months phải từ 0 trở lên (nhận {months}).")
    wanted = months_after(cohort, months)
    if platform is not None and platform not in {p.id for p in load_catalog().platforms}:
        raise NoData(f"Không có nền tảng '{platform}' trong danh mục.")
    with open_store(home, sweep=False) as store:
        bring_up_to_date(store)
        chosen = source or estimates.default_source(store)
        if chosen is None:
            raise NoData("Chưa có số liệu sử dụng nào, hoặc kho có nhiều nguồn: chọn một nguồn bằng --source.")
        selection = estimates.select(store, chosen)
        if selection is None or selection.kind != "single":
            raise InputError(f"Tỷ lệ giữ chân người dùng tính cho từng nguồn (người của các nguồn khác nhau không "
                             f"nối được qua các tháng): chọn một nguồn bằng --source thay vì '{chosen}'.")
        stored = usage_months(store, [chosen])[chosen]
        if wanted[0] not in stored:
            listed = ", ".join(stored[:24]) or "chưa có tháng nào"
            raise NoData(f"Nguồn {chosen} chưa có số liệu tháng {wanted[0]} (các tháng có số liệu: {listed}).")
        used = [m for m in wanted if m in stored]
        files = store.files("person_month", source=chosen, months=used)
        if files:
            relation = f"read_parquet({literal(files)}, union_by_name = true)"
        else:  # the cluster's lakehouse holds the source
            store.con.register("retention_person_month", lakehouse_person_months(lakehouse(store.home), [chosen],
                                                                                   used))
            relation = "retention_person_month"
        try:
            sums = store.con.sql(retention_sql(relation, "weights", chosen, used, platform,
                                               by_province)).to_arrow_table()
        finally:
            if not files:
                store.con.unregister("retention_person_month")
        info = source_info(store, chosen)
    table = retention_table(sums, wanted[0], info is not None and info.kind == "panel", Z95)
    catalog, day = load_catalog(), Period.parse(wanted[0]).last_day  # the platforms as named in the cohort month
    names = [catalog.platform_name(p, day) for p in table.column("platform").to_pylist()]
    table = table.add_column(1, "name", pa.array(names, pa.string()))
    if not by_province:
        table = table.drop_columns(["province"])
    return Retention(table, chosen, used)
