"""Request bodies of usage records (a JSON array or NDJSON, gzip or not) as the text columns validation expects.

A record's values are kept as the text JSON gives them, so that the same rules and messages apply as to a
file. The usual body (every item an object, every field all strings, or all integers in the integer fields) is
converted by Arrow in one pass; anything else value by value, with the same result.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import pyarrow as pa

from thuocdo.ingest.contracts import MAX_LINE_BYTES, USAGE
from thuocdo.ingest.readers import LINE, InputError, RawInput, Rejection
from thuocdo.ingest.validate import INTEGER_FIELDS

#: the most records one request may carry, and the most bytes its body may have once decompressed
MAX_RECORDS = 100_000
MAX_BODY_BYTES = 64 << 20


class BodyTooLarge(InputError):
    """The request is over the documented limits; nothing of it is stored."""


def parse_records(body: bytes, name: str, *, gzipped: bool = False) -> RawInput:
    """A request body (a JSON array of records, or NDJSON; gzip or not) as a RawInput of text columns.

    A record's number is its position in the array, or its line in NDJSON. Lines of NDJSON that are not
    UTF-8 or are too long are rejected on their own; a body that is not JSON at all raises InputError."""
    body = decompressed(body, name, gzipped=gzipped)
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise InputError(f"{name}: thân yêu cầu rỗng, không có bản ghi nào.")
    if text.startswith(b"["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{name}: thân yêu cầu không phải JSON hợp lệ ({exc}).") from exc
        if not isinstance(items, list):
            raise InputError(f"{name}: thân yêu cầu phải là một mảng JSON các bản ghi hoặc NDJSON.")
        _check_count(len(items), name)
        return records_input(name, items, list(range(1, len(items) + 1)), [])
    items = []
    numbers: list[int] = []
    rejections: list[Rejection] = []
    for number, raw_line in enumerate(text.split(b"\n"), start=1):
        line = raw_line.strip()
        if not line:
            continue
        if len(line) > MAX_LINE_BYTES:
            rejections.append(Rejection(
                number, "*", f"Dòng dài hơn {MAX_LINE_BYTES // 1024} KiB, không thể là một bản ghi hợp lệ."))
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                rejections.append(Rejection(number, "*", "Dòng không phải văn bản UTF-8."))
                continue
            items.append(None)  # not JSON: rejected by validation like any record that is not an object
        numbers.append(number)
    _check_count(len(items) + len(rejections), name)
    return records_input(name, items, numbers, rejections)


def decompressed(body: bytes, name: str, *, gzipped: bool = False) -> bytes:
    """The body as sent, or its content when it is gzip (declared, or recognised by its first two bytes).

    Raises InputError for a broken or incomplete gzip body and BodyTooLarge beyond MAX_BODY_BYTES (after
    decompression)."""
    if gzipped or body[:2] == b"\x1f\x8b":
        body = _gunzip(body, name)
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"{name}: thân yêu cầu {len(body):,} byte, vượt giới hạn {MAX_BODY_BYTES:,} byte.")
    return body


def records_input(name: str, items: list[Any], numbers: list[int], rejections: list[Rejection]) -> RawInput:
    """Parsed JSON records as the text columns of the usage contract, as validation expects them.

    A value is kept as the text JSON gives it (strings as they are, other values as JSON text), so that the
    same rules and messages apply as to a file; an item that is not an object is flagged (`_json_ok`). The
    pseudonymous `user_key` of repaired quarantine rows is not accepted from clients."""
    columns = _columns_of_objects(items)
    if columns is None:
        columns = _columns_by_value(items)
    columns["_json_ok"] = pa.array([type(item) is dict for item in items], pa.bool_())
    columns[LINE] = pa.array(numbers, pa.int64())
    return RawInput(name, "records", pa.table(columns), rejections)


def _columns_by_value(items: list[Any]) -> dict[str, pa.Array]:
    """The contract's columns, value by value (any JSON): items that are not objects give empty rows."""
    records = [item if type(item) is dict else {} for item in items]
    columns: dict[str, pa.Array] = {}
    for f in USAGE.fields:
        if f == "user_key":
            columns[f] = pa.nulls(len(items), pa.string())
            continue
        values = [r.get(f) for r in records]
        columns[f] = _integers(values) if f in INTEGER_FIELDS else None
        if columns[f] is None:
            try:  # the common case: every value a string (or absent)
                columns[f] = pa.array(values, pa.string())
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                columns[f] = pa.array([_text(v) for v in values], pa.string())
    return columns


def _columns_of_objects(items: list[Any]) -> dict[str, pa.Array] | None:
    """The usual batch (every item an object, every field all strings, or all integers for the integer fields)
    converted by Arrow in one pass; None for anything else, which the general path handles value by value
    with the same result."""
    if not items or not all(type(item) is dict for item in items):
        return None
    try:
        struct = pa.array(items)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return None
    if not pa.types.is_struct(struct.type):
        return None
    columns: dict[str, pa.Array] = {}
    for f in USAGE.fields:
        i = struct.type.get_field_index(f)
        if f == "user_key" or i < 0:
            columns[f] = pa.nulls(len(items), pa.string())
            continue
        child = struct.field(i)
        if pa.types.is_null(child.type):
            child = pa.nulls(len(items), pa.string())
        elif not (pa.types.is_string(child.type) or (f in INTEGER_FIELDS and child.type == pa.int64())):
            return None
        columns[f] = child
    return columns


def _integers(values: list[Any]) -> pa.Array | None:
    """An int64 column when every value is a JSON integer (or absent), else None (validation judges the text)."""
    if not all(type(v) is int or v is None for v in values):
        return None
    try:
        return pa.array(values, pa.int64())
    except (OverflowError, pa.ArrowInvalid):
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _gunzip(body: bytes, name: str) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise InputError(f"{name}: nội dung gzip hỏng ({exc}).") from exc
    if len(out) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"{name}: thân yêu cầu giải nén vượt giới hạn {MAX_BODY_BYTES:,} byte.")
    if not d.eof:
        raise InputError(f"{name}: nội dung gzip không đầy đủ.")
    return out


def _check_count(n: int, name: str) -> None:
    if n > MAX_RECORDS:
        raise BodyTooLarge(f"{name}: {n:,} bản ghi, vượt giới hạn {MAX_RECORDS:,} bản ghi mỗi yêu cầu.")
