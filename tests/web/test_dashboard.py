"""The dashboard through the ASGI app (httpx), over a small hand-made store.

The fixture's figures are simple enough to compute by hand (no weights: each person counts once):

* Zalo (Vietnamese): persons z01–z30 active once in each month of quarter I/2022, 1,200 s and 50 MB each time,
  in Hà Nội → MAU 30, 20,0 minutes a day, 50,0 MB per user; in April 2022 (quarter II, never published) z01–z40.
* Viber (foreign): v01–v24 once a month in quarter I, 300 s, 10 MB → MAU 24.
* Messenger (foreign): m01–m05 in January only → quarterly MAU 5/3 from 5 panelists: withheld (< 20).

Only 2022-Q1 is published. Domestic share of MAU in the communication group, over the published platforms (the
withheld Messenger is not added, or 30 ÷ (30 + 24 + 5/3) = 53,89% would give its 5/3 away): 30 ÷ 54 = 55,56%.
"""

from __future__ import annotations

import asyncio
import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from thuocdo.web.app import create_app
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.service import Service, Settings

MONTHS_Q1 = ("2022-01", "2022-02", "2022-03")


def _usage_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for month in MONTHS_Q1:
        rows += [{"user_id": f"z{i:02d}", "platform": "zalo", "time": f"{month}-10", "active_seconds": 1200,
                  "bytes": 50_000_000, "province": "Hà Nội"} for i in range(1, 31)]
        rows += [{"user_id": f"v{i:02d}", "platform": "viber", "time": f"{month}-11", "active_seconds": 300,
                  "bytes": 10_000_000, "province": "Hà Nội"} for i in range(1, 25)]
    rows += [{"user_id": f"m{i:02d}", "platform": "messenger", "time": "2022-01-12", "active_seconds": 600,
              "bytes": 1_000_000, "province": "Hà Nội"} for i in range(1, 6)]
    rows += [{"user_id": f"z{i:02d}", "platform": "zalo", "time": "2022-04-10", "active_seconds": 1200,
              "bytes": 50_000_000, "province": "Hà Nội"} for i in range(1, 41)]
    return rows


@dataclass
class Site:
    service: Service
    app: object
    analyst_key: str

    def get(self, url: str, key: str | None = None) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.get(url, headers={"X-API-Key": key} if key else {})
        return asyncio.run(go())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("dashboard") / "home"
    usage = home.parent / "usage.csv"
    rows = _usage_rows()
    with usage.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = ingest_workflow.ingest(home, "usage", [usage], "test-panel")
    assert not report.errors and report.rejected == 0
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    service.access.publish("2022-Q1")
    key, _ = service.access.create_key("analyst")
    try:
        yield Site(service, create_app(service=service), key)
    finally:
        service.close()


