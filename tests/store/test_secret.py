"""The pseudonymisation secret: created once and atomically, checked at every opening, never silently re-made."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli, write
from tests.store.secret_race import open_secret
from thuocdo.store import Store, StoreError
from thuocdo.store.home import SECRET_FILE

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def _usage(tmp_path: Path) -> Path:
    return write(tmp_path / "u.csv",
                 HEADER + "r1,0912000001,zalo,2022-01-03,60,0,1,0,\nr2,0912000002,zalo,2022-01-03,60,0,1,0,\n")


def _thuocdo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "thuocdo", "--home", str(home), *args], capture_output=True,
                          text=True, check=False, timeout=120)


def test_a_new_store_gets_a_private_64_digit_key(tmp_path: Path) -> None:
    with Store(tmp_path / "h") as store:
        secret = store.secret
    path = tmp_path / "h" / SECRET_FILE
    assert len(secret) == 32 and path.read_text() == secret.hex()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []  # no temporary file left


@pytest.mark.parametrize("damage", ["deleted", "empty", "two bytes", "not hex"])
def test_a_store_with_data_refuses_a_missing_or_damaged_key(cli: Cli, home: Path, tmp_path: Path, damage: str) -> None:
    assert cli("ingest", "usage", _usage(tmp_path), "--source", "s").exit_code == 0
    path = home / SECRET_FILE
    match damage:
        case "deleted":
            path.unlink()
        case "empty":
            path.write_text("")
        case "two bytes":
            path.write_text("abcd")
        case "not hex":
            path.write_text("z" * 64)
    before = path.read_bytes() if path.exists() else None
    result = _thuocdo(home, "ingest", "usage", str(_usage(tmp_path)), "--source", "s")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "khóa bí mật" in result.stderr and "sao lưu" in result.stderr
    assert (path.read_bytes() if path.exists() else None) == before  # nothing made in its place
    path.unlink(missing_ok=True)
    assert not path.exists()


def test_restoring_the_key_restores_exactly_once(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert cli("ingest", "usage", _usage(tmp_path), "--source", "s").exit_code == 0
    backup = (home / SECRET_FILE).read_bytes()
    (home / SECRET_FILE).unlink()
    assert _thuocdo(home, "metrics", "--period", "2022-01").returncode == 2
    (home / SECRET_FILE).write_bytes(backup)
    os.chmod(home / SECRET_FILE, 0o600)
    again = cli("ingest", "usage", _usage(tmp_path), "--source", "s")
    assert again.exit_code == 0
    assert cli.metrics("2022-01")[0]["mau"] == 2  # the same file again: nothing stored twice


def test_processes_creating_one_key_at_once_all_get_the_same_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    for trial in range(3):
        path = tmp_path / f"t{trial}" / SECRET_FILE
        queue = context.Queue()
        workers = [context.Process(target=open_secret, args=(str(path), queue)) for _ in range(6)]
        for w in workers:
            w.start()
        keys = [queue.get(timeout=60) for _ in workers]
        for w in workers:
            w.join()
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        assert path.read_text() == keys[0]


def test_reading_a_store_without_its_key_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.con.execute("SELECT 1")
    (tmp_path / SECRET_FILE).unlink()
    with pytest.raises(StoreError, match="sao lưu"):
        Store(tmp_path, read_only=True)
