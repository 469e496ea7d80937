"""Small usage files for the lakehouse's tests, and a plain model of the person-month rule to hold its rollups
against."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any


def small_file(path: Path, seed: int, n: int = 2000, days: tuple[int, ...] = (1, 2, 3)) -> Path:
    """Usage records of 2022-03 on a few days, 150 persons, with two bad rows and a repeated record."""
    rng = random.Random(seed)
    platforms = ["zalo", "facebook", "tiktok", "youtube", "shopee"]
    lines = ["record_id,user_id,platform,time,active_seconds,bytes,sessions,province"]
    for i in range(n):
        day = rng.choice(days)
        lines.append(f"s{seed}-{i},u{rng.randrange(150)},{rng.choice(platforms)},2022-03-{day:02d}T"
                     f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+07:00,{rng.randrange(3600)},"
                     f"{rng.randrange(10**8)},{rng.randrange(1, 5)},{rng.choice(['01', '79', '48', ''])}")
    lines.append(lines[5])  # the same record twice in the file
    lines.append(f"s{seed}-bad1,u1,không-có,2022-03-01T10:00:00+07:00,10,10,1,01")
    lines.append(f"s{seed}-bad2,u2,zalo,2022-13-01,10,10,1,01")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def person_months(person_days: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A plain model of the person-month rule: sums over the month's days; the province of most active days, then
    most active seconds, then the smallest code (among all days when the person-month has no active day)."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for d in person_days:
        groups.setdefault((d["platform"], d["person"], d["month"]), []).append(d)
    rows = []
    for (platform, person, _month), days in groups.items():
        active = [d for d in days if d["active"]]
        scores: dict[str, tuple[int, int]] = {}
        for d in (active or days):
            if d["province"] is not None:
                n, seconds = scores.get(d["province"], (0, 0))
                scores[d["province"]] = (n + bool(d["active"]), seconds + d["active_seconds"])
        province = min(scores, key=lambda p: (-scores[p][0], -scores[p][1], p)) if scores else None
        rows.append((platform, person, province, len(active), *(sum(d[c] for d in days) for c in
                                                                  ("active_seconds", "bytes", "sessions", "installs"))))
    return sorted(rows)
