"""A small hand-made panel, written as the CSV files a source would deliver, for the report tests.

Persons p01…p40 with weight 100,000 each month (so 1 panelist = 100.000 users), one record per person and
platform on the 10th of each month of 2021-Q1, 2021-Q4 and 2022-Q1:

| platform | users 2021-Q1 | 2021-Q4 | 2022-Q1 | notes |
|---|---|---|---|---|
| zalo | 30 | 34 | 36 | 28 min a day, 500 MB a month |
| messenger | 28 | 30 | 32 | 20 min, 300 MB |
| mocha | 12 | 12 | 12 | under the minimum cell size: suppressed |
| viber, telegram | 20, 20 | 21, 21 | 22, 21 | |
| grab, be | 30, 20 | 26, 22 | 30, 24 | Be second after Grab |
| an-vui | 30 | 10 | 6 | −80% against 2021-Q1, suppressed in 2022-Q1 |
| hue-s | 20 | 22 | 24 | every user in Huế |
| vexere | – | – | 22 | with Be, Vietnamese platforms hold 60% of mobility, yet Grab leads it |
| x | 22 | 22 | 22 | "Twitter" until 23/07/2023 |
| mobile-money | 25 | – | 25 | the pilot started on 30/11/2021: no comparison with 2021-Q1 despite its data |
| hoc-mai | 3 | 3 | 3 | suppressed, with 2,9 million published visits |

Published figures (source "web-panel"): VnExpress's visits and rank, Hue-S's downloads, Học mãi's visits, the
Mobile Money pilot's customers (835.000, of whom 487.000 rural: 58,3%) and Hue-S's 2021 results (feedback 1.000
received and 950 handled: 95,0%; satisfaction 56,8 / 18,6 / 24,6%).
"""

from __future__ import annotations

from pathlib import Path

USERS = {  # platform: (users in 2021-Q1, 2021-Q4, 2022-Q1), minutes a day, MB a month
    "zalo": ((30, 34, 36), 28, 500),
    "messenger": ((28, 30, 32), 20, 300),
    "mocha": ((12, 12, 12), 12, 70),
    "viber": ((20, 21, 22), 8, 60),
    "telegram": ((20, 21, 21), 10, 50),
    "grab": ((30, 26, 30), 6, 40),
    "be": ((20, 22, 24), 5, 30),
    "an-vui": ((30, 10, 6), 4, 12),
    "hue-s": ((20, 22, 24), 35, 90),
    "vexere": ((0, 0, 22), 5, 15),
    "x": ((22, 22, 22), 8, 60),
    "mobile-money": ((25, 0, 25), 3, 8),
    "hoc-mai": ((3, 3, 3), 20, 40),
}
QUARTERS = {0: ("2021-01", "2021-02", "2021-03"), 1: ("2021-10", "2021-11", "2021-12"),
            2: ("2022-01", "2022-02", "2022-03")}
PERSONS = 40
WEIGHT = 100_000


def write_fixture(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    usage = ["user_id,platform,time,active_seconds,bytes,sessions,province"]
    for platform, (users, minutes, mb) in USERS.items():
        for q, months in QUARTERS.items():
            for month in months:
                for i in range(users[q]):
                    person = f"p{i + 1:02d}" if platform != "hue-s" else f"p{PERSONS - i:02d}"
                    province = "Thừa Thiên Huế" if platform == "hue-s" else "Hà Nội"
                    usage.append(f"{person},{platform},{month}-10T09:00:00+07:00,{minutes * 60},{mb * 1_000_000},2,"
                                 f"{province}")
    weights = ["user_id,month,weight"]
    for months in QUARTERS.values():
        for month in months:
            weights.extend(f"p{i + 1:02d},{month},{WEIGHT}" for i in range(PERSONS))
    aggregates = ["platform,period,metric,value", "vnexpress,2022-Q1,visits,135700000", "vnexpress,2022-Q1,web_rank,1",
                  "hue-s,2022-Q1,downloads_total,793050", "hoc-mai,2022-Q1,visits,2900000",
                  "mobile-money,2022-Q1,mobile_money_customers,835000",
                  "mobile-money,2022-Q1,mobile_money_rural_customers,487000",
                  "hue-s,2021,hue_s_feedback_received,1000", "hue-s,2021,hue_s_feedback_handled,950",
                  "hue-s,2021,hue_s_satisfied_share,56.8", "hue-s,2021,hue_s_accepted_share,18.6",
                  "hue-s,2021,hue_s_dissatisfied_share,24.6"]
    files = {"usage": folder / "usage.csv", "weights": folder / "weights.csv", "aggregates": folder / "aggregates.csv"}
    for kind, lines in (("usage", usage), ("weights", weights), ("aggregates", aggregates)):
        files[kind].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files
