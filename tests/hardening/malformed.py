"""A corpus of malformed input files, written on demand (nothing of it is committed).

Each file is paired with what the command line may do with it: ``UNREADABLE`` files are refused whole (exit 2,
the file named in the message); ``READ`` files are read, their bad rows rejected one by one (exit 0);
``EITHER`` files may go either way, as long as the answer is a clear message and no traceback.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

UNREADABLE, READ, EITHER = "unreadable", "read", "either"

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
ROWS = "g1,u1,zalo,2022-01-10T08:00:00+07:00,60,100,1,0,Hà Nội\ng2,u2,messenger,2022-01-11,30,0,1,0,\n"
GOOD_CSV = (HEADER + ROWS).encode()
GOOD_JSON = json.dumps({"record_id": "j1", "user_id": "u3", "platform": "zalo", "time": "2022-01-12"})


def _noise(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _parquet(columns: dict[str, pa.Array]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _usage_parquet(**override: pa.Array) -> bytes:
    """Two usage rows as Parquet, some columns replaced by other types."""
    columns = {"record_id": pa.array(["p1", "p2"]), "user_id": pa.array(["u1", "u2"]),
               "platform": pa.array(["zalo", "mocha"]), "time": pa.array(["2022-01-10", "2022-01-11"]),
               "bytes": pa.array([10, 20], pa.int64())}
    return _parquet({**columns, **override})


def _duplicate_columns() -> bytes:
    buf = io.BytesIO()
    table = pa.Table.from_arrays([pa.array(["u1"]), pa.array(["u2"]), pa.array(["zalo"]), pa.array(["2022-01-10"])],
                                 names=["user_id", "user_id", "platform", "time"])
    pq.write_table(table, buf)
    return buf.getvalue()


#: name -> (content, what may happen)
CORPUS: dict[str, tuple[bytes, str]] = {
    # gzip
    "garbage.csv.gz": (b"\x1f\x8b\x08\x00" + _noise(600, 1), UNREADABLE),
    "magic-only.csv.gz": (b"\x1f\x8b", UNREADABLE),
    "truncated.csv.gz": (_cut(gzip.compress(GOOD_CSV + _noise(3000, 7).hex().encode())), UNREADABLE),
    "trailing-garbage.csv.gz": (gzip.compress(GOOD_CSV) + b"not gzip", UNREADABLE),
    "empty.csv.gz": (gzip.compress(b""), UNREADABLE),
    "noise.csv.gz": (gzip.compress(_noise(5000, 2)), UNREADABLE),
    "twice.csv.gz": (gzip.compress(gzip.compress(GOOD_CSV * 40)), UNREADABLE),
    "bad-bytes.csv.gz": (gzip.compress(GOOD_CSV + b"b1,u\xff9,zalo,2022-01-10,1,0,1,0,\n"), READ),
    # empty, header only, not text
    "empty.csv": (b"", UNREADABLE),
    "blank.csv": (b" \r\n\t\n", UNREADABLE),
    "bom-only.csv": (b"\xef\xbb\xbf", UNREADABLE),
    "bom-newline.csv": (b"\xef\xbb\xbf\r\n", UNREADABLE),
    "header-only.csv": (HEADER.encode(), UNREADABLE),
    "header-no-newline.csv": (HEADER.strip().encode(), UNREADABLE),
    "bom-header-only.csv": (b"\xef\xbb\xbf" + HEADER.encode(), UNREADABLE),
    "header-blank-lines.csv": (HEADER.encode() + b"\n\n\r\n", UNREADABLE),
    "image.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _noise(3000, 3), UNREADABLE),
    "noise.csv": (_noise(8192, 4), UNREADABLE),
    "utf16.csv": ((HEADER + ROWS).encode("utf-16"), UNREADABLE),
    "utf16-no-bom.ndjson": ((GOOD_JSON + "\n").encode("utf-16-le"), UNREADABLE),
    "workbook.csv": (b"PK\x03\x04\x14\x00\x06\x00" + _noise(2000, 5), UNREADABLE),
    # headers
    "duplicate-header.csv": (b"user_id,user_id,platform,time\nu1,u2,zalo,2022-01-10\n", UNREADABLE),
    "missing-columns.csv": (b"user_id,platform\nu1,zalo\n", UNREADABLE),
    "tabs.csv": (GOOD_CSV.replace(b",", b"\t"), UNREADABLE),
    "header-nul.csv": (GOOD_CSV.replace(b"user_id", b"user\x00id", 1), EITHER),
    "header-bad-byte.csv": (GOOD_CSV.replace(b"province", b"provi\xffnce", 1), EITHER),
    "reserved-names.csv": (b"user_id,platform,time,_line,_json,_read_problems\nu1,zalo,2022-01-10,x,y,z\n",
                           READ),
    # rows
    "nul-byte.csv": (GOOD_CSV + b"b1,u9,za\x00lo,2022-01-10,1,0,1,0,\n", READ),
    "bad-utf8.csv": (GOOD_CSV + b"b1,u9,zalo,2022-01-10,1,0,1,0,H\xe0 N\xf4i\n", READ),
    "cp1258.csv": (GOOD_CSV.decode().encode("cp1258", errors="replace"), READ),
    "lone-quote.csv": (HEADER.encode() + b'g1,"u1,zalo,2022-01-10,1,0,1,0,\n' + ROWS.encode(), READ),
    "old-mac.csv": (GOOD_CSV.replace(b"\n", b"\r"), READ),
    "long-line-only.csv": (HEADER.encode() + b"x," + b"A" * 70_000 + b"\n", READ),
    "wrong-columns-bad-byte.csv": (GOOD_CSV + b"x,u\xff9,zalo\n", READ),
    "wrong-columns.csv": (GOOD_CSV + b"x,u9,zalo\n" + b"y,u9,zalo,2022-01-10,1,0,1,0,,,\n", READ),
    # NDJSON
    "not-objects.ndjson": (b'1\n[]\nnull\n"x"\n{}\n', READ),
    "bad-bytes.ndjson": ((GOOD_JSON + "\n").encode() + b'{"user_id": "u\xff", "platform": "zalo"}\n'
                         + b'{"user_id": "u5", "platform": "za\x00lo", "time": "2022-01-10"}\n' + b"\xff\xfe\n", READ),
    "deep.ndjson": ((GOOD_JSON + "\n" + "[" * 100_000 + "\n" + '{"a":' + "[" * 50_000 + "]" * 50_000
                             + "}\n").encode(), READ),
    "deep-bad-byte.ndjson": ((GOOD_JSON + "\n").encode() + b'{"user_id": ' + b"[" * 5000 + b"\xff\n", READ),
    "numbers.ndjson": (b'{"user_id": 1e999, "platform": "zalo", "time": "2022-01-10", '
                       b'"bytes": 123456789012345678901234567890, "sessions": -0.0, "installs": true}\n', READ),
    "array.json": (b"[" + GOOD_JSON.encode() + b"]\n", READ),
    # Parquet
    "magic-only.parquet": (b"PAR1", UNREADABLE),
    "noise.parquet": (b"PAR1" + _noise(3000, 6) + b"PAR1", UNREADABLE),
    "truncated.parquet": (_cut(_usage_parquet()), UNREADABLE),
    "text.parquet": (GOOD_CSV + b"\n", UNREADABLE),
    "zero-rows.parquet": (_parquet({c: pa.array([], pa.string()) for c in ("user_id", "platform", "time")}),
                          UNREADABLE),
    "no-columns.parquet": (_parquet({}), UNREADABLE),
    "duplicate-columns.parquet": (_duplicate_columns(), UNREADABLE),
    "list-column.parquet": (_usage_parquet(platform=pa.array([["zalo"], None])), READ),
    "struct-column.parquet": (_usage_parquet(province=pa.array([{"code": "01"}, {"code": "79"}])), READ),
    "map-extra-column.parquet": (_usage_parquet(tags=pa.array([[("a", 1)], []], pa.map_(pa.string(),
                                                                                                  pa.int64()))), READ),
    "binary-bad-utf8.parquet": (_usage_parquet(user_id=pa.array([b"u\xff", b"u2"], pa.binary())), READ),
    "uint64.parquet": (_usage_parquet(bytes=pa.array([2**64 - 1, 5], pa.uint64())), READ),
    "integer-user-id.parquet": (_usage_parquet(user_id=pa.array([912000001, 912000002], pa.int64())), READ),
    "floats.parquet": (_usage_parquet(bytes=pa.array([float("nan"), float("inf")])), READ),
    "duration.parquet": (_usage_parquet(active_seconds=pa.array([60, 120], pa.duration("s"))), READ),
    "far-timestamps.parquet": (_usage_parquet(time=pa.array([2**62, -(2**62)], pa.timestamp("us", "UTC"))),
                               READ),
    "null-column.parquet": (_usage_parquet(province=pa.nulls(2)), READ),
    "decimal.parquet": (_usage_parquet(bytes=pa.array([10, 20], pa.int64()).cast(pa.decimal128(30, 2))),
                        READ),
    "parquet.parquet.gz": (gzip.compress(_usage_parquet()), READ),
}


def write_corpus(folder: Path) -> dict[Path, str]:
    """Write every file of the corpus (and a folder named like a file); return path -> expectation."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (content, expect) in CORPUS.items():
        path = folder / name
        path.write_bytes(content)
        written[path] = expect
    (folder / "folder.csv").mkdir()
    written[folder / "folder.csv"] = UNREADABLE
    return written
