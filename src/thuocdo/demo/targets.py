"""Quarter I/2022 reference figures of the seed report that the demo panel is calibrated to.

(platform id, MAU in Q1/2022, minutes per active day, MB per user per month). Platforms of the catalog not
listed here get a small default audience. Source: ../shared/MISSION.md and seeds/003 (MIC report 04/BC-UBQGCĐS).
"""

from __future__ import annotations

TARGETS: dict[str, tuple[float, float, float]] = {
    "zalo": (74.7e6, 28.0, 520.0),
    "messenger": (67.8e6, 20.0, 300.0),
    "facebook": (67.8e6, 30.0, 900.0),
    "mocha": (4.6e6, 12.0, 71.0),
    "viber": (6.0e6, 8.0, 60.0),
    "telegram": (4.0e6, 10.0, 53.3),
    "grab": (9.5e6, 6.0, 40.0),
    "be": (3.65e6, 5.0, 30.0),
    "viettel-post": (3.5e6, 4.0, 15.0),
    "my-vietnam-post": (2.6e6, 4.0, 12.0),
    "vtv-go": (5.89e6, 28.0, 300.0),
    "so-suc-khoe-dien-tu": (19.9e6, 3.0, 10.0),
    "vietcombank": (12.2e6, 4.0, 20.0),
    "mb-bank": (7.82e6, 4.0, 20.0),
    "bidv": (7.62e6, 4.0, 20.0),
    "vietinbank": (5.46e6, 4.0, 20.0),
    "agribank": (4.86e6, 4.0, 20.0),
    "mobiedu": (0.4e6, 80.0, 200.0),
    "vnedu": (0.9e6, 15.0, 40.0),
    "k12online": (0.6e6, 30.0, 60.0),
    "youtube": (60.0e6, 40.0, 1500.0),
    "tiktok": (45.0e6, 45.0, 1800.0),
    "shopee": (40.0e6, 15.0, 150.0),
}
#: share of a user's days on which they are active, by platform (default 0.35)
ACTIVITY = {"zalo": 0.85, "messenger": 0.75, "facebook": 0.8, "youtube": 0.6, "tiktok": 0.6, "mocha": 0.4}
#: coach-ticket apps fell by about 80% from Q1/2021 to Q1/2022 (COVID-19): audience multiplier by year
DECLINING = {"an-vui": (1.0, 0.2), "vexere": (1.0, 0.2)}
#: a provincial super-app used only in its province: (platform, new province code, penetration)
PROVINCIAL = {"hue-s": ("46", 1.0)}
