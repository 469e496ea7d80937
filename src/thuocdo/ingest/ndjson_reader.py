"""Read an NDJSON file (one JSON object per line) into a column of JSON texts with line numbers.

Fields are extracted during validation, where each line's problems are collected. A line longer than any
record is set aside; a line holding a bad byte (NUL, or bytes that are not UTF-8) is kept as a flagged row: its
object as far as it can be read, the damaged fields named (a damaged person id left out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from thuocdo.ingest.contracts import Contract
from thuocdo.ingest.csv_reader import PERSON_COLUMNS
from thuocdo.ingest.lines import LINE_NOT_UTF8, LINE_NUL, Lines, byte_problems, decode_damaged, too_long
from thuocdo.ingest.raw import LINE, FlaggedRow, RawInput, append_flagged

#: a NUL byte while a damaged line is parsed as JSON (where a raw NUL is not allowed), shown as U+FFFD
_NUL_MARK = "\ufffe"


def read_ndjson(path: Path, plain: Path, contract: Contract) -> RawInput:
    long_lines = Lines(plain).too_long()
    texts: list[str] = []
    numbers: list[int] = []
    flagged: list[FlaggedRow] = []
    with open(plain, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if number in long_lines:
                continue
            line = raw.strip()
            if not line:
                continue
            if b"\x00" not in line:
                try:
                    texts.append(line.decode("utf-8"))
                    numbers.append(number)
                    continue
                except UnicodeDecodeError:
                    pass
            flagged.append(damaged_object(number, line, contract))
    table = pa.table({"_json": pa.array(texts, pa.string()), LINE: pa.array(numbers, pa.int64())})
    return RawInput(path.name, "ndjson", append_flagged(table, flagged), too_long(long_lines))


def damaged_object(number: int, line: bytes, contract: Contract) -> FlaggedRow:
    """A line with bad bytes: its object re-written with the damaged values shown as U+FFFD (a damaged person id
    left out) and one problem per damaged field; "*" when the damage is elsewhere or the line is no object."""
    text = decode_damaged(line).replace("\x00", _NUL_MARK)
    try:
        obj: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        return FlaggedRow(number, {"_json": ""}, _line_problems(text))
    problems: list[tuple[str, str]] = []
    for name in contract.fields:
        if name not in obj:
            continue
        value = obj[name] if isinstance(obj[name], str) else orjson.dumps(obj[name]).decode()
        bad = byte_problems(value.replace(_NUL_MARK, "\x00"))
        problems += [(name, m) for m in bad]
        if bad:
            obj[name] = None if name in PERSON_COLUMNS else _shown(obj[name])
    rest = orjson.dumps({k: v for k, v in obj.items() if k not in contract.fields}).decode()
    if not problems or _NUL_MARK in rest or "\ufffd" in rest:
        problems += _line_problems(rest if problems else text)
    return FlaggedRow(number, {"_json": orjson.dumps(obj).decode()}, problems)


def _line_problems(text: str) -> list[tuple[str, str]]:
    return [("*", m) for bad, m in (("\ufffd", LINE_NOT_UTF8), (_NUL_MARK, LINE_NUL)) if bad in text]


def _shown(value: Any) -> Any:
    """A damaged value with NUL bytes as U+FFFD (values of any JSON type)."""
    return orjson.loads(orjson.dumps(value).decode().replace(_NUL_MARK, "\ufffd"))
