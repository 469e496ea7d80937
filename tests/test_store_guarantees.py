"""Store guarantees: no raw user id anywhere, a private secret, exactly-once storage, atomic batches."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import Cli, write
from thuocdo.ingest.pseudonymise import person_key

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def test_no_raw_user_id_is_stored_anywhere(cli: Cli, home: Path, tmp_path: Path) -> None:
    raw_ids = [f"RAW-{i:04d}-0912345678" for i in range(50)]
    rows = [f"r{i},{uid},zalo,2022-01-{1 + i % 28:02d}T10:00:00+07:00,60,10,1,0,Hà Nội\n"
            for i, uid in enumerate(raw_ids)]
    rows.append(f"bad,{raw_ids[0]},not-a-platform,2022-01-05,1,0,1,0,\n")  # quarantined rows are pseudonymised too
    cli("ingest", "usage", write(tmp_path / "u.csv", HEADER + "".join(rows)), "--source", "s")
    weights = "user_id,month,weight\n" + "".join(f"{uid},2022-01,2\n" for uid in raw_ids) + f"{raw_ids[1]},bad,1\n"
    cli("ingest", "weights", write(tmp_path / "w.csv", weights), "--source", "s")
    assert cli.metrics("2022-01")[0]["mau"] == 100  # the data are really there (50 persons × weight 2)
    found: list[str] = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: bytes" for uid in raw_ids if uid.encode() in data]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            text = " ".join(str(v) for col in table.columns for v in col.to_pylist())
            found += [f"{path}: parquet value" for uid in raw_ids if uid in text]
    con = duckdb.connect(str(home / "thuocdo.duckdb"), read_only=True)
    for (table,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall():
        text = " ".join(str(v) for row in con.sql(f'SELECT * FROM "{table}"').fetchall() for v in row)
        found += [f"table {table}" for uid in raw_ids if uid in text]
    con.close()
    assert found == []


def test_person_keys_are_the_keyed_hash(cli: Cli, home: Path, tmp_path: Path) -> None:
    cli("ingest", "usage", write(tmp_path / "u.csv", HEADER + "r1,Người-dùng-①,zalo,2022-01-03,1,0,1,0,\n"),
        "--source", "s")
    secret = bytes.fromhex((home / "secret.key").read_text())
    files = list((home / "lake" / "person_day").rglob("*.parquet"))
    persons = pq.read_table(files[0]).column("person").to_pylist()
    assert persons == [person_key(secret, "s", "Người-dùng-①")]  # computed by Python's hmac module
    mode = stat.S_IMODE(os.stat(home / "secret.key").st_mode)
    assert mode == 0o600


def totals(cli: Cli, period: str = "2022-01") -> tuple[float, float, float]:
    rows = cli.metrics(period)
    return (sum(r["mau"] for r in rows), sum(r["sessions"] for r in rows), sum(r["installs"] for r in rows))


def test_reingesting_and_overlapping_files_store_nothing_twice(cli: Cli, tmp_path: Path) -> None:
    a = "".join(f"r{i},u{i % 7},zalo,2022-01-{1 + i % 20:02d},{i},0,1,1,\n" for i in range(40))
    b = "".join(f"r{i},u{i % 7},zalo,2022-01-{1 + i % 20:02d},{i},0,1,1,\n" for i in range(20, 60))
    first = cli("ingest", "usage", write(tmp_path / "a.csv", HEADER + a), "--source", "s")
    assert first.exit_code == 0
    once = totals(cli)
    cli("ingest", "usage", tmp_path / "a.csv", "--source", "s")
    assert totals(cli) == once
    cli("ingest", "usage", write(tmp_path / "b.csv", HEADER + b), "--source", "s")
    # 60 distinct records r0..r59: each has sessions 1 and installs 1
    assert totals(cli)[1:] == (60, 60)
    cli("ingest", "usage", tmp_path / "b.csv", tmp_path / "a.csv", "--source", "s")
    assert totals(cli)[1:] == (60, 60)
    # the same record_id in another source is another record
    cli("ingest", "usage", tmp_path / "a.csv", "--source", "other")
    assert totals(cli)[1:] == (100, 100)


def _big_file(path: Path, n: int, offset: int) -> Path:
    with open(path, "w") as f:
        f.write(HEADER)
        for i in range(offset, offset + n):
            f.write(f"r{i},user{i % 5000},zalo,2022-01-{1 + i % 31:02d}T{i % 24:02d}:00:00Z,{i % 600},{i},1,0,\n")
    return path


@pytest.mark.slow
def test_a_killed_ingest_leaves_all_or_nothing_and_a_retry_completes(tmp_path: Path) -> None:
    files = [_big_file(tmp_path / "a.csv", 150_000, 0), _big_file(tmp_path / "b.csv", 150_000, 150_000)]
    cmd = [sys.executable, "-m", "thuocdo", "--home", "{home}", "ingest", "usage", *map(str, files), "--source", "s"]

    def run(home: Path, kill_after: float | None) -> float:
        start = time.monotonic()
        proc = subprocess.Popen([c.replace("{home}", str(home)) for c in cmd], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if kill_after is None:
            assert proc.wait() == 0
        else:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        return time.monotonic() - start

    clean = Cli(tmp_path / "clean")
    duration = run(clean.home, None)
    expected = totals(clean, "2022-Q1")
    assert expected[1] == 300_000
    for fraction in (0.35, 0.5, 0.65, 0.8, 0.95):
        cli = Cli(tmp_path / f"killed-{fraction}")
        run(cli.home, duration * fraction)
        if (cli.home / "thuocdo.duckdb").exists():
            seen = totals(cli, "2022-Q1")
            # whole batches only: nothing, the first file, or both (each file has 150,000 sessions)
            assert seen[1] in (0, 150_000, 300_000), (fraction, seen)
        run(cli.home, None)  # retry the same command
        assert totals(cli, "2022-Q1") == expected
        assert list((cli.home / "lake").rglob("_staging/*")) == []


def test_a_store_in_use_by_another_process_gives_a_clear_error(home: Path, cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "usage", write(tmp_path / "u.csv", HEADER + "r1,u1,zalo,2022-01-03,1,0,1,0,\n"), "--source", "s")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(30)", str(home / "thuocdo.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = subprocess.run([sys.executable, "-m", "thuocdo", "--home", str(home), "metrics", "--period",
                                 "2022-01"], capture_output=True, text=True, check=False)
        assert result.returncode == 2
        assert "đang được một tiến trình khác dùng (PID" in " ".join(result.stderr.split())
    finally:
        holder.kill()
        holder.wait()


def test_a_batch_that_fails_after_staging_publishes_nothing_later(home: Path, cli: Cli, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from thuocdo.catalog import load_catalog
    from thuocdo.ingest import usage
    from thuocdo.rollups.rebuild import rebuild_dirty
    from thuocdo.store import Store

    real = usage.commit_batch

    def failing_commit(store: Store, result: object, **kwargs: object) -> None:
        if result.file == "a.csv":
            raise RuntimeError("disk full")
        real(store, result, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(usage, "commit_batch", failing_commit)
    a = write(tmp_path / "a.csv", HEADER + "r1,u1,zalo,2022-01-03,1,0,1,0,\n")
    b = write(tmp_path / "b.csv", HEADER + "r2,u2,mocha,2022-01-04,1,0,1,0,\n")
    with Store(home) as store:  # one store session: the failed batch must not leave staged files behind
        with pytest.raises(RuntimeError):
            usage.ingest_usage_file(store, a, "s", load_catalog())
        usage.ingest_usage_file(store, b, "s", load_catalog())
        rebuild_dirty(store)
    assert [r["platform"] for r in cli.metrics("2022-01")] == ["mocha"]
