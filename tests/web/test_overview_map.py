"""The overview opens on the national panel's latest quarter, with a trend chart per category and a tile map of
the 34 provinces; the index page maps the 63 (or 34) provinces. Plain HTTP calls through the ASGI app, over a
hand-made store:

* ``big-panel``: persons b01–b40 on Zalo (Vietnamese) and b01–b25 on Viber (foreign) once a month in 2022-Q1 and
  2022-Q2, in Hà Nội (b01–b30 on Zalo) and Huế (the rest): the national panel;
* ``tiny-api``: three persons on Zalo in July 2022 (quarter III), as the demo's API batch does.

Everything of 2022 and 2024 is published. The overview must open on quý II/2022 of ``big-panel``, not on quý
III/2022 of the three persons of ``tiny-api``.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ingest_province_scores
from thuocdo.catalog import load_catalog
from thuocdo.reports.vietnamese import format_percent
from thuocdo.web.app import create_app
from thuocdo.web.dashboard.tilegrid import CENTRES_34, CENTRES_63, GRID_SIZE, layout
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.access import ANONYMOUS_PRINCIPAL
from thuocdo.workflows.service import Service, Settings


def _usage(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Service]]:
    folder = tmp_path_factory.mktemp("overview")
    home = folder / "home"
    big = []
    for month in ("2022-01", "2022-02", "2022-03", "2022-04", "2022-05", "2022-06"):
        big += [{"user_id": f"b{i:02d}", "platform": "zalo", "time": f"{month}-10", "active_seconds": 600,
                 "province": "Hà Nội" if i <= 30 else "Thừa Thiên Huế"} for i in range(1, 41)]
        big += [{"user_id": f"b{i:02d}", "platform": "viber", "time": f"{month}-11", "active_seconds": 300,
                 "province": "Hà Nội"} for i in range(1, 26)]
    tiny = [{"user_id": f"t{i}", "platform": "zalo", "time": "2022-07-05", "active_seconds": 60, "province": "Hà Nội"}
            for i in range(1, 4)]
    assert not ingest_workflow.ingest(home, "usage", [_usage(folder / "big.csv", big)], "big-panel").errors
    assert not ingest_workflow.ingest(home, "usage", [_usage(folder / "tiny.csv", tiny)], "tiny-api").errors
    ingest_province_scores(home, folder, "dti-2025", "2024", {"Hà Nội": 0.8, "Hải Phòng": 0.6})
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    for period in ("2022", "2024"):
        service.access.publish(period)
    try:
        yield create_app(service=service), service
    finally:
        service.close()


def _get(app: tuple[object, Service], url: str) -> str:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app[0])  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(url)
    response = asyncio.run(go())
    assert response.status_code == 200, response.text[:400]
    return response.text


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_overview_opens_on_the_national_panel_not_the_tiny_source(app: tuple[object, Service]) -> None:
    html = _get(app, "/")
    text = _text(html)
    assert "Hoạt động của người dân trên các nền tảng số, quý II/2022." in text
    assert re.search(r'<option value="2022-Q2" selected>', html)
    domestic = re.search(r'data-figure="domestic-mau".*?card-value">([^<]+)<', html, re.S)
    assert domestic and domestic.group(1).strip() == "40"  # big-panel's 40 Zalo users, not tiny-api's 3
    # the other pages open on the same quarter
    assert "quý II/2022" in _text(_get(app, "/nen-tang"))
    assert "quý II/2022" in _text(_get(app, "/tinh-thanh"))
    # the later quarter can still be asked for, with its only source
    later = _text(_get(app, "/?ky=2022-Q3"))
    assert "quý III/2022" in later


def test_overview_has_a_trend_chart_per_category(app: tuple[object, Service]) -> None:
    html = _get(app, "/")
    panels = re.findall(r'<figure class="small-chart" data-category="([a-z-]+)"', html)
    assert panels == ["communication"]  # the one category with data
    panel = html[html.index('data-category="communication"'):]
    panel = panel[:panel.index("</figure>")]
    assert panel.count('class="dot vn"') == 2 and panel.count('class="dot foreign"') == 2  # two quarters each
    assert "Việt Nam, quý I/2022: 40" in panel and "Nước ngoài, quý II/2022: 25" in panel
    assert "I/2022" in panel and "II/2022" in panel


def test_overview_map_of_the_34_provinces(app: tuple[object, Service]) -> None:
    html = _get(app, "/")
    svg = html[html.index('<svg class="tile-map"'):]
    svg = svg[:svg.index("</svg>")]
    assert 'data-units="34"' in svg
    tiles = dict(re.findall(r'data-province="(\d\d)" data-value="([^"]*)"', svg))
    assert sorted(tiles) == sorted(p.code for p in load_catalog().provinces_new)
    service = app[1]
    rows = {r["province"]: r for r in service.public_metrics("2022-Q2", "province", ANONYMOUS_PRINCIPAL, "big-panel")
            .to_pylist() if r["platform"] == "zalo"}
    assert tiles["01"] == format_percent(rows["01"]["penetration"], 1)  # Hà Nội: 30 Zalo users
    assert tiles["46"] == "–"  # Huế: 10 panelists, under the small-cell rule: withheld, grey
    assert "Tỷ lệ thâm nhập của Zalo" in _text(html)
    assert "không có số liệu công bố" in svg
    viber = _get(app, "/?nen-tang=viber")
    assert 'data-province="01" data-value="' in viber and "Tỷ lệ thâm nhập của Viber" in _text(viber)


def test_index_page_maps_the_63_and_the_34_provinces(app: tuple[object, Service]) -> None:
    for units, count, names in (("63", 63, load_catalog().provinces_old), ("34", 34, load_catalog().provinces_new)):
        html = _get(app, f"/chi-so?bo=dti-2025&nam=2024&cap=province&don-vi={units}")
        svg = html[html.index('<svg class="tile-map"'):]
        svg = svg[:svg.index("</svg>")]
        assert f'data-units="{units}"' in svg
        tiles = dict(re.findall(r'data-province="(\d\d)" data-value="([^"]*)"', svg))
        assert len(tiles) == count and sorted(tiles) == sorted(p.code for p in names)
        assert tiles["01"] == "0,8000"  # Hà Nội


@pytest.mark.parametrize(("units", "centres"), [("34", CENTRES_34), ("63", CENTRES_63)])
def test_tile_grid_is_complete_and_roughly_geographic(units: str, centres: dict[str, tuple[float, float]]) -> None:
    catalog = load_catalog()
    codes = {p.code for p in (catalog.provinces_new if units == "34" else catalog.provinces_old)}
    place = layout(units)
    assert set(place) == set(centres) == codes
    assert len(set(place.values())) == len(place)  # one province per square
    columns, rows = GRID_SIZE[units]
    assert all(0 <= x < columns and 0 <= y < rows for x, y in place.values())
    # north stays north, west stays west: most pairs of provinces keep their order
    pairs = list(itertools.combinations(sorted(place), 2))
    north = [(centres[a][0] - centres[b][0]) * (place[b][1] - place[a][1]) > 0 for a, b in pairs
             if abs(centres[a][0] - centres[b][0]) > 0.5 and place[a][1] != place[b][1]]
    west = [(centres[a][1] - centres[b][1]) * (place[a][0] - place[b][0]) > 0 for a, b in pairs
            if abs(centres[a][1] - centres[b][1]) > 0.5 and place[a][0] != place[b][0]]
    assert sum(north) / len(north) > 0.97 and sum(west) / len(west) > 0.85
