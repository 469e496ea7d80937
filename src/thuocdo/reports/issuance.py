"""Who issues a report, on which day, and who signs it: consistent with the period and with what it cites.

Rules (the methods section of each report states them):

- a report is dated after the period it reports, and **no earlier than the latest document it cites** (a
  decision's signing day, or its entry into force when later: ``documents.csv``); by default it is dated on
  its nominal day (the quarterly report the day after the quarter, the scorecard on 15 January of the next
  year) or on that latest day, whichever is later;
- the **issuing body** is the one that issued these reports on that day (``issuers.csv``: the Ministry of
  Information and Communications until 28/02/2025, the Ministry of Science and Technology from 01/03/2025),
  unless one is named, which must then have existed in that role on that day;
- the signature block names the body, and the signer's title (authority and title on two lines: "KT. BỘ
  TRƯỞNG / THỨ TRƯỞNG" gives "KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG") and name when given.

>>> from thuocdo.catalog import load_catalog
>>> i = issue(load_catalog(), IssueSettings(), dt.date(2025, 1, 15), ["405/QĐ-BKHCN", "749/QĐ-TTg"],
...           dt.date(2024, 12, 31))
>>> i.date.isoformat(), i.issuer.id
('2025-04-03', 'bo-khcn')
>>> issue(load_catalog(), IssueSettings(), dt.date(2022, 4, 1), [], dt.date(2022, 3, 31)).issuer.id
'bo-tttt'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from thuocdo.catalog import Catalog
from thuocdo.catalog.history import Issuer
from thuocdo.reports.model import Citation
from thuocdo.reports.vietnamese import format_short_date

#: a document's reference as written in Vietnamese texts: 749/QĐ-TTg, 202/2025/QH15, 04/BC-UBQGCĐS
REFERENCE = re.compile(r"\b\d{1,4}/(?:\d{4}/)?[A-ZĐ][A-Za-zĐđ0-9&]*(?:-[A-Za-zĐđ0-9&]+)?")


class IssueError(ValueError):
    """The date, the issuing body or the signer asked for cannot issue this report (the message says why)."""


@dataclass(frozen=True)
class IssueSettings:
    issuer: str | None = None  # an id of issuers.csv; default: the body in that role on the date
    date: dt.date | None = None  # default: the nominal day, or the latest cited document's day if later
    signer_name: str = ""
    signer_title: str = ""  # "THỨ TRƯỞNG", or "KT. BỘ TRƯỞNG / THỨ TRƯỞNG" (authority / title)
    place: str = "Hà Nội"
    classification: str = "LƯU HÀNH NỘI BỘ"


@dataclass(frozen=True)
class Issue:
    issuer: Issuer
    date: dt.date
    signer_title: str  # "KT. BỘ TRƯỞNG\nTHỨ TRƯỞNG", or ""
    signer_name: str
    citations: list[Citation]


def references(texts: Iterable[str], known: Iterable[str] = ()) -> list[str]:
    """Every document reference found in the texts (numbered ones, and the `known` names of documents without
    a number, such as an annual review), once each, in order.

    >>> references(["Quyết định 749/QĐ-TTg ngày 03/6/2020; Quyết định 411/QĐ-TTg", "Nghị quyết 202/2025/QH15"])
    ['749/QĐ-TTg', '411/QĐ-TTg', '202/2025/QH15']
    """
    names = [k for k in known if not REFERENCE.fullmatch(k)]
    out: list[str] = []
    for text in texts:
        for ref in [*REFERENCE.findall(text), *(n for n in names if n in text)]:
            if ref not in out:
                out.append(ref)
    return out


def citations(catalog: Catalog, cited: Iterable[str]) -> list[Citation]:
    """The cited documents the catalog knows, with the day from which each can be cited."""
    out = []
    for ref in cited:
        doc = catalog.document(ref)
        if doc is not None:
            out.append(Citation(ref, doc.date))
    return out


def issue(catalog: Catalog, settings: IssueSettings, nominal: dt.date, cited: Iterable[str],
          period_end: dt.date) -> Issue:
    found = citations(catalog, cited)
    latest = max(found, key=lambda c: c.date, default=None)
    if settings.date is not None:
        date = settings.date
        if date <= period_end:
            raise IssueError(f"Ngày ban hành {format_short_date(date)} không sau kỳ báo cáo (kết thúc ngày "
                             f"{format_short_date(period_end)}).")
        late = [c for c in found if c.date > date]
        if late:
            raise IssueError(f"Ngày ban hành {format_short_date(date)} trước ngày của văn bản được trích dẫn: "
                             + ", ".join(f"{c.reference} ({format_short_date(c.date)})" for c in late)
                             + f"; chọn ngày từ {format_short_date(max(c.date for c in late))} trở đi.")
    else:
        date = max(nominal, latest.date) if latest else nominal
    if settings.issuer is not None:
        try:
            issuer = catalog.issuer(settings.issuer)
        except KeyError as exc:
            known = ", ".join(i.id for i in catalog.issuers)
            raise IssueError(f"Không có cơ quan ban hành '{settings.issuer}' (có: {known}).") from exc
        if not issuer.validity.holds_on(date):
            raise IssueError(f"{issuer.name_in_sentence} không ban hành báo cáo này vào ngày "
                             f"{format_short_date(date)} ({_validity_text(issuer)}).")
    else:
        found_issuer = catalog.issuer_on(date)
        if found_issuer is None:
            raise IssueError(f"Danh mục không có cơ quan ban hành nào vào ngày {format_short_date(date)}.")
        issuer = found_issuer
    title = "\n".join(line.strip().upper() for line in settings.signer_title.split("/") if line.strip())
    return Issue(issuer, date, title, settings.signer_name.strip(), found)


def _validity_text(issuer: Issuer) -> str:
    v = issuer.validity
    if v.valid_from and v.valid_to:
        return f"từ {format_short_date(v.valid_from)} đến {format_short_date(v.valid_to)}"
    if v.valid_to:
        return f"đến hết ngày {format_short_date(v.valid_to)}"
    if v.valid_from:
        return f"từ ngày {format_short_date(v.valid_from)}"
    return "không rõ thời gian"
