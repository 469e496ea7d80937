"""Property: whatever happens to the bytes of a good usage file, the readers never fail on it except by
refusing the whole file (InputError), the lines the damage did not touch are stored, and ingesting the damaged
file again stores nothing new. Permuting a CSV's columns changes nothing that is stored."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from thuocdo.workflows.ingest import IngestReport, ingest
from thuocdo.workflows.quarantine import quarantine_entries

COLUMNS = ["record_id", "user_id", "platform", "time", "active_seconds", "bytes", "sessions", "installs", "province"]


def rows(platforms: list[str], provinces: list[str]) -> list[list[str]]:
    return [[f"r{i:02d}", f"u{i % 7}", platforms[i % 4], f"2022-01-{1 + i:02d}T08:00:00+07:00", str(60 * i),
             str(1000 * i), "1", str(i % 2), provinces[i % 5]] for i in range(20)]


def csv_bytes(table: list[list[str]]) -> bytes:
    return ("\n".join(",".join(row) for row in table) + "\n").encode()


ROWS = rows(["zalo", "messenger", "mocha", "viber"], ["Hà Nội", "Huế", "", "79", "Đà Nẵng"])  # all good
MIXED = rows(["zalo", "messenger", "mocha", "no-such-app"], ["Hà Nội", "Huế", "", "79", "Atlantis"])
GOOD_CSV = csv_bytes([COLUMNS, *ROWS])
GOOD_NDJSON = "".join(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False) + "\n"
                      for row in ROWS).encode()
#: the documented rule of the readers, written again here: more than 5% of the first 4 KiB are control bytes
CONTROL = set(range(32)) - {9, 10, 12, 13} | {127}

SETTINGS = settings(max_examples=50, deadline=None)
special = st.sampled_from([b"\x00", b"\xff", b"\x80", b"\xc3", b"\xe1\xbb", b"\n", b"\r", b",", b'"', b"{", b"\t"])
chunk = st.one_of(special, st.binary(min_size=1, max_size=4))


@dataclass
class Damaged:
    data: bytes
    touched: set[int]  # 1-based numbers of the original lines whose bytes changed
    n_lines: int


def damage(original: bytes, edits: list[tuple[str, float, bytes]], cut: float | None, quotes_matter: bool) -> Damaged:
    """Apply the edits (at relative positions) and the truncation, following the original line of every byte."""
    cells: list[tuple[int, int | None]] = []  # (byte, its original line or None when inserted)
    line = 1
    for b in original:
        cells.append((b, line))
        line += b == 10
    n_lines = line - 1
    touched: set[int] = set()

    def lines_around(i: int) -> set[int]:
        return {ln for _, ln in cells[max(i - 1, 0):i + 1] if ln is not None}

    for kind, where, payload in edits:
        i = min(int(where * len(cells)), max(len(cells) - 1, 0))
        if not cells:
            break
        if kind == "insert":
            touched |= lines_around(i)
            cells[i:i] = [(b, None) for b in payload]
        else:  # replace or delete
            gone = cells[i:i + len(payload)]
            touched |= {ln for _, ln in gone if ln is not None} | lines_around(i)
            touched |= {ln + 1 for b, ln in gone if b == 10 and ln is not None}  # a line joined to the next
            cells[i:i + len(payload)] = [(b, None) for b in payload] if kind == "replace" else []
        if quotes_matter and b'"' in payload and kind != "delete":
            touched |= set(range(min(lines_around(i), default=1), n_lines + 1))  # an open quote runs to the end
    if cut is not None:
        at = int(cut * len(cells))
        touched |= {ln for _, ln in cells[at:] if ln is not None}
        del cells[at:]
    return Damaged(bytes(b for b, _ in cells), touched, n_lines)


def binary_by_rule(data: bytes) -> bool:
    """Refused whole by the readers' documented rules: mostly control bytes, or a UTF-16 byte-order mark."""
    head = data[:4096]
    return sum(b in CONTROL for b in head) > 0.05 * len(head) or head.startswith((b"\xff\xfe", b"\xfe\xff"))


def run(home: Path, path: Path) -> IngestReport:
    return ingest(home, "usage", [path], "s")


edits = st.lists(st.tuples(st.sampled_from(["insert", "replace", "delete"]), st.floats(0, 1), chunk), max_size=3)


@SETTINGS
@given(edits=edits, cut=st.one_of(st.none(), st.floats(0, 1)), kind=st.sampled_from(["csv", "ndjson"]))
@example(edits=[("insert", 0.0, b"\xff\xfe")], cut=None, kind="ndjson")  # a UTF-16 mark: refused whole, by rule
def test_damaged_files_are_read_line_by_line(edits: list[tuple[str, float, bytes]], cut: float | None,
                                             kind: str) -> None:
    original = GOOD_CSV if kind == "csv" else GOOD_NDJSON
    damaged = damage(original, edits, cut, quotes_matter=kind == "csv")
    data_lines = set(range(2, damaged.n_lines + 1)) if kind == "csv" else set(range(1, damaged.n_lines + 1))
    untouched = len(data_lines - damaged.touched)
    header_touched = kind == "csv" and 1 in damaged.touched
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"usage.{kind}"
        path.write_bytes(damaged.data)
        first = run(Path(tmp) / "home", path)
        if first.errors:
            assert untouched == 0 or header_touched or binary_by_rule(damaged.data), first.errors
            return
        assert not binary_by_rule(damaged.data)
        [result] = first.results
        if not header_touched:
            assert result.stored >= untouched
        quarantined = quarantine_entries(Path(tmp) / "home").num_rows
        assert quarantined == result.rejected  # one quarantine row per rejected line
        [again] = run(Path(tmp) / "home", path).results
        assert again.stored == 0
        assert quarantine_entries(Path(tmp) / "home").num_rows == quarantined


@SETTINGS
@given(order=st.permutations(range(len(COLUMNS))))
def test_permuted_columns_store_the_same_records(order: list[int]) -> None:
    """Rows with bad values too: the same lines are rejected, with the same problems."""
    permuted = csv_bytes([[row[i] for i in order] for row in [COLUMNS, *MIXED]])
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("a", csv_bytes([COLUMNS, *MIXED])), ("b", permuted)):
            (Path(tmp) / name).mkdir()
            (Path(tmp) / name / "usage.csv").write_bytes(data)
        [first] = run(Path(tmp) / "home", Path(tmp) / "a" / "usage.csv").results
        quarantined = quarantine_entries(Path(tmp) / "home").num_rows
        [second] = run(Path(tmp) / "home", Path(tmp) / "b" / "usage.csv").results
        assert (first.stored, first.rejected) == (12, 8)  # no-such-app: i ≡ 3 mod 4 (5 rows); Atlantis: i ≡ 4 mod 5
        #                                               (4 rows); i = 19 is both
        assert (second.stored, second.duplicates, second.rejected) == (0, first.stored, first.rejected)
        assert quarantine_entries(Path(tmp) / "home").num_rows == quarantined  # the same rejected lines
