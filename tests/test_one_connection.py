"""Inputs of every kind ingested one after the other on one connection (as the server's is): each leaves its
relations behind, and the next must replace them whatever their kind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import write
from thuocdo.catalog import load_catalog
from thuocdo.ingest.contracts import USAGE
from thuocdo.ingest.readers import read_input
from thuocdo.ingest.usage import ingest_usage
from thuocdo.ingest.weights import ingest_weights
from thuocdo.store import Store, StoreError
from thuocdo.store.home import MEMORY_LIMIT_ENV

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def test_csv_then_weights_then_ndjson_then_csv_on_one_connection(tmp_path: Path) -> None:
    csv_file = write(tmp_path / "a.csv", HEADER + "r1,u1,zalo,2022-01-03,60,0,1,0,Hà Nội\n")
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,2.5\n")
    ndjson = write(tmp_path / "b.ndjson", '{"record_id": "r2", "user_id": "u2", "platform": "zalo", '
                                         '"time": "2022-01-04", "active_seconds": 30}\n')
    later = write(tmp_path / "c.csv", HEADER + "r3,u3,zalo,2022-01-05,60,0,1,0,\n")
    catalog = load_catalog()
    with Store(tmp_path / "home") as store:
        stored = [ingest_usage(store, read_input(csv_file, USAGE), "s", catalog).stored,
                  ingest_weights(store, weights, "s").stored,
                  ingest_usage(store, read_input(ndjson, USAGE), "s", catalog).stored,
                  ingest_usage(store, read_input(later, USAGE), "s", catalog).stored]
        assert stored == [1, 1, 1, 1]
        assert store.con.execute("SELECT person, weight FROM weights").fetchall()[0][1] == 2.5


def test_the_memory_limit_is_the_environment_s_and_a_bad_one_is_refused(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "750MB")
    with Store(tmp_path / "home") as store:
        limit = store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit in ("750.0 MB", "715.2 MiB"), limit  # DuckDB shows it in its own units
    # unset: 3 GB (a 100 M-record ingestion then stays under 4 GiB), DuckDB's own default on a small machine
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    with Store(tmp_path / "home") as store:
        limit = store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    with duckdb.connect() as con:  # DuckDB's own default: 80% of what the process may use (machine or container)
        own = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    value, unit = own.split()
    if float(value) * {"MiB": 2**20, "GiB": 2**30, "TiB": 2**40}.get(unit, 0) > 3e9:
        assert limit in ("3.0 GB", "2.7 GiB"), limit
    else:
        assert limit == own
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "a lot")
    with pytest.raises(StoreError, match="THUOCDO_MEMORY_LIMIT=a lot không hợp lệ"):
        Store(tmp_path / "home")


def test_running_out_of_memory_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    # a limit far too small for anything: the command says what happened and what to do, exit status 2
    csv = write(tmp_path / "a.csv", HEADER + "".join(f"r{i},u{i},zalo,2022-03-01T10:00:00+07:00,60,0,1,0,01\n"
                                                     for i in range(1000)))
    env = {**os.environ, MEMORY_LIMIT_ENV: "1MB", "COLUMNS": "300",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run([sys.executable, "-m", "thuocdo", "--home", str(tmp_path / "home"), "ingest", "usage",
                           str(csv), "--source", "s"], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "không đủ bộ nhớ" in done.stderr
    assert f"{MEMORY_LIMIT_ENV}=8GB" in done.stderr and "1MB" in done.stderr
