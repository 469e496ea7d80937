"""The rules that choose the report's generated sentences, with their thresholds, stated once: the builders read
the constants, and the methods section prints :func:`rules` so that a reader can check every sentence against
the tables.

A sentence about a leader is chosen by **rank** (the published ranks of the table), never by a share; a
sentence about a change needs both periods published and the platform in service in both (``launched`` in the
catalog: no change against a period that ended before the platform started); words of size ("nhỏ", "lớn")
are not used — the numbers are given instead.
"""

from __future__ import annotations

from thuocdo.reports.vietnamese import format_number, format_percent

#: a change of MAU against the same quarter a year before at least this large (either way) is named
BIG_CHANGE = 0.5
#: a category whose MAU (over the platforms published in both quarters) moved at least this much is named
CATEGORY_MOVE = 0.05
#: how many Vietnamese platforms of a category get a sentence each
LEADERS = 3
#: a Vietnamese platform whose time per day is this many times the first one's is pointed out
LONG_TIME = 1.5
#: a government or super-app platform is provincial when this share of its users lives in one province
PROVINCIAL_SHARE = 0.9
#: a domestic share that fell by at least this much (share points) against the previous quarter is a finding
SHARE_LOSS = 0.01
#: a Vietnamese platform whose MAU fell by at least this much against the previous quarter is a finding
PLATFORM_LOSS = 0.2
#: how many provinces of lowest penetration the proposals name
LOW_PROVINCES = 5
#: the number of leading platforms whose data volume is split between Vietnamese and foreign (as the seed)
TOP_DATA = 5


def rules(min_cell: int) -> list[str]:
    """The rules in Vietnamese, for the methods section."""
    return [
        "Nền tảng “dẫn đầu nhóm” là nền tảng xếp hạng 1 theo số người sử dụng hằng tháng trong số các nền tảng "
        "được công bố của nhóm; câu “nền tảng số Việt Nam dẫn đầu” chỉ dùng khi nền tảng hạng 1 là nền tảng Việt "
        "Nam, không dựa vào tỷ trọng của nhóm.",
        f"Mỗi nhóm nêu tối đa {LEADERS} nền tảng Việt Nam có số người sử dụng lớn nhất, theo thứ hạng.",
        f"Thay đổi so với cùng kỳ năm trước được nêu khi từ {format_percent(BIG_CHANGE, 0)} trở lên (tăng hoặc "
        "giảm); mọi so sánh chỉ tính khi số liệu của cả hai kỳ đều được công bố và nền tảng đã hoạt động trong "
        "cả hai kỳ (không so sánh với kỳ kết thúc trước ngày nền tảng bắt đầu triển khai).",
        f"Nhóm nền tảng được nêu là tăng hoặc giảm khi tổng số người sử dụng hằng tháng của các nền tảng được "
        f"công bố ở cả hai quý thay đổi từ {format_percent(CATEGORY_MOVE, 0)} trở lên.",
        f"Nền tảng Việt Nam có thời gian sử dụng mỗi ngày từ {format_number(LONG_TIME, 1)} lần nền tảng Việt Nam "
        "đứng đầu nhóm trở lên được nêu riêng.",
        f"Nền tảng “của địa phương” là nền tảng chính quyền số, siêu ứng dụng có từ "
        f"{format_percent(PROVINCIAL_SHARE, 0)} người sử dụng trở lên ở một tỉnh, thành phố.",
        "Báo cáo không dùng từ chỉ quy mô (“nhỏ”, “lớn”) thay cho số liệu; số liệu không công bố được ghi rõ lý "
        f"do (dưới {min_cell} người trong mẫu, hoặc ẩn bổ sung để bảo vệ số liệu khác).",
        f"Đề xuất dựa trên số liệu: nhóm có tỷ trọng nền tảng Việt Nam giảm từ {format_number(SHARE_LOSS * 100, 0)} "
        f"điểm phần trăm trở lên so với quý trước; nền tảng Việt Nam giảm từ {format_percent(PLATFORM_LOSS, 0)} "
        f"người sử dụng trở lên so với quý trước; {LOW_PROVINCES} tỉnh, thành phố có tỷ lệ sử dụng nền tảng "
        "Việt Nam dẫn đầu thấp nhất.",
    ]