def _text(html: str) -> str:
    """The visible text of a page, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, attribute: str, value: str) -> str:
    m = re.search(rf'<tr[^>]*{attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert m, f"no row {attribute}={value}"
    return m.group(1)


def _cell(row: str, column: str) -> str:
    m = re.search(rf'data-col="{column}"[^>]*>(.*?)</td>', row, re.S)
    assert m, f"no cell {column}"
    return _text(m.group(1)).strip()


PAGES = ("/", "/nen-tang", "/nen-tang?nhom=communication", "/nen-tang/zalo", "/tinh-thanh", "/tinh-thanh?don-vi=63",
         "/chi-so", "/bao-cao")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_in_vietnamese_nfc(site: Site, url: str) -> None:
    r = site.get(url)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert unicodedata.is_normalized("NFC", r.text)
    assert '<html lang="vi">' in r.text
    assert "Tổng quan" in r.text and "Nền tảng" in r.text  # the navigation bar
    assert "http://" not in r.text.replace("http://test", "") and "https://" not in r.text  # nothing off-site


def test_static_files_are_served(site: Site) -> None:
    css = site.get("/static/dashboard.css")
    assert css.status_code == 200 and "Be Vietnam Pro" in css.text
    for url in re.findall(r'url\("([^"]+)"\)', css.text):
        font = site.get("/static/" + url)
        assert font.status_code == 200 and font.content[:4] == b"wOF2"


def test_overview_headline_figures(site: Site) -> None:
    text = _text(site.get("/").text)
    assert "Quý I/2022" in text
    assert "55,56%" in text and "53,89%" not in text  # 30 / (30 + 24): the withheld Messenger is not added
    domestic = re.search(r'data-figure="domestic-mau".*?card-value">([^<]+)<', site.get("/").text, re.S)
    assert domestic and domestic.group(1).strip() == "30"


def test_platform_table_matches_the_metric_table(site: Site) -> None:
    html = site.get("/nen-tang?ky=2022-Q1&nhom=communication").text
    zalo = _row(html, "data-platform", "zalo")
    assert (_cell(zalo, "mau"), _cell(zalo, "minutes"), _cell(zalo, "mb")) == ("30", "20,0", "50,0")
    viber = _row(html, "data-platform", "viber")
    assert (_cell(viber, "mau"), _cell(viber, "minutes"), _cell(viber, "mb")) == ("24", "5,0", "10,0")
    assert "Tỷ trọng MAU của nền tảng Việt Nam: 55,56%" in _text(html)


def test_small_cells_are_shown_as_a_dash_with_a_note(site: Site) -> None:
    html = site.get("/nen-tang?nhom=communication").text
    messenger = _row(html, "data-platform", "messenger")
    assert _cell(messenger, "mau").startswith("–")
    assert _cell(messenger, "minutes").startswith("–")
    assert "dưới 20 người trong bảng mẫu, không công bố" in _text(html)
    # an analyst sees the figure: 5 persons in January, 5/3 for the quarter
    analyst = _row(site.get("/nen-tang?ky=2022-Q1&nhom=communication", key=site.analyst_key).text,
                   "data-platform", "messenger")
    assert _cell(analyst, "mau") == "2"  # 5/3 persons, rounded to a whole person


def test_unpublished_periods_are_not_shown_to_visitors(site: Site) -> None:
    for url in ("/", "/nen-tang", "/nen-tang/zalo", "/tinh-thanh", "/bao-cao"):
        text = _text(site.get(url).text)
        assert "II/2022" not in text and "4/2022" not in text, url
    for url in ("/?ky=2022-Q2", "/nen-tang?ky=2022-Q2", "/nen-tang/zalo?ky=2022-04", "/tinh-thanh?ky=2022-Q2"):
        r = site.get(url)
        assert r.status_code == 404 and "chưa được công bố" in r.text, url
    reports = site.get("/bao-cao").text
    assert "/api/v1/reports/2022-Q1/pdf" in reports and "2022-Q2" not in reports
    # an analyst sees quarter II: zalo 40 persons in April, 40/3 for the quarter
    html = site.get("/nen-tang?ky=2022-Q2&nhom=communication", key=site.analyst_key).text
    assert _cell(_row(html, "data-platform", "zalo"), "mau") == "13"  # 40/3


def test_platform_page_series_and_provinces(site: Site) -> None:
    html = site.get("/nen-tang/zalo").text
    text = _text(html)
    assert "<svg" in html and "<polyline" in html
    for label in ("Tháng 1/2022", "Tháng 2/2022", "Tháng 3/2022"):
        assert label in text
    hanoi = _row(html, "data-province", "01")
    assert "Hà Nội" in hanoi and _cell(hanoi, "mau") == "30"
    assert site.get("/nen-tang/khong-co").status_code == 404
    # the 30 users of the 10th of each month: active in 3 of the quarter's 12 whole weeks, 90 / 12 = 7.5 a week;
    # 90 person-days over 90 days, 1 a day
    card = re.search(r'data-figure="wau">(.*?)</div></div>', site.get("/nen-tang/zalo?ky=2022-Q1").text, re.S)
    assert card and _text(card.group(1)).split() == ["Người", "dùng", "hằng", "tuần", "(WAU)", "8", "Hằng", "ngày",
                                                     "(DAU):", "1"]


def test_provinces_page_views(site: Site) -> None:
    html = site.get("/tinh-thanh").text
    hanoi = _row(html, "data-province", "01")
    assert _cell(hanoi, "mau") == "30"  # zalo: the platform with the largest MAU is shown first
    old = site.get("/tinh-thanh?don-vi=63").text
    assert len(re.findall(r"<tr><td class=\"num\">", old)) == 63
    assert "không tách được theo 63 tỉnh" in _text(old)


def test_index_page_without_a_published_year(site: Site) -> None:
    text = _text(site.get("/chi-so").text)
    assert "Chưa có năm nào được công bố" in text
    assert site.get("/chi-so?nam=2022").status_code == 404
    # an analyst may ask; the store has no indicator values, and the page says so in Vietnamese
    analyst = _text(site.get("/chi-so?nam=2022", key=site.analyst_key).text)
    assert "Chưa có giá trị chỉ số nào" in analyst


def test_overview_counts_platforms_by_monthly_users(site: Site) -> None:
    """Zalo 30 and Viber 24 monthly users (below 1 million); Messenger's 5 withheld from the public."""
    public = site.get("/").text
    assert _text(_row(public, "data-band", "10000000")).split()[-4:] == ["0", "0", "0", "–"]
    below = _text(_row(public, "data-band", "0"))
    assert below.split() == ["Dưới", "1", "triệu", "2", "1", "1", "Zalo,", "Viber"]
    assert "1 nền tảng không có số liệu công bố" in _text(public)
    analyst = _text(_row(site.get("/?ky=2022-Q1", site.analyst_key).text, "data-band", "0"))
    assert analyst.split()[3:6] == ["3", "1", "2"] and "Messenger" in analyst  # Messenger is foreign


