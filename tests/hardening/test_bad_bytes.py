"""A bad byte (not UTF-8, or NUL) rejects its own line, named with its field; the rest of the file is stored.
A file that is mostly binary is still refused whole."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli

HEADER = b"record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"
GOOD = b"g1,u1,zalo,2022-01-10T08:00:00+07:00,60,100,1,0,H\xc3\xa0 N\xe1\xbb\x99i\n"  # "Hà Nội" in UTF-8
OTHER = b"g2,u7,messenger,2022-01-11,30,0,1,0,\n"


def ingest(cli: Cli, path: Path, data: bytes) -> str:
    path.write_bytes(data)
    result = cli("ingest", "usage", path, "--source", "s")
    assert result.exit_code == 0, result.stderr
    return result.stderr


def entries(cli: Cli) -> list[dict[str, object]]:
    result = cli("quarantine", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def problems(cli: Cli) -> list[tuple[object, str, str]]:
    return sorted(((e["line"], p["field"], p["message"]) for e in entries(cli)
                   for p in json.loads(str(e["problems"]))), key=lambda x: (x[0], x[1]))


def mau(cli: Cli) -> dict[object, object]:
    return {r["platform"]: r["mau"] for r in cli.metrics("2022-01")}


def test_a_byte_that_is_not_utf8_rejects_its_line_only(cli: Cli, tmp_path: Path) -> None:
    bad = b"b1,u2,zalo,2022-01-10,60,0,1,0,H\xe0 N\xf4i\n"  # "Hà Nội" in Latin-1: not UTF-8
    stderr = ingest(cli, tmp_path / "u.csv", HEADER + GOOD + bad + OTHER)
    assert "1 dòng bị loại" in stderr
    [(line, field, message)] = problems(cli)
    assert (line, field) == (3, "province")
    assert "UTF-8" in message
    assert "u.csv, dòng 3, cột `province`:" in stderr
    assert mau(cli) == {"zalo": 1, "messenger": 1}


def test_a_nul_byte_at_the_start_of_the_file_rejects_its_line_only(cli: Cli, tmp_path: Path) -> None:
    bad = b"b1,u2,za\x00lo,2022-01-10,60,0,1,0,\n"
    ingest(cli, tmp_path / "u.csv", HEADER + bad + GOOD + OTHER)
    [(line, field, message)] = problems(cli)
    assert (line, field) == (2, "platform")
    assert "NUL" in message
    assert mau(cli) == {"zalo": 1, "messenger": 1}


def test_bad_bytes_after_a_blank_line_and_a_value_over_two_lines_keep_their_line(cli: Cli, tmp_path: Path) -> None:
    two_lines = b'g3,u8,zalo,2022-01-12,60,0,1,0,"H\xc3\xa0\nN\xe1\xbb\x99i"\n'  # lines 3 and 4: no province
    bad = b"b1,u\xff2,zalo,2022-01-10,60,0,1,0,\n"  # line 6, after the blank line 5
    ingest(cli, tmp_path / "u.csv", HEADER + GOOD + two_lines + b"\n" + bad + OTHER)
    assert [(line, field) for line, field, _ in problems(cli)] == [(3, "province"), (6, "user_id")]
    assert mau(cli) == {"zalo": 1, "messenger": 1}


def test_a_bad_byte_in_user_id_keeps_no_person_key(cli: Cli, tmp_path: Path) -> None:
    ingest(cli, tmp_path / "u.csv", HEADER + GOOD + b"b1,u\xff2,mocha,2022-01-10,60,0,1,0,\n")
    [entry] = entries(cli)
    record = json.loads(str(entry["record"]))
    assert record["user_key"] is None  # a hash of a damaged id would name another person on retry
    assert (record["record_id"], record["platform"]) == ("b1", "mocha")


def test_ndjson_bad_bytes_name_their_field(cli: Cli, tmp_path: Path) -> None:
    good = b'{"record_id": "j1", "user_id": "u1", "platform": "zalo", "time": "2022-01-10"}\n'
    lines = [b'{"record_id": "j2", "user_id": "u2", "platform": "za\xfflo", "time": "2022-01-10"}\n',
             b'{"record_id": "j3", "user_id": "u3", "platform": "zalo", "time": "2022-01-10\x00"}\n',
             b"\xff\xfe\n"]
    ingest(cli, tmp_path / "u.ndjson", good + b"".join(lines))
    assert [(line, field) for line, field, _ in problems(cli)] == [(2, "platform"), (3, "time"), (4, "*")]
    assert mau(cli) == {"zalo": 1}


def test_a_file_that_is_mostly_binary_is_refused_whole(cli: Cli, tmp_path: Path) -> None:
    image = tmp_path / "photo.csv"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    result = cli("ingest", "usage", image, "--source", "s")
    assert result.exit_code == 2
    assert "photo.csv" in result.stderr and "nhị phân" in result.stderr
    utf16 = tmp_path / "excel.csv"
    utf16.write_bytes((HEADER + OTHER).decode().encode("utf-16"))
    result = cli("ingest", "usage", utf16, "--source", "s")
    assert result.exit_code == 2 and "UTF-16" in result.stderr


def test_the_binary_rule_is_more_than_five_percent_control_bytes_in_the_first_4_kib() -> None:
    from thuocdo.ingest.readers import looks_binary

    assert not looks_binary(b"a" * 95 + b"\x00" * 5)  # 5 of 100: text with a few bad bytes
    assert looks_binary(b"a" * 94 + b"\x01" * 6)  # 6 of 100
    assert not looks_binary(b"a,b\t\r\n\f" * 100)  # tab, line ends and form feed are text
    assert not looks_binary(b"\x00" * 10 + b"a" * 4086 + b"\x00" * 1000)  # only the first 4096 bytes count


def test_weights_with_a_bad_byte_keep_their_other_lines(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(b"user_id,month,weight\nu1,2022-01,2\nu\xff2,2022-01,3\nu3,2022-01,4\n")
    result = cli("ingest", "weights", path, "--source", "s")
    assert result.exit_code == 0, result.stderr
    assert [(line, field) for line, field, _ in problems(cli)] == [(3, "user_id")]
    [row] = [line for line in result.stdout.splitlines() if "w.csv" in line]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["w.csv", "3", "2", "0", "1"]  # read, stored…


def test_lines_of_an_old_macintosh_file_end_with_a_carriage_return(cli: Cli, tmp_path: Path) -> None:
    bad = b"b1,u2,no-such-app,2022-01-10,60,0,1,0,\r"
    ingest(cli, tmp_path / "mac.csv", (HEADER + GOOD + bad + OTHER).replace(b"\n", b"\r"))
    assert [(line, field) for line, field, _ in problems(cli)] == [(3, "platform")]
    assert mau(cli) == {"zalo": 1, "messenger": 1}
