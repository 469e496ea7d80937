"""Person keys computed ahead of the typed pass (`pretype_persons`, hashlib) are those of validation's SQL.

The reference is the SQL HMAC (`person_key_sql`, DuckDB's sha256) over the same ids, with validation's rule for
which ids are keyed (not empty, at most MAX_USER_ID characters); and a file checked with and without the keys
computed ahead gives the same good rows and the same quarantine.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.checked_usage import checked_rows
from thuocdo.ingest import usage
from thuocdo.ingest.contracts import MAX_USER_ID, USAGE
from thuocdo.ingest.pseudonymise import person_key_params, person_key_sql
from thuocdo.ingest.readers import read_input
from thuocdo.ingest.validate import PERSON_COLUMN, pretype_persons

SECRET = bytes(range(32))


def _reference(ids: list[str | None], domain: str) -> list[int | None]:
    con = duckdb.connect()
    con.register("r", pa.table({"user_id": pa.array(ids, pa.string())}))
    rows = con.execute(f"SELECT CASE WHEN user_id <> '' AND length(user_id) <= {MAX_USER_ID} "
                       f"THEN {person_key_sql('user_id')} END FROM (SELECT row_number() OVER () AS n, user_id FROM r) "
                       "ORDER BY n", person_key_params(SECRET, domain)).fetchall()
    return [r[0] for r in rows]


_IDS = st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=12),
                 st.sampled_from(["0912345678", "u1", "người dùng", " u1", "x" * MAX_USER_ID, "x" * (MAX_USER_ID + 1),
                                  "ư" * MAX_USER_ID, "ư" * (MAX_USER_ID + 1)]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_IDS, min_size=1, max_size=30), st.sampled_from(["telco-a", "", "đối tác"]))
def test_keys_computed_ahead_are_the_sql_keys(ids: list[str | None], domain: str) -> None:
    table = pretype_persons(pa.table({"user_id": pa.array(ids, pa.string())}), SECRET, domain)
    assert table[PERSON_COLUMN].to_pylist() == _reference(ids, domain)


def test_a_known_key_by_hand() -> None:
    import hashlib
    import hmac

    # the first 8 bytes of HMAC-SHA256(secret, "telco-a" ␟ "0912345678"), less 2^63 (pseudonymise.person_key)
    digest = hmac.new(SECRET, b"telco-a\x1f0912345678", hashlib.sha256).digest()
    expected = int.from_bytes(digest[:8], "big") - 2**63
    table = pretype_persons(pa.table({"user_id": ["0912345678", None, ""]}), SECRET, "telco-a")
    assert table[PERSON_COLUMN].to_pylist() == [expected, None, None]


def test_a_file_checked_with_and_without_keys_computed_ahead_gives_the_same_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,user_key,province"]
    ids = ["u1", "u2", "", "người dùng", "x" * (MAX_USER_ID + 1), "u1", "", "u3"]
    keys = ["", "", "", "", "", "", "123456", "oops"]
    for i, (uid, key) in enumerate(zip(ids, keys, strict=True)):
        lines.append(f"r{i},{uid},zalo,2022-01-31T17:30:00Z,60,100,1,0,{key},Hà Nội")
    lines.append('r9,"u4\nu5",zalo,2022-01-31T17:30:00Z,60,100,1,0,,01')  # a value over two lines
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = read_input(path, USAGE)

    ahead = checked_rows(raw, SECRET)
    monkeypatch.setattr(usage, "pretype_persons", lambda table, secret, domain: table)
    assert checked_rows(raw, SECRET) == ahead
    good, bad = ahead
    # by hand: u1, u2, người dùng, u1 again (another record), the row keyed by its user_key and u3 (whose user_key
    # is not read: it has a user_id) are good; the empty id, the id too long and the value over two lines are not
    assert [line for line, *_ in good] == [2, 3, 5, 7, 8, 9]
    assert [line for line, *_ in bad] == [4, 6, 10]
