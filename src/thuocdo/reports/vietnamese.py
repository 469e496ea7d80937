"""Numbers, dates and periods as Vietnamese readers write them: '.' groups thousands, ',' is the decimal mark.

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
>>> format_persons(3_650_000), format_persons(12_200_000), format_persons(74_700_000), format_persons(20_400)
('3,65 triệu', '12,2 triệu', '74,7 triệu', '20.400')
>>> format_quarter("2022-Q1"), format_quarter("2021-Q4", capital=True)
('quý I/2022', 'Quý IV/2021')
>>> import datetime as dt
>>> format_date(dt.date(2022, 4, 1)), format_short_date(dt.date(2025, 4, 3))
('ngày 01 tháng 4 năm 2022', '03/4/2025')
>>> format_points(0.0123), format_points(-0.0046), format_points(0.0004)
('tăng 1,2 điểm phần trăm', 'giảm 0,5 điểm phần trăm', 'không đổi')
>>> format_duration(80), format_duration(34 + 52 / 60, seconds=True), format_duration(28.2)
('1 giờ 20 phút', '34 phút 52 giây', '28 phút')
>>> format_change(-0.8), format_change(0.0523), format_change(None)
('giảm 80,0%', 'tăng 5,2%', '')
>>> format_ratio(1.4299)
'1,43 lần'
>>> roman(4), roman(9)
('IV', 'IX')
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata


def _missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def format_number(value: float | int | None, decimals: int = 0) -> str:
    if _missing(value):
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


def format_persons(value: float | None, significant: int = 3) -> str:
    """A count as the seed report writes it: millions with three significant digits ('3,65 triệu',
    '12,2 triệu'), billions as 'tỷ', smaller counts rounded to three significant digits in full ('20.400')."""
    if _missing(value):
        return "–"
    assert value is not None
    for scale, word in ((1e9, " tỷ"), (1e6, " triệu")):
        if abs(value) >= scale:
            x = value / scale
            decimals = max(0, significant - 1 - math.floor(math.log10(abs(x))))
            text = format_number(round(x, decimals), decimals)
            return (text.rstrip("0").rstrip(",") if "," in text else text) + word
    if value == 0:
        return "0"
    digits = significant - 1 - math.floor(math.log10(abs(value)))
    return format_number(round(value, min(0, digits)))


def format_ratio(value: float | None, decimals: int = 2) -> str:
    return "–" if _missing(value) else f"{format_number(value, decimals)} lần"


def format_change(ratio: float | None, decimals: int = 1) -> str:
    """A relative change as words: 'tăng 5,2%', 'giảm 80,0%', 'không đổi'; '' when unknown."""
    if _missing(ratio):
        return ""
    assert ratio is not None
    if round(ratio * 100, decimals) == 0:
        return "không đổi"
    return f"{'tăng' if ratio > 0 else 'giảm'} {format_number(abs(ratio) * 100, decimals)}%"


def format_signed_percent(ratio: float | None, decimals: int = 1) -> str:
    """'+5,2%' or '−80,0%' (true minus sign) for tables; '–' when unknown."""
    if _missing(ratio):
        return "–"
    assert ratio is not None
    sign = "+" if ratio > 0 else "−" if ratio < 0 else ""
    return sign + format_number(abs(ratio) * 100, decimals) + "%"


def format_duration(minutes: float | None, seconds: bool = False) -> str:
    """Time per day: '28 phút', '1 giờ 20 phút'; with `seconds`, '34 phút 52 giây' under an hour."""
    if _missing(minutes):
        return "–"
    assert minutes is not None
    total = round(minutes * 60)
    hours, rest = divmod(total, 3600)
    mins, secs = divmod(rest, 60)
    if hours:
        mins = round(rest / 60)
        return f"{hours} giờ {mins} phút" if mins else f"{hours} giờ"
    if seconds and secs:
        return f"{mins} phút {secs} giây"
    return f"{round(minutes)} phút"


def format_mb(value: float | None) -> str:
    """Data volume per user: '591 MB', '413,3 MB', '1,8 GB'."""
    if _missing(value):
        return "–"
    assert value is not None
    if value >= 1000:
        return format_number(value / 1000, 1) + " GB"
    text = format_number(value, 1)
    return (text[:-2] if text.endswith(",0") else text) + " MB"


ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
         (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def roman(n: int) -> str:
    out = []
    for value, letters in ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def format_quarter(label: str, capital: bool = False) -> str:
    """'2022-Q1' → 'quý I/2022'; '2022-03' → 'tháng 3/2022'."""
    year, part = label.split("-")
    if part.upper().startswith("Q"):
        text = f"quý {roman(int(part[1:]))}/{year}"
    else:
        text = f"tháng {int(part)}/{year}"
    return text[0].upper() + text[1:] if capital else text


#: the quality monitor's day statuses (thuocdo.metrics.quality), as readers see them
QUALITY_STATUS = {"ok": "đủ", "missing": "thiếu", "low": "thấp bất thường", "high": "cao bất thường"}


def format_date(day: dt.date) -> str:
    """'ngày 01 tháng 4 năm 2022' (day with two digits, month without, as in administrative documents)."""
    return f"ngày {day.day:02d} tháng {day.month} năm {day.year}"


def format_short_date(day: dt.date) -> str:
    """'03/4/2025': day with two digits, month without, as decisions are cited ("ngày 03/4/2025")."""
    return f"{day.day:02d}/{day.month}/{day.year}"


def format_points(change: float | None, decimals: int = 1) -> str:
    """A change of a share (0.0123 = +1.23 points) as words: 'tăng 1,2 điểm phần trăm'; '' when unknown."""
    if _missing(change):
        return ""
    assert change is not None
    points = round(change * 100, decimals)
    if points == 0:
        return "không đổi"
    return f"{'tăng' if points > 0 else 'giảm'} {format_number(abs(points), decimals)} điểm phần trăm"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def join_names(names: list[str]) -> str:
    """'A', 'A và B', 'A, B và C'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " và " + names[-1]


def format_threshold(value: float) -> str:
    """A round count in words: "10 triệu", "2,5 triệu", "500.000"."""
    if value >= 1e6:
        millions = value / 1e6
        text = format_number(millions, 0) if millions == round(millions) else \
            format_number(millions, 2).rstrip("0").rstrip(",")
        return f"{text} triệu"
    return format_number(value)


def format_band(low: float, high: float | None) -> str:
    """A band of counts [low, high): "từ 5 triệu đến dưới 10 triệu", "từ 10 triệu trở lên", "dưới 1 triệu"."""
    if high is None:
        return f"từ {format_threshold(low)} trở lên"
    if not low:
        return f"dưới {format_threshold(high)}"
    return f"từ {format_threshold(low)} đến dưới {format_threshold(high)}"
