"""Bad input: every problem gets a clear Vietnamese message naming file, line and field; nothing good is lost."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import Cli, write

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
GOOD = "g1,u1,zalo,2022-01-10T08:00:00+07:00,60,100,1,0,Hà Nội\n"


def quarantine(cli: Cli) -> list[dict[str, object]]:
    result = cli("quarantine", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def problems(cli: Cli) -> list[tuple[int | None, str, str]]:
    out = []
    for entry in quarantine(cli):
        for p in json.loads(entry["problems"]):  # type: ignore[arg-type]
            out.append((entry["line"], p["field"], p["message"]))
    return sorted(out, key=lambda x: (x[0] or 0, x[1]))


def stored_mau(cli: Cli, period: str = "2022-01") -> float:
    return sum(r["mau"] for r in cli.metrics(period))  # type: ignore[misc]


def test_each_bad_row_is_named_and_the_good_ones_are_stored(cli: Cli, tmp_path: Path) -> None:
    text = (HEADER + GOOD
            + "b1,u2,no-such-app,2022-01-10,60,0,1,0,\n"          # line 3: unknown platform
            + "b2,u3,zalo,2022-01-10,-5,0,1,0,\n"                # line 4: negative value
            + "b3,u4,zalo,31/01/2022,60,0,1,0,\n"                # line 5: malformed time
            + "b4,u5,zalo,2022-01-10,sixty,0,1.5,0,\n"           # line 6: wrong types (two problems)
            + "b5,u6,zalo,2022-01-10,90000,0,1,0,Atlantis\n"     # line 7: too many seconds, unknown province
            + "b6,,zalo,2022-01-10,60,0,1,0,\n"                  # line 8: missing user_id
            + "g2,u7,messenger,2022-01-11,30,0,1,0,\n")
    result = cli("ingest", "usage", write(tmp_path / "bad.csv", text), "--source", "s")
    assert result.exit_code == 0
    assert "6 dòng bị loại" in result.stderr
    got = problems(cli)
    assert [(line, field) for line, field, _ in got] == [
        (3, "platform"), (4, "active_seconds"), (5, "time"), (6, "active_seconds"), (6, "sessions"),
        (7, "active_seconds"), (7, "province"), (8, "user_id")]
    messages = {(line, field): msg for line, field, msg in got}
    assert "«no-such-app» không có trong danh mục" in messages[(3, "platform")]
    assert "«-5» không phải số nguyên không âm" in messages[(4, "active_seconds")]
    assert "«31/01/2022» không đúng định dạng ISO 8601" in messages[(5, "time")]
    assert "vượt quá 86.400" in messages[(7, "active_seconds")]
    assert "«Atlantis» không nhận ra" in messages[(7, "province")]
    rows = {r["platform"]: r for r in cli.metrics("2022-01")}
    assert rows["zalo"]["mau"] == 1 and rows["messenger"]["mau"] == 1  # both good rows stored


def test_strict_exits_1_when_rows_are_rejected(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", HEADER + GOOD + "b1,u2,nope,2022-01-10,1,0,1,0,\n")
    assert cli("ingest", "usage", path, "--source", "s", "--strict").exit_code == 1
    assert stored_mau(cli) == 1


def test_unreadable_files_exit_2_and_store_nothing(cli: Cli, tmp_path: Path) -> None:
    cases = {
        "missing.csv": ("user_id,platform\nu1,zalo\n", "thiếu cột bắt buộc `time`"),
        "empty.csv": ("", "tệp rỗng"),
        "header-only.csv": (HEADER, "không có dòng dữ liệu nào"),
    }
    for name, (text, message) in cases.items():
        result = cli("ingest", "usage", write(tmp_path / name, text), "--source", "s")
        assert result.exit_code == 2, name
        assert name in result.stderr and message in result.stderr, result.stderr
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = cli("ingest", "usage", binary, "--source", "s")
    assert result.exit_code == 2 and "không phải tệp văn bản" in result.stderr
    fake = write(tmp_path / "data.parquet", HEADER + GOOD)
    result = cli("ingest", "usage", fake, "--source", "s")
    assert result.exit_code == 2 and "không phải Parquet" in result.stderr
    result = cli("ingest", "usage", tmp_path / "nowhere.csv", "--source", "s")
    assert result.exit_code == 2 and "Không tìm thấy tệp" in result.stderr
    assert cli("ingest", "usage", fake, "--source", "Bad Name").exit_code == 2
    assert cli("metrics", "--period", "2022-13").exit_code == 2


def test_a_100_mb_line_is_rejected_alone(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + GOOD)
        f.write("x1,u9,zalo,2022-01-10,60,0,1,0," + "A" * (100 * 1024 * 1024) + "\n")
        f.write("g2,u7,messenger,2022-01-11,30,0,1,0,\n")
    result = cli("ingest", "usage", path, "--source", "s")
    assert result.exit_code == 0, result.stderr
    assert [(line, field) for line, field, _ in problems(cli)] == [(3, "*")]
    assert "dài hơn 64 KiB" in problems(cli)[0][2]
    assert stored_mau(cli) == 2


def test_wrong_column_count_is_rejected_with_its_line(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "cols.csv", HEADER + GOOD + "\n" + "x,u2,zalo\n" + "g2,u7,messenger,2022-01-11,30,0,1,0,\n")
    result = cli("ingest", "usage", path, "--source", "s")
    assert result.exit_code == 0
    # the row's fields are assigned by position, and checked like any other row's: its time is missing
    assert [(line, field) for line, field, _ in problems(cli)] == [(4, "*"), (4, "time")]
    assert "dòng có 3 cột, dòng tiêu đề có 9 cột" in problems(cli)[0][2]
    assert stored_mau(cli) == 2


def test_ndjson_and_gzip_and_parquet_are_read(cli: Cli, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = [json.dumps({"user_id": "a", "platform": "zalo", "time": "2022-01-03", "active_seconds": 5}),
             "{not json",
             json.dumps({"user_id": "b", "platform": "zalo", "time": "2022-01-03T10:00:00+07:00", "bytes": "x"}),
             json.dumps({"user_id": "c", "platform": "mocha", "time": "2022-01-04"})]
    gz = tmp_path / "u.ndjson.gz"
    gz.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert cli("ingest", "usage", gz, "--source", "s").exit_code == 0
    assert [(line, field) for line, field, _ in problems(cli)] == [(2, "*"), (3, "bytes")]
    pq.write_table(pa.table({"user_id": ["d"], "platform": ["zalo"], "time": ["2022-01-05"],
                             "active_seconds": pa.array([7], pa.int64())}), tmp_path / "u.parquet")
    assert cli("ingest", "usage", tmp_path / "u.parquet", "--source", "s").exit_code == 0
    rows = {r["platform"]: r for r in cli.metrics("2022-01")}
    assert rows["zalo"]["mau"] == 2 and rows["mocha"]["mau"] == 1


def test_quarantine_repair_and_retry(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", HEADER + GOOD + "b1,u2,zalo,2022-01-99,60,0,1,0,\n")
    cli("ingest", "usage", path, "--source", "s")
    cli("ingest", "usage", path, "--source", "s")  # sent twice: quarantined once
    assert len(quarantine(cli)) == 1
    export = tmp_path / "fix.csv"
    assert cli("quarantine", "export", "--output", export).exit_code == 0
    text = export.read_text(encoding="utf-8")
    assert "u2" not in text.split("\n", 1)[1]  # no raw user id in the export
    export.write_text(text.replace("2022-01-99", "2022-01-20"), encoding="utf-8")
    result = cli("quarantine", "retry", export)
    assert result.exit_code == 0, result.stderr
    assert quarantine(cli) == []
    assert stored_mau(cli) == 2
    result = cli("quarantine", "retry", export)  # retrying the repair again stores nothing twice
    assert stored_mau(cli) == 2


def test_retry_after_the_catalog_learns_nothing_new_keeps_rows(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "usage", write(tmp_path / "b.csv", HEADER + "b1,u2,nope,2022-01-10,1,0,1,0,\n"), "--source", "s")
    result = cli("quarantine", "retry")
    assert result.exit_code == 0
    assert len(quarantine(cli)) == 1  # still unknown: kept (once), not lost


def test_negative_number_in_an_all_numeric_column(cli: Cli, tmp_path: Path) -> None:
    # every value parses as an integer, so the column takes the typed path; the sign is still checked
    path = write(tmp_path / "neg.csv", HEADER + GOOD + "b2,u3,zalo,2022-01-10,60,-7,1,0,\n")
    assert cli("ingest", "usage", path, "--source", "s").exit_code == 0
    got = problems(cli)
    assert [(line, field) for line, field, _ in got] == [(3, "bytes")]
    assert "«-7» không phải số nguyên không âm" in got[0][2]


def test_an_unknown_ingest_kind_is_an_error_not_a_default(tmp_path: Path) -> None:
    from thuocdo.ingest.readers import InputError
    from thuocdo.workflows import ingest as ingest_workflow

    path = write(tmp_path / "a.csv", "platform,period,metric,value\nzalo,2022-01,mau,10\n")
    with pytest.raises(InputError, match="Không có loại dữ liệu 'aggregate'"):
        ingest_workflow.ingest(tmp_path / "home", "aggregate", [path], "s")
    assert not (tmp_path / "home").exists()  # nothing done: not even a store created


def test_counts_are_printed_in_vietnamese_style(cli: Cli, tmp_path: Path) -> None:
    # 1,203 lines: 1,200 good records and 3 with an unknown platform ("1.203" read, "1.200" stored, "3" rejected)
    lines = ["record_id,user_id,platform,time,active_seconds,bytes,sessions"]
    lines += [f"r{i},u{i % 40},zalo,2022-01-03T10:00:00+07:00,60,1000,1" for i in range(1200)]
    lines += [f"bad{i},u1,không-có,2022-01-03T10:00:00+07:00,60,1000,1" for i in range(3)]
    result = cli("ingest", "usage", write(tmp_path / "many.csv", "\n".join(lines) + "\n"), "--source", "s")
    assert result.exit_code == 0, result.stderr
    assert "1.203" in result.stdout and "1.200" in result.stdout and "1,20" not in result.stdout
    assert "3 dòng bị loại" in result.stderr
