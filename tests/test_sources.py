"""Sources as data: the registry (declared sources and those known from their data), the link key of person keys,
and `thuocdo sources list|show|declare` with its checks. Every expected number is worked out by hand here."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.conftest import Cli, CliResult, write
from thuocdo.catalog import load_catalog
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.stream import Submission, Writer, accept_usage
from thuocdo.store import Store
from thuocdo.store import sources as registry

USAGE_HEADER = "record_id,user_id,platform,time,active_seconds,bytes,sessions,installs,province\n"


def expected_key(secret: bytes, domain: str, user_id: str) -> int:
    """The documented person key, computed here with Python's hmac: the first 64 bits of HMAC-SHA256(secret,
    domain ␟ user_id) as an unsigned number, moved by 2⁶³ into the signed range."""
    digest = hmac.new(secret, domain.encode() + b"\x1f" + user_id.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") - 2**63


def secret_of(home: Path) -> bytes:
    return bytes.fromhex((home / "secret.key").read_text())


def stored_persons(home: Path, source: str) -> set[int]:
    """The person keys of the source's stored person-days (its Parquet files, read directly)."""
    files = [str(p) for p in (home / "lake" / "person_day" / f"source={source}").rglob("*.parquet")]
    return {r[0] for r in duckdb.sql(f"SELECT DISTINCT person FROM read_parquet({files})").fetchall()}


def words(said: str) -> str:
    """A text without its line breaks (the terminal wraps long lines)."""
    return " ".join(said.split())


def text(result: CliResult) -> str:
    """stderr and stdout without the terminal's line breaks."""
    return words(result.stderr + " " + result.stdout)


def usage(tmp_path: Path, name: str, *user_ids: str) -> Path:
    rows = "".join(f"r{i},{uid},zalo,2022-01-0{1 + i},60,0,1,0,\n" for i, uid in enumerate(user_ids))
    return write(tmp_path / name, USAGE_HEADER + rows)


def declared_rows(home: Path) -> list[tuple[object, ...]]:
    with Store(home) as store:
        return store.con.execute("SELECT name, kind, link_key, declared_at FROM sources ORDER BY name").fetchall()


def coverage_rows(home: Path) -> list[tuple[object, ...]]:
    with Store(home) as store:
        return store.con.execute("SELECT source, province, month, subscribers FROM coverage "
                                 "ORDER BY source, month, province").fetchall()


# -- the link key ----------------------------------------------------------------------------------------------------
def test_shared_sources_key_a_user_id_as_one_person_and_private_sources_as_two(cli: Cli, home: Path,
                                                                             tmp_path: Path) -> None:
    for name, link_key in (("telco-a", "shared"), ("telco-b", "shared"), ("panel-c", "private")):
        result = cli("sources", "declare", name, "--kind", "census", "--link-key", link_key)
        assert result.exit_code == 0, result.stderr
    for source in ("telco-a", "telco-b", "panel-c", "panel-d"):  # panel-d is never declared: private
        assert cli("ingest", "usage", usage(tmp_path, f"{source}.csv", "0912000001"), "--source", source
                   ).exit_code == 0
    secret = secret_of(home)
    shared = expected_key(secret, "", "0912000001")
    assert stored_persons(home, "telco-a") == stored_persons(home, "telco-b") == {shared}
    assert stored_persons(home, "panel-c") == {expected_key(secret, "panel-c", "0912000001")}
    assert stored_persons(home, "panel-d") == {expected_key(secret, "panel-d", "0912000001")}
    assert len({shared, expected_key(secret, "panel-c", "0912000001"),
                expected_key(secret, "panel-d", "0912000001")}) == 3
    with Store(home) as store:
        assert [registry.key_domain(store, s) for s in ("telco-a", "telco-b", "panel-c", "panel-d")] == [
            "", "", "panel-c", "panel-d"]
        # the stored rows keep the source's name
        sources = {r[0] for r in store.con.execute("SELECT DISTINCT source FROM lake_files").fetchall()}
    assert sources == {"telco-a", "telco-b", "panel-c", "panel-d"}


