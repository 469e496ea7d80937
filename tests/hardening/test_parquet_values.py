"""Parquet values that cannot be read as text reject their row, naming the column, not the whole file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import Cli

BASE = {"record_id": pa.array(["p1", "p2"]), "user_id": pa.array(["u1", "u2"]),
        "platform": pa.array(["zalo", "mocha"]), "time": pa.array(["2022-01-10", "2022-01-11"])}


def ingest(cli: Cli, path: Path, **columns: pa.Array) -> list[tuple[object, str, str]]:
    pq.write_table(pa.table({**BASE, **columns}), path)
    result = cli("ingest", "usage", path, "--source", "s")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(cli("quarantine", "list", "--format", "json").stdout)
    return sorted((e["line"], p["field"], p["message"]) for e in listed for p in json.loads(e["problems"]))


def test_an_unsigned_integer_beyond_64_bits_rejects_its_row(cli: Cli, tmp_path: Path) -> None:
    got = ingest(cli, tmp_path / "u.parquet", bytes=pa.array([2**64 - 1, 5], pa.uint64()))
    assert [(line, field) for line, field, _ in got] == [(1, "bytes")]
    assert "18446744073709551615" in got[0][2]
    assert [r["platform"] for r in cli.metrics("2022-01")] == ["mocha"]


def test_a_list_column_rejects_the_rows_that_hold_a_list(cli: Cli, tmp_path: Path) -> None:
    got = ingest(cli, tmp_path / "u.parquet", province=pa.array([["Huế"], None], pa.list_(pa.string())))
    assert [(line, field) for line, field, _ in got] == [(1, "province")]
    assert "list" in got[0][2] and "không phải một giá trị đơn" in got[0][2]
    assert [r["platform"] for r in cli.metrics("2022-01")] == ["mocha"]


def test_bytes_that_are_not_utf8_reject_their_row(cli: Cli, tmp_path: Path) -> None:
    got = ingest(cli, tmp_path / "u.parquet", platform=pa.array([b"za\xfflo", b"mocha"], pa.binary()))
    assert [(line, field) for line, field, _ in got] == [(1, "platform")]
    assert "UTF-8" in got[0][2]


def test_integer_user_ids_are_read_as_text(cli: Cli, tmp_path: Path) -> None:
    ingest(cli, tmp_path / "u.parquet", user_id=pa.array([912000001, 912000002], pa.int64()))
    assert sum(r["mau"] for r in cli.metrics("2022-01")) == 2
