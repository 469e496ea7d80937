"""The dashboard names things as of the period shown, says why a figure is withheld, says what penetration
divides by, and gives every target status its badge. Plain HTTP calls through the ASGI app, over a hand-made
store (no weights: each person counts once; every person is active in each month of the quarter):

* quarter I/2022, Zalo: 30 persons in Hà Nội, 10 in Thừa Thiên Huế, 25 in TP. Hồ Chí Minh → national MAU 65.
  Huế's 10 are under the small-cell rule (20): withheld, *small sample*. The nation is the sum of the provinces,
  so Huế would be 65 − 30 − 25: the smallest published cell beside it, TP. Hồ Chí Minh's 25, is withheld too,
  *complementary*. Hà Nội's 30 are published.
* X (named "Twitter" until 23/07/2023): 24 persons; Google Wallet ("Google Pay" until 17/07/2022): 22; Messenger:
  5, withheld, so the communication group's total leaves out 1 platform.
* Mobile Money (launched 30/11/2021): 30 persons in quarter I/2022 and 20 in quarter I/2021. The metric table's
  year-on-year change, 30 ÷ 20 − 1 = +50,0%, compares with a quarter that ended before the pilot began: not shown,
  as in the reports. Zalo had 25 persons in quarter I/2021: 65 ÷ 25 − 1 = +160,0%, shown.
* Indicators: DTI 2022 values of Hà Nội and Thừa Thiên Huế for 2022; the national share of online dossiers,
  50% in 2022 and 45% in 2023: moving away from the targets of 50% (2024) and 80% (2025).

Years 2022 and 2023 are published.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ingest_province_scores
from tests.web.test_dashboard import _row, _text
from thuocdo.catalog import load_catalog
from thuocdo.web.app import create_app
from thuocdo.web.dashboard.names import platforms_as_of, tile_labels
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.service import Service, Settings

Q1_2022 = ("2022-01", "2022-02", "2022-03")
Q1_2021 = ("2021-01", "2021-02", "2021-03")
SMALL = "Không công bố (ước lượng dựa trên dưới 20 người trong mẫu)"
COMPLEMENTARY = ("Không công bố (để không thể suy ra số liệu không công bố khác từ tổng hoặc từ số liệu theo tỉnh, "
                 "theo tháng)")
HCMC_2022 = "địa bàn Bình Dương, Bà Rịa - Vũng Tàu và TP. Hồ Chí Minh"


def _persons(prefix: str, n: int, platform: str, months: tuple[str, ...], province: str) -> list[dict[str, object]]:
    return [{"user_id": f"{prefix}{i:02d}", "platform": platform, "time": f"{m}-10", "active_seconds": 600,
             "province": province} for m in months for i in range(1, n + 1)]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("as-of")
    home = folder / "home"
    rows = (_persons("h", 30, "zalo", Q1_2022, "Hà Nội") + _persons("u", 10, "zalo", Q1_2022, "Thừa Thiên Huế")
            + _persons("s", 25, "zalo", Q1_2022, "TP. Hồ Chí Minh") + _persons("h", 24, "x", Q1_2022, "Hà Nội")
            + _persons("h", 22, "google-wallet", Q1_2022, "Hà Nội") + _persons("h", 5, "messenger", Q1_2022, "Hà Nội")
            + _persons("h", 30, "mobile-money", Q1_2022, "Hà Nội") + _persons("h", 25, "zalo", Q1_2021, "Hà Nội")
            + _persons("h", 20, "mobile-money", Q1_2021, "Hà Nội"))
    usage = folder / "usage.csv"
    with usage.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert not ingest_workflow.ingest(home, "usage", [usage], "names-panel").errors
    ingest_province_scores(home, folder, "dti-2022", "2022", {"Hà Nội": 0.8, "Thừa Thiên Huế": 0.6},
                           ["VN,online_dossiers,2022,50", "VN,online_dossiers,2023,45"])
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    for year in ("2022", "2023"):
        service.access.publish(year)
    try:
        yield create_app(service=service)
    finally:
        service.close()


def _get(app: Any, url: str) -> str:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(url)
    response = asyncio.run(go())
    assert response.status_code == 200, response.text[:400]
    return response.text


def _cell(row: str, column: str) -> str:
    m = re.search(rf'data-col="{column}"[^>]*>(.*?)</td>', row, re.S)
    assert m, f"no cell {column}"
    return m.group(1)


def _tile(html: str, code: str) -> tuple[str, list[str]]:
    """A tile's tooltip and the lines of its label (the name lines, then the value)."""
    m = re.search(rf'<g class="tile" data-province="{code}".*?</g>', html, re.S)
    assert m, f"no tile {code}"
    title = re.search(r"<title>(.*?)</title>", m.group(0), re.S)
    assert title
    return title.group(1), re.findall(r'class="tile-name"[^>]*>([^<]*)<', m.group(0))


# -- names as of the period ------------------------------------------------------------------------------------

