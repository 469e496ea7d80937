"""Names and dates in time: platform names and province names as they were on a day, when platforms started,
the bodies that issue the reports and the documents the reports cite (``platform_names.csv``,
``platform_dates.csv``, ``province_names.csv``, ``issuers.csv``, ``documents.csv``; sources in SOURCES.md)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from thuocdo.catalog.model import CatalogError
from thuocdo.catalog.tables import read_table

PLATFORM_NAMES_FILE = "platform_names.csv"
PLATFORM_DATES_FILE = "platform_dates.csv"
PROVINCE_NAMES_FILE = "province_names.csv"
ISSUERS_FILE = "issuers.csv"
DOCUMENTS_FILE = "documents.csv"


def parse_date(value: str, where: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CatalogError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class Validity:
    valid_from: dt.date | None  # None: since always
    valid_to: dt.date | None  # None: still in force (inclusive)

    def holds_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class DatedName:
    key: str  # a platform id, or "old:46" / "new:79" for provinces
    name: str
    short_name: str
    validity: Validity
    source: str


#: how precisely a start date is known: the day, the end of its month ("cuối tháng 11/2021"), the middle of its
#: year ("giữa năm 2021", taken as 1 July) or its year only (taken as 1 January)
PRECISIONS = ("day", "end-of-month", "mid-year", "year")


@dataclass(frozen=True)
class PlatformDates:
    platform: str
    launched: dt.date | None
    precision: str  # one of PRECISIONS
    retired: dt.date | None
    source: str


@dataclass(frozen=True)
class Issuer:
    """A body that issues the reports, with the days it existed in that role."""

    id: str
    name: str  # upper case, as in the header block: "BỘ THÔNG TIN VÀ TRUYỀN THÔNG"
    name_in_sentence: str  # "Bộ Thông tin và Truyền thông"
    unit: str  # the line under it ("CƠ QUAN THƯỜNG TRỰC …"), or ""
    unit_in_sentence: str  # "cơ quan thường trực của Ủy ban Quốc gia về chuyển đổi số", or ""
    code: str  # of the document number: "BTTTT"
    validity: Validity
    source: str


@dataclass(frozen=True)
class Document:
    """A decision, resolution or report a report may cite: the day it was signed and the day it took effect."""

    reference: str
    signed: dt.date | None
    in_force: dt.date | None
    title: str
    source: str

    @property
    def date(self) -> dt.date:
        """The day from which a report may cite it: the later of signing and entry into force."""
        days = [d for d in (self.signed, self.in_force) if d is not None]
        return max(days)


def _validity(row: dict[str, str], where: str) -> Validity:
    validity = Validity(parse_date(row["valid_from"], where), parse_date(row["valid_to"], where))
    if validity.valid_from and validity.valid_to and validity.valid_from > validity.valid_to:
        raise CatalogError(f"{where}: valid_from after valid_to")
    return validity


def _no_overlap(names: list[DatedName], file: str) -> None:
    by_key: dict[str, list[DatedName]] = {}
    for n in names:
        by_key.setdefault(n.key, []).append(n)
    for key, items in by_key.items():
        items.sort(key=lambda n: n.validity.valid_from or dt.date.min)
        for a, b in itertools.pairwise(items):
            if a.validity.valid_to is None or (b.validity.valid_from or dt.date.min) <= a.validity.valid_to:
                raise CatalogError(f"{file}: names of {key} overlap in time")


def load_platform_names(platform_ids: set[str]) -> tuple[DatedName, ...]:
    names = []
    for r in read_table(PLATFORM_NAMES_FILE, ("platform", "name", "valid_from", "valid_to", "source")):
        where = f"{PLATFORM_NAMES_FILE} row {r['platform']}/{r['name']}"
        if r["platform"] not in platform_ids:
            raise CatalogError(f"{where}: unknown platform")
        names.append(DatedName(r["platform"], r["name"], r["name"], _validity(r, where), r["source"]))
    _no_overlap(names, PLATFORM_NAMES_FILE)
    return tuple(names)


def load_platform_dates(platform_ids: set[str]) -> tuple[PlatformDates, ...]:
    out = []
    for r in read_table(PLATFORM_DATES_FILE, ("platform", "launched", "precision", "retired", "source")):
        where = f"{PLATFORM_DATES_FILE} row {r['platform']}"
        if r["platform"] not in platform_ids:
            raise CatalogError(f"{where}: unknown platform")
        if not r["source"]:
            raise CatalogError(f"{where}: source is required")
        if r["precision"] not in PRECISIONS:
            raise CatalogError(f"{where}: precision must be one of {', '.join(PRECISIONS)}")
        out.append(PlatformDates(r["platform"], parse_date(r["launched"], where), r["precision"],
                                 parse_date(r["retired"], where), r["source"]))
    return tuple(out)


def load_province_names(codes: dict[str, set[str]]) -> tuple[DatedName, ...]:
    names = []
    for r in read_table(PROVINCE_NAMES_FILE, ("level", "code", "name", "short_name", "valid_from", "valid_to",
                                              "source")):
        where = f"{PROVINCE_NAMES_FILE} row {r['level']}/{r['code']}"
        if r["code"] not in codes.get(r["level"], set()):
            raise CatalogError(f"{where}: unknown unit")
        names.append(DatedName(f"{r['level']}:{r['code']}", r["name"], r["short_name"], _validity(r, where),
                               r["source"]))
    _no_overlap(names, PROVINCE_NAMES_FILE)
    return tuple(names)


def load_issuers() -> tuple[Issuer, ...]:
    out = []
    for r in read_table(ISSUERS_FILE, ("id", "name", "name_in_sentence", "unit", "unit_in_sentence", "code",
                                       "valid_from", "valid_to", "source")):
        where = f"{ISSUERS_FILE} row {r['id']}"
        out.append(Issuer(r["id"], r["name"], r["name_in_sentence"], r["unit"], r["unit_in_sentence"], r["code"],
                          _validity(r, where), r["source"]))
    return tuple(out)


def load_documents() -> tuple[Document, ...]:
    out = []
    for r in read_table(DOCUMENTS_FILE, ("reference", "signed", "in_force", "title", "source")):
        where = f"{DOCUMENTS_FILE} row {r['reference']}"
        doc = Document(r["reference"], parse_date(r["signed"], where), parse_date(r["in_force"], where), r["title"],
                       r["source"])
        if doc.signed is None and doc.in_force is None:
            raise CatalogError(f"{where}: a signing date or an entry into force is required")
        out.append(doc)
    return tuple(out)


def name_on(names: tuple[DatedName, ...], key: str, day: dt.date) -> DatedName | None:
    """The name of `key` in force on `day`, if the table has one."""
    return next((n for n in names if n.key == key and n.validity.holds_on(day)), None)
