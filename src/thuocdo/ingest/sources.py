"""Declaring a source: its kind, its link key and (a census) its coverage, checked once for every face.

The command line (``thuocdo sources declare``, with a coverage CSV) and the API (``PUT /api/v1/sources/{source}``,
with a JSON list) hand the same rows to :func:`check_declaration`, which collects every problem of the request
(name, kind, link key, and each coverage row: province, month, subscribers, duplicates) and says where each is.
:func:`check_against_store` then refuses what would contradict the stored data:

* a new link key or kind for a source whose person keys are stored (usage records, weights, or open quarantine
  rows of them): the stored keys would no longer match the new ones. The one change allowed is the first
  declaration of a source inferred to be a census (usage records, no weights yet) as a panel: the kind is
  only a guess then, and no key changes;
* a coverage below what the source's records show: in a province and month, fewer subscribers than distinct
  persons active there on any platform. Each person-month counts in one province (that of its platform-month
  with the most active days, then the smallest code), so the measured count is a lower bound of the persons
  the source sees there. It is checked when the coverage is declared, not when usage records arrive later.

:func:`save_declaration` writes the declaration in one transaction: re-declaring the same kind and link key
changes nothing; a coverage replaces the source's rows of the same provinces and months; a source that is not
(or no longer) a census keeps no coverage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from thuocdo.catalog import Catalog
from thuocdo.ingest.contracts import Contract
from thuocdo.ingest.readers import LINE, READ_PROBLEMS, InputError, read_input
from thuocdo.ingest.validate import province_codes
from thuocdo.model.periods import FIRST_YEAR, LAST_YEAR
from thuocdo.model.sources import DEFAULT_LINK_KEY, LINK_KEYS, SOURCE_KINDS, SOURCE_RULE, is_source_name
from thuocdo.rollups.person_rollups import person_month_sql
from thuocdo.store import Store
from thuocdo.store import sources as registry

COVERAGE = Contract(kind="coverage", fields=("province", "month", "subscribers"),
                    required=("province", "month", "subscribers"))
#: more subscribers than any operator of any country has, in one province and month
MAX_SUBSCRIBERS = 1_000_000_000
#: the problems a refusal's message lists (all of them are in `DeclarationError.problems`)
SHOWN_PROBLEMS = 50
#: YYYY-MM (only the form: the month and the year are checked with their own messages)
MONTH_FORM = re.compile(r"^\d{4}-\d{2}$")
_INTEGER = re.compile(r"[+-]?\d+")
#: the months a coverage may name, as the API's schema states them
MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
KIND_HELP = "census (toàn bộ thuê bao của nguồn), panel (bảng mẫu có trọng số) hoặc aggregates (số liệu công bố)"
LINK_KEY_HELP = ("private (mặc định: người dùng chỉ nhận ra trong nguồn này) hoặc shared (dùng chung: cùng user_id ở "
                 "các nguồn shared là một người)")


@dataclass(frozen=True)
class CoverageRow:
    """One row of a coverage as given: a line of the file, or the position (from 1) in the request's list."""

    line: int
    province: object
    month: object
    subscribers: object
    damaged: tuple[tuple[str, str], ...] = ()  # (field, message) the file's reader found


@dataclass(frozen=True)
class DeclarationProblem:
    """What is wrong with a declaration: a field of a coverage row (`line` set), or of the request itself."""

    field: str  # name | kind | link_key | coverage, or a coverage column
    message: str
    line: int | None = None

    def text(self, origin: str) -> str:
        """The problem as a sentence naming where it is (`origin`: the coverage file's name)."""
        if self.line is not None:
            column = "" if self.field == "*" else f", cột `{self.field}`"
            return f"Tệp {origin}, dòng {self.line}{column}: {self.message}."
        return f"Tệp {origin}: {self.message}." if self.field == "coverage" else f"{self.message}."


class DeclarationError(InputError):
    """A declaration refused, nothing stored; `conflict`: it is well formed but contradicts the stored data."""

    def __init__(self, name: str, origin: str, problems: Sequence[DeclarationProblem], *,
                 conflict: bool = False) -> None:
        self.name = name
        self.origin = origin
        self.problems = list(problems)
        self.conflict = conflict
        lines = [p.text(origin) for p in self.problems[:SHOWN_PROBLEMS]]
        if len(self.problems) > SHOWN_PROBLEMS:
            lines.append(f"… và {_count(len(self.problems) - SHOWN_PROBLEMS)} lỗi khác.")
        super().__init__("\n".join([self.summary, *lines]))

    @property
    def summary(self) -> str:
        what = "mâu thuẫn với dữ liệu đã lưu" if self.conflict else "không hợp lệ"
        return f"Khai báo nguồn '{self.name[:64]}' {what} ({len(self.problems)} lỗi), không lưu gì."


