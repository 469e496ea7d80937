"""Disclosure control: figures resting on fewer than MIN_CELL panelists are withheld from the public."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from thuocdo.reports.uncertainty import MIN_CELL

#: metric columns withheld from the public when a figure rests on fewer than MIN_CELL panelists
SUPPRESSED_COLUMNS = ("mau", "dau", "minutes_per_day", "mb_per_user", "sessions", "installs", "stickiness",
                      "w2_persons", "mau_previous", "mau_change_previous", "mau_year_ago", "mau_change_year",
                      "penetration")


def suppress(table: pa.Table) -> pa.Table:
    """Withhold the metric values of rows resting on fewer than MIN_CELL active panelists."""
    if "sample_persons" not in table.column_names:
        return table
    sample = table["sample_persons"]
    hide = pc.fill_null(pc.less(sample, MIN_CELL), False)
    for name in SUPPRESSED_COLUMNS:
        if name in table.column_names:
            i = table.column_names.index(name)
            col = table[name]
            table = table.set_column(i, name, pc.if_else(hide, pa.scalar(None, col.type), col))
    return table.append_column("suppressed", hide)
