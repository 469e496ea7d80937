"""Rejected lines keep no raw text: their fields are kept (user_id pseudonymised) where they can be assigned
to columns, and the export has one row per rejected line, so that a repair can be retried."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import Cli
from thuocdo.ingest.pseudonymise import person_key

HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def raw_id(n: int) -> str:
    return f"RAWID-{n:03d}-0912345678"


def bad_files(tmp_path: Path) -> int:
    """Files with bad lines of every kind, each naming a different raw id; returns the number of bad lines."""
    csv_lines = [
        f"g1,{raw_id(1)},zalo,2022-01-10,60,0,1,0,\n",             # line 2: good
        f"x2,{raw_id(2)},zalo\n",                                   # line 3: too few columns
        f"x3,{raw_id(3)},zalo,2022-01-10,60,0,1,0,Huế,extra\n",     # line 4: too many columns
        f"x4,{raw_id(4)},no-such-app,2022-01-10,60,0,1,0,\n",       # line 5: unknown platform
        f"x5,{raw_id(5)},zalo,2022-01-10,60,0,1,0,H\xe0 N\xf4i\n",  # line 6: Latin-1 province (written below)
        f"x6,{raw_id(6)}\xff,zalo,2022-01-10,60,0,1,0,\n",          # line 7: a bad byte in the user id itself
        f"x7,{raw_id(7)},za\x00lo,2022-01-10,60,0,1,0,\n",          # line 8: NUL
        f"x8,{raw_id(8)},zalo,2022-01-10,60,0,1,0," + "A" * 70_000 + "\n",  # line 9: too long
        f'x9,"{raw_id(9)},zalo,2022-01-10,60,0,1,0,\n',            # line 10: a quote never closed swallows
        f"g2,{raw_id(10)},zalo,2022-01-10,60,0,1,0,\n",            # line 11 (one record: too few columns)
    ]
    (tmp_path / "u.csv").write_bytes(HEADER.encode() + b"".join(line.encode("latin-1") if "\xe0" in line or "\xff"
                                                                 in line else line.encode() for line in csv_lines))
    ndjson = [json.dumps({"record_id": "n1", "user_id": raw_id(11), "platform": "zalo", "time": "2022-01-10"}),
              '{"record_id": "n2", "user_id": "' + raw_id(12) + '", "platform": ',   # not JSON
              json.dumps({"record_id": "n3", "user_id": raw_id(13), "platform": "nope", "time": "2022-01-10"})]
    (tmp_path / "v.csv").write_text(HEADER + f'v1,{raw_id(14)},zalo,2022-01-10,60,0,1,0,"Huế\n'  # swallows line 3
                                    f"v2,{raw_id(15)},zalo,2022-01-10,60,0,1,0,\n", encoding="utf-8")
    (tmp_path / "u.ndjson").write_text("\n".join(ndjson) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"user_id": pa.array([raw_id(21).encode(), raw_id(22).encode() + b"\xff"], pa.binary()),
                             "platform": ["zalo", "zalo"], "time": ["2022-01-10", "2022-01-10"]}),
                   tmp_path / "u.parquet")
    return 8 + 1 + 2 + 1


def raw_ids_on_disk(home: Path) -> list[str]:
    ids = [raw_id(n) for n in (*range(1, 16), 21, 22)]
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {i}" for i in ids if i.encode() in data]
        if path.suffix == ".parquet":
            text = " ".join(str(v) for col in pq.read_table(path).columns for v in col.to_pylist())
            found += [f"{path.name} (values): {i}" for i in ids if i in text]
    con = duckdb.connect(str(home / "thuocdo.duckdb"), read_only=True)
    for (table,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall():
        text = " ".join(str(v) for row in con.sql(f'SELECT * FROM "{table}"').fetchall() for v in row)
        found += [f"table {table}: {i}" for i in ids if i in text]
    con.close()
    return found


def test_no_raw_id_of_a_rejected_line_reaches_disk(cli: Cli, home: Path, tmp_path: Path) -> None:
    n_bad = bad_files(tmp_path)
    for name in ("u.csv", "v.csv", "u.ndjson", "u.parquet"):
        assert cli("ingest", "usage", tmp_path / name, "--source", "s").exit_code == 0
    assert cli("quarantine", "export", "--output", tmp_path / "fix.csv").exit_code == 0
    listed = cli("quarantine", "list")
    assert raw_ids_on_disk(home) == []
    assert "RAWID" not in listed.stdout and "RAWID" not in (tmp_path / "fix.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "fix.csv").read_text(encoding="utf-8"))))
    assert len(rows) == n_bad
    assert sorted((r["file"], int(r["line"])) for r in rows) == sorted(
        [("u.csv", n) for n in range(3, 11)] + [("v.csv", 2), ("u.ndjson", 2), ("u.ndjson", 3), ("u.parquet", 2)])


def test_a_line_with_missing_columns_can_be_repaired_and_retried(cli: Cli, home: Path, tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(HEADER + f"g1,{raw_id(1)},zalo,2022-01-10,60,0,1,0,\n"
                                    f"x2,{raw_id(2)},zalo\n", encoding="utf-8")
    assert cli("ingest", "usage", tmp_path / "u.csv", "--source", "s").exit_code == 0
    assert cli("quarantine", "export", "--output", tmp_path / "fix.csv").exit_code == 0
    [row] = list(csv.DictReader(io.StringIO((tmp_path / "fix.csv").read_text(encoding="utf-8"))))
    secret = bytes.fromhex((home / "secret.key").read_text())
    assert (row["line"], row["record_id"], row["platform"], row["time"]) == ("3", "x2", "zalo", "")
    assert row["user_key"] == str(person_key(secret, "s", raw_id(2)))  # by header position, pseudonymised
    row["time"] = "2022-01-11"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    (tmp_path / "fix.csv").write_text(out.getvalue(), encoding="utf-8")
    assert cli("quarantine", "retry", tmp_path / "fix.csv").exit_code == 0
    assert cli.metrics("2022-01")[0]["mau"] == 2  # the repaired line counts its own person
    assert json.loads(cli("quarantine", "list", "--format", "json").stdout) == []
