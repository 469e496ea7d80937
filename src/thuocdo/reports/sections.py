"""One section per platform category: sentences generated from the numbers, the table and the charts.

Every sentence reads values of the disclosed metric tables (value, published rank, change against the previous
quarter and the same quarter a year before, domestic share and ratio over the published platforms) and is
chosen by the rules of :mod:`thuocdo.reports.wording`; the only arithmetic done here is on figures already in
the tables (a top five's sum of MB per user and its shares), and each such figure says so in its note.
"""

from __future__ import annotations

from dataclasses import dataclass

from thuocdo.catalog import Catalog
from thuocdo.model.periods import Period
from thuocdo.reports import glossary as g
from thuocdo.reports.context import PlatformRow
from thuocdo.reports.model import Chart, Provenance, Section, TableBlock
from thuocdo.reports.provenance import note, provenance_of, unique
from thuocdo.reports.vietnamese import (
    format_change,
    format_duration,
    format_mb,
    format_number,
    format_percent,
    format_persons,
    format_points,
    format_quarter,
    format_ratio,
    format_signed_percent,
    join_names,
)
from thuocdo.reports.wording import BIG_CHANGE, LEADERS, LONG_TIME, TOP_DATA

#: categories whose section compares the data volume of the top five (as the seed report does for communication)
DATA_SPLIT = ("communication",)
BAR_PLATFORMS = 10
TREND_PLATFORMS = 4


@dataclass(frozen=True)
class CategoryData:
    category: str
    rows: list[PlatformRow]  # this quarter, every row of the category (records and published)
    share: dict[str, float | None] | None  # domestic share of MAU over the published platforms, this quarter
    share_previous: dict[str, float | None] | None
    history: dict[str, dict[str, PlatformRow]]  # quarter → platform → row, for the trend chart


def share_over(rows: dict[str, PlatformRow], platforms: set[str]) -> float | None:
    """Σ MAU of the Vietnamese platforms among `platforms` ÷ Σ MAU of all of them."""
    total = sum(rows[p].mau or 0.0 for p in platforms)
    domestic = sum(rows[p].mau or 0.0 for p in platforms if rows[p].domestic)
    return domestic / total if total else None


def share_change(data: CategoryData, period: str) -> float | None:
    """The change of the Vietnamese share against the previous quarter, over the platforms published in both
    quarters (so that a platform published in one quarter only does not move it)."""
    now = data.history.get(period, {})
    before = data.history.get(Period.parse(period).previous().label, {})
    both = {p for p, r in now.items() if r.measured and p in before and before[p].measured}
    a, b = share_over(now, both), share_over(before, both)
    return None if a is None or b is None else a - b


def mau_text(row: PlatformRow) -> str:
    return format_persons(row.mau)


def margin_text(row: PlatformRow) -> str:
    return "–" if row.margin is None else format_persons(row.margin)


def _change_clause(row: PlatformRow, period: str) -> str:
    p = Period.parse(period)
    parts = []
    if row.change_previous is not None:
        parts.append(f"{format_change(row.change_previous)} so với quý trước")
    if row.change_year is not None:
        parts.append(f"{format_change(row.change_year)} so với cùng kỳ {format_quarter(p.year_ago().label)}")
    return join_names(parts)


def _rank_clause(row: PlatformRow, ranked: list[PlatformRow]) -> str:
    if row.rank == 1:
        return "đứng đầu nhóm"
    if row.rank == 2 and ranked and ranked[0].platform != row.platform:
        return f"đứng thứ 2 trong nhóm, chỉ xếp sau {ranked[0].name}"
    return f"đứng thứ {row.rank} trong nhóm" if row.rank else ""


