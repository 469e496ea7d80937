"""What the demo panel is calibrated to: one profile per catalog platform, and the panel's universe.

Each :class:`Profile` gives a platform's quarter I/2022 audience (``mau``, persons), its time per active day
(minutes), its data per user per month (MB), the share of days a user opens it (``days``, about DAU/MAU), its
sessions per active day, the shape of its audience over the six quarters 2021-Q1 … 2022-Q2 (``trend``, levels
relative to 2022-Q1) and how strongly its use follows a province's urbanisation (``urban``).

``REFERENCE`` lists the figures the seed report (04/BC-UBQGCĐS, 01/04/2022; ../shared/MISSION.md) gives for
quarter I/2022: those profiles take the report's numbers. Every other number here is an assumption of the demo
(plausible orders of magnitude, so that categories have a market to rank in), marked ``seed=False``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the six quarters the demo covers; trends give one level per quarter (2022-Q1 = 1)
QUARTERS = ("2021-Q1", "2021-Q2", "2021-Q3", "2021-Q4", "2022-Q1", "2022-Q2")
MONTHS = tuple(f"{y}-{m:02d}" for y in (2021, 2022) for m in range(1, 13) if (y, m) <= (2022, 6))

#: The universe the panel stands for: persons of all ages who use the internet on a mobile phone, by province
#: and year, as the catalog gives them (``Catalog.mobile_internet_users``: 78.0 M in 2022, more than the seed's
#: "more than 75 million" internet users and than Zalo's 74.7 M monthly users). Penetration divides by the
#: same numbers, so a platform's penetration cannot pass 100%.

TRENDS: dict[str, tuple[float, ...]] = {
    "steady": (0.92, 0.94, 0.96, 0.98, 1.0, 1.01),
    "growth": (0.76, 0.81, 0.88, 0.95, 1.0, 1.04),  # digital payment, e-commerce
    "mobility": (0.95, 0.88, 0.55, 0.86, 1.0, 1.08),  # ride hailing: the 2021-Q3 lockdowns
    "coach": (5.0, 3.8, 0.6, 1.3, 1.0, 1.9),  # coach tickets: about -80% against 2021-Q1 (seed report)
    "travel": (1.5, 1.2, 0.45, 1.2, 1.0, 1.5),  # travel: down in 2022-Q1 (seed report)
    "school": (0.95, 0.85, 1.1, 1.35, 1.0, 0.85),  # online schooling in late 2021, down in 2022-Q1 (seed)
    "covid_app": (0.0, 0.0, 0.45, 1.3, 1.0, 0.6),  # PC-Covid, from 2021-09
    "health_book": (0.0, 0.15, 0.55, 1.1, 1.0, 0.95),  # Sổ sức khỏe điện tử, from mid-2021 (seed report)
    "pilot": (0.0, 0.0, 0.0, 0.0, 1.0, 1.3),  # the Mobile Money pilot, approved at the end of 11/2021 (seed)
    "retired": (6.0, 5.0, 3.5, 1.5, 1.0, 0.8),  # Bluezone, replaced by PC-Covid
    "super_app": (0.55, 0.7, 0.85, 1.0, 1.0, 1.0),  # Hue-S: peak at the end of 2021 (seed report)
    "none": (0.0,) * 6,  # not in service during the period
}


@dataclass(frozen=True)
class Profile:
    mau: float  # persons, quarter I/2022
    minutes: float  # per active day
    mb: float  # per user per month
    days: float = 0.2  # share of a user's days with activity
    sessions: float = 2.0  # per active day
    trend: str = "steady"
    urban: float = 0.5  # elasticity of use to the province's smartphone rate
    seed: bool = False  # the MAU (and where given minutes/MB) are the seed report's


def _p(mau_m: float, minutes: float, mb: float, days: float = 0.2, sessions: float = 2.0, trend: str = "steady",
       urban: float = 0.5, seed: bool = False) -> Profile:
    return Profile(mau_m * 1e6, minutes, mb, days, sessions, trend, urban, seed)


PROFILES: dict[str, Profile] = {
    # communication (1.1): Zalo 74.7 M, 28 min; Messenger 67.8 M, 20 min; Mocha 4.6 M; data split of the top five
    "zalo": _p(74.7, 28.0, 520.0, 0.60, 6.0, urban=0.1, seed=True),
    "mocha": _p(4.6, 12.0, 71.0, 0.30, 3.0, urban=0.3, seed=True),
    "messenger": _p(67.8, 20.0, 300.0, 0.45, 5.0, urban=0.1, seed=True),
    "viber": _p(6.0, 8.0, 60.0, 0.25, 2.0, urban=0.5),
    "telegram": _p(4.0, 10.0, 53.3, 0.30, 3.0, urban=0.8),
    "whatsapp": _p(1.2, 8.0, 40.0, 0.20, 2.0, urban=1.0),
    "wechat": _p(0.8, 10.0, 45.0, 0.25, 2.0, urban=0.6),
    "zoom": _p(2.6, 45.0, 350.0, 0.15, 1.0, "school", urban=1.0),
    "google-meet": _p(2.0, 40.0, 300.0, 0.15, 1.0, "school", urban=1.0),
    "microsoft-teams": _p(1.5, 40.0, 250.0, 0.15, 1.0, "school", urban=1.2),
    # mobility (1.2): Be 3.65 M, second after Grab; coach tickets -80% against 2021-Q1
    "be": _p(3.65, 5.0, 30.0, 0.12, 1.5, "mobility", 1.5, seed=True),
    "xanh-sm": _p(0.0, 5.0, 25.0, trend="none"),  # launched in April 2023
    "an-vui": _p(0.8, 4.0, 12.0, 0.08, 1.2, "coach", 0.5),
    "vexere": _p(1.0, 5.0, 15.0, 0.08, 1.2, "coach", 0.8),
    "grab": _p(9.5, 6.0, 40.0, 0.15, 1.8, "mobility", 1.5),
    "gojek": _p(2.4, 5.0, 30.0, 0.12, 1.5, "mobility", 1.8),
    "google-maps": _p(2.0, 6.0, 45.0, 0.2, 1.5, urban=0.6),  # assumed small: the seed ranks Be second after Grab
    # delivery (1.3): Viettel Post 3.5 M (first), My Vietnam Post 2.6 M
    "viettel-post": _p(3.5, 4.0, 15.0, 0.12, 1.5, "growth", 0.6, seed=True),
    "my-vietnam-post": _p(2.6, 4.0, 12.0, 0.12, 1.5, "growth", 0.4, seed=True),
    "ghn": _p(1.8, 4.0, 12.0, 0.12, 1.5, "growth", 1.0),
    "ghtk": _p(1.9, 4.0, 12.0, 0.12, 1.5, "growth", 1.0),
    "ahamove": _p(0.6, 4.0, 10.0, 0.1, 1.5, "growth", 1.5),
    "jt-express": _p(1.5, 3.0, 10.0, 0.1, 1.3, "growth", 1.0),
    "ninja-van": _p(0.8, 3.0, 10.0, 0.1, 1.3, "growth", 1.0),
    "lalamove": _p(0.5, 4.0, 10.0, 0.1, 1.3, "growth", 1.5),
    "shopee-food": _p(2.3, 8.0, 30.0, 0.15, 1.5, "mobility", 1.8),
    "grabfood": _p(2.0, 8.0, 30.0, 0.15, 1.5, "mobility", 1.8),
    "baemin": _p(1.8, 8.0, 30.0, 0.15, 1.5, "mobility", 2.0),
    # shopping (1.4): Vỏ Sò, Postmart are measured by a web panel (published aggregates)
    "shopee": _p(40.0, 15.0, 150.0, 0.25, 3.0, "growth", 0.6),
    "lazada": _p(22.0, 12.0, 110.0, 0.2, 2.5, "growth", 0.7),
    "tiki": _p(9.0, 10.0, 80.0, 0.15, 2.0, "growth", 1.0),
    "sendo": _p(3.5, 9.0, 60.0, 0.12, 2.0, urban=0.8),
    "thegioididong": _p(5.0, 6.0, 40.0, 0.1, 1.5, urban=0.8),
    "vo-so": _p(0.05, 5.0, 15.0, 0.08, 1.5, "growth", 0.0),
    "postmart": _p(0.03, 5.0, 15.0, 0.08, 1.5, "growth", 0.0),
    # news (1.5): VTV GO 5.89 M, 28 min, about 300 MB; web visits and ranks are published aggregates
    "vnexpress": _p(8.0, 12.0, 60.0, 0.35, 3.0, urban=0.8),
    "vietnamnet": _p(2.5, 8.0, 40.0, 0.25, 2.0, urban=0.6),
    "nhan-dan": _p(0.4, 6.0, 25.0, 0.2, 1.5, urban=0.4),
    "vtv-go": _p(5.89, 28.0, 300.0, 0.25, 2.0, urban=0.3, seed=True),
    "bao-moi": _p(6.0, 14.0, 70.0, 0.35, 3.0, urban=0.3),
    "vietnam-vn": _p(0.1, 5.0, 20.0, 0.1, 1.2, urban=0.5),
    "tuoi-tre": _p(3.0, 9.0, 45.0, 0.25, 2.0, urban=1.0),
    "thanh-nien": _p(2.5, 9.0, 45.0, 0.25, 2.0, urban=0.8),
    "dan-tri": _p(3.5, 10.0, 50.0, 0.3, 2.0, urban=0.6),
    "kenh14": _p(4.0, 10.0, 60.0, 0.3, 2.0, urban=0.8),
    "24h": _p(3.0, 10.0, 55.0, 0.3, 2.0, urban=0.4),
    "znews": _p(3.0, 8.0, 45.0, 0.25, 2.0, urban=0.9),
    "google-news": _p(4.0, 6.0, 30.0, 0.25, 2.0, urban=0.8),
    "bbc-tieng-viet": _p(0.5, 6.0, 25.0, 0.15, 1.5, urban=1.0),
    # health (1.6): Sổ sức khỏe điện tử 19.9 M (first); VOV Bác sĩ 24 about 20,000
    "so-suc-khoe-dien-tu": _p(19.9, 3.0, 10.0, 0.1, 1.3, "health_book", 0.2, seed=True),
    "pc-covid": _p(15.0, 2.0, 8.0, 0.12, 1.3, "covid_app", 0.3),
    "bluezone": _p(0.5, 1.0, 5.0, 0.05, 1.0, "retired", 0.3),
    "vov-bac-si-24": _p(0.02, 10.0, 30.0, 0.1, 1.5, urban=0.5, seed=True),
    "medpro": _p(0.3, 6.0, 15.0, 0.08, 1.5, urban=1.5),
    "samsung-health": _p(1.5, 4.0, 10.0, 0.3, 2.0, urban=1.0),
    "google-fit": _p(1.0, 3.0, 8.0, 0.3, 2.0, urban=1.0),
    # travel (1.7): VnTrip, Mytour "negligible"; the sector fell in 2022-Q1
    "vntrip": _p(0.08, 6.0, 20.0, 0.06, 1.5, "travel", 1.5),
    "mytour": _p(0.06, 6.0, 20.0, 0.06, 1.5, "travel", 1.5),
    "ivivu": _p(0.15, 6.0, 20.0, 0.06, 1.5, "travel", 1.5),
    "vietnam-airlines": _p(0.8, 5.0, 20.0, 0.06, 1.5, "travel", 1.8),
    "vietjet": _p(1.0, 5.0, 20.0, 0.06, 1.5, "travel", 1.8),
    "traveloka": _p(1.2, 6.0, 25.0, 0.06, 1.5, "travel", 1.8),
    "agoda": _p(0.9, 6.0, 25.0, 0.06, 1.5, "travel", 1.8),
    "booking": _p(0.6, 6.0, 25.0, 0.06, 1.5, "travel", 2.0),
    "airbnb": _p(0.2, 6.0, 25.0, 0.06, 1.5, "travel", 2.0),
    # education (1.8): VNEdu, K12Online, MobiEdu under 1 M each; MobiEdu about 1 h 20 min a day; fell in 2022-Q1
    "vnedu": _p(0.95, 15.0, 40.0, 0.2, 2.0, "school", 0.3),
    "k12online": _p(0.75, 30.0, 60.0, 0.2, 2.0, "school", 0.3),
    "mobiedu": _p(0.6, 80.0, 200.0, 0.25, 2.0, "school", 0.3, seed=True),
    "azota": _p(0.9, 20.0, 50.0, 0.2, 2.0, "school", 0.5),
    "hoc-mai": _p(0.5, 25.0, 80.0, 0.2, 2.0, "school", 0.8),
    "on-luyen": _p(0.15, 20.0, 40.0, 0.2, 2.0, "school", 0.5),
    "google-classroom": _p(2.0, 15.0, 60.0, 0.25, 2.0, "school", 1.0),
    "duolingo": _p(1.2, 12.0, 30.0, 0.35, 1.5, urban=1.2),
    # digital payment (1.9): Vietcombank 12.2 M, MB 7.82 M, BIDV 7.62 M, VietinBank 5.46 M, Agribank 4.86 M
    "vietcombank": _p(12.2, 4.0, 20.0, 0.25, 1.5, "growth", 1.2, seed=True),
    "mb-bank": _p(7.82, 4.0, 20.0, 0.25, 1.5, "growth", 1.2, seed=True),
    "bidv": _p(7.62, 4.0, 20.0, 0.25, 1.5, "growth", 1.0, seed=True),
    "vietinbank": _p(5.46, 4.0, 20.0, 0.25, 1.5, "growth", 1.0, seed=True),
    "agribank": _p(4.86, 4.0, 20.0, 0.2, 1.5, "growth", 0.2, seed=True),
    "techcombank": _p(4.2, 4.0, 20.0, 0.25, 1.5, "growth", 1.5),
    "momo": _p(14.0, 5.0, 30.0, 0.2, 1.5, "growth", 1.2),
    "zalopay": _p(4.0, 3.0, 15.0, 0.12, 1.3, "growth", 1.0),
    "vnpay": _p(2.0, 3.0, 12.0, 0.1, 1.3, "growth", 1.2),
    "viettel-money": _p(5.0, 3.0, 12.0, 0.12, 1.3, "growth", 0.2),
    "vnpt-money": _p(1.0, 3.0, 10.0, 0.1, 1.3, "growth", 0.4),
    "mobifone-money": _p(0.3, 3.0, 10.0, 0.1, 1.3, "growth", 0.4),
    "mobile-money": _p(0.6, 3.0, 8.0, 0.1, 1.3, "pilot", -0.5),
    "shopeepay": _p(5.0, 3.0, 12.0, 0.12, 1.3, "growth", 1.2),
    "paypal": _p(0.3, 3.0, 10.0, 0.05, 1.2, urban=2.0),
    "google-wallet": _p(0.5, 2.0, 5.0, 0.05, 1.2, urban=2.0),
    # cyber security
    "bkav": _p(0.5, 2.0, 15.0, 0.1, 1.0),
    "cyradar": _p(0.05, 2.0, 10.0, 0.05, 1.0, urban=1.0),
    "tin-nhiem-mang": _p(0.05, 3.0, 5.0, 0.05, 1.0, urban=1.0),
    "chong-lua-dao": _p(0.1, 3.0, 5.0, 0.05, 1.0, urban=1.0),
    "khong-gian-mang": _p(0.03, 3.0, 5.0, 0.05, 1.0, urban=1.0),
    "kaspersky": _p(0.6, 2.0, 15.0, 0.1, 1.0, urban=1.0),
    "avast": _p(1.0, 2.0, 15.0, 0.1, 1.0, urban=1.0),
    "norton": _p(0.2, 2.0, 15.0, 0.1, 1.0, urban=1.5),
    # digital government and super-apps: Hue-S in Huế only (peak 610,512 = 101.3% of its smartphone users)
    "hue-s": _p(0.610512, 34.87, 90.0, 0.45, 3.0, "super_app", 0.0, seed=True),
    "vneid": _p(1.0, 3.0, 8.0, 0.05, 1.2, "growth", 0.5),
    "dich-vu-cong": _p(2.5, 8.0, 15.0, 0.06, 1.5, "growth", 0.8),
    "ndxp": _p(0.0, 0.0, 0.0, trend="none"),  # used by agencies, not by persons
    "ihanoi": _p(0.0, 5.0, 10.0, trend="none"),  # launched in 2023
    "my-viettel": _p(12.0, 3.0, 10.0, 0.15, 1.3, "growth", 0.2),
    # social media: Facebook 67.8 M, about 30 min
    "facebook": _p(67.8, 30.0, 900.0, 0.55, 8.0, urban=0.1, seed=True),
    "instagram": _p(10.0, 18.0, 400.0, 0.4, 4.0, "growth", 1.5),
    "tiktok": _p(45.0, 45.0, 1800.0, 0.45, 6.0, "growth", 0.4),
    "x": _p(1.5, 8.0, 60.0, 0.2, 2.0, urban=1.5),
    "lotus": _p(0.5, 8.0, 60.0, 0.15, 2.0, "retired", 0.5),
    "gapo": _p(0.2, 6.0, 30.0, 0.15, 2.0, urban=0.8),
    "hahalolo": _p(0.1, 6.0, 30.0, 0.1, 1.5, urban=0.8),
    # entertainment
    "youtube": _p(60.0, 40.0, 1500.0, 0.4, 4.0, urban=0.2),
    "netflix": _p(1.5, 60.0, 1200.0, 0.25, 1.5, "growth", 2.0),
    "spotify": _p(2.0, 35.0, 150.0, 0.35, 2.0, "growth", 1.8),
    "zing-mp3": _p(6.0, 25.0, 120.0, 0.3, 2.0, urban=0.6),
    "nhaccuatui": _p(3.0, 22.0, 100.0, 0.25, 2.0, urban=0.5),
    "fpt-play": _p(4.0, 35.0, 600.0, 0.2, 1.5, urban=0.6),
    "tv360": _p(3.0, 30.0, 500.0, 0.2, 1.5, urban=0.3),
    "vieon": _p(3.5, 35.0, 550.0, 0.2, 1.5, urban=0.7),
    "galaxy-play": _p(0.8, 40.0, 600.0, 0.15, 1.5, urban=1.2),
    "mytv": _p(1.2, 30.0, 450.0, 0.15, 1.5, urban=0.5),
}

#: platforms used only by residents of one province (new unit code)
PROVINCIAL: dict[str, str] = {"hue-s": "46", "ihanoi": "01"}

#: boost sample: panelists recruited in a province beyond its share (Huế commissioned one for Hue-S)
BOOST: dict[str, float] = {"46": 4.0}


@dataclass(frozen=True)
class Reference:
    """A figure of the seed report for quarter I/2022 that the demo's estimates must reproduce."""

    platform: str
    metric: str  # a column of the metric table, or a derived figure named in REFERENCE_DERIVED
    value: float
    note: str