def test_platforms_are_named_as_in_the_period(app: Any) -> None:
    html = _get(app, "/nen-tang?ky=2022-Q1")
    assert ">Twitter</a>" in _row(html, "data-platform", "x")
    assert ">Google Pay</a>" in _row(html, "data-platform", "google-wallet")
    assert "X (Twitter)" not in _text(html) and "Google Wallet" not in _text(html)
    assert "Tên nền tảng là tên tại ngày cuối kỳ (31/3/2022)" in _text(html)
    page = _get(app, "/nen-tang/x?ky=2022-Q1")
    assert "<h1>Twitter</h1>" in page and "<title>Twitter ·" in page
    overview = _get(app, "/?nen-tang=x")
    choices = dict(re.findall(r'<option value="([a-z-]+)"(?: selected)?>([^<]+)</option>', overview))
    assert choices["x"] == "Twitter" and choices["google-wallet"] == "Google Pay"


def test_provinces_are_named_as_in_the_period(app: Any) -> None:
    html = _get(app, "/tinh-thanh?ky=2022-Q1&nen-tang=zalo")
    assert ">Thừa Thiên Huế</a>" in _row(html, "data-province", "46")
    assert f">{HCMC_2022}</a>" in _row(html, "data-province", "79")  # the area the unit of 2025 covers
    assert ">Hà Nội</a>" in _row(html, "data-province", "01")
    old = _get(app, "/tinh-thanh?ky=2022-Q1&don-vi=63")
    pairs = dict(re.findall(r'<td class="num">(\d\d)</td><th scope="row">([^<]+)</th>', old))
    assert pairs["46"] == "Thừa Thiên Huế" and pairs["79"] == "TP. Hồ Chí Minh"
    assert re.search(r"<th scope=\"row\">Thừa Thiên Huế</th><td><a [^>]*>Huế</a>", old)  # the unit it became


def test_overview_map_tiles_are_named_as_in_the_period(app: Any) -> None:
    html = _get(app, "/?ky=2022-Q1&nen-tang=zalo")
    title, lines = _tile(html, "46")
    assert title == "Thừa Thiên Huế: không công bố (ước lượng dựa trên dưới 20 người trong mẫu)"
    assert lines == ["Thừa Thiên", "Huế"]
    title, lines = _tile(html, "79")
    assert title == (f"{HCMC_2022}: không công bố (để không thể suy ra số liệu không công bố khác từ tổng hoặc từ "
                     "số liệu theo tỉnh, theo tháng)")
    assert lines == ["TP. Hồ Chí", "Minh", "+2 tỉnh"]  # named after TP. Hồ Chí Minh, with two more provinces
    title, lines = _tile(html, "01")
    assert title.startswith("Hà Nội: ") and title.endswith("%") and lines == ["Hà Nội"]


def test_index_page_names_provinces_as_in_the_year(app: Any) -> None:
    html = _get(app, "/chi-so?bo=dti-2022&nam=2022&cap=province&don-vi=63")
    row = _row(html, "data-entity", "46")
    assert re.search(r'<th scope="row" class="name">Thừa Thiên Huế', row)  # "Huế" only from 01/01/2025
    title, _ = _tile(html, "46")
    assert title.startswith("Thừa Thiên Huế: ")
    title, _ = _tile(html, "79")
    assert title == "TP. Hồ Chí Minh: không có số liệu công bố"


def test_no_change_against_a_period_before_the_platform_started(app: Any) -> None:
    html = _get(app, "/nen-tang?ky=2022-Q1")
    assert _text(_cell(_row(html, "data-platform", "zalo"), "change-year")).strip() == "+160,0%"  # 65 ÷ 25 − 1
    assert _text(_cell(_row(html, "data-platform", "mobile-money"), "change-year")).strip() == "–"  # not +50,0%


def test_names_of_rows_follow_the_period() -> None:
    catalog = load_catalog()
    rows = [{"platform": "x", "name": "X (Twitter)", "mau_change_year": 0.1, "mau_year_ago": 1.0,
             "mau_change_previous": 0.2, "mau_previous": 2.0}]
    assert platforms_as_of([dict(r) for r in rows], catalog, "2022-Q1")[0]["name"] == "Twitter"
    assert platforms_as_of([dict(r) for r in rows], catalog, "2023-07")[0]["name"] == "X (Twitter)"  # 31/07/2023
    money = platforms_as_of([dict(rows[0], platform="mobile-money")], catalog, "2021-12")[0]
    # launched 30/11/2021: November 2021 (the previous month) ended after it, December 2020 before it
    assert (money["mau_change_previous"], money["mau_change_year"], money["mau_year_ago"]) == (0.2, None, None)