@dataclass(frozen=True)
class SourceDeclaration:
    """A declaration whose every value was checked: `coverage` holds province (34-unit code), month, subscribers
    and the line each came from; None when none was given (the stored coverage is then kept)."""

    name: str
    kind: str
    link_key: str
    coverage: pa.Table | None
    origin: str


@dataclass(frozen=True)
class DeclarationResult:
    """What a declaration changed: the kind or link key (`declared`: set now), and coverage rows."""

    created: bool
    declared: bool
    coverage_changed: int
    coverage_removed: int

    @property
    def changed(self) -> bool:
        return self.declared or bool(self.coverage_changed or self.coverage_removed)


def read_coverage_file(path: Path) -> list[CoverageRow]:
    """The rows of a coverage CSV (UTF-8, with or without BOM; header ``province,month,subscribers``), by line.
    A file that cannot be read as such raises InputError."""
    raw = read_input(path, COVERAGE)
    if raw.format != "csv":
        raise InputError(f"Tệp {path}: tệp độ bao phủ phải là CSV (UTF-8) với tiêu đề province,month,subscribers.")
    table = raw.table
    damaged = table[READ_PROBLEMS].to_pylist() if READ_PROBLEMS in table.column_names else [None] * table.num_rows
    rows = [CoverageRow(line, province, month, subscribers,
                        tuple((p["field"], p["message"]) for p in problems or ()))
            for line, province, month, subscribers, problems in zip(
                table[LINE].to_pylist(), table["province"].to_pylist(), table["month"].to_pylist(),
                table["subscribers"].to_pylist(), damaged, strict=True)]
    rows += [CoverageRow(r.line or 0, None, None, None, ((r.field, r.message),)) for r in raw.rejections]
    if not rows:
        raise InputError(f"Tệp {path}: không có dòng dữ liệu nào (chỉ có tiêu đề hoặc dòng trống).")
    return sorted(rows, key=lambda r: r.line)


def file_line(line: int) -> str:
    """How a message names another row of a coverage file."""
    return f"dòng {line}"


def check_declaration(name: str, kind: str, link_key: str | None, coverage: Sequence[CoverageRow] | None,
                      catalog: Catalog, origin: str, row_name: Callable[[int], str] = file_line) -> SourceDeclaration:
    """The declaration checked as written (every problem collected; DeclarationError when there is any):
    the source's name, its kind and link key (default private), and each coverage row (`row_name` names
    another row in a message: a file's line, a request's item)."""
    link_key = DEFAULT_LINK_KEY if link_key is None else link_key
    problems = []
    if not is_source_name(name):
        problems.append(DeclarationProblem("name", f"Tên nguồn '{_shown(name)}' không hợp lệ: {SOURCE_RULE}"))
    if kind not in SOURCE_KINDS:
        problems.append(DeclarationProblem("kind", f"Loại nguồn '{_shown(kind)}' không có: chọn {KIND_HELP}"))
    if link_key not in LINK_KEYS:
        problems.append(DeclarationProblem("link_key", f"Khóa liên kết '{_shown(link_key)}' không có: chọn "
                                                       f"{LINK_KEY_HELP}"))
    table = None
    if coverage is not None:
        if coverage and kind in SOURCE_KINDS and kind != "census":
            problems.append(DeclarationProblem(
                "coverage", f"độ bao phủ chỉ khai báo cho nguồn loại census (các thuê bao mà nguồn thấy), không cho "
                            f"nguồn loại {kind}"))
        table, row_problems = _check_coverage(coverage, catalog, row_name)
        problems += row_problems
    if problems:
        raise DeclarationError(name, origin, problems)
    return SourceDeclaration(name, kind, link_key, table, origin)


