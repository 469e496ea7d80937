"""Every label a reader of a report sees, in Vietnamese, keyed by the ids the data use.

Identifiers stay English in the code and the data; nothing English reaches a document: the renderers look
every id up here (categories come from the catalog's ``name_vi``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from thuocdo.catalog import Catalog
from thuocdo.metrics.national import NATIONAL
from thuocdo.reports import provenance

ORIGIN = {"vn": "Việt Nam", "foreign": "Nước ngoài"}
ORIGIN_SHORT = {"vn": "VN", "foreign": "NN"}

METRIC = {
    "mau": "Số người sử dụng hằng tháng (MAU)",
    "dau": "Số người sử dụng hằng ngày (DAU)",
    "wau": "Số người sử dụng hằng tuần (WAU)",
    "minutes_per_day": "Thời gian sử dụng trung bình mỗi ngày của một người dùng",
    "mb_per_user": "Dữ liệu trung bình mỗi người dùng mỗi tháng",
    "sessions": "Số phiên sử dụng",
    "installs": "Số lượt cài đặt mới",
    "stickiness": "Tỷ lệ người dùng hằng ngày trên người dùng hằng tháng (DAU/MAU)",
    "visits": "Số lượt truy cập website trung bình mỗi tháng",
    "web_rank": "Thứ hạng theo lượt truy cập website",
    "downloads_total": "Tổng số lượt tải ứng dụng lũy kế",
    "penetration": "Tỷ lệ so với số người sử dụng Internet trên điện thoại di động",
    "domestic_share": "Tỷ trọng của nền tảng Việt Nam",
}

#: the figures beyond MAU (wau; thuocdo.metrics.bands, thuocdo.metrics.retention), as the report's definitions give them
WAU_DEFINITION = ("Số người sử dụng hằng tuần (WAU): với mỗi tuần từ thứ Hai đến Chủ nhật (theo giờ Việt Nam) nằm "
                  "trọn trong kỳ, tổng trọng số của những người có hoạt động ít nhất một ngày trong tuần, mỗi người "
                  "theo trọng số của tháng chứa ngày thứ Năm của tuần; số liệu của kỳ là trung bình các tuần đó.")
BANDS_DEFINITION = ("Nhóm theo số người sử dụng hằng tháng: các nền tảng được xếp vào các khoảng [cận dưới, cận "
                    "trên) của số người sử dụng hằng tháng trong kỳ; một nền tảng đúng bằng một ngưỡng (ví dụ đúng "
                    "10 triệu) thuộc nhóm trên; nền tảng không được công bố không được xếp nhóm.")
RETENTION_DEFINITION = ("Tỷ lệ giữ chân người dùng: trong số người sử dụng một nền tảng trong một tháng (theo trọng số "
                        "của tháng đó), tỷ lệ người còn sử dụng nền tảng ở một tháng sau; chỉ tính được trong những "
                        "người của cùng một nguồn, theo dõi được qua các tháng.")

#: the quality monitor's figures (thuocdo.metrics.quality), as the report's methods and the dashboard define them
QUALITY = {
    "records": "Bản ghi đã lưu: bản ghi sử dụng của ngày hoạt động (theo giờ Việt Nam) đã được lưu, mỗi bản ghi "
               "một lần dù được gửi nhiều lần.",
    "rejected": "Dòng bị loại: dòng không qua kiểm tra (thiếu trường, sai định dạng, nền tảng không có trong danh "
                "mục…), được giữ riêng trong khu cách ly kèm lý do; tỷ lệ dòng bị loại tính trên mọi dòng nhận được "
                "(đã lưu, trùng lặp và bị loại).",
    "duplicates": "Dòng trùng lặp: dòng trùng một bản ghi đã lưu hoặc một dòng trước trong cùng lần gửi; không được "
                  "lưu lần nữa.",
    "late_records": "Bản ghi đến muộn: bản ghi được lưu sau ngày hoạt động quá số ngày quy định (mặc định 2 ngày).",
    "baseline": "Mức thường lệ: trung vị số bản ghi của cùng thứ trong tuần ở 8 tuần trước (cần ít nhất 4 tuần nằm "
                "trong khoảng nguồn đã gửi, ngày không có bản ghi tính là 0).",
    "status": "Tình trạng của ngày: thiếu khi không có bản ghi nào trong khoảng từ ngày đầu đến ngày cuối nguồn đã "
              "gửi; thấp (hoặc cao) bất thường khi số bản ghi thấp (hoặc cao) hơn mức thường lệ quá mức cho phép, "
              "là số lớn hơn trong hai số: 3,5 × 1,4826 × độ lệch tuyệt đối trung vị của các ngày cùng thứ đó, và "
              "20% mức thường lệ; còn lại là đủ.",
    "complete": "Ngày đủ số liệu: ngày có tình trạng đủ hoặc cao bất thường.",
    "lateness": "Độ trễ trung vị: trung vị, trên các bản ghi của kỳ (mỗi bản ghi một lần), của số ngày từ ngày hoạt "
                "động đến ngày bản ghi được lưu.",
}

#: the population the panel stands for and penetration divides by (the metric table's ``smartphone_users``
#: column, which keeps its contract name): the methods section of the report (part V, 2) defines it
UNIVERSE = "số người sử dụng Internet trên điện thoại di động"
PENETRATION_DEFINITION = (f"Tỷ lệ thâm nhập = người dùng hằng tháng ÷ {UNIVERSE} (mọi lứa tuổi) của tỉnh, thành phố "
                          "(hoặc cả nước) trong năm, là tổng thể mà bảng mẫu đại diện: tử số và mẫu số cùng một định "
                          "nghĩa dân số.")

#: why a figure is withheld (the ``suppression`` column of a disclosed table), as the reports say it
SUPPRESSION_REASON = {
    "small_sample": "ước lượng dựa trên dưới {min_cell} người trong mẫu",
    "complementary": "để không thể suy ra số liệu không công bố khác từ tổng hoặc từ số liệu theo tỉnh, theo tháng",
}


def suppression_reason(kind: str | None, min_cell: int) -> str:
    """Why a withheld figure is not published; a withheld figure of unknown kind is taken as a small sample."""
    return SUPPRESSION_REASON.get(kind or "small_sample", SUPPRESSION_REASON["small_sample"]).format(
        min_cell=min_cell)


def totals_note(withheld: int) -> str:
    """The note under a table of totals over the published platforms: how many were left out, and why."""
    return ("Tổng, tỷ trọng và tỷ lệ chỉ cộng các nền tảng được công bố số liệu"
            + (f"; {withheld} nền tảng không công bố số liệu không được cộng, để không thể suy ra số liệu của "
               "chúng từ tổng." if withheld else "."))


#: column headers of the report's tables
HEADER = {
    "rank": "Hạng", "name": "Nền tảng", "origin": "Nguồn gốc", "mau": "Người dùng hằng tháng",
    "margin": "Sai số (±, 95%)", "change_previous": "So với quý trước", "change_year": "So với cùng kỳ",
    "minutes": "Phút/ngày", "mb": "MB/tháng", "category": "Nhóm nền tảng", "domestic": "Việt Nam",
    "foreign": "Nước ngoài", "share": "Tỷ trọng Việt Nam", "ratio": "Việt Nam/nước ngoài",
    "visits": "Lượt truy cập/tháng", "web_rank": "Hạng truy cập", "downloads": "Lượt tải lũy kế",
    "quarter": "Quý", "figure": "Số liệu", "value": "Giá trị", "source": "Nguồn",
}

#: section titles where "Nền tảng số Việt Nam phục vụ …" does not read well
SECTION_TITLE = {
    "social": "Nền tảng số Việt Nam trong lĩnh vực mạng xã hội",
    "government": "Nền tảng chính quyền số, siêu ứng dụng của Việt Nam",
}


def source_label(source: str | None, rows: Iterable[Mapping[str, Any]] = ()) -> str:
    """How the reports name a data source (:mod:`thuocdo.reports.provenance`); the national estimate is named
    with the sources it rests on and their shares of the MAU of `rows` (metric rows with ``sources``)."""
    if source == NATIONAL:
        mix = provenance.source_mix((r.get("mau"), r.get("sources")) for r in rows
                                    if r.get("source") == NATIONAL and not r.get("suppressed"))
        return provenance.national_provenance(mix).label
    return provenance.source_label(source)


def category_name(catalog: Catalog, category: str) -> str:
    try:
        return catalog.category(category).name_vi
    except KeyError:
        return category


def section_title(catalog: Catalog, category: str) -> str:
    return SECTION_TITLE.get(category, f"Nền tảng số Việt Nam phục vụ {category_name(catalog, category)}")