def leader_sentence(row: PlatformRow, ranked: list[PlatformRow], period: str) -> str:
    text = (f"{row.name} có trung bình khoảng {mau_text(row)} người sử dụng hằng tháng "
            f"(sai số ±{margin_text(row)})")
    rank = _rank_clause(row, ranked)
    if rank:
        text += f", {rank}"
    change = _change_clause(row, period)
    if change:
        text += f"; {change}"
    if row.started_after_year_ago:
        text += f" (nền tảng bắt đầu triển khai sau {format_quarter(Period.parse(period).year_ago().label)}, nên "
        text += "không so sánh với cùng kỳ)"
    return text + "."


def share_sentences(data: CategoryData, catalog: Catalog, period: str, measured: list[PlatformRow]) -> list[str]:
    """Counts, the domestic share over the published platforms, and the leader by rank."""
    name = g.category_name(catalog, data.category)
    domestic = [r for r in measured if r.domestic]
    foreign = [r for r in measured if not r.domestic]
    out = [f"Trong {format_quarter(period)}, nhóm {name} có {len(measured)} nền tảng đủ số liệu công bố "
           f"({len(domestic)} nền tảng Việt Nam, {len(foreign)} nền tảng nước ngoài)."]
    if not foreign and domestic:
        in_catalog = any(p.category == data.category and p.origin == "foreign" for p in catalog.platforms)
        out.append("Không có nền tảng nước ngoài nào của nhóm đủ số liệu để công bố." if in_catalog else
                   "Thị trường này hiện vẫn dành riêng cho các nền tảng số Việt Nam, chưa có nền tảng số nước "
                   "ngoài nào trong danh mục đo lường.")
        return out
    if not domestic:
        out.append("Chưa có nền tảng số Việt Nam nào của nhóm này đủ số liệu để công bố.")
        return out
    share = data.share or {}
    domestic_share = share.get("share")
    if domestic_share is not None:
        text = (f"Tính trên các nền tảng được công bố, nền tảng số Việt Nam chiếm {format_percent(domestic_share)} "
                "tổng số người sử dụng hằng tháng của nhóm")
        change = share_change(data, period)
        if change is not None:
            text += (f" ({format_points(change)} so với quý trước, tính trên các nền tảng được công bố ở cả hai "
                     "quý)")
        ratio = share.get("ratio")
        if ratio is not None:
            text += (f", gấp {format_ratio(ratio)} các nền tảng nước ngoài" if ratio >= 1
                     else f", bằng {format_percent(ratio, 1)} các nền tảng nước ngoài")
        out.append(text + ".")
    top = measured[0]
    if top.domestic:
        rival = foreign[0]
        out.append(f"Nền tảng số Việt Nam {top.name} dẫn đầu nhóm về số người sử dụng hằng tháng, trên nền tảng "
                   f"nước ngoài lớn nhất là {rival.name} ({mau_text(top)} so với {mau_text(rival)}).")
    return out


def time_sentences(measured: list[PlatformRow]) -> list[str]:
    out = []
    vn = [r for r in measured if r.domestic and r.minutes is not None]
    foreign = [r for r in measured if not r.domestic and r.minutes is not None]
    if vn:
        top = vn[0]
        text = f"Thời gian mỗi người sử dụng {top.name} trung bình hằng ngày khoảng {format_duration(top.minutes)}"
        if foreign:
            others = ", ".join(f"{r.name} ({format_duration(r.minutes)})" for r in foreign[:2])
            text += f", so với {others}"
        out.append(text + ".")
        longest = max(vn, key=lambda r: r.minutes or 0.0)
        if longest is not top and (longest.minutes or 0) >= LONG_TIME * (top.minutes or 0):
            out.append(f"Đáng chú ý, {longest.name} có thời gian sử dụng trung bình của mỗi người dùng trong một "
                       f"ngày cao nhất trong các nền tảng Việt Nam của nhóm, khoảng "
                       f"{format_duration(longest.minutes)} mỗi ngày (xếp thứ {longest.rank} về số người sử dụng).")
    return out


