"""Part IV, "Đề xuất, kiến nghị", drawn from the data (thresholds in :mod:`thuocdo.reports.wording`):

- categories whose Vietnamese platforms lost share against the previous quarter (over the platforms published
  in both quarters);
- Vietnamese platforms that lost users against the previous quarter;
- the provinces where the leading Vietnamese platform reaches the smallest part of the population;

and the recommendations that follow from them, addressed by the issuing body to ministries and localities.
"""

from __future__ import annotations

from thuocdo.catalog import Catalog
from thuocdo.catalog.history import Issuer
from thuocdo.model.periods import Period
from thuocdo.reports import glossary as g
from thuocdo.reports.context import PlatformRow, ReportInputs, platform_rows
from thuocdo.reports.model import Section
from thuocdo.reports.provenance import provenance_of
from thuocdo.reports.sections import CategoryData, share_over
from thuocdo.reports.vietnamese import format_change, format_percent, format_points, format_quarter, join_names
from thuocdo.reports.wording import LOW_PROVINCES, PLATFORM_LOSS, SHARE_LOSS


def losing_categories(catalog: Catalog, data: dict[str, CategoryData], now: dict[str, PlatformRow],
                      before: dict[str, PlatformRow]) -> list[tuple[str, float, float]]:
    """(category name, share now, change in share points) where the Vietnamese share fell by SHARE_LOSS or
    more, over the platforms published in both quarters."""
    out = []
    for c in data:
        both = {p for p, r in now.items() if r.category == c and r.measured and p in before and before[p].measured}
        if not any(now[p].domestic for p in both) or all(now[p].domestic for p in both):
            continue
        a, b = share_over(now, both), share_over(before, both)
        if a is not None and b is not None and a - b <= -SHARE_LOSS:
            out.append((g.category_name(catalog, c), a, a - b))
    return sorted(out, key=lambda x: x[2])


def low_penetration(inputs: ReportInputs, catalog: Catalog, leader: PlatformRow) -> list[tuple[str, float]]:
    """(province, penetration) of the leading Vietnamese platform, lowest first, over published cells."""
    end = Period.parse(inputs.period).last_day
    cells = [r for r in platform_rows(inputs.provinces, inputs.min_cell)
             if r.platform == leader.platform and r.measured and r.penetration is not None and r.province]
    cells.sort(key=lambda r: (r.penetration or 0.0, r.province or ""))
    return [(catalog.province_name(r.province or "", end), r.penetration or 0.0) for r in cells[:LOW_PROVINCES]]


def proposals(inputs: ReportInputs, catalog: Catalog, rows: list[PlatformRow], data: dict[str, CategoryData],
              history: dict[str, dict[str, PlatformRow]], issuer: Issuer) -> list[Section]:
    quarter = format_quarter(inputs.period)
    now = history.get(inputs.period, {})
    before = history.get(Period.parse(inputs.period).previous().label, {})
    sources = sorted({r.source for r in rows if r.basis == "records" and r.source})
    records = provenance_of(sources[0] if sources else None, "records")
    findings = Section("1", "Những vấn đề rút ra từ số liệu", provenance=[records])
    losing = losing_categories(catalog, data, now, before)
    if losing:
        findings.bullets.append("Tỷ trọng người sử dụng của nền tảng số Việt Nam giảm so với quý trước (tính trên các "
                                "nền tảng được công bố ở cả hai quý) ở các nhóm: "
                                + join_names([f"{c} ({format_points(d)})" for c, _, d in losing]) + ".")
    falling = sorted([r for r in rows if r.domestic and r.measured and r.change_previous is not None
                      and r.change_previous <= -PLATFORM_LOSS], key=lambda r: r.change_previous or 0.0)
    if falling:
        findings.bullets.append("Nền tảng số Việt Nam giảm người sử dụng so với quý trước: "
                                + join_names([f"{r.name} ({format_change(r.change_previous)})" for r in falling])
                                + ".")
    leader = max((r for r in rows if r.domestic and r.measured), key=lambda r: r.mau or 0.0, default=None)
    low = low_penetration(inputs, catalog, leader) if leader is not None else []
    if leader is not None and low:
        findings.bullets.append(
            f"Tỷ lệ người sử dụng {leader.name} (nền tảng số Việt Nam có nhiều người sử dụng nhất) so với số người "
            f"sử dụng Internet trên điện thoại di động thấp nhất ở: "
            + join_names([f"{p} ({format_percent(v, 1)})" for p, v in low]) + ".")
    if not findings.bullets:
        findings.paragraphs.append(f"Trong {quarter}, số liệu được công bố không cho thấy nhóm nào giảm tỷ trọng nền "
                                   "tảng số Việt Nam hay nền tảng số Việt Nam nào giảm mạnh người sử dụng.")
    advice = Section("2", "Kiến nghị")
    advice.paragraphs.append(f"Trên cơ sở số liệu đo lường {quarter}, {issuer.name_in_sentence} đề nghị các bộ, "
                             "ngành, địa phương:")
    items = []
    if low:
        items.append("Tích cực triển khai các Tổ công nghệ số cộng đồng để hướng dẫn, hỗ trợ người dân sử dụng các "
                     "nền tảng số Việt Nam, trước hết tại " + join_names([p for p, _ in low]) + ".")
    if losing:
        items.append("Tuyên truyền, phổ biến để người dân biết và sử dụng các nền tảng số Việt Nam trong các nhóm "
                     + join_names([c for c, _, _ in losing]) + ", nơi tỷ trọng của nền tảng số Việt Nam đang giảm.")
    if falling:
        items.append("Các cơ quan chủ quản, doanh nghiệp sở hữu " + join_names([r.name for r in falling])
                     + " đánh giá nguyên nhân giảm người sử dụng và có giải pháp duy trì, phát triển người dùng.")
    items.append("Tổ chức bồi dưỡng, tập huấn cho cán bộ về chuyển đổi số, làm nòng cốt đưa hoạt động của người "
                 "dân lên môi trường số bằng các nền tảng số Việt Nam.")
    advice.paragraphs.extend(f"({i}) {text}" for i, text in enumerate(items, 1))
    return [findings, advice]