def _check_coverage(rows: Sequence[CoverageRow], catalog: Catalog,
                    row_name: Callable[[int], str]) -> tuple[pa.Table, list[DeclarationProblem]]:
    names = {p.code: p.short_name for p in catalog.provinces_new}
    problems: list[DeclarationProblem] = []
    good: list[tuple[str, str, int, int]] = []
    first_line: dict[tuple[str, str], int] = {}
    for row in rows:
        found = [DeclarationProblem(field, message, row.line) for field, message in row.damaged]
        if found and row.province is None and row.month is None and row.subscribers is None:
            problems += found  # a line set aside whole (too long to be a row): its reason says it all
            continue
        province = _province(row, catalog, found)
        month = _month(row, found)
        subscribers = _subscribers(row, found)
        if province is not None and month is not None:
            earlier = first_line.setdefault((province, month), row.line)
            if earlier != row.line:
                found.append(DeclarationProblem(
                    "province", f"{names[province]} ({province}) tháng {month} đã có ở {row_name(earlier)} (mỗi "
                                "tỉnh, thành phố và tháng một lần)", row.line))
        problems += found
        if not found and province is not None and month is not None and subscribers is not None:
            good.append((province, month, subscribers, row.line))
    table = pa.table({"province": pa.array([g[0] for g in good], pa.string()),
                      "month": pa.array([g[1] for g in good], pa.string()),
                      "subscribers": pa.array([g[2] for g in good], pa.int64()),
                      "line": pa.array([g[3] for g in good], pa.int64())})
    return table, problems


def _province(row: CoverageRow, catalog: Catalog, problems: list[DeclarationProblem]) -> str | None:
    """The 34-unit code of the row's province: a code is read as a current code, a name as ingestion reads it
    (a former province's name names the unit it joined)."""
    value = "" if row.province is None else str(row.province).strip()
    if not value:
        problems.append(DeclarationProblem("province", "thiếu tỉnh/thành", row.line))
        return None
    code = province_codes(catalog, value)[1]
    if code is None:
        problems.append(DeclarationProblem("province", f"tỉnh/thành '{_shown(value)}' không nhận ra (dùng mã hoặc tên "
                                                       "của một trong 34 tỉnh, thành phố)", row.line))
    return code


def _month(row: CoverageRow, problems: list[DeclarationProblem]) -> str | None:
    value = "" if row.month is None else str(row.month).strip()
    if not value:
        problems.append(DeclarationProblem("month", "thiếu tháng", row.line))
        return None
    if not (value.isascii() and MONTH_FORM.match(value)):
        problems.append(DeclarationProblem("month", f"tháng '{_shown(value)}' không đúng dạng YYYY-MM (ví dụ 2022-01)",
                                           row.line))
        return None
    year, month = int(value[:4]), int(value[5:])
    if not 1 <= month <= 12:
        problems.append(DeclarationProblem("month", f"tháng '{value}' không có: tháng từ 01 đến 12", row.line))
        return None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        problems.append(DeclarationProblem("month", f"tháng '{value}' không hợp lệ: năm phải từ {FIRST_YEAR} đến "
                                                    f"{LAST_YEAR}", row.line))
        return None
    return value


def _subscribers(row: CoverageRow, problems: list[DeclarationProblem]) -> int | None:
    value = row.subscribers
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(DeclarationProblem("subscribers", "thiếu số thuê bao", row.line))
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        problems.append(DeclarationProblem("subscribers", f"số thuê bao '{_shown(str(value))}' không phải số nguyên "
                                                          "(viết liền, không dấu phân cách, ví dụ 1250000)", row.line))
        return None
    if number < 0:
        problems.append(DeclarationProblem("subscribers", f"số thuê bao {number} không được âm", row.line))
        return None
    if number > MAX_SUBSCRIBERS:
        problems.append(DeclarationProblem("subscribers", f"số thuê bao {_count(number)} lớn hơn mức tối đa "
                                                          f"{_count(MAX_SUBSCRIBERS)}", row.line))
        return None
    return number


def check_against_store(store: Store, declaration: SourceDeclaration, catalog: Catalog) -> None:
    """Refuse (DeclarationError, `conflict`) a declaration that contradicts the stored data (see the module's
    doc). The rollups must be up to date (:func:`thuocdo.workflows.store.bring_up_to_date`)."""
    name = declaration.name
    current = registry.source_info(store, name)
    keyed = (current is not None and current.keyed) or registry.quarantined_keys(store, name)
    problems = []
    stored_link_key = current.link_key if current is not None else DEFAULT_LINK_KEY
    if keyed and declaration.link_key != stored_link_key:
        problems.append(DeclarationProblem(
            "link_key", f"Nguồn {name} đã có bản ghi sử dụng hoặc trọng số lưu với khóa liên kết {stored_link_key}: "
                        f"không đổi được sang {declaration.link_key} (mã người dùng đã lưu sẽ không còn khớp); hãy "
                        "dùng một tên nguồn mới cho dữ liệu theo khóa liên kết khác"))
    if keyed and current is not None and declaration.kind != current.kind and not _inferred_census_to_panel(
            current, declaration):
        problems.append(DeclarationProblem(
            "kind", f"Nguồn {name} đã có bản ghi sử dụng hoặc trọng số lưu với loại {current.kind}: không đổi được "
                    f"sang loại {declaration.kind}"))
    if declaration.coverage is not None and declaration.coverage.num_rows:
        problems += _below_measured(store, declaration, catalog)
    if problems:
        raise DeclarationError(name, declaration.origin, problems, conflict=True)


