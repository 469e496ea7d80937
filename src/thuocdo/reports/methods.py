"""Part V, "Nguồn số liệu và phương pháp": every source with the kind of its figures, the population the panel
stands for and penetration divides by, the panel's size, the definitions, the sampling error, the disclosure
rules, the rules of the generated sentences, and how names and dates are chosen."""

from __future__ import annotations

from collections.abc import Sequence

from thuocdo.catalog import Catalog
from thuocdo.catalog.history import Issuer
from thuocdo.model.periods import Period
from thuocdo.reports import glossary as g
from thuocdo.reports.context import ReportInputs
from thuocdo.reports.model import KIND_VI, Provenance, Section
from thuocdo.reports.uncertainty import Z95
from thuocdo.reports.vietnamese import format_number, format_percent, format_persons, format_quarter
from thuocdo.reports.wording import rules

#: how the national estimate is made and what its margin is (thuocdo.metrics.national; README)
NATIONAL_METHOD = (
    "Ước lượng toàn quốc kết hợp nhiều nguồn: ở mỗi tỉnh, thành phố và mỗi tháng, số người sử dụng mà một nhà mạng "
    "ghi nhận trong các thuê bao của mình được mở rộng tới toàn bộ người sử dụng Internet trên điện thoại di động "
    "của tỉnh theo tỷ lệ giữa số người này và số thuê bao nhà mạng đã khai báo (ước lượng tỷ số, W. G. Cochran, "
    "Sampling Techniques, 1977); một người có thuê bao ở nhiều nhà mạng dùng chung khóa liên kết chỉ được tính một "
    "lần; nhiều nhà mạng cùng phủ một tỉnh được bình quân theo số người mỗi nhà mạng phủ; các tỉnh, tháng không nhà "
    "mạng nào phủ dùng ước lượng của bảng mẫu. Sai số in kèm là nửa độ rộng khoảng tin cậy 95% của ước lượng này "
    "(phương sai của một tỷ lệ trong mẫu ngẫu nhiên đơn giản gồm những người được phủ, có hiệu chỉnh tổng thể hữu "
    "hạn, cộng theo tỉnh); giả định là trong một tỉnh, người được phủ và người không được phủ sử dụng các nền tảng "
    "như nhau. Dòng ghi nguồn dưới mỗi phần nêu các nguồn và tỷ trọng của từng nguồn trong số người sử dụng.")


def _sources(inputs: ReportInputs, catalog: Catalog, found: Sequence[Provenance]) -> Section:
    section = Section("1", "Nguồn số liệu")
    for p in found:
        how = f"{p.basis}; " if p.basis else ""
        who = f"; đơn vị công bố: {p.publisher}" if p.publisher and p.publisher != p.label else ""
        section.bullets.append(f"{p.label}: {how}loại số liệu: {KIND_VI[p.kind]}{who}.")
    if inputs.panel:
        sizes = [inputs.panel[m] for m in sorted(inputs.panel)]
        months = ", ".join(f"{format_quarter(m)}: {format_number(inputs.panel[m])}" for m in sorted(inputs.panel))
        size = (format_number(min(sizes)) if min(sizes) == max(sizes)
                else f"{format_number(min(sizes))}–{format_number(max(sizes))}")
        section.bullets.append(f"Quy mô bảng mẫu: {size} người có trọng số mỗi tháng ({months}); mỗi người trong "
                               f"mẫu đại diện cho bình quân {format_persons(_universe(inputs, catalog) / max(sizes))} "
                               "người.")
    if inputs.quality:
        section.bullets.append(completeness(inputs))
    return section


def completeness(inputs: ReportInputs) -> str:
    """Each records source's deliveries over the quarter (thuocdo.metrics.quality): complete days, rejected rows,
    median lateness."""
    parts = []
    for name, s in sorted(inputs.quality.items()):
        text = (f"{g.source_label(name)}: {format_number(s.days_complete)}/{format_number(s.days)} ngày đủ số liệu, "
                f"{format_percent(s.rejected_share, 2)} dòng bị loại")
        if s.median_lateness_days is not None:
            text += f", độ trễ trung vị {format_number(s.median_lateness_days)} ngày"
        parts.append(text)
    return (f"Độ đầy đủ của bản ghi sử dụng trong {format_quarter(inputs.period)} (theo dõi chất lượng số liệu): "
            f"{'; '.join(parts)}. {g.QUALITY['complete']} {g.QUALITY['status']}")


def _universe(inputs: ReportInputs, catalog: Catalog) -> float:
    return catalog.mobile_internet_users(Period.parse(inputs.period).year) or 0.0


