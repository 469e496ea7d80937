"""Read an input file (CSV, NDJSON, Parquet; gzip or not) into a table of text columns with line numbers.

Everything is read as text so that validation, not the reader, judges each value and can name the line and
field of every problem. A bad line costs only itself: a line too long to be a record is set aside (file, line
and reason); a line with a bad byte (NUL, or bytes that are not UTF-8), a row with the wrong number of columns
or a value the reader cannot take is kept as a flagged row, its damaged fields named, for validation to add
its other problems (:mod:`thuocdo.ingest.raw`). A file that cannot be read at all raises :class:`InputError`:
missing, not gzip as it claims, empty, without header or a required column, not Parquet as it claims, or not
text. The rule for "not text" (:func:`looks_binary`): more than 5% of its first 4 KiB (once decompressed) are
control bytes, NUL and the C0 controls other than tab, line feed, form feed and carriage return, and DEL.
A text file damaged here and there stays far below; images, archives, workbooks, compressed or encrypted data
and UTF-16 text are far above (about 11% for random bytes, 50% for UTF-16).
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from thuocdo.ingest.contracts import Contract
from thuocdo.ingest.csv_reader import read_csv
from thuocdo.ingest.ndjson_reader import read_ndjson
from thuocdo.ingest.parquet_reader import read_parquet
from thuocdo.ingest.raw import LINE, READ_PROBLEMS, InputError, RawInput, Rejection

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["LINE", "READ_PROBLEMS", "InputError", "RawInput", "Rejection", "csv_text", "looks_binary",
           "read_input"]

HEAD_BYTES = 4096
BINARY_SHARE = 0.05
_CONTROL = bytes(sorted(set(range(32)) - {9, 10, 12, 13})) + b"\x7f"
_BOM = b"\xef\xbb\xbf"


def read_input(path: Path, contract: Contract) -> RawInput:
    if not path.is_file():
        raise InputError(f"Tệp {path}: không tồn tại hoặc không phải là tệp.")
    try:
        with _plain(path) as plain:
            fmt = _sniff(path, plain)
            if fmt == "parquet":
                raw = read_parquet(path, plain, contract)
            elif fmt == "ndjson":
                raw = read_ndjson(path, plain, contract)
            else:
                raw = read_csv(path, plain, contract)
    except OSError as exc:  # unreadable file, full disk while decompressing…
        raise InputError(f"Tệp {path}: không đọc được ({exc.strerror or exc}).") from exc
    return _conform(raw, contract)


def looks_binary(head: bytes) -> bool:
    """True when more than 5% of the first 4 KiB are control bytes (see the module's docstring)."""
    head = head[:HEAD_BYTES]
    return len(head) - len(head.translate(None, _CONTROL)) > BINARY_SHARE * len(head)


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
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(f"Tệp {path}: tệp gzip hỏng hoặc không đầy đủ ({exc}).") from exc
        yield out


def _sniff(path: Path, plain: Path) -> str:
    with open(plain, "rb") as f:
        head = f.read(HEAD_BYTES)
        blank = not head.removeprefix(_BOM).strip()
        while blank and (more := f.read(1 << 20)):  # a file starting with more than 4 KiB of blank lines
            blank = not more.strip()
        f.seek(max(f.seek(0, 2) - 4, 0))
        tail = f.read(4)
    if blank:
        raise InputError(f"Tệp {path}: tệp rỗng, không có dữ liệu.")
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    named_parquet = bool(suffixes) and suffixes[-1] == ".parquet"
    if head.startswith(b"PAR1") and (named_parquet or tail.endswith(b"PAR1")):  # Parquet begins and ends so
        return "parquet"
    if named_parquet:
        raise InputError(f"Tệp {path}: phần mở rộng là .parquet nhưng nội dung không phải Parquet.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"Tệp {path}: tệp văn bản mã hóa UTF-16; hãy lưu lại dưới dạng UTF-8 (CSV UTF-8).")
    if looks_binary(head):
        raise InputError(f"Tệp {path}: không phải tệp văn bản CSV/NDJSON (hơn {BINARY_SHARE:.0%} số byte đầu tệp "
                         "là byte điều khiển, như ở tệp nhị phân, tệp nén hoặc tệp UTF-16).")
    if (head.lstrip(_BOM + b" \t\r\n").startswith(b"{")
            or (suffixes and suffixes[-1] in (".ndjson", ".jsonl", ".json"))):
        return "ndjson"
    return "csv"


def _conform(raw: RawInput, contract: Contract) -> RawInput:
    """Keep the contract's columns (missing optional ones as nulls); a missing required column is fatal."""
    table = raw.table
    if raw.format == "ndjson":
        return raw  # JSON fields are extracted during validation, where each line's problems are collected
    internal = {LINE, READ_PROBLEMS}
    present = set(table.column_names) - internal
    missing = contract.missing(present)
    if missing:
        raise InputError(
            f"Tệp {raw.name}: thiếu cột bắt buộc {', '.join('`' + m + '`' for m in missing)} "
            f"(các cột có: {', '.join(sorted(present)) or 'không có'})."
        )
    cols = {f: (table[f] if f in present else pa.nulls(table.num_rows, pa.string())) for f in contract.fields}
    for name in internal & set(table.column_names):
        cols[name] = table[name]
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


def ahead(items: Sequence[T], work: Callable[[T], R], name: str) -> Iterator[tuple[T, Future[R]]]:
    """Each item with `work` on it, the next item's run in a thread (named `name`) while the caller uses the
    current one: for work that mostly leaves the interpreter's lock (reading, parsing, DuckDB). At most two items'
    results are held at once."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        following = pool.submit(work, items[0])
        for i, item in enumerate(items):
            current = following
            if i + 1 < len(items):
                following = pool.submit(work, items[i + 1])
            yield item, current