def data_split_sentence(measured: list[PlatformRow]) -> tuple[str, TableBlock] | None:
    """The top five's MB per user: Vietnamese vs foreign sum, shares and ratio (derived in the report)."""
    top = [r for r in measured[:TOP_DATA] if r.mb is not None]
    vn = [r for r in top if r.domestic]
    foreign = [r for r in top if not r.domestic]
    if not vn or not foreign:
        return None
    mb_vn = sum(r.mb or 0.0 for r in vn)
    mb_f = sum(r.mb or 0.0 for r in foreign)
    total = mb_vn + mb_f
    text = (f"Trong {len(top)} nền tảng dẫn đầu nhóm, tổng lượng dữ liệu trung bình mỗi người dùng tạo ra, trao "
            f"đổi hằng tháng trên {join_names([r.name for r in vn])} xấp xỉ {format_mb(mb_vn)} "
            f"(~{format_percent(mb_vn / total)} của {len(top)} nền tảng), "
            + (f"nhiều hơn {format_ratio(mb_vn / mb_f)} so với" if mb_vn >= mb_f else "ít hơn")
            + f" tổng lượng dữ liệu trao đổi trên {len(foreign)} nền tảng nước ngoài "
            f"({join_names([r.name for r in foreign])}: {format_mb(mb_f)}, chiếm {format_percent(mb_f / total)}).")
    rows = [[r.name, g.ORIGIN[r.origin], format_mb(r.mb)] for r in top]
    rows.append(["Nền tảng Việt Nam", "", f"{format_mb(mb_vn)} ({format_percent(mb_vn / total)})"])
    rows.append(["Nền tảng nước ngoài", "", f"{format_mb(mb_f)} ({format_percent(mb_f / total)})"])
    table = TableBlock(f"Dữ liệu trung bình mỗi người dùng mỗi tháng, {len(top)} nền tảng dẫn đầu nhóm",
                       [g.HEADER["name"], g.HEADER["origin"], g.HEADER["mb"]], rows, [False, False, True],
                       ["Tổng và tỷ trọng: tính trong báo cáo từ cột MB/tháng của bảng chỉ số (cộng các giá trị "
                        "trung bình của từng nền tảng được công bố)."])
    return text, table


def change_sentences(measured: list[PlatformRow], period: str) -> list[str]:
    ago = format_quarter(Period.parse(period).year_ago().label)
    down = sorted([r for r in measured if r.change_year is not None and r.change_year <= -BIG_CHANGE],
                  key=lambda r: r.change_year or 0.0)
    up = sorted([r for r in measured if r.change_year is not None and r.change_year >= BIG_CHANGE],
                key=lambda r: -(r.change_year or 0.0))
    out = []
    if down:
        items = join_names([f"{r.name} ({format_change(r.change_year, 0)})" for r in down])
        out.append(f"Số người sử dụng {items} sụt giảm mạnh so với cùng kỳ {ago}.")
    if up:
        items = join_names([f"{r.name} ({format_change(r.change_year, 0)})" for r in up])
        out.append(f"Tăng từ {format_percent(BIG_CHANGE, 0)} trở lên so với cùng kỳ {ago}: {items}.")
    return out


def published_sentences(rows: list[PlatformRow], provenance: dict[str, Provenance]) -> list[str]:
    """Visits and downloads from published aggregates, each with its publisher."""
    out = []
    web = sorted([r for r in rows if r.visits is not None], key=lambda r: -(r.visits or 0))
    if web:
        items = []
        for r in web:
            text = f"{r.name} {format_persons(r.visits, 4)} lượt"
            if r.web_rank is not None:
                text += f" (xếp thứ {format_number(r.web_rank)})"
            items.append(text)
        who = join_names(sorted({provenance[r.platform].label for r in web}))
        out.append(f"Đối với các trang web, theo {who}, số lượt truy cập trung bình hằng tháng của "
                   f"{join_names(items)}.")
    for r in rows:
        if r.downloads_total is not None:
            count = (format_persons(r.downloads_total, 4) if r.downloads_total >= 1e6
                     else format_number(r.downloads_total))
            out.append(f"Tổng số lượt tải {r.name} lũy kế đạt {count} lượt (theo {provenance[r.platform].label}).")
    return out