def test_the_platform_page_follows_its_users_for_analysts_only(site: Site) -> None:
    """Viber's 24 users of January are active in February and March, and none in April (Zalo's 30 all are)."""
    html = site.get("/nen-tang/viber?ky=2022-Q1", site.analyst_key).text
    shares = [_text(_row(html, "data-months-since", str(k))).split()[-2] for k in range(4)]
    assert shares == ["100,00%", "100,00%", "100,00%", "0,00%"]
    assert "Người dùng tháng 1/2022 còn sử dụng" in _text(html)
    zalo = site.get("/nen-tang/zalo?ky=2022-Q1", site.analyst_key).text
    assert _text(_row(zalo, "data-months-since", "3")).split()[-2] == "100,00%"
    assert 'id="giu-chan"' not in site.get("/nen-tang/viber?ky=2022-Q1").text  # not for the public


def test_the_quality_page_for_admins_analysts_and_the_sources_own_key(site: Site) -> None:
    """test-panel has records on 7 days of the first quarter (10–12 January, 10–11 February and March: 167 records)
    inside its delivered range, 10 January to 10 April: 81 days of the quarter, 74 without records. February's
    and March's days have four same weekdays before them, all without records: above their baseline of 0."""
    html = site.get("/chat-luong?ky=2022-Q1", site.analyst_key).text
    assert _text(_row(html, "data-source", "test-panel")).split()[:7] == ["test-panel", "7/81", "74", "0", "4",
                                                                            "167", "0"]
    assert site.get("/chat-luong?ky=2022-Q1").status_code == 403  # not for the public
    own, _ = site.service.access.create_key("source", source="test-panel")
    other, _ = site.service.access.create_key("source", source="another")
    assert 'data-source="test-panel"' in site.get("/chat-luong?ky=2022-Q1", own).text
    assert 'data-source="test-panel"' not in site.get("/chat-luong?ky=2022-Q1", other).text
    assert site.get("/chat-luong?ky=2022-Q1&nguon=test-panel", other).status_code == 404
    # without a period: the latest quarter with records (the second, to 10 April: 1 to 10 April, 9 without
    # records), for the source's key too
    for key in (own, site.analyst_key):
        latest = site.get("/chat-luong", key)
        assert latest.status_code == 200 and '<option value="2022-Q2" selected>' in latest.text
        assert _text(_row(latest.text, "data-source", "test-panel")).split()[:3] == ["test-panel", "1/10", "9"]
    days = site.get("/chat-luong?ky=2022-Q1&nguon=test-panel", own).text
    assert _text(_row(days, "data-day", "2022-01-10")).split()[:3] == ["10/1/2022", "đủ", "30"]
    assert _text(_row(days, "data-day", "2022-01-13")).split()[:3] == ["13/1/2022", "thiếu", "0"]
    assert _text(_row(days, "data-day", "2022-02-10")).split()[:5] == ["10/2/2022", "cao", "bất", "thường", "30"]
    assert unicodedata.is_normalized("NFC", days)
