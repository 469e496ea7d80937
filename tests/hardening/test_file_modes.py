"""A store is private: its files are readable by their owner only (pseudonymised data, key hashes, the secret)."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.conftest import Cli, write
from thuocdo.workflows.access import Access

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def test_every_file_is_0600_and_every_folder_0700(cli: Cli, home: Path, tmp_path: Path) -> None:
    rows = HEADER + "r1,u1,zalo,2022-01-03,60,0,1,0,Hà Nội\nr2,u2,no-such-app,2022-01-03,60,0,1,0,\n"
    assert cli("ingest", "usage", write(tmp_path / "u.csv", rows), "--source", "s").exit_code == 0
    Access(home).create_key("admin")
    assert cli.metrics("2022-01")[0]["mau"] == 1
    wrong = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        if mode != expected:
            wrong.append(f"{path.relative_to(home.parent)}: {oct(mode)}")
    assert (home / "thuocdo.duckdb").exists() and (home / "access.sqlite").exists()
    assert wrong == []