def test_tile_labels_of_merged_areas_name_the_province_the_unit_is_named_after() -> None:
    catalog = load_catalog()
    before = tile_labels(catalog, dt.date(2022, 3, 31))
    assert before["80"] == ["Tây Ninh", "+1 tỉnh"]  # unit 80 (code of the former Long An) is named Tây Ninh
    assert before["25"] == ["Phú Thọ", "+2 tỉnh"] and before["01"] == ["Hà Nội"]
    for unit in catalog.provinces_new:
        members = [p for p in catalog.provinces_old if p.new_code == unit.code]
        label = before[unit.code]
        if len(members) > 1:
            assert label[-1] == f"+{len(members) - 1} tỉnh"
            assert " ".join(label[:-1]).removeprefix("TP. ") == unit.short_name, unit.code
    after = tile_labels(catalog, dt.date(2025, 9, 30))
    assert after["46"] == ["Huế"] and after["79"] == textwrap.wrap("TP. Hồ Chí Minh", 10)


# -- why a figure is withheld ----------------------------------------------------------------------------------

def test_withheld_figures_say_why(app: Any) -> None:
    html = _get(app, "/tinh-thanh?ky=2022-Q1&nen-tang=zalo")
    hue = _cell(_row(html, "data-province", "46"), "mau")
    assert f'title="{SMALL}"' in hue and '<sup class="note-mark">*</sup>' in hue
    hcmc = _cell(_row(html, "data-province", "79"), "mau")
    assert f'title="{COMPLEMENTARY}"' in hcmc and '<sup class="note-mark">†</sup>' in hcmc
    text = _text(html)
    assert "* “–”: số liệu dựa trên dưới 20 người trong bảng mẫu, không công bố" in text
    assert ("† “–”: số liệu không công bố để không thể suy ra số liệu không công bố khác từ tổng hoặc từ số liệu "
            "theo tỉnh, theo tháng (ẩn bổ sung, như trong báo cáo).") in text
    platforms = _get(app, "/nen-tang?ky=2022-Q1")
    assert 'data-withheld="complementary"' not in platforms  # no complementary cell among the national figures
    assert f'title="{SMALL}"' in _cell(_row(platforms, "data-platform", "messenger"), "mau")


def test_totals_say_how_many_platforms_they_leave_out(app: Any) -> None:
    note = ("Tổng, tỷ trọng và tỷ lệ chỉ cộng các nền tảng được công bố số liệu; 1 nền tảng không công bố số liệu "
            "không được cộng, để không thể suy ra số liệu của chúng từ tổng.")  # Messenger
    assert note in _text(_get(app, "/?ky=2022-Q1"))
    assert note in _text(_get(app, "/nen-tang?ky=2022-Q1&nhom=communication"))
    assert "Tổng, tỷ trọng và tỷ lệ chỉ cộng các nền tảng được công bố số liệu." in _text(
        _get(app, "/nen-tang?ky=2022-Q1&nhom=payment"))  # nothing left out


# -- what penetration divides by ----------------------------------------------------------------------------------

def test_penetration_says_it_divides_by_mobile_internet_users(app: Any) -> None:
    urls = ("/?ky=2022-Q1", "/tinh-thanh?ky=2022-Q1", "/nen-tang/zalo?ky=2022-Q1")
    pages = {url: _text(_get(app, url)) for url in urls}
    for url, text in pages.items():
        assert "người dùng điện thoại thông minh" not in text, url
        assert ("Tỷ lệ thâm nhập = người dùng hằng tháng ÷ số người sử dụng Internet trên điện thoại di động (mọi "
                "lứa tuổi) của tỉnh, thành phố (hoặc cả nước) trong năm") in text, url
    assert "người dùng hằng tháng so với số người sử dụng Internet trên điện thoại di động, theo 34 tỉnh" in \
        pages["/?ky=2022-Q1"]
    assert "Xếp hạng theo tỷ lệ người dùng so với số người sử dụng Internet trên điện thoại di động" in \
        pages["/tinh-thanh?ky=2022-Q1"]
    platform = _get(app, "/nen-tang/zalo?ky=2022-Q1")
    assert ('<div class="card-label">Tỷ lệ so với số người sử dụng Internet trên điện thoại di động</div>'
            in platform)
    assert '<th scope="col" class="num">Số người sử dụng Internet trên điện thoại di động</th>' in platform


# -- target statuses ------------------------------------------------------------------------------------------

def test_moving_away_has_its_own_badge_and_definition(app: Any) -> None:
    html = _get(app, "/")
    for target in ("dossiers-2024", "dossiers-2025"):  # 50% in 2022, 45% in 2023: away from 50% and from 80%
        row = _row(html, "data-target", target)
        assert '<span class="status away" data-status="moving_away">Đi ngược mục tiêu</span>' in row
    legend = html[html.index('class="status-legend"'):]
    legend = legend[:legend.index("</details>")]
    assert len(re.findall(r"<dt>", legend)) == 7  # every status
    assert ('<span class="status away" data-status="moving_away">Đi ngược mục tiêu</span></dt><dd>Chưa đến năm '
            "hạn; xu hướng đứng yên hoặc đi ra xa mục tiêu.</dd>") in legend
    css = Path(__file__).resolve().parents[2] / "src" / "thuocdo" / "web" / "static" / "dashboard.css"
    assert ".status.away {" in css.read_text(encoding="utf-8")
