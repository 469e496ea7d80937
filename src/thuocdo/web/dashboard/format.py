"""How the dashboard shows things: the page templates with their filters, and small text and number helpers."""

from __future__ import annotations

import functools
import math
import unicodedata
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from thuocdo.indices.targets import STATUS_DEFINITIONS, STATUS_VI
from thuocdo.reports import glossary
from thuocdo.reports import vietnamese as vn
from thuocdo.reports.uncertainty import MIN_CELL
from thuocdo.web.dashboard.periods import period_label

WEB_DIR = Path(__file__).parent.parent
NAV = (("/", "Tổng quan"), ("/nen-tang", "Nền tảng"), ("/tinh-thanh", "Tỉnh, thành phố"),
       ("/chi-so", "Chỉ số chuyển đổi số"), ("/bao-cao", "Báo cáo"))
UNIT = {"percent": "%", "rank": "", "usd_bn": " tỷ USD", "percent_per_year": "%/năm", "count": ""}
#: the badge class of each target status (dashboard.css), every status of :data:`STATUS_VI` included
STATUS_CLASS = {"achieved": "ok", "on_track": "ok", "behind": "warn", "not_yet": "warn", "moving_away": "away",
                "missed": "bad", "no_data": "none"}
#: the badge class of each day status of the quality monitor (thuocdo.metrics.quality)
QUALITY_CLASS = {"ok": "ok", "missing": "bad", "low": "warn", "high": "warn"}
#: the mark beside a withheld figure, by the reason it is withheld (the note under the table explains it)
WITHHELD_MARK = {"small_sample": "*", "complementary": "†"}


@functools.cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        count=vn.format_persons, number=vn.format_number, percent=vn.format_percent, duration=vn.format_duration,
        mb=vn.format_mb, signed=vn.format_signed_percent, period=lambda p: period_label(p, capital=False),
        Period=lambda p: period_label(p, capital=True), target_value=target_value,
        capitalize_first=capital, short_date=vn.format_short_date, decimal=lambda v: vn.format_number(v, 1))
    env.globals.update(nav=NAV, min_cell=MIN_CELL, count_fmt=vn.format_persons, pct_fmt=vn.format_percent,
                       minutes_fmt=lambda v: vn.format_number(v, 1), mb_fmt=lambda v: vn.format_number(v, 1),
                       duration_fmt=vn.format_duration, mb_unit_fmt=vn.format_mb, withheld_text=withheld_text,
                       withheld_reason=lambda kind: glossary.suppression_reason(kind, MIN_CELL),
                       withheld_mark=withheld_mark, universe=glossary.UNIVERSE,
                       penetration_label=glossary.METRIC["penetration"],
                       penetration_definition=glossary.PENETRATION_DEFINITION,
                       statuses=[(k, STATUS_CLASS[k], STATUS_VI[k], STATUS_DEFINITIONS[k]) for k in STATUS_VI])
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(template).render(path=request.url.path, **context)
    return HTMLResponse(unicodedata.normalize("NFC", html), status_code=status)


def withheld_kind(kind: str | None) -> str:
    """The reason a figure is withheld; a withheld figure of unknown kind counts as a small sample."""
    return kind if kind in WITHHELD_MARK else "small_sample"


def withheld_text(kind: str | None) -> str:
    """'Không công bố (…)', with the reason the reports give (:func:`glossary.suppression_reason`)."""
    return f"Không công bố ({glossary.suppression_reason(withheld_kind(kind), MIN_CELL)})"


def withheld_mark(kind: str | None) -> str:
    return WITHHELD_MARK[withheld_kind(kind)]


def withheld_kinds(rows: list[dict[str, Any]]) -> list[str]:
    """The reasons the withheld figures of these rows are withheld (small samples first)."""
    found = {withheld_kind(r.get("suppression")) for r in rows if r.get("suppressed")}
    return [k for k in WITHHELD_MARK if k in found]


def collate(text: str) -> tuple[str, str]:
    """A sort key close to Vietnamese alphabetical order (Đ with D, accents second)."""
    base = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in base if not unicodedata.combining(c)).casefold(), text


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def target_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "rank":
        return f"hạng {vn.format_number(value)}"
    decimals = 0 if float(value).is_integer() else (2 if abs(value) < 10 else 1)
    return vn.format_number(value, decimals) + UNIT.get(unit, "")
