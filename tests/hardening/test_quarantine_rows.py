"""One quarantine row per rejected line, whatever its content: the count the command prints is the count kept."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, write

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def entries(cli: Cli) -> list[dict[str, object]]:
    result = cli("quarantine", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_identical_lines_that_are_not_objects_are_kept_one_by_one(cli: Cli, tmp_path: Path) -> None:
    body = "\n".join(["1", "1", '{"record_id": "g", "user_id": "u", "platform": "zalo", "time": "2022-01-03"}',
                      "1", "1"]) + "\n"
    result = cli("ingest", "usage", write(tmp_path / "u.ndjson", body), "--source", "s")
    assert result.exit_code == 0 and "4 dòng bị loại" in result.stderr
    assert sorted(e["line"] for e in entries(cli)) == [1, 2, 4, 5]


def test_identical_bad_csv_rows_on_different_lines_are_kept_one_by_one(cli: Cli, tmp_path: Path) -> None:
    bad = ",u1,no-such-app,2022-01-03,1,0,1,0,\n"
    write(tmp_path / "u.csv", HEADER + bad + bad + bad)
    assert cli("ingest", "usage", tmp_path / "u.csv", "--source", "s").exit_code == 0
    assert sorted(e["line"] for e in entries(cli)) == [2, 3, 4]


def test_the_same_file_sent_twice_keeps_each_rejected_line_once(cli: Cli, tmp_path: Path) -> None:
    bad = ",u1,no-such-app,2022-01-03,1,0,1,0,\n"
    path = write(tmp_path / "u.csv", HEADER + bad + bad)
    for _ in range(2):
        assert cli("ingest", "usage", path, "--source", "s").exit_code == 0
    assert sorted(e["line"] for e in entries(cli)) == [2, 3]
