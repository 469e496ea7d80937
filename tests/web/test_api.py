"""The HTTP API through the ASGI app: data delivery with a per-record answer, retries, results, audit."""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path

import orjson
import pytest

from tests.web.conftest import Served
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.inbox import inbox_size
from thuocdo.ingest.pipeline import PipelineSettings
from thuocdo.ingest.stream import Submission, Writer
from thuocdo.workflows import ingest as ingest_workflow

USAGE = "/api/v1/sources/telco-a/usage"

#: six records worked by hand: 1-3 and 6 are new, 4 repeats the record_id of 1, 5 names an unknown platform;
#: record 2 is 06:30 on 4 January in Vietnam, record 6 is 08:00 on 1 February in Vietnam (20:00 on 31 January at -05:00)
BATCH = [
    {"record_id": "r1", "user_id": "0901", "platform": "zalo", "time": "2022-01-03T08:00:00+07:00",
     "active_seconds": 600},
    {"record_id": "r2", "user_id": "0902", "platform": "zalo", "time": "2022-01-03T23:30:00Z", "active_seconds": 300},
    {"record_id": "r3", "user_id": "0901", "platform": "messenger", "time": "2022-01-05", "active_seconds": 120,
     "bytes": 5_000_000},
    {"record_id": "r1", "user_id": "0901", "platform": "zalo", "time": "2022-01-03T09:00:00+07:00",
     "active_seconds": 5},
    {"record_id": "r5", "user_id": "0903", "platform": "no-such-app", "time": "2022-01-03"},
    {"record_id": "r6", "user_id": "0904", "platform": "zalo", "time": "2022-01-31T20:00:00-05:00",
     "active_seconds": 60},
]


def post(served: Served, body: object, who: str = "telco-a", path: str = USAGE, **headers: str):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return served.client.post(path, content=data, headers={**served.headers(who), "Content-Type": "application/json",
                                                              **headers})


def metrics(served: Served, period: str, who: str | None = "analyst", **params: str) -> dict[str, dict]:
    r = served.client.get("/api/v1/metrics", params={"period": period, **params}, headers=served.headers(who))
    assert r.status_code == 200, r.text
    return {row["platform"]: row for row in r.json()["rows"]}


def test_a_batch_is_answered_record_by_record(served: Served) -> None:
    r = post(served, BATCH)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["received"], answer["stored"], answer["duplicates"], answer["rejected"]) == (6, 4, 1, 1)
    statuses = [(x["index"], x["status"]) for x in answer["records"]]
    assert statuses == [(1, "stored"), (2, "stored"), (3, "stored"), (4, "duplicate"), (5, "rejected"), (6, "stored")]
    [problem] = answer["records"][4]["problems"]
    assert problem["field"] == "platform" and "no-such-app" in problem["message"]


def test_a_retried_batch_stores_nothing_twice(served: Served) -> None:
    first = post(served, BATCH).json()
    again = post(served, BATCH).json()
    assert (again["stored"], again["duplicates"], again["rejected"]) == (0, 5, 1)
    assert again["batch_id"] != first["batch_id"]
    with served.service.db() as store:
        assert store.con.execute("SELECT count(*) FROM quarantine WHERE status = 'open'").fetchall()[0][0] == 1
    jan = metrics(served, "2022-01")
    assert jan["zalo"]["mau"] == 2 and jan["messenger"]["mau"] == 1
    assert jan["zalo"]["minutes_per_day"] == pytest.approx((600 + 300) / 60 / 2)  # two person-days
    assert jan["messenger"]["mb_per_user"] == pytest.approx(5.0)
    assert metrics(served, "2022-02")["zalo"]["mau"] == 1  # record 6 is on 1 February in Vietnam