def test_a_shared_panel_keys_its_weights_as_its_records(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert cli("sources", "declare", "panel-s", "--kind", "panel", "--link-key", "shared").exit_code == 0
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,2.5\nu2,2022-01,4\n")
    assert cli("ingest", "weights", weights, "--source", "panel-s").exit_code == 0
    assert cli("ingest", "usage", usage(tmp_path, "u.csv", "u1"), "--source", "panel-s").exit_code == 0
    secret = secret_of(home)
    with Store(home) as store:
        persons = dict(store.con.execute("SELECT person, weight FROM weights").fetchall())
    assert persons == {expected_key(secret, "", "u1"): 2.5, expected_key(secret, "", "u2"): 4.0}
    # the record of u1 finds its weight: the MAU of zalo in January is u1's weight alone
    [row] = [r for r in cli.metrics("2022-01", "--source", "panel-s") if r["platform"] == "zalo"]
    assert row["mau"] == 2.5


def test_records_posted_over_http_are_keyed_in_the_shared_domain(cli: Cli, home: Path) -> None:
    assert cli("sources", "declare", "telco-h", "--kind", "census", "--link-key", "shared").exit_code == 0
    clean = b'[{"user_id": "u7", "platform": "zalo", "time": "2022-01-03"}]'
    mixed = b'[{"user_id": "u8", "platform": "zalo", "time": "2022-01-03"}, {"user_id": "u9", "platform": "nope"}]'
    with Store(home) as store:
        for body in (clean, mixed):  # a clean batch (Arrow staging) and one with a bad record (SQL staging)
            accept_usage(store, load_catalog(), "telco-h",
                         [Submission(parse_records(body, f"api-{uuid.uuid4().hex[:8]}"), Writer(None, "admin"))])
    cli.metrics("2022-01")  # merges the inbox into the lake
    secret = secret_of(home)
    assert stored_persons(home, "telco-h") == {expected_key(secret, "", "u7"), expected_key(secret, "", "u8")}


def test_the_spark_task_keys_persons_in_the_domain_the_driver_looked_up(cli: Cli, home: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from thuocdo.engines import spark as spark_engine
    from thuocdo.ingest.spark_ingest import InputFile, TaskSettings, check_file
    from thuocdo.workflows import cluster as cluster_workflow
    from thuocdo.workflows import ingest as ingest_workflow

    assert cli("sources", "declare", "telco-s", "--kind", "census", "--link-key", "shared").exit_code == 0
    handed: dict[str, object] = {}
    monkeypatch.setattr(cluster_workflow, "lakehouse", lambda home: object())
    monkeypatch.setattr(cluster_workflow, "spark_master", lambda home: "local[1]")
    monkeypatch.setattr(spark_engine, "lakehouse_session", lambda lake, master, conf: object())
    monkeypatch.setattr(ingest_workflow, "ingest_usage_spark", lambda *args, **kwargs: handed.update(kwargs))
    ingest_workflow.ingest_spark(home, [str(tmp_path / "none.csv")], "telco-s")
    assert handed["key_domain"] == ""
    ingest_workflow.ingest_spark(home, [str(tmp_path / "none.csv")], "telco-p")
    assert handed["key_domain"] == "telco-p"  # an undeclared source is private
    # what a task does with it
    path = usage(tmp_path, "s.csv", "0912000001")
    secret = secret_of(home)
    for domain in ("", "telco-s"):
        rows = check_file(InputFile(0, str(path)), TaskSettings("telco-s", secret, None, "run", domain), tmp_path)
        persons = {p for p, kind in zip(rows["person"].to_pylist(), rows["kind"].to_pylist(), strict=True)
                   if kind == "good"}
        assert persons == {expected_key(secret, domain, "0912000001")}


# -- the registry ----------------------------------------------------------------------------------------------------
def test_every_source_with_data_is_listed_and_an_undeclared_ones_kind_is_inferred(cli: Cli, home: Path,
                                                                                tmp_path: Path) -> None:
    assert cli("ingest", "usage", usage(tmp_path, "a.csv", "u1"), "--source", "census-a").exit_code == 0
    assert cli("ingest", "usage", usage(tmp_path, "b.csv", "u1"), "--source", "panel-b").exit_code == 0
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,3\n")
    assert cli("ingest", "weights", weights, "--source", "panel-b").exit_code == 0
    assert cli("ingest", "weights", weights, "--source", "weights-only").exit_code == 0
    # published figures are the source each row names, or else its batch's
    figures = write(tmp_path / "f.csv", "platform,period,metric,value,source\nzalo,2022-01,mau,5,report-x\n"
                                        "zalo,2022-02,mau,6,\n")
    assert cli("ingest", "aggregates", figures, "--source", "web-panel").exit_code == 0
    assert cli("sources", "declare", "declared-d", "--kind", "panel", "--link-key", "shared").exit_code == 0
    with Store(home) as store:  # records still in the HTTP inbox are records of their source
        accept_usage(store, load_catalog(), "inbox-e", [Submission(parse_records(
            b'[{"user_id": "u1", "platform": "zalo", "time": "2022-03-03"}]', "api-e"), Writer(None, "admin"))])
        infos = registry.list_sources(store)
        assert registry.source_info(store, "nobody") is None
        assert registry.source_info(store, "inbox-e") == infos[2]
        assert registry.usage_months(store, ["inbox-e", "census-a", "report-x"]) == {
            "inbox-e": ["2022-03"], "census-a": ["2022-01"], "report-x": []}
    S = registry.SourceInfo
    assert infos == [
        S("census-a", "census", "private", False, True, False, False),
        S("declared-d", "panel", "shared", True, False, False, False),
        S("inbox-e", "census", "private", False, True, False, False),
        S("panel-b", "panel", "private", False, True, True, False),
        S("report-x", "aggregates", "private", False, False, False, True),
        S("web-panel", "aggregates", "private", False, False, False, True),
        S("weights-only", "panel", "private", False, False, True, False),
    ]


def test_an_old_store_opened_read_only_reads_as_having_no_declarations(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert cli("ingest", "usage", usage(tmp_path, "a.csv", "u1"), "--source", "old").exit_code == 0
    con = duckdb.connect(str(home / "thuocdo.duckdb"))
    con.execute("DROP TABLE sources; DROP TABLE coverage")  # as a store made before the registry
    con.close()
    with Store(home, read_only=True) as store:
        assert registry.key_domain(store, "old") == "old"
        assert registry.list_sources(store) == [registry.SourceInfo("old", "census", "private", False, True, False,
                                                                    False)]
        assert registry.coverage_table(store, ["old"]).num_rows == 0


# -- declaring --------------------------------------------------------------------------------------------------------
COVERAGE = "province,month,subscribers\n"


def test_a_coverage_is_stored_by_34_unit_code_and_replaced_pair_by_pair(cli: Cli, home: Path, tmp_path: Path) -> None:
    first = write(tmp_path / "c1.csv", "\ufeff" + COVERAGE + "Hà Nội,2022-01,1200\n79,2022-01,3000\n"
                                                               "ha noi,2022-02,1300\n")
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", first)
    assert result.exit_code == 0, result.stderr
    assert "Đã khai báo nguồn telco-a" in text(result) and "3 dòng" in text(result)
    # a new file replaces the pairs it names (Hà Nội in January), adds its new ones, keeps the others
    second = write(tmp_path / "c2.csv", COVERAGE + "01,2022-01,1250\nThành phố Hải Phòng,2022-01,800\n")
    assert cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", second).exit_code == 0
    assert coverage_rows(home) == [("telco-a", "01", "2022-01", 1250), ("telco-a", "31", "2022-01", 800),
                                   ("telco-a", "79", "2022-01", 3000), ("telco-a", "01", "2022-02", 1300)]
    with Store(home) as store:
        table = registry.coverage_table(store, ["telco-a", "other"], ["2022-02"])
    assert table.to_pylist() == [{"source": "telco-a", "province": "01", "month": "2022-02", "subscribers": 1300}]
    assert str(table.schema.field("subscribers").type) == "int64"


def test_declaring_again_the_same_way_changes_nothing(cli: Cli, home: Path, tmp_path: Path) -> None:
    coverage = write(tmp_path / "c.csv", COVERAGE + "01,2022-01,5\n")
    assert cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", coverage).exit_code == 0
    before = declared_rows(home), coverage_rows(home)
    for again in (("--coverage", coverage), ("--link-key", "private"), ()):
        result = cli("sources", "declare", "telco-a", "--kind", "census", *again)
        assert result.exit_code == 0 and "không có gì thay đổi" in text(result), text(result)
    assert (declared_rows(home), coverage_rows(home)) == before


def test_without_a_link_key_a_declared_source_keeps_its_own(cli: Cli, home: Path) -> None:
    assert cli("sources", "declare", "telco-a", "--kind", "census", "--link-key", "shared").exit_code == 0
    assert cli("sources", "declare", "telco-a", "--kind", "panel").exit_code == 0  # no data yet: kind may change
    assert [r[:3] for r in declared_rows(home)] == [("telco-a", "panel", "shared")]
    assert cli("sources", "declare", "telco-b", "--kind", "census").exit_code == 0
    assert [r[:3] for r in declared_rows(home)][1] == ("telco-b", "census", "private")


def test_a_source_that_stops_being_a_census_keeps_no_coverage(cli: Cli, home: Path, tmp_path: Path) -> None:
    coverage = write(tmp_path / "c.csv", COVERAGE + "01,2022-01,5\n01,2022-02,6\n")
    assert cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", coverage).exit_code == 0
    result = cli("sources", "declare", "telco-a", "--kind", "aggregates")
    assert result.exit_code == 0 and "Đã xóa 2 dòng bao phủ" in text(result)
    assert coverage_rows(home) == []


def test_the_link_key_and_kind_of_a_source_with_stored_keys_cannot_change(cli: Cli, home: Path,
                                                                         tmp_path: Path) -> None:
    assert cli("ingest", "usage", usage(tmp_path, "a.csv", "u1"), "--source", "telco-a").exit_code == 0
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--link-key", "shared")
    assert result.exit_code == 2
    assert ("Nguồn telco-a đã có bản ghi sử dụng hoặc trọng số lưu với khóa liên kết private: không đổi được sang "
            "shared") in text(result)
    assert declared_rows(home) == []  # nothing stored
    assert cli("sources", "declare", "telco-a", "--kind", "census").exit_code == 0
    result = cli("sources", "declare", "telco-a", "--kind", "aggregates")
    assert result.exit_code == 2 and "lưu với loại census: không đổi được sang loại aggregates" in text(result)
    # weights fix a panel's kind and its link key too
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,3\n")
    assert cli("ingest", "weights", weights, "--source", "panel-b").exit_code == 0
    assert cli("sources", "declare", "panel-b", "--kind", "census").exit_code == 2
    assert cli("sources", "declare", "panel-b", "--kind", "panel", "--link-key", "shared").exit_code == 2
    assert cli("sources", "declare", "panel-b", "--kind", "panel").exit_code == 0
    assert [r[:3] for r in declared_rows(home)] == [("panel-b", "panel", "private"), ("telco-a", "census", "private")]


def test_a_source_inferred_a_census_may_first_be_declared_a_panel(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert cli("ingest", "usage", usage(tmp_path, "a.csv", "u1"), "--source", "panel-a").exit_code == 0
    assert cli("sources", "declare", "panel-a", "--kind", "panel").exit_code == 0  # its weights may come later
    assert cli("sources", "declare", "panel-a", "--kind", "census").exit_code == 2  # declared now: fixed


def test_quarantined_rows_hold_person_keys_too(cli: Cli, home: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", USAGE_HEADER + "r1,u1,no-such-app,2022-01-03,60,0,1,0,\n")
    assert cli("ingest", "usage", bad, "--source", "telco-q").exit_code == 0
    result = cli("sources", "declare", "telco-q", "--kind", "census", "--link-key", "shared")
    assert result.exit_code == 2 and "không đổi được sang shared" in text(result)


def test_every_problem_of_a_coverage_file_is_named_and_nothing_is_stored(cli: Cli, home: Path,
                                                                        tmp_path: Path) -> None:
    bad = write(tmp_path / "phu-song.csv", COVERAGE + "\n".join([
        "01,2022-01,100",            # 2: good
        "Atlantis,2022-01,5",        # 3: unknown province
        "79,2022-1,5",               # 4: malformed month
        "79,2022-13,5",              # 5: impossible month
        "79,1999-12,5",              # 6: a year out of range
        "31,2022-01,-3",             # 7: negative
        "31,2022-02,1.200",          # 8: not an integer
        "Hà Nội,2022-01,7",          # 9: Hà Nội (01) in January again
        ",,",                        # 10: everything missing
    ]) + "\n")
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", bad)
    assert result.exit_code == 2
    assert text(result) == words("""Lỗi: Khai báo nguồn 'telco-a' không hợp lệ (10 lỗi), không lưu gì.
Tệp phu-song.csv, dòng 3, cột `province`: tỉnh/thành 'Atlantis' không nhận ra (dùng mã hoặc tên của một trong 34 tỉnh,
thành phố).
Tệp phu-song.csv, dòng 4, cột `month`: tháng '2022-1' không đúng dạng YYYY-MM (ví dụ 2022-01).
Tệp phu-song.csv, dòng 5, cột `month`: tháng '2022-13' không có: tháng từ 01 đến 12.
Tệp phu-song.csv, dòng 6, cột `month`: tháng '1999-12' không hợp lệ: năm phải từ 2000 đến 2099.
Tệp phu-song.csv, dòng 7, cột `subscribers`: số thuê bao -3 không được âm.
Tệp phu-song.csv, dòng 8, cột `subscribers`: số thuê bao '1.200' không phải số nguyên (viết liền, không dấu phân cách,
ví dụ 1250000).
Tệp phu-song.csv, dòng 9, cột `province`: Hà Nội (01) tháng 2022-01 đã có ở dòng 2 (mỗi tỉnh, thành phố và tháng một
lần).
Tệp phu-song.csv, dòng 10, cột `province`: thiếu tỉnh/thành.
Tệp phu-song.csv, dòng 10, cột `month`: thiếu tháng.
Tệp phu-song.csv, dòng 10, cột `subscribers`: thiếu số thuê bao.""")
    assert declared_rows(home) == [] and coverage_rows(home) == []


def test_bad_arguments_are_named_with_the_coverage_problems(cli: Cli, home: Path, tmp_path: Path) -> None:
    coverage = write(tmp_path / "c.csv", COVERAGE + "01,2022-01,5\n")
    result = cli("sources", "declare", "Telco A", "--kind", "survey", "--link-key", "public", "--coverage", coverage)
    assert result.exit_code == 2
    said = text(result)
    assert "Khai báo nguồn 'Telco A' không hợp lệ (3 lỗi)" in said
    assert "Tên nguồn 'Telco A' không hợp lệ: chữ thường không dấu" in said
    assert "Loại nguồn 'survey' không có: chọn census" in said
    assert "Khóa liên kết 'public' không có: chọn private" in said
    result = cli("sources", "declare", "panel-a", "--kind", "panel", "--coverage", coverage)
    assert result.exit_code == 2
    assert ("Tệp c.csv: độ bao phủ chỉ khai báo cho nguồn loại census (các thuê bao mà nguồn thấy), không cho nguồn "
            "loại panel.") in text(result)
    missing = write(tmp_path / "m.csv", "province,month\n01,2022-01\n")
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", missing)
    assert result.exit_code == 2 and "thiếu cột bắt buộc `subscribers`" in text(result)
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", tmp_path / "none.csv")
    assert result.exit_code == 2 and "Không tìm thấy tệp" in text(result)
    assert declared_rows(home) == []


def test_a_coverage_below_the_persons_the_records_show_is_refused(cli: Cli, home: Path, tmp_path: Path) -> None:
    # January 2022, worked by hand. Active persons and their province (one per person-month: that of the
    # platform-month with the most active days):
    #   p1: zalo in Hà Nội on the 3rd and 4th, messenger in Hà Nội on the 5th      -> Hà Nội
    #   p2: zalo in Hà Nội on the 3rd, messenger in TP. Hồ Chí Minh (79) on the 6th and 7th -> 79 (2 days > 1)
    #   p3: zalo in Hà Nội on the 10th                                            -> Hà Nội
    #   p4: zalo in Hà Nội on the 11th, no session and no active second: not active
    #   p5: zalo, no province: in no province
    #   p6: zalo in Hà Nội on the 12th, posted over HTTP (still in the inbox)     -> Hà Nội
    # Hà Nội: 3 persons (p2 is counted once, in 79), 79: 1 person.
    rows = ["a,p1,zalo,2022-01-03,60,0,1,0,01", "b,p1,zalo,2022-01-04,60,0,1,0,01",
            "c,p1,messenger,2022-01-05,60,0,1,0,Hà Nội", "d,p2,zalo,2022-01-03,60,0,1,0,01",
            "e,p2,messenger,2022-01-06,60,0,1,0,79", "f,p2,messenger,2022-01-07,60,0,1,0,79",
            "g,p3,zalo,2022-01-10,60,0,1,0,01", "h,p4,zalo,2022-01-11,0,500,0,0,01", "i,p5,zalo,2022-01-11,60,0,1,0,"]
    assert cli("ingest", "usage", write(tmp_path / "u.csv", USAGE_HEADER + "\n".join(rows) + "\n"),
               "--source", "telco-a").exit_code == 0
    with Store(home) as store:
        accept_usage(store, load_catalog(), "telco-a", [Submission(parse_records(
            b'[{"user_id": "p6", "platform": "zalo", "time": "2022-01-12", "province": "01"}]', "api-p6"),
            Writer(None, "admin"))])
    low = write(tmp_path / "low.csv", COVERAGE + "01,2022-01,2\n79,2022-01,1\n")
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", low)
    assert result.exit_code == 2
    assert text(result) == words("""Lỗi: Khai báo nguồn 'telco-a' mâu thuẫn với dữ liệu đã lưu (1 lỗi), không lưu gì.
Tệp low.csv, dòng 2, cột `subscribers`: 2 thuê bao ở Hà Nội tháng 2022-01 ít hơn 3 người đã hoạt động ở đó trong tháng
theo bản ghi đã lưu của nguồn; độ bao phủ phải ít nhất bằng số người đã đo được.""")
    assert declared_rows(home) == [] and coverage_rows(home) == []
    enough = write(tmp_path / "enough.csv", COVERAGE + "01,2022-01,3\n79,2022-01,1\n01,2022-02,0\n")
    assert cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", enough).exit_code == 0
    assert coverage_rows(home) == [("telco-a", "01", "2022-01", 3), ("telco-a", "79", "2022-01", 1),
                                   ("telco-a", "01", "2022-02", 0)]


# -- list and show ----------------------------------------------------------------------------------------------------
def test_list_and_show_say_what_each_source_is(cli: Cli, home: Path, tmp_path: Path) -> None:
    assert cli("ingest", "usage", usage(tmp_path, "a.csv", "u1", "u2"), "--source", "telco-a").exit_code == 0
    coverage = write(tmp_path / "c.csv", COVERAGE + "01,2022-01,1000\n79,2022-01,2500\n01,2022-03,1100\n")
    assert cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", coverage).exit_code == 0
    weights = write(tmp_path / "w.csv", "user_id,month,weight\nu1,2022-01,3\n")
    assert cli("ingest", "weights", weights, "--source", "panel-b").exit_code == 0

    listed = json.loads(cli("sources", "list", "--format", "json").stdout)
    assert listed == [
        {"source": "panel-b", "kind": "panel", "link_key": "private", "declared": False, "has_usage": False,
         "has_weights": True, "has_aggregates": False, "usage_months": 0, "usage_from": None, "usage_to": None,
         "coverage_months": 0},
        {"source": "telco-a", "kind": "census", "link_key": "private", "declared": True, "has_usage": True,
         "has_weights": False, "has_aggregates": False, "usage_months": 1, "usage_from": "2022-01",
         "usage_to": "2022-01", "coverage_months": 2}]
    csv_text = cli("sources", "list", "--format", "csv").stdout
    assert csv_text.splitlines()[0] == ('"source","kind","link_key","declared","has_usage","has_weights",'
                                        '"has_aggregates","usage_months","usage_from","usage_to","coverage_months"')
    table = text(cli("sources", "list"))
    assert "Các nguồn dữ liệu: 2" in table and "Nguồn chưa khai báo: loại suy ra từ dữ liệu" in table

    shown = json.loads(cli("sources", "show", "telco-a", "--format", "json").stdout)
    assert shown["declared_by"] == "cli" and shown["declared_at"].endswith("+00:00")
    assert shown["months"] == [
        {"month": "2022-01", "has_usage": True, "coverage_provinces": 2, "subscribers": 3500},
        {"month": "2022-03", "has_usage": False, "coverage_provinces": 1, "subscribers": 1100}]
    assert cli("sources", "show", "telco-a", "--format", "csv").stdout.splitlines() == [
        '"source","month","has_usage","coverage_provinces","subscribers"',
        '"telco-a","2022-01",true,2,3500', '"telco-a","2022-03",false,1,1100']
    screen = text(cli("sources", "show", "telco-a"))
    assert "Nguồn telco-a: toàn bộ thuê bao (census), khóa liên kết riêng (private); khai báo lúc" in screen
    assert "3.500" in screen and "1.100" in screen
    missing = cli("sources", "show", "nobody")
    assert missing.exit_code == 2 and "Không có nguồn 'nobody'" in text(missing)


def test_damaged_lines_of_a_coverage_file_are_named_and_a_long_list_is_cut(cli: Cli, home: Path,
                                                                          tmp_path: Path) -> None:
    lines = ["01,2022-01,5,extra", "79,2022-01," + "9" * 70_000] + [f"x{i},2022-01,1" for i in range(60)]
    bad = write(tmp_path / "dam.csv", COVERAGE + "\n".join(lines) + "\n")
    result = cli("sources", "declare", "telco-a", "--kind", "census", "--coverage", bad)
    assert result.exit_code == 2
    said = text(result)
    # 2 damaged lines, then 60 unknown provinces: 62 problems, the first 50 listed
    assert "Khai báo nguồn 'telco-a' không hợp lệ (62 lỗi)" in said
    assert "Tệp dam.csv, dòng 2: dòng có 4 cột, dòng tiêu đề có 3 cột." in said
    assert "Tệp dam.csv, dòng 3: dòng dài hơn 64 KiB, không thể là một bản ghi hợp lệ. Tệp dam.csv, dòng 4," in said
    assert "tỉnh/thành 'x47' không nhận ra" in said and "'x48'" not in said
    assert said.endswith("… và 12 lỗi khác.")
    assert coverage_rows(home) == []
