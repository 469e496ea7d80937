"""Read a CSV file into text columns with line numbers, one bad line never costing the others.

The common file (every line UTF-8, no NUL, no line too long, one record per line, every row as wide as the
header) is parsed once by Arrow, in parallel, after two checks at memory speed (NUL bytes, UTF-8). Lines
Arrow cannot take are handled one by one: lines longer than any record are set aside (file, line and reason
only); lines holding a bad byte are replaced by an empty row for Arrow, then read alone, their damaged fields
named; rows with the wrong number of columns are assigned
to columns by position; a value running over several lines (an unclosed quote swallows the lines after it)
is left out. These rows are kept as flagged rows (:class:`thuocdo.ingest.raw.FlaggedRow`): validation adds
their other problems and the quarantine keeps them, pseudonymised, like any rejected row.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from thuocdo.ingest.contracts import MAX_LINE_BYTES, Contract
from thuocdo.ingest.lines import Lines, byte_problems, decode_damaged, shown, too_long
from thuocdo.ingest.raw import LINE, RESERVED, FlaggedRow, InputError, RawInput, append_flagged

#: columns whose damaged value is left out rather than kept: the person key of a damaged id names someone else
PERSON_COLUMNS = ("user_id", "user_key")
SPANS_LINES = "giá trị kéo dài qua nhiều dòng (có thể thiếu dấu ngoặc kép đóng)"
UNPARSED = "dòng không đọc được như CSV"


def read_csv(path: Path, plain: Path, contract: Contract) -> RawInput:
    lines = Lines(plain, lone_cr=True, check_bytes=True)
    header = _header(path, lines)
    if len(lines) < 2:  # the header alone
        empty = {h: pa.array([], pa.string()) for h in header if h not in RESERVED}
        return RawInput(path.name, "csv", pa.table({**empty, LINE: pa.array([], pa.int64())}))
    single_line = [h for h in header if h in contract.fields and h not in contract.multiline]
    long_lines = lines.too_long() - {1}
    damaged = (lines.with_nul() | lines.not_utf8()) - long_lines - {1}
    table, flagged = _parse_around(path, lines, header, long_lines | damaged, single_line)
    flagged += [_row(header, n, decode_damaged(lines.read(n)), single_line) for n in sorted(damaged)]
    return RawInput(path.name, "csv", append_flagged(table, flagged), too_long(long_lines))


def _header(path: Path, lines: Lines) -> list[str]:
    if 1 in lines.too_long():
        raise InputError(f"Tệp {path}: dòng tiêu đề dài hơn {MAX_LINE_BYTES // 1024} KiB.")
    text = decode_damaged(lines.read(1).removeprefix(b"\xef\xbb\xbf"))
    try:
        header = [shown(h.strip()) for h in next(csv.reader(io.StringIO(text)), [])]
    except csv.Error as exc:
        raise InputError(f"Tệp {path}: dòng tiêu đề không đọc được như CSV ({exc}).") from exc
    if not any(header):
        raise InputError(f"Tệp {path}: thiếu dòng tiêu đề (tên các cột).")
    if len(set(header)) != len(header):
        raise InputError(f"Tệp {path}: dòng tiêu đề có tên cột trùng nhau: {', '.join(header)}.")
    return header


def _parse_around(path: Path, lines: Lines, header: list[str], skipped: set[int],
                  single_line: list[str]) -> tuple[pa.Table, list[FlaggedRow]]:
    """Arrow's parse of the file with the `skipped` lines replaced by empty rows (dropped afterwards)."""
    if not skipped:
        return _parse(path, lines.path, header, len(lines), skipped, single_line)
    with tempfile.TemporaryDirectory(prefix="thuocdo-csv-") as tmp:
        cleaned = Path(tmp) / "clean.csv"
        lines.copy_without(skipped, cleaned, b",".join([b'""'] * len(header)))
        return _parse(path, cleaned, header, len(lines), skipped, single_line)