def hidden_sentence(rest: list[PlatformRow], min_cell: int) -> list[str]:
    """Why some panel figures are not published: the sample, or the protection of another figure."""
    small = [r.name for r in rest if r.basis == "records" and r.suppressed and r.suppression != "complementary"]
    other = [r.name for r in rest if r.basis == "records" and r.suppressed and r.suppression == "complementary"]
    out = []
    if small:
        out.append(f"Số liệu người sử dụng của {join_names(small)} không được công bố: "
                   f"{g.suppression_reason('small_sample', min_cell)}.")
    if other:
        out.append(f"Số liệu của {join_names(other)} không được công bố "
                   f"{g.suppression_reason('complementary', min_cell)}.")
    return out


def category_table(data: CategoryData, ranked: list[PlatformRow], rest: list[PlatformRow], min_cell: int) -> TableBlock:
    web = any(r.visits is not None or r.web_rank is not None for r in data.rows)
    headers = [g.HEADER[k] for k in ("rank", "name", "origin", "mau", "margin", "change_previous", "change_year",
                                     "minutes", "mb")]
    numeric = [True, False, False, True, True, True, True, True, True]
    if web:
        headers += [g.HEADER["visits"], g.HEADER["web_rank"]]
        numeric += [True, True]
    rows = []
    for r in ranked + rest:
        shown = r.measured
        cells = [
            format_number(r.rank) if shown and r.rank else "–", r.name, g.ORIGIN_SHORT[r.origin],
            mau_text(r) if shown else "–", margin_text(r) if shown else "–",
            format_signed_percent(r.change_previous) if shown else "–",
            format_signed_percent(r.change_year) if shown else "–",
            format_number(r.minutes, 1) if shown else "–", format_number(r.mb, 1) if shown else "–",
        ]
        if web:
            cells += [format_persons(r.visits, 4) if r.visits is not None else "–",
                      format_number(r.web_rank) if r.web_rank is not None else "–"]
        rows.append(cells)
    notes = [f"VN: nền tảng Việt Nam; NN: nền tảng nước ngoài. Hạng: thứ hạng theo số người sử dụng hằng tháng "
             f"trong số các nền tảng được công bố. “–”: không có số liệu, số liệu dựa trên dưới {min_cell} người "
             "trong mẫu, số liệu ẩn bổ sung để bảo vệ số liệu khác, hoặc so sánh với kỳ chưa công bố hay trước khi "
             "nền tảng triển khai."]
    return TableBlock("", headers, rows, numeric, notes)