def _inferred_census_to_panel(current: registry.SourceInfo, declaration: SourceDeclaration) -> bool:
    """A source inferred to be a census (records, no weights yet) declared a panel for the first time."""
    return (not current.declared and current.kind == "census" and not current.has_weights
            and declaration.kind == "panel")


def measured_persons(store: Store, source: str, months: Sequence[str]) -> dict[tuple[str, str], int]:
    """Distinct active persons of the source per (province, month), each person-month in one province (that of
    its platform-month with the most active days, then the smallest code), from the person-month rollup."""
    held = person_month_sql(store, source, months)
    if held is None:
        return {}
    stale = store.con.execute("SELECT count(*) FROM dirty_months WHERE source = ? AND list_contains(?, month)",
                              [source, list(months)]).fetchall()[0][0]
    if stale:
        raise RuntimeError(f"the rollups of {source} are stale: bring the store up to date first")
    rows = store.con.execute(f"""
        SELECT province, month, count(*) FROM (
            SELECT person, month,
                   arg_max(province, active_days * 1000 + (999 - CAST(province AS INTEGER))) AS province
            FROM ({held})
            WHERE active_days > 0 AND province IS NOT NULL
            GROUP BY person, month)
        GROUP BY province, month""").fetchall()
    return {(province, month): int(n) for province, month, n in rows}


def _below_measured(store: Store, declaration: SourceDeclaration, catalog: Catalog) -> list[DeclarationProblem]:
    assert declaration.coverage is not None
    rows = declaration.coverage.to_pylist()
    measured = measured_persons(store, declaration.name, sorted({r["month"] for r in rows}))
    names = {p.code: p.short_name for p in catalog.provinces_new}
    problems = []
    for r in rows:
        persons = measured.get((r["province"], r["month"]), 0)
        if persons > r["subscribers"]:
            problems.append(DeclarationProblem(
                "subscribers", f"{_count(r['subscribers'])} thuê bao ở {names[r['province']]} tháng {r['month']} ít "
                               f"hơn {_count(persons)} người đã hoạt động ở đó trong tháng theo bản ghi đã lưu của "
                               "nguồn; độ bao phủ phải ít nhất bằng số người đã đo được", r["line"]))
    return problems


def save_declaration(store: Store, declaration: SourceDeclaration, declared_by: str | None,
                     record: Callable[[duckdb.DuckDBPyConnection, DeclarationResult], None] | None = None
                     ) -> DeclarationResult:
    """Write a checked declaration in one transaction, with `record` (an audit line) inside it. The kind and
    link key are written when they change; the coverage rows of the declared provinces and months are
    replaced; a source that is not a census keeps no coverage."""
    name = declaration.name
    before = registry.source_info(store, name)
    declared = before is None or not before.declared or (before.kind, before.link_key) != (
        declaration.kind, declaration.link_key)
    coverage = declaration.coverage if declaration.kind == "census" else None
    with store.transaction() as con:
        if declared:
            registry.save_declaration(con, name, declaration.kind, declaration.link_key, declared_by)
        changed = registry.save_coverage(con, name, coverage) if coverage is not None and coverage.num_rows else 0
        removed = registry.drop_coverage(con, name) if declaration.kind != "census" else 0
        result = DeclarationResult(before is None or not before.declared, declared, changed, removed)
        if record is not None:
            record(con, result)
    return result


def _shown(value: str, limit: int = 40) -> str:
    """A value as quoted in a message: at most `limit` characters."""
    return value if len(value) <= limit else value[:limit] + "…"


def _count(number: int) -> str:
    """An integer in the Vietnamese style (1.250.000)."""
    return f"{number:,}".replace(",", ".")