def _parse(path: Path, source: Path, header: list[str], n_lines: int, skipped: set[int],
           single_line: list[str]) -> tuple[pa.Table, list[FlaggedRow]]:
    """The rows Arrow parsed, with their line numbers, and the rows it could not take, flagged."""
    misfits: list[tuple[int, str]] = []  # (record number, text) of rows with a wrong number of columns

    def on_invalid(row: pacsv.InvalidRow) -> str:
        misfits.append((row.number, row.text))
        return "skip"

    def parse(threads: bool) -> pa.Table:
        misfits.clear()
        try:
            return pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(use_threads=threads, column_names=header, skip_rows=1,
                                               block_size=4 << 20),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in header}, strings_can_be_null=False,
                    quoted_strings_can_be_null=False, include_columns=[h for h in header if h not in RESERVED],
                    check_utf8=False),  # checked already: lines that are not UTF-8 were replaced
            )
        except pa.ArrowInvalid as exc:  # its message may quote a row: only its beginning is kept
            reason = re.sub(r"(got \d+): .*", r"\1", str(exc), flags=re.DOTALL)[:200]
            raise InputError(f"Tệp {path}: không đọc được như CSV ({reason}).") from exc

    table = parse(threads=True)
    if misfits:  # the record numbers of bad rows are only known to the single-threaded parser
        table = parse(threads=False)
    n_records = table.num_rows + len(misfits)
    exact = n_records == n_lines - 1  # one record per line after the header: the usual file
    starts = None if exact else _record_starts(source)
    record_lines = (np.array(starts, dtype=np.int64) if starts is not None and len(starts) == n_records
                    else np.arange(2, n_records + 2, dtype=np.int64))
    keep = np.ones(n_records, dtype=bool)
    flagged = []
    for n, text in misfits:  # n: the record's number, the header's being 1 (always known without threads)
        if not 2 <= n < n_records + 2:  # never seen; refusing the file is safer than guessing its line
            raise InputError(f"Tệp {path}: không xác định được dòng của một bản ghi sai số cột.")
        keep[n - 2] = False
        flagged.append(_row(header, int(record_lines[n - 2]), text, single_line))
    lines = record_lines[keep]
    table = table.append_column(LINE, pa.array(lines, pa.int64()))
    if skipped:  # the empty rows standing for the lines read apart
        table = table.filter(pa.array(~np.isin(lines, np.fromiter(skipped, np.int64, len(skipped)))))
    if not exact:  # only when a record may run over several lines
        spanning = _spanning_lines(table, single_line)
        if pc.any(spanning).as_py():
            flagged += [_row(header, int(r[LINE]), [r.get(h, "") for h in header], single_line)
                        for r in table.filter(spanning).to_pylist()]
            table = table.filter(pc.invert(spanning))
    return table, flagged


def _spanning_lines(table: pa.Table, single_line: list[str]) -> pa.Array:
    """True for the rows with a line break in a field that cannot hold one."""
    mask = pa.array(np.zeros(table.num_rows, dtype=bool))
    for name in single_line:
        if name in table.column_names:
            mask = pc.or_(mask, pc.fill_null(pc.match_substring_regex(table[name], "[\r\n]"), False))
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask


def _record_starts(source: Path) -> list[int] | None:
    """The first line of every non-blank record after the header (blank lines, values over several lines);
    lines end as in :class:`Lines` with `lone_cr`, which is how Python's universal newlines split them."""
    starts: list[int] = []
    with open(source, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f)
        try:
            next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                if row:
                    starts.append(start)
                start = reader.line_num + 1
        except csv.Error:  # a value beyond the csv module's field size limit: lines are then counted by records
            return None
    return starts


def _row(header: list[str], line: int, text: str | list[str], single_line: list[str]) -> FlaggedRow:
    """A row Arrow could not take (its text, or its fields), as a flagged row: fields assigned to the header's
    columns by position, damaged ones named (a damaged person id or a value over several lines left out)."""
    try:
        fields = next(csv.reader(io.StringIO(text)), []) if isinstance(text, str) else text
    except csv.Error:
        return FlaggedRow(line, {}, [("*", UNPARSED)])
    problems: list[tuple[str, str]] = []
    if len(fields) != len(header):
        problems.append(("*", f"dòng có {len(fields)} cột, dòng tiêu đề có {len(header)} cột"))
    values: dict[str, str | None] = {}
    for name, value in zip(header, fields, strict=False):
        bad = byte_problems(value)
        if name in single_line and ("\n" in value or "\r" in value):
            bad.append(SPANS_LINES)
        problems += [(name, m) for m in bad]
        values[name] = None if bad and (name in PERSON_COLUMNS or SPANS_LINES in bad) else shown(value)
    if any(byte_problems(value) for value in fields[len(header):]):
        problems.append(("*", "dòng có byte không hợp lệ ở ngoài các cột của dòng tiêu đề"))
    return FlaggedRow(line, values, problems)
