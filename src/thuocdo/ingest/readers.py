"""Read an input file (CSV, NDJSON, Parquet; gzip or not) into a table of text columns with line numbers.

Everything is read as text so that validation, not the reader, judges each value and can name the line and
field of every problem. Lines too long to be a record, rows with the wrong number of columns and lines that
are not JSON are set aside as rejections; a file that cannot be read at all raises :class:`InputError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from thuocdo.ingest.contracts import MAX_LINE_BYTES, Contract

LINE = "_line"


class InputError(ValueError):
    """The file cannot be read; nothing of it is stored."""


@dataclass(frozen=True)
class Rejection:
    line: int | None
    field: str
    message: str


@dataclass
class RawInput:
    name: str
    format: str
    table: pa.Table  # text columns of the contract (missing optional ones as nulls) + _line
    rejections: list[Rejection] = field(default_factory=list)
    extra_columns: tuple[str, ...] = ()


def read_input(path: Path, contract: Contract) -> RawInput:
    if not path.is_file():
        raise InputError(f"Tệp {path}: không tồn tại hoặc không phải là tệp.")
    with _plain(path) as plain:
        fmt = _sniff(path, plain)
        if fmt == "parquet":
            raw = _read_parquet(path, plain)
        elif fmt == "ndjson":
            raw = _read_ndjson(path, plain)
        else:
            raw = _read_csv(path, plain)
    return _conform(raw, contract)


@contextmanager
def _plain(path: Path) -> Iterator[Path]:
    """The file itself, or a decompressed temporary copy of a gzip file."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic != b"\x1f\x8b":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="thuocdo-gz-") as tmp:
        out = Path(tmp) / path.name.removesuffix(".gz")
        try:
            with gzip.open(path, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 8 << 20)
        except (OSError, EOFError) as exc:
            raise InputError(f"Tệp {path}: tệp gzip hỏng hoặc không đầy đủ ({exc}).") from exc
        yield out


def _sniff(path: Path, plain: Path) -> str:
    with open(plain, "rb") as f:
        head = f.read(4096)
    if not head.strip():
        raise InputError(f"Tệp {path}: tệp rỗng, không có dữ liệu.")
    if head.startswith(b"PAR1"):
        return "parquet"
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] == ".parquet":
        raise InputError(f"Tệp {path}: phần mở rộng là .parquet nhưng nội dung không phải Parquet.")
    if b"\x00" in head:
        raise InputError(f"Tệp {path}: không phải tệp văn bản CSV/NDJSON (có byte nhị phân).")
    if (head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
            or (suffixes and suffixes[-1] in (".ndjson", ".jsonl", ".json"))):
        return "ndjson"
    return "csv"


def _line_ends(plain: Path) -> np.ndarray:
    """Offsets of every line end (index of each newline, plus the end of the file when it lacks one)."""
    data = np.memmap(plain, dtype=np.uint8, mode="r")
    ends = np.flatnonzero(data == 10)
    if len(data) and (len(ends) == 0 or ends[-1] != len(data) - 1):
        ends = np.append(ends, len(data))
    return ends


def _long_lines(plain: Path) -> tuple[np.ndarray, np.ndarray]:
    """(line ends, 1-based numbers of lines longer than MAX_LINE_BYTES)."""
    ends = _line_ends(plain)
    starts = np.concatenate(([0], ends[:-1] + 1))
    return ends, np.flatnonzero(ends - starts > MAX_LINE_BYTES) + 1


def _without_lines(plain: Path, ends: np.ndarray, drop: np.ndarray, out: Path) -> None:
    """Copy the file without the given lines, replacing each by an empty line (line numbers are kept)."""
    dropped = {int(n) for n in drop}
    with open(plain, "rb") as src, open(out, "wb") as dst:
        pos = 0
        for number, end in enumerate(ends, start=1):
            chunk_end = int(end) + 1
            if number in dropped:
                src.seek(chunk_end)
                dst.write(b"\n")
            else:
                dst.write(src.read(chunk_end - pos))
            pos = chunk_end


def _too_long(lines: np.ndarray) -> list[Rejection]:
    return [Rejection(int(n), "*", f"Dòng dài hơn {MAX_LINE_BYTES // 1024} KiB, không thể là một bản ghi hợp lệ.")
            for n in lines]


def _read_csv(path: Path, plain: Path) -> RawInput:
    ends, long_lines = _long_lines(plain)
    rejections = _too_long(long_lines)
    if len(long_lines):
        with tempfile.TemporaryDirectory(prefix="thuocdo-csv-") as tmp:
            cleaned = Path(tmp) / "clean.csv"
            _without_lines(plain, ends, long_lines, cleaned)
            return _parse_csv(path, cleaned, rejections, n_lines=len(ends))
    return _parse_csv(path, plain, rejections, n_lines=len(ends))