def methods(inputs: ReportInputs, catalog: Catalog, found: Sequence[Provenance], issuer: Issuer) -> list[Section]:
    year = Period.parse(inputs.period).year
    universe = _universe(inputs, catalog)
    population = Section("2", "Tổng thể và tỷ lệ sử dụng", [
        "Bảng mẫu đại diện cho người sử dụng Internet trên điện thoại di động, mọi lứa tuổi: trọng số của những "
        "người trong mẫu ở mỗi tỉnh, thành phố và mỗi tháng cộng lại bằng số người này theo danh mục dân số của "
        f"thuocdo ({format_persons(universe)} người trên cả nước năm {year}; ước tính theo số người sử dụng điện "
        "thoại thông minh của từng tỉnh).",
        "Tỷ lệ sử dụng một nền tảng (tỷ lệ thâm nhập) là số người sử dụng hằng tháng chia cho chính tổng thể đó "
        "của tỉnh (hoặc cả nước) trong năm: tử số và mẫu số cùng một định nghĩa dân số, nên tỷ lệ không vượt "
        "100%. (Chia số người sử dụng mọi lứa tuổi cho số người trưởng thành có điện thoại thông minh, như cách "
        "tính trước đây, cho tỷ lệ trên 100%.)",
    ])
    definitions = Section("3", "Định nghĩa chỉ số", [], bullets=[
        f"{g.METRIC['mau']}: tổng trọng số của những người có hoạt động (mở ứng dụng hoặc truy cập) ít nhất một "
        "ngày trong tháng; số liệu quý là trung bình của ba tháng.",
        f"{g.METRIC['minutes_per_day']}: tổng thời gian sử dụng chia cho tổng số ngày-người có hoạt động.",
        f"{g.METRIC['mb_per_user']}: tổng dữ liệu chia cho số người sử dụng hằng tháng; số liệu quý là trung bình "
        "các tháng.",
        "Thay đổi so với quý trước và so với cùng kỳ năm trước: tính trên số người sử dụng hằng tháng.",
        f"{g.METRIC['domestic_share']}: tổng số người sử dụng hằng tháng của các nền tảng Việt Nam được công bố "
        "chia cho tổng của mọi nền tảng được công bố trong nhóm.",
        f"{g.METRIC['penetration']}: như mục 2.",
        g.WAU_DEFINITION,
        g.BANDS_DEFINITION,
        g.RETENTION_DEFINITION,
    ])
    error = Section("4", "Sai số", [
        "Số liệu ước lượng từ bảng mẫu có sai số chọn mẫu. Sai số in kèm mỗi số người sử dụng hằng tháng là nửa độ "
        f"rộng khoảng tin cậy 95% ({format_number(Z95, 2)} lần sai số chuẩn), tính từ những người trong mẫu có "
        "hoạt động và trọng số của họ: phương sai bằng tổng bình phương trọng số của những người có hoạt động "
        "nhân với (1 − tỷ lệ sử dụng), và (1 − tỷ lệ sử dụng) được lấy bằng 1, nên sai số in ra lớn hơn, không "
        "nhỏ hơn, sai số thật với các nền tảng được dùng rộng rãi.",
        "Tổng bình phương trọng số có trong bảng chỉ số cho mọi số liệu tính từ bản ghi. Nếu thiếu, trọng số được "
        "coi là đều nhau; với cùng số người và cùng tổng trọng số, trọng số đều nhau cho tổng bình phương nhỏ "
        "nhất, nên sai số khi đó là cận dưới: trọng số càng chênh lệch thì sai số thật càng lớn hơn số in ra.",
    ])
    if any(p.source == "national" for p in found):
        error.paragraphs.insert(0, NATIONAL_METHOD)
    disclosure = Section("5", "Ngưỡng công bố và bảo vệ số liệu", [
        f"Số liệu dựa trên dưới {inputs.min_cell} người trong mẫu không được công bố (ký hiệu “–”), vì sai số quá "
        "lớn và để bảo vệ thông tin cá nhân của người tham gia (ẩn sơ cấp).",
        "Ẩn bổ sung: số liệu cả nước bằng tổng các tỉnh, số liệu quý là trung bình các tháng, nên một số liệu bị "
        "ẩn có thể bị suy ra bằng phép trừ. Hệ thống kiểm tra toàn bộ các quan hệ này cùng lúc (giải hệ phương "
        "trình tuyến tính của mọi số liệu được công bố); khi một số liệu bị ẩn còn có thể tính ra chính xác, số "
        "liệu nhỏ nhất cùng nhóm quan hệ với nó cũng bị ẩn (ưu tiên số liệu theo tỉnh và theo tháng trước số liệu "
        "cả nước và theo quý), rồi kiểm tra lại cho đến khi không số liệu bị ẩn nào tính ra được.",
        "Tổng, tỷ trọng và tỷ lệ theo nhóm chỉ cộng các nền tảng được công bố; thay đổi so với kỳ trước chỉ được "
        "công bố khi số liệu của cả hai kỳ đều được công bố; thứ hạng chỉ xếp giữa các nền tảng được công bố. "
        "Các quy tắc này áp dụng như nhau cho báo cáo, bảng điều khiển và API.",
        "Số liệu tổng hợp đã công bố (lượt truy cập, thứ hạng truy cập, lượt tải lũy kế, số liệu của doanh "
        "nghiệp) được nhập nguyên trạng kèm tên nguồn; hệ thống không tính lại các số liệu này.",
    ])
    wording = Section("6", "Quy tắc lập câu nhận xét", bullets=rules(inputs.min_cell))
    end = Period.parse(inputs.period).last_day
    names = Section("7", "Tên gọi và ngày ban hành", bullets=[
        f"Tên nền tảng, tỉnh, thành phố là tên tại ngày cuối kỳ báo cáo ({end.day:02d}/{end.month}/{end.year}); "
        "số liệu theo tỉnh được tính theo 34 địa bàn của bảng chỉ số, địa bàn gồm nhiều tỉnh được ghi tên các "
        "tỉnh đó.",
        "So sánh với cùng kỳ năm trước và với quý trước không được thực hiện khi kỳ so sánh kết thúc trước ngày "
        "nền tảng bắt đầu triển khai (theo danh mục nền tảng).",
        f"Báo cáo được ban hành sau kỳ báo cáo và không sớm hơn văn bản mới nhất được trích dẫn; cơ quan ban hành "
        f"là cơ quan có chức năng này vào ngày ban hành ({issuer.name_in_sentence}).",
    ])
    return [_sources(inputs, catalog, found), population, definitions, error, disclosure, wording, names]
