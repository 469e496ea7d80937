"""The lines of a text file, found without decoding it: where each ends, which are too long to be a record, and
which hold a bad byte (NUL, or bytes that are not UTF-8), so that a reader can set them apart and read the rest
at full speed. Line numbers are 1-based, as editors show them. A line ends with a line feed; for CSV a lone
carriage return ends one too (old Macintosh files), as it ends a record for the CSV parser and for spreadsheets.
"""

from __future__ import annotations

import codecs
import mmap
from pathlib import Path

import numpy as np
import pyarrow as pa

from thuocdo.ingest.contracts import MAX_LINE_BYTES
from thuocdo.ingest.raw import Rejection

#: how much of a file is decoded at once when looking for bytes that are not UTF-8
_CHUNK = 16 << 20

NOT_UTF8 = "giá trị có byte không hợp lệ theo UTF-8 (tệp phải được mã hóa UTF-8)"
NUL = "giá trị có byte NUL (0x00)"
LINE_NOT_UTF8 = "dòng có byte không hợp lệ theo UTF-8 (tệp phải được mã hóa UTF-8)"
LINE_NUL = "dòng có byte NUL (0x00)"


class Lines:
    """The line ends of a file: offsets of each line feed (and, with `lone_cr`, of each carriage return not
    followed by one), and the end of the file when it lacks one. With `check_bytes`, also whether it holds a
    NUL byte and whether it is UTF-8 throughout, found in the same pass over one mapping of the file (the
    common, sound file costs one memchr and one UTF-8 check; finding where bad bytes are costs more)."""

    def __init__(self, path: Path, *, lone_cr: bool = False, check_bytes: bool = False) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.has_nul, self.utf8 = False, True
        ends = np.zeros(0, np.int64)
        if self.size:
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                data = np.frombuffer(mm, dtype=np.uint8)
                try:
                    ends = np.flatnonzero(data == 10)
                    if lone_cr and mm.find(b"\r") >= 0:
                        cr = np.flatnonzero(data == 13)
                        lone = cr[(cr + 1 == self.size) | (data[np.minimum(cr + 1, self.size - 1)] != 10)]
                        if len(lone):  # CR LF files have none
                            ends = np.union1d(ends, lone)
                    if check_bytes:
                        self.has_nul, self.utf8 = mm.find(b"\x00") >= 0, _is_utf8(mm)
                finally:
                    del data  # the mapping closes only when nothing points into it
        if self.size and (len(ends) == 0 or ends[-1] != self.size - 1):
            ends = np.append(ends, self.size)
        self.ends = ends
        self.starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ends)

    def too_long(self) -> set[int]:
        """Numbers of the lines longer than MAX_LINE_BYTES."""
        return {int(n) + 1 for n in np.flatnonzero(self.ends - self.starts > MAX_LINE_BYTES)}

    def of_offsets(self, offsets: np.ndarray) -> set[int]:
        """Numbers of the lines holding these byte offsets."""
        return {int(n) + 1 for n in np.unique(np.searchsorted(self.ends, offsets, side="left"))}

    def with_nul(self) -> set[int]:
        """Numbers of the lines holding a NUL byte (with `check_bytes`)."""
        if not self.has_nul:
            return set()
        data = np.memmap(self.path, dtype=np.uint8, mode="r")
        return self.of_offsets(np.flatnonzero(data == 0))

    def not_utf8(self) -> set[int]:
        """Numbers of the lines holding bytes that are not UTF-8 (with `check_bytes`)."""
        if self.utf8:
            return set()
        return self.of_offsets(np.array(invalid_utf8_offsets(self.path), dtype=np.int64))

    def read(self, number: int) -> bytes:
        """The bytes of one line, without its line end."""
        start, end = int(self.starts[number - 1]), int(self.ends[number - 1])
        with open(self.path, "rb") as f:
            f.seek(start)
            return f.read(end - start).rstrip(b"\r")

    def copy_without(self, numbers: set[int], out: Path, placeholder: bytes) -> None:
        """Copy the file with each of these lines replaced by `placeholder` (line numbers are kept)."""
        with open(self.path, "rb") as src, open(out, "wb") as dst:
            pos = 0
            for number in sorted(numbers):
                start, end = int(self.starts[number - 1]), int(self.ends[number - 1])
                dst.write(src.read(start - pos))
                dst.write(placeholder + (b"\n" if end < self.size else b""))
                src.seek(min(end + 1, self.size))
                pos = min(end + 1, self.size)
            dst.write(src.read())


def _is_utf8(mm: mmap.mmap) -> bool:
    """Whether a mapped file is UTF-8 throughout: the file as one binary value, cast to text by Arrow (memory
    speed, no copy)."""
    data = pa.py_buffer(mm)
    offsets = pa.py_buffer(np.array([0, len(mm)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, data]).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    finally:
        del data
    return True


def invalid_utf8_offsets(path: Path) -> list[int]:
    """Offsets of every byte sequence that is not UTF-8, decoding the file a chunk at a time."""
    offsets: list[int] = []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm, memoryview(mm) as data:
        pos, size = 0, len(data)
        while pos < size:
            end = min(pos + _CHUNK, size)
            with data[pos:end] as chunk:
                try:
                    _, consumed = codecs.utf_8_decode(chunk, "strict", end == size)
                except UnicodeDecodeError as exc:
                    offsets.append(pos + exc.start)
                    pos += exc.end
                    continue
            pos += consumed
    return offsets


def too_long(numbers: set[int]) -> list[Rejection]:
    return [Rejection(n, "*", f"dòng dài hơn {MAX_LINE_BYTES // 1024} KiB, không thể là một bản ghi hợp lệ")
            for n in sorted(numbers)]


def decode_damaged(data: bytes) -> str:
    """A damaged line as text: each sequence that is not UTF-8 as U+FFFD; NUL bytes are kept (see byte_problems)."""
    return data.decode("utf-8", errors="replace")


def byte_problems(value: str) -> list[str]:
    """What is wrong with the bytes of a value decoded by :func:`decode_damaged` (empty when nothing)."""
    return [m for bad, m in (("\ufffd", NOT_UTF8), ("\x00", NUL)) if bad in value]


def shown(value: str) -> str:
    """A damaged value as it may be kept and shown: NUL bytes as U+FFFD."""
    return value.replace("\x00", "\ufffd")