REFERENCE: tuple[Reference, ...] = (
    Reference("zalo", "mau", 74.7e6, "Zalo 74,7 triệu người dùng hằng tháng"),
    Reference("zalo", "minutes_per_day", 28.0, "Zalo ~28 phút mỗi ngày"),
    Reference("messenger", "mau", 67.8e6, "Messenger 67,8 triệu"),
    Reference("messenger", "minutes_per_day", 20.0, "Messenger ~20 phút mỗi ngày"),
    Reference("facebook", "minutes_per_day", 30.0, "Facebook ~30 phút mỗi ngày"),
    Reference("mocha", "mau", 4.6e6, "Mocha 4,6 triệu"),
    Reference("be", "mau", 3.65e6, "Be 3,65 triệu, thứ 2 sau Grab"),
    Reference("viettel-post", "mau", 3.5e6, "Viettel Post 3,5 triệu, đứng đầu"),
    Reference("my-vietnam-post", "mau", 2.6e6, "My Vietnam Post 2,6 triệu"),
    Reference("vtv-go", "mau", 5.89e6, "VTV GO 5,89 triệu"),
    Reference("vtv-go", "minutes_per_day", 28.0, "VTV GO 28 phút mỗi ngày"),
    Reference("vtv-go", "mb_per_user", 300.0, "VTV GO ~300 MB mỗi tháng"),
    Reference("so-suc-khoe-dien-tu", "mau", 19.9e6, "Sổ sức khỏe điện tử 19,9 triệu"),
    Reference("vietcombank", "mau", 12.2e6, "Vietcombank 12,2 triệu"),
    Reference("mb-bank", "mau", 7.82e6, "MB 7,82 triệu"),
    Reference("bidv", "mau", 7.62e6, "BIDV 7,62 triệu"),
    Reference("vietinbank", "mau", 5.46e6, "VietinBank 5,46 triệu"),
    Reference("agribank", "mau", 4.86e6, "Agribank 4,86 triệu"),
    Reference("mobiedu", "minutes_per_day", 80.0, "MobiEdu ~1 giờ 20 phút mỗi ngày"),
    Reference("hue-s", "mau", 610_512, "Hue-S 610.512 người dùng hằng tháng"),
    Reference("hue-s", "minutes_per_day", 34 + 52 / 60, "Hue-S 34 phút 52 giây mỗi ngày"),
)
#: derived figures: the top-five communication data split, the coach-ticket decline, Hue-S penetration
DATA_SPLIT_VN_MB = 591.0  # Zalo + Mocha, MB per user per month
DATA_SPLIT_FOREIGN_MB = 413.3  # Messenger + Viber + Telegram
COACH_CHANGE_YEAR = -0.80  # An Vui + Vé xe rẻ, quarter I/2022 against quarter I/2021
#: Hue-S's users against Huế's population: the seed's 101.3% divides by its 602,677 adult smartphone users; the
#: demo divides by the population its panel stands for (mobile internet users of all ages), like the metric layer
HUE_S_MAU = 610_512