def _parse_csv(path: Path, plain: Path, rejections: list[Rejection], n_lines: int) -> RawInput:
    with open(plain, encoding="utf-8-sig", errors="replace", newline="") as f:
        header = next(csv.reader(f), [])
    header = [h.strip() for h in header]
    if not any(header):
        raise InputError(f"Tệp {path}: thiếu dòng tiêu đề (tên các cột).")
    if len(set(header)) != len(header):
        raise InputError(f"Tệp {path}: dòng tiêu đề có tên cột trùng nhau: {', '.join(header)}.")
    bad_rows: list[tuple[int | None, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append((row.number, row.text))
        return "skip"

    def parse(threads: bool) -> pa.Table:
        bad_rows.clear()
        try:
            return pacsv.read_csv(
                plain,
                read_options=pacsv.ReadOptions(use_threads=threads, column_names=header, skip_rows=1,
                                               block_size=4 << 20),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise InputError(f"Tệp {path}: không đọc được như CSV ({exc}).") from exc

    table = parse(threads=True)
    if bad_rows:  # line numbers of bad rows are only known to the single-threaded parser
        table = parse(threads=False)
    exact = table.num_rows + len(bad_rows) + len(long_lines_of(rejections)) == n_lines - 1 and not bad_rows
    starts = None if exact else _record_starts(plain)
    for number, text in bad_rows:
        excerpt = text[:60] + ("…" if len(text) > 60 else "")
        line = starts[number - 2] if starts is not None and number is not None and number - 2 < len(starts) else number
        rejections.append(Rejection(line, "*", f"Số cột không khớp với dòng tiêu đề ({len(header)} cột): «{excerpt}»."))
    if starts is None:
        lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
    else:
        bad = {n - 2 for n, _ in bad_rows if n is not None}
        kept = [line for i, line in enumerate(starts) if i not in bad]
        lines = np.array(kept, dtype=np.int64) if len(kept) == table.num_rows else np.arange(2, table.num_rows + 2)
    return RawInput(path.name, "csv", table.append_column(LINE, pa.array(lines, pa.int64())), rejections)


def long_lines_of(rejections: list[Rejection]) -> list[int]:
    return [r.line for r in rejections if r.line is not None]


def _record_starts(plain: Path) -> list[int]:
    """The first physical line of every non-blank record after the header (blank lines, multi-line values)."""
    starts: list[int] = []
    with open(plain, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        start = reader.line_num + 1
        for row in reader:
            if row:
                starts.append(start)
            start = reader.line_num + 1
    return starts


def _read_ndjson(path: Path, plain: Path) -> RawInput:
    _ends, long_lines = _long_lines(plain)
    rejections = _too_long(long_lines)
    drop = {int(n) for n in long_lines}
    texts: list[str] = []
    numbers: list[int] = []
    with open(plain, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if number in drop:
                continue
            line = raw.strip()
            if not line:
                continue
            try:
                texts.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                rejections.append(Rejection(number, "*", "Dòng không phải văn bản UTF-8."))
                continue
            numbers.append(number)
    table = pa.table({"_json": pa.array(texts, pa.string()), LINE: pa.array(numbers, pa.int64())})
    return RawInput(path.name, "ndjson", table, rejections)


def _read_parquet(path: Path, plain: Path) -> RawInput:
    try:
        table = pq.read_table(plain)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"Tệp {path}: không đọc được như Parquet ({exc}).") from exc
    columns = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_timestamp(col.type) and col.type.tz is None:
            col = col.cast(pa.string())  # naive timestamps are local times, like naive text
        elif pa.types.is_timestamp(col.type):
            col = pa.compute.strftime(col, format="%Y-%m-%dT%H:%M:%S%z")
        elif not (pa.types.is_string(col.type) or pa.types.is_integer(col.type)):
            col = col.cast(pa.string())  # integers stay typed: validation only checks their sign
        columns[name.strip()] = col
    columns[LINE] = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    return RawInput(path.name, "parquet", pa.table(columns))


def _conform(raw: RawInput, contract: Contract) -> RawInput:
    """Keep the contract's columns (missing optional ones as nulls); a missing required column is fatal."""
    table = raw.table
    if raw.format == "ndjson":
        return raw  # JSON fields are extracted during validation, where each line's problems are collected
    present = set(table.column_names) - {LINE}
    missing = contract.missing(present)
    if missing:
        raise InputError(
            f"Tệp {raw.name}: thiếu cột bắt buộc {', '.join('`' + m + '`' for m in missing)} "
            f"(các cột có: {', '.join(sorted(present)) or 'không có'})."
        )
    cols = {f: (table[f] if f in present else pa.nulls(table.num_rows, pa.string())) for f in contract.fields}
    cols[LINE] = table[LINE]
    extra = tuple(sorted(present - set(contract.fields)))
    return RawInput(raw.name, raw.format, pa.table(cols), raw.rejections, extra)


def csv_text(rows: list[dict[str, object]], columns: list[str]) -> str:
    """Write rows as CSV text (for quarantine exports)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
