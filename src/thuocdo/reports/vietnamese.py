"""Numbers as Vietnamese readers write them: '.' groups thousands, ',' is the decimal mark.

>>> format_number(3098490000)
'3.098.490.000'
>>> format_number(413.3, 1)
'413,3'
>>> format_percent(0.5884)
'58,84%'
>>> format_count(74_700_000)
'74,7 triệu'
>>> format_count(610_512)
'610.512'
>>> format_count(0.26)
'0,3'
"""

from __future__ import annotations

import math


def format_number(value: float | int | None, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_percent(ratio: float | None, decimals: int = 2) -> str:
    if ratio is None or math.isnan(ratio):
        return "–"
    return format_number(ratio * 100, decimals) + "%"


def format_count(value: float | None) -> str:
    """Persons and other counts: millions as 'triệu' (one decimal), billions as 'tỷ', else in full."""
    if value is None or math.isnan(value):
        return "–"
    if abs(value) >= 1e9:
        return format_number(value / 1e9, 2).rstrip("0").rstrip(",") + " tỷ"
    if abs(value) >= 1e6:
        return format_number(value / 1e6, 1) + " triệu"
    if abs(value) < 100 and value != round(value):
        return format_number(value, 1)
    return format_number(value)
