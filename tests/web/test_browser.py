"""The dashboard in a real browser: Debian's chromium driven by Playwright, against `thuocdo serve`'s app run by
Uvicorn on a loopback port, over a small demo store (the demo generator with 300 panelists).

Chromium is never downloaded: the test uses /usr/bin/chromium, installing Debian's package with apt-get when
it is missing and the test runs as root (as `make install` does); it skips, saying why, only when it cannot.
Screenshots of every page are saved under the test's temporary folder and copied to ``THUOCDO_SHOTS``
(default ``/tmp/thuocdo-shots``) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from thuocdo.catalog import load_catalog
from thuocdo.reports.vietnamese import format_percent, format_persons
from thuocdo.web.app import create_app
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.service import Service, Settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SOURCE = "demo-panel"
TINY = "demo-telco"
PERIOD = "2022-Q1"


def _ensure_chromium() -> Path:
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        for command in (["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                        ["sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium"]):
            subprocess.run(command, check=False, capture_output=True, timeout=900)
            if CHROMIUM.exists():
                break
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium) and could not be installed here: "
                    "run `apt-get install chromium` as root, or `make install`.")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(executable), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _demo_store(home: Path, work: Path) -> None:
    from thuocdo.demo.generator import generate
    from thuocdo.indices.demo_data import write_demo_indicators

    files = generate(load_catalog(), work, 300, 2022)
    ingest_workflow.ingest(home, "weights", [files.weights], SOURCE)
    ingest_workflow.ingest(home, "usage", files.usage, SOURCE)
    ingest_workflow.ingest(home, "aggregates", [files.aggregates], "demo-web-panel")
    ingest_workflow.ingest(home, "indicators", [write_demo_indicators(work / "indicators.csv")], "demo-indicators")
    # a small source whose only records fall after the panel's last quarter, as the demo's API batch does
    tiny = work / "tiny.csv"
    tiny.write_text("user_id,platform,time,active_seconds,province\n"
                    + "".join(f"t{i},zalo,2022-07-05,60,Hà Nội\n" for i in range(3)), encoding="utf-8")
    ingest_workflow.ingest(home, "usage", [tiny], TINY)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    root = tmp_path_factory.mktemp("browser")
    home = root / "home"
    _demo_store(home, root / "demo")
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    for period in ("2021-Q4", PERIOD, "2022", "2024"):
        service.access.publish(period)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(create_app(service=service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        service.close()


@pytest.fixture
def page(browser: Any, server: str, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    pg = context.new_page()
    pg.outside: list[str] = []  # type: ignore[attr-defined]
    pg.errors: list[str] = []  # type: ignore[attr-defined]

    def route(r: Any) -> None:
        if r.request.url.startswith(server):
            r.continue_()
        else:  # no CDN, no network: anything off the app is refused and recorded
            pg.outside.append(r.request.url)  # type: ignore[attr-defined]
            r.abort()

    pg.route("**/*", route)
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
    yield pg
    context.close()


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = Path(os.environ.get("THUOCDO_SHOTS", "/tmp/thuocdo-shots"))
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, keep / path.name)


def _api(server: str, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server}/api/v1/metrics", params=params, timeout=60)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["rows"]
    return rows


def _open(page: Any, server: str, path: str) -> None:
    response = page.goto(server + path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("networkidle")


PAGES = {"tong-quan": "/", "nen-tang": "/nen-tang", "nen-tang-zalo": "/nen-tang/zalo", "tinh-thanh": "/tinh-thanh",
         "tinh-thanh-63": "/tinh-thanh?don-vi=63", "chi-so": "/chi-so", "chi-so-34": "/chi-so?don-vi=34",
         "bao-cao": "/bao-cao"}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_opens_offline_with_its_font(page: Any, server: str, tmp_path: Path, name: str) -> None:
    _open(page, server, PAGES[name])
    assert page.locator("nav[aria-label='Điều hướng chính'] a").count() == 5
    assert page.locator("h1").count() == 1
    assert page.evaluate(
        "document.fonts.ready.then(() => document.fonts.check('700 16px \"Be Vietnam Pro\"', 'Tổng quan'))")
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('Be Vietnam Pro') && f.status === 'loaded')")
    assert page.outside == [], page.outside  # type: ignore[attr-defined]
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    _shot(page, tmp_path, name)


def test_overview_figures_match_the_api(page: Any, server: str, tmp_path: Path) -> None:
    _open(page, server, f"/?ky={PERIOD}")
    shares = [r for r in _api(server, period=PERIOD, by="category", source=SOURCE) if r["metric"] == "mau"]
    domestic = sum(r["domestic_value"] or 0 for r in shares)
    total = sum(r["total_value"] or 0 for r in shares)
    assert page.locator("[data-figure=domestic-mau] .card-value").inner_text().strip() == format_persons(domestic)
    share = page.locator("[data-figure=domestic-share] .card-value").inner_text().strip()
    assert share == format_percent(domestic / total)
    assert page.locator("table.targets tbody tr").count() > 0
    _shot(page, tmp_path, "tong-quan-2022-Q1")


def test_category_click_through_and_figures_match_the_api(page: Any, server: str, tmp_path: Path) -> None:
    _open(page, server, f"/nen-tang?ky={PERIOD}")
    page.get_by_role("link", name="Liên lạc", exact=True).click()
    page.wait_for_url("**nhom=communication**")
    # without a source the page and the API show the national estimate (the panel and a small census source)
    rows = {r["platform"]: r for r in _api(server, period=PERIOD, by="platform")
            if r["category"] == "communication" and (r["source"] == "national" or r["basis"] == "published")}
    shown = page.locator("table.platforms tbody tr")
    assert shown.count() == len(rows)
    suppressed = 0
    for i in range(shown.count()):
        row = shown.nth(i)
        api = rows[row.get_attribute("data-platform")]
        mau = row.locator("[data-col=mau]").inner_text().strip()
        if api.get("suppressed"):
            suppressed += 1
            assert mau.startswith("–")
        else:
            assert mau == format_persons(api["mau"])
    _shot(page, tmp_path, "nen-tang-lien-lac")
    page.get_by_role("link", name="Zalo", exact=True).click()
    page.wait_for_url("**/nen-tang/zalo**")
    assert page.locator("h1").inner_text() == "Zalo"
    assert page.locator("figure.chart svg circle").count() >= 3  # months of 2021-Q4 and 2022
    zalo = rows["zalo"]
    assert page.locator("[data-figure=mau] .card-value").inner_text().strip() == format_persons(zalo["mau"])
    _shot(page, tmp_path, "nen-tang-zalo-tu-danh-sach")


def test_province_click_through(page: Any, server: str, tmp_path: Path) -> None:
    _open(page, server, f"/tinh-thanh?ky={PERIOD}")
    platform = page.locator("select#nen-tang").input_value()
    api = {r["province"]: r for r in _api(server, period=PERIOD, by="province", source=SOURCE)
           if r["platform"] == platform and r["province"]}
    first = page.locator("table.provinces tbody tr").first
    code = first.get_attribute("data-province")
    expected = api[code]
    shown = first.locator("[data-col=penetration]").inner_text().strip()
    assert shown.startswith("–") if expected.get("suppressed") else shown == format_percent(expected["penetration"])
    best = max((r for r in api.values() if r.get("penetration") is not None), key=lambda r: r["penetration"])
    assert code == best["province"]  # the ranking is by penetration
    name = first.locator("th a").inner_text()
    first.locator("th a").click()
    page.wait_for_url(f"**/nen-tang/{platform}**")
    page.wait_for_load_state("networkidle")
    assert page.locator(f"table.provinces tr[data-province='{code}'] th").inner_text() == name
    _shot(page, tmp_path, "tinh-thanh-den-nen-tang")


def test_index_shows_rank_intervals(page: Any, server: str, tmp_path: Path) -> None:
    _open(page, server, "/chi-so?bo=dti-2022&nam=2022&cap=province&don-vi=63")
    rows = page.locator("table.index tbody tr")
    assert rows.count() == 63
    api = httpx.get(f"{server}/api/v1/index", params={"period": "2022", "framework": "dti-2022", "units": "63"},
                    timeout=120).json()["rows"]
    top = min(api, key=lambda r: r["rank"])
    assert rows.first.get_attribute("data-entity") == top["entity"]
    interval = rows.first.locator(".interval-text").inner_text()
    assert interval == f"{int(top['rank_p05'])}–{int(top['rank_p95'])}"
    _shot(page, tmp_path, "chi-so-63")


def test_overview_opens_on_the_national_panel_with_trends_and_a_map(page: Any, server: str, tmp_path: Path) -> None:
    _open(page, server, "/")
    period = page.locator("select#ky").input_value()
    assert _api(server, period=period, source=SOURCE)  # the national panel has data in the quarter shown
    later = [q for q in ("2022-Q3", "2022-Q4") if q > period]
    assert all(not _api(server, period=q, source=SOURCE) for q in later)  # ... and it is its latest quarter
    assert _api(server, period="2022-Q3", source=TINY)  # while the small source reaches a later one
    shares = [r for r in _api(server, period=period, by="category", source=SOURCE) if r["metric"] == "mau"]
    domestic = sum(r["domestic_value"] or 0 for r in shares)
    assert page.locator("[data-figure=domestic-mau] .card-value").inner_text().strip() == format_persons(domestic)
    panels = page.locator("[data-figure=trend] figure.small-chart")
    # one panel per category with a published total (fewer under complementary suppression), several of them
    assert panels.count() == len({r["category"] for r in shares if r["total_value"]}) >= 5
    assert panels.first.locator("polyline.series.vn").count() >= 1
    assert panels.first.locator("polyline.series.foreign").count() >= 1
    tiles = page.locator("svg.tile-map g.tile")
    assert tiles.count() == 34
    for i in range(tiles.count()):  # a value: a colour of the scale; withheld (300 panelists): grey, "–"
        tile = tiles.nth(i)
        grey = tile.locator("rect").get_attribute("fill") == "#eceff1"
        assert grey == (tile.get_attribute("data-value") == "–"), tile.get_attribute("data-province")
    assert page.locator(".map-legend .legend-item").count() >= 2
    hanoi = page.locator("svg.tile-map g.tile[data-province='01']")
    assert (hanoi.locator("title").text_content() or "").startswith("Hà Nội: ")
    box = page.locator("svg.tile-map").bounding_box()
    assert box is not None and box["width"] >= 250 and box["height"] >= 450  # drawn, at a readable size
    page.select_option("select#nen-tang", "messenger")
    page.locator("form.picker.inline button").click()
    page.wait_for_url("**nen-tang=messenger**")
    assert "Messenger" in page.locator(".legend-title").inner_text()
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    _shot(page, tmp_path, "tong-quan-mac-dinh")