def test_ndjson_and_gzip_bodies(served: Served) -> None:
    lines = [json.dumps(BATCH[0]), "", "{not json", json.dumps(BATCH[2])]
    body = gzip.compress(("\n".join(lines) + "\n").encode())
    r = post(served, body, **{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert [(x["index"], x["status"]) for x in answer["records"]] == [(1, "stored"), (3, "rejected"), (4, "stored")]


def test_unreadable_and_oversized_bodies_store_nothing(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    assert post(served, b"[{").status_code == 400
    assert post(served, b'{"a": 1}\n{"b": 2}').json()["rejected"] == 2  # NDJSON of objects lacking every field
    assert post(served, b"").status_code == 400
    monkeypatch.setattr("thuocdo.ingest.bodies.MAX_RECORDS", 3)
    assert post(served, BATCH).status_code == 413
    with served.service.db() as store:
        assert inbox_size(store) == 0


def test_records_posted_and_filed_are_stored_once(served: Served, tmp_path: Path) -> None:
    post(served, BATCH)
    csv = tmp_path / "same.csv"
    csv.write_text("record_id,user_id,platform,time,active_seconds\n"
                   "r1,0901,zalo,2022-01-03T08:00:00+07:00,600\nr7,0905,zalo,2022-01-10,60\n", encoding="utf-8")
    with served.service.db():
        report = ingest_workflow.ingest(served.home, "usage", [csv], "telco-a")
    assert (report.results[0].stored, report.results[0].duplicates) == (1, 1)
    assert metrics(served, "2022-01")["zalo"]["mau"] == 3


@pytest.mark.parametrize("staging", ["arrow", "sql"])
@pytest.mark.parametrize("flush_rows", [1_000_000, 120], ids=["inbox", "merged-meanwhile"])
def test_concurrent_clients_and_retries_lose_nothing_and_store_nothing_twice(served: Served, flush_rows: int,
                                                                              staging: str) -> None:
    # 120: merges while batches arrive
    served.service.pipeline.settings = PipelineSettings(flush_rows=flush_rows, flush_idle=3600)
    batches = [[{"record_id": f"b{b}-{i}", "user_id": f"u{(b * 7 + i) % 40}", "platform": "zalo",
                 "time": f"2022-03-{1 + i % 28:02d}T12:00:00+07:00", "active_seconds": 10} for i in range(50)]
               for b in range(8)]
    outcomes = []
    lock = threading.Lock()

    def client(k: int) -> None:
        for b in range(8):  # every client sends every batch: one store, seven retries of each
            sub = Submission(parse_records(orjson.dumps(batches[(b + k) % 8]), f"c{k}"), Writer(None, "source"))
            if staging == "arrow":  # staged in this thread, as a request thread stages a clean batch
                sub.clean = served.service.clean_rows("telco-a", sub.raw)
                assert sub.clean is not None
            out = served.service.submit_usage("telco-a", sub).result(timeout=60)
            with lock:
                outcomes.append(out)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o.stored for o in outcomes) == 8 * 50
    assert sum(o.duplicates for o in outcomes) == 3 * 8 * 50
    for _ in range(300):  # the background merge runs on its own time: wait for it (small inbox) or not (large)
        with served.service.db() as store:
            in_inbox = inbox_size(store)
            keys = store.files("record_keys", source="telco-a")
            in_lake = (store.con.execute("SELECT count(*) FROM read_parquet($f)", {"f": keys}).fetchall()[0][0]
                       if keys else 0)
        assert in_inbox + in_lake == 400
        if flush_rows > 400 or in_lake:
            break
        time.sleep(0.1)
    assert (in_lake > 0) == (flush_rows < 400)
    expected_persons = len({(b * 7 + i) % 40 for b in range(8) for i in range(50)})
    assert metrics(served, "2022-03")["zalo"]["mau"] == expected_persons


def test_every_write_is_in_the_audit_log(served: Served) -> None:
    post(served, BATCH)
    r = served.client.get("/api/v1/audit", headers=served.headers("admin"))
    assert r.status_code == 200
    [row] = r.json()["rows"]
    key_id = served.keys["telco-a"].split("_")[1]
    assert (row["key_id"], row["role"], row["action"], row["target"]) == (key_id, "source", "usage", "telco-a")
    assert (row["received"], row["stored"], row["duplicates"], row["rejected"]) == (6, 4, 1, 1)


def test_weights_and_aggregates_of_a_source(served: Served) -> None:
    post(served, BATCH)
    w = post(served, [{"user_id": "0901", "month": "2022-01", "weight": 1000},
                      {"user_id": "0902", "month": "2022-01", "weight": 500},
                      {"user_id": "0903", "month": "2022-13", "weight": 2}], path="/api/v1/sources/telco-a/weights")
    assert w.status_code == 200, w.text
    assert (w.json()["stored"], w.json()["rejected"]) == (2, 1)
    assert w.json()["problems"][0]["field"] == "month"
    assert metrics(served, "2022-01")["zalo"]["mau"] == 1500  # persons 0901 and 0902, weighted
    a = post(served, [{"platform": "zalo", "period": "2022-01", "metric": "web_rank", "value": 3}],
             path="/api/v1/sources/telco-a/aggregates")
    assert a.status_code == 200 and a.json()["stored"] == 1


def test_publication_and_small_cells(served: Served) -> None:
    post(served, BATCH)
    assert served.client.get("/api/v1/metrics", params={"period": "2022-01"}).status_code == 403
    assert served.client.get("/api/v1/metrics", params={"period": "2022-01"},
                             headers=served.headers("telco-a")).status_code == 403
    r = served.client.post("/api/v1/publications", json={"period": "2022-Q1"}, headers=served.headers("admin"))
    assert r.status_code == 201 and r.json() == ["2022-Q1"]
    public = metrics(served, "2022-01", who=None)
    assert public["zalo"]["suppressed"] is True and public["zalo"]["mau"] is None  # 2 panelists < 20
    assert metrics(served, "2022-01")["zalo"]["mau"] == 2  # analysts see the figure
    assert served.client.get("/api/v1/metrics", params={"period": "2022-04"}).status_code == 403


def test_results_in_csv_like_the_command_line(served: Served) -> None:
    post(served, BATCH)
    r = served.client.get("/api/v1/metrics", params={"period": "2022-Q1", "format": "csv"},
                          headers=served.headers("analyst"))
    assert r.status_code == 200
    header = r.text.splitlines()[0].replace('"', "").split(",")
    for column in ("period", "platform", "category", "origin", "mau", "dau", "minutes_per_day", "mb_per_user",
                   "sessions", "installs", "stickiness"):
        assert column in header


def test_catalog_and_openapi(served: Served) -> None:
    platforms = served.client.get("/api/v1/catalog/platforms").json()
    assert any(p["id"] == "zalo" for p in platforms)
    provinces = served.client.get("/api/v1/catalog/provinces").json()
    assert len(provinces) == 34 + 63
    schema = served.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/sources/{source}/usage" in schema["paths"]
    assert "UsageRecord" in schema["components"]["schemas"]


def test_report_downloads(served: Served) -> None:
    post(served, BATCH)
    served.service.access.publish("2022-Q1")
    listed = served.client.get("/api/v1/reports").json()
    assert [r["period"] for r in listed] == ["2022-Q1"]
    r = served.client.get(listed[0]["formats"]["md"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert "BÁO CÁO" in r.text.upper() and "2022" in r.text
    again = served.client.get(listed[0]["formats"]["md"])
    assert again.text == r.text  # kept, not rewritten
    assert served.client.get("/api/v1/reports/2022-Q2/md").status_code == 403  # not published
    assert served.client.get("/api/v1/reports/2022-Q2/md", headers=served.headers("analyst")).status_code == 404


REPORT = "/api/v1/reports/2022-Q1/md"


def test_report_issue_options(served: Served) -> None:
    """`issuer`, `signer`, `signer_title` and `date` do what `thuocdo report`'s options do; each set of options
    is its own copy, and the default report stays as it was."""
    post(served, BATCH)
    served.service.access.publish("2022-Q1")
    default = served.client.get(REPORT)
    assert default.status_code == 200, default.text
    assert "*Hà Nội, ngày 01 tháng 4 năm 2022*" in default.text  # the day after the quarter
    assert default.text.startswith("BỘ THÔNG TIN VÀ TRUYỀN THÔNG")  # the body in that role on 01/04/2022
    signed = served.client.get(REPORT, params={"signer": "Nguyễn Văn A", "signer_title": "KT. BỘ TRƯỞNG / THỨ TRƯỞNG",
                                               "date": "2022-04-15"})
    assert signed.status_code == 200, signed.text
    assert "*Hà Nội, ngày 15 tháng 4 năm 2022*" in signed.text
    assert "**KT. BỘ TRƯỞNG**<br>\n**THỨ TRƯỞNG**<br>\n**Nguyễn Văn A**" in signed.text  # authority / title, name
    assert "Nguyễn Văn A" not in default.text
    assert served.client.get(REPORT).text == default.text  # the default copy is kept, not overwritten
    later = served.client.get(REPORT, params={"issuer": "bo-khcn", "date": "2025-04-01"})
    assert later.status_code == 200, later.text
    assert later.text.startswith("**BỘ KHOA HỌC VÀ CÔNG NGHỆ**<br>\nSố: …/BC-BKHCN")  # no standing-body line
    assert "*Hà Nội, ngày 01 tháng 4 năm 2025*" in later.text


@pytest.mark.parametrize(("params", "detail"), [
    ({"date": "2022-02-30"}, "Ngày ban hành '2022-02-30' không hợp lệ: dùng dạng YYYY-MM-DD, ví dụ 2025-07-15."),
    ({"date": "2022-03-31"}, "Ngày ban hành 31/3/2022 không sau kỳ báo cáo (kết thúc ngày 31/3/2022)."),
    ({"issuer": "bo-xyz"}, "Không có cơ quan ban hành 'bo-xyz' (có: bo-tttt, bo-khcn)."),
    ({"issuer": "bo-khcn"},  # by default dated 01/04/2022, before the ministry took the role on 01/03/2025
     "Bộ Khoa học và Công nghệ không ban hành báo cáo này vào ngày 01/4/2022 (từ ngày 01/3/2025)."),
    ({"issuer": "bo-tttt", "date": "2025-04-01"},
     "Bộ Thông tin và Truyền thông không ban hành báo cáo này vào ngày 01/4/2025 (đến hết ngày 28/2/2025)."),
])
def test_report_issue_options_that_cannot_be(served: Served, params: dict[str, str], detail: str) -> None:
    post(served, BATCH)
    served.service.access.publish("2022-Q1")
    r = served.client.get(REPORT, params=params)
    assert r.status_code == 422, r.text
    assert r.json() == {"detail": detail, "problems": []}


def test_report_issue_options_against_the_schema(served: Served) -> None:
    served.service.access.publish("2022-Q1")
    for params, field in (({"date": "15/04/2022"}, "date"), ({"signer": "A" * 121}, "signer"),
                          ({"signer_title": "T" * 121}, "signer_title")):
        r = served.client.get(REPORT, params=params)
        assert r.status_code == 422, r.text
        assert [p["field"] for p in r.json()["problems"]] == [field]
    operation = served.client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/reports/{period}/{fmt}"]["get"]
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert sorted(query) == ["date", "issuer", "signer", "signer_title"]
    assert query["issuer"]["schema"]["enum"] == ["bo-tttt", "bo-khcn"]
    assert query["date"]["schema"]["format"] == "date"
    assert query["signer"]["schema"]["maxLength"] == 120
    assert "bo-khcn (Bộ Khoa học và Công nghệ, từ 01/3/2025)" in query["issuer"]["description"]
    assert query["signer_title"]["description"] == ("Chức vụ người ký, ví dụ \"THỨ TRƯỞNG\" hoặc "
                                                    "\"KT. BỘ TRƯỞNG / THỨ TRƯỞNG\".")
    assert "422" in operation["responses"]


def test_an_entity_submits_its_own_indicator_values(served: Served) -> None:
    rows = [{"indicator": "dti_awareness", "period": "2024", "value": 0.8125, "self_score": 0.9,
             "council_score": 0.8125, "evidence": "Nghị quyết số 05"},
            {"indicator": "no_such_indicator", "period": "2024", "value": 1}]
    r = post(served, rows, who="hue", path="/api/v1/entities/hue/indicators")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["stored"], answer["rejected"]) == (1, 1)
    assert answer["problems"][0]["field"] == "indicator"
    with served.service.db() as store:
        stored = store.con.execute("SELECT entity, indicator, period, value FROM indicator_values").fetchall()
    assert [(i, p, v) for _, i, p, v in stored] == [("dti_awareness", "2024", 0.8125)]
    audit = served.client.get("/api/v1/audit", headers=served.headers("admin")).json()["rows"]
    assert (audit[0]["role"], audit[0]["action"], audit[0]["target"]) == ("entity", "indicators", "entity-hue")


def _mau_card(html: str) -> str:
    import re

    m = re.search(r'data-figure="mau">.*?<div class="card-value">(.*?)</div>', html, re.S)
    assert m, html[:500]
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def test_posted_records_move_the_dashboard(served: Served) -> None:
    served.service.access.publish("2022-01")

    def users(first: int, n: int, months: tuple[str, ...] = ("01",)) -> list[dict[str, object]]:
        return [{"user_id": f"p{i}", "platform": "zalo", "time": f"2022-{m}-15T09:00:00+07:00", "active_seconds": 60}
                for i in range(first, first + n) for m in months]

    # active every month of the quarter: January alone would be withheld with its quarter (the quarter's mean of
    # 25 / 3 panelists is under 20, and January would give it away)
    assert post(served, users(0, 25, ("01", "02", "03"))).json()["stored"] == 75
    assert _mau_card(served.client.get("/nen-tang/zalo", params={"ky": "2022-01"}).text) == "25"
    assert post(served, users(20, 10)).json()["stored"] == 5  # five are already stored
    assert _mau_card(served.client.get("/nen-tang/zalo", params={"ky": "2022-01"}).text) == "30"


def test_metrics_as_parquet_and_from_sketches(served: Served) -> None:
    import io

    import pyarrow.parquet as pq

    post(served, BATCH)
    r = served.client.get("/api/v1/metrics", params={"period": "2022-01", "format": "parquet"},
                          headers=served.headers("analyst"))
    assert r.status_code == 200
    table = pq.read_table(io.BytesIO(r.content))
    assert dict(zip(table["platform"].to_pylist(), table["mau"].to_pylist(), strict=True))["zalo"] == 2
    sketch = metrics(served, "2022-01", distinct="sketch")
    assert sketch["zalo"]["mau"] == pytest.approx(2, abs=0.01)  # HLL is exact at such small counts


def test_visitors_cannot_subtract_a_withheld_platform_from_the_category_totals(served: Served) -> None:
    """Zalo (25 panelists every month) is published, Mocha (3 in January) is not: the visitor's category total is
    Zalo's alone, says one platform is withheld, and the province breakdown does not give Mocha away either."""
    rows = [{"record_id": f"z{i}{m}", "user_id": f"u{i:03d}", "platform": "zalo", "time": f"2022-0{m}-05",
             "active_seconds": 60, "province": "Hà Nội"} for i in range(25) for m in (1, 2, 3)]
    rows += [{"record_id": f"m{i}", "user_id": f"u{i:03d}", "platform": "mocha", "time": "2022-01-05",
              "active_seconds": 60, "province": "Hà Nội"} for i in range(3)]
    assert post(served, rows).status_code == 200
    served.client.post("/api/v1/publications", json={"period": "2022-Q1"}, headers=served.headers("admin"))
    r = served.client.get("/api/v1/metrics", params={"period": "2022-01", "by": "category"})
    assert r.status_code == 200, r.text
    mau = next(x for x in r.json()["rows"] if x["category"] == "communication" and x["metric"] == "mau")
    assert (mau["domestic_value"], mau["total_value"], mau["withheld"]) == (25, 25, 1)
    analyst = served.client.get("/api/v1/metrics", params={"period": "2022-01", "by": "category"},
                                headers=served.headers("analyst")).json()["rows"]
    assert next(x for x in analyst if x["category"] == "communication" and x["metric"] == "mau")["total_value"] == 28
    provinces = served.client.get("/api/v1/metrics", params={"period": "2022-01", "by": "province"}).json()["rows"]
    assert all(x["mau"] is None for x in provinces if x["platform"] == "mocha")