def category_section(number: str, data: CategoryData, catalog: Catalog, period: str, min_cell: int,
                     records: Provenance, published: dict[str, Provenance]) -> Section:
    measured = sorted([r for r in data.rows if r.measured], key=lambda r: (r.rank or 10**6, -(r.mau or 0.0)))
    rest = [r for r in data.rows if not r.measured]
    rest.sort(key=lambda r: (r.basis != "records", -(r.visits or 0.0), r.name))
    name = g.category_name(catalog, data.category)
    section = Section(number, g.section_title(catalog, data.category))
    web_rows = [r for r in data.rows if r.visits is not None or r.web_rank is not None or r.downloads_total]
    web_provenance = unique(published[r.platform] for r in web_rows if r.platform in published)
    if not measured and not web_rows:
        section.paragraphs.append(f"Trong {format_quarter(period)} chưa có nền tảng nào của nhóm {name} đủ số liệu "
                                  "để công bố.")
        return section
    if measured:
        section.provenance.append(records)
        section.paragraphs.extend(share_sentences(data, catalog, period, measured))
        vn = [r for r in measured if r.domestic][:LEADERS]
        if vn:
            section.paragraphs.append(" ".join(leader_sentence(r, measured, period) for r in vn))
        foreign = [r for r in measured if not r.domestic]
        if foreign:
            top = foreign[0]
            if top is measured[0]:
                section.paragraphs.append(f"Nền tảng nước ngoài {top.name} dẫn đầu nhóm với khoảng {mau_text(top)} "
                                          f"người sử dụng hằng tháng (sai số ±{margin_text(top)}).")
            else:
                section.paragraphs.append(f"Nền tảng nước ngoài lớn nhất trong nhóm là {top.name}, với khoảng "
                                          f"{mau_text(top)} người sử dụng hằng tháng.")
        section.paragraphs.extend(time_sentences(measured))
        if data.category in DATA_SPLIT:
            split = data_split_sentence(measured)
            if split:
                section.paragraphs.append(split[0])
                split[1].provenance.append(records)
                split[1].notes.insert(0, note([records]))
                section.tables.append(split[1])
        section.paragraphs.extend(change_sentences(measured, period))
    section.provenance.extend(web_provenance)
    section.paragraphs.extend(published_sentences(data.rows, published))
    section.paragraphs.extend(hidden_sentence(rest, min_cell))
    table = category_table(data, measured, rest, min_cell)
    table.title = f"Nhóm {name}, {format_quarter(period)}"
    table.provenance = [records, *web_provenance] if measured or rest else list(web_provenance)
    table.notes.insert(0, note([records], "Người dùng hằng tháng, sai số, so sánh, phút/ngày, MB/tháng")
                       + " Sai số là nửa độ rộng khoảng tin cậy 95% của ước lượng số người sử dụng hằng tháng.")
    if web_provenance:
        table.notes.append(note(web_provenance, "Lượt truy cập, hạng truy cập"))
    section.tables.insert(0, table)
    if measured:
        section.charts.extend(_charts(data, measured, name, period, records))
    return section


def _charts(data: CategoryData, measured: list[PlatformRow], name: str, period: str,
            records: Provenance) -> list[Chart]:
    key = data.category
    bars = measured[:BAR_PLATFORMS]
    out = [Chart(
        f"mau-{key}", f"Người sử dụng hằng tháng, nhóm {name}, {format_quarter(period)} (triệu người)", "bars",
        {"labels": [r.name for r in bars], "values": [(r.mau or 0) / 1e6 for r in bars],
         "errors": [(r.margin or 0) / 1e6 for r in bars], "domestic": [r.domestic for r in bars]},
        note([records]) + " Vạch đen: khoảng tin cậy 95%.", provenance=[records])]
    leading = [r.platform for r in measured[:TREND_PLATFORMS]]
    quarters = [q for q in data.history if any(r.measured for r in data.history[q].values())]
    series = []
    for pid in leading:
        values = []
        for q in quarters:
            row = data.history[q].get(pid)
            values.append((row.mau or 0) / 1e6 if row is not None and row.measured else None)
        ref = next(r for r in measured if r.platform == pid)
        series.append({"label": ref.name, "values": values, "domestic": ref.domestic})
    out.append(Chart(
        f"xu-huong-{key}", f"Người sử dụng hằng tháng qua {len(quarters)} quý, nhóm {name} (triệu người)",
        "trend", {"quarters": [format_quarter(q, capital=True).replace("Quý ", "") for q in quarters],
                  "series": series}, note([records]) + " Quý chưa công bố số liệu của nền tảng: để trống.",
        provenance=[records]))
    return out


def web_provenance_map(rows: list[PlatformRow]) -> dict[str, Provenance]:
    """Platform → provenance of its published figures (visits, ranks, downloads, published MAU)."""
    return {r.platform: provenance_of(r.published_source or r.source, "published") for r in rows
            if r.published_source or r.basis == "published"}
