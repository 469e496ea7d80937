"""The sources through the API: who may read and declare, the command line's checks and messages, the audit log,
and the link key applied to records posted over HTTP."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import Cli, write
from tests.web.conftest import Served
from thuocdo.ingest.bodies import parse_records
from thuocdo.ingest.inbox import inbox_rows
from thuocdo.ingest.stream import KeyDomainChanged, Submission, Writer

API = "/api/v1/sources"


def put(served: Served, source: str, body: dict[str, Any], who: str | None = "admin") -> Any:
    return served.client.put(f"{API}/{source}", json=body, headers=served.headers(who))


def post_usage(served: Served, source: str, rows: list[dict[str, Any]]) -> None:
    r = served.client.post(f"{API}/{source}/usage", content=orjson.dumps(rows),
                           headers={**served.headers("admin"), "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["stored"] == len(rows), r.text


def expected_key(secret: bytes, domain: str, user_id: str) -> int:
    """The documented person key, computed with Python's hmac (see tests/test_sources.py)."""
    digest = hmac.new(secret, domain.encode() + b"\x1f" + user_id.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") - 2**63


def test_reading_sources_needs_an_analyst_or_admin_key_or_the_sources_own(served: Served) -> None:
    post_usage(served, "telco-a", [{"user_id": "u1", "platform": "zalo", "time": "2022-01-03"}])
    assert served.client.get(API).status_code == 401
    assert served.client.get(API, headers=served.headers("telco-b")).status_code == 403
    r = served.client.get(API, headers=served.headers("analyst"))
    assert r.status_code == 200
    assert r.json() == [{"source": "telco-a", "kind": "census", "link_key": "private", "declared": False,
                         "has_usage": True, "has_weights": False, "has_aggregates": False, "usage_months": 1,
                         "usage_from": "2022-01", "usage_to": "2022-01", "coverage_months": 0}]
    assert served.client.get(f"{API}/telco-a", headers=served.headers("telco-a")).status_code == 200
    refused = served.client.get(f"{API}/telco-a", headers=served.headers("telco-b"))
    assert refused.status_code == 403 and "khóa của chính nguồn" in refused.json()["detail"]
    missing = served.client.get(f"{API}/telco-z", headers=served.headers("admin"))
    assert missing.status_code == 404
    assert missing.json()["detail"] == "Không có nguồn 'telco-z': nguồn chưa khai báo và chưa có dữ liệu."


def test_only_an_admin_declares(served: Served) -> None:
    body = {"kind": "census"}
    assert put(served, "telco-a", body, who=None).status_code == 401
    assert put(served, "telco-a", body, who="analyst").status_code == 403
    assert put(served, "telco-a", body, who="telco-a").status_code == 403
    assert served.client.get(API, headers=served.headers("admin")).json() == []


def test_a_declaration_is_written_once_with_its_audit_line(served: Served) -> None:
    body = {"kind": "census", "link_key": "shared",
            "coverage": [{"province": "Hà Nội", "month": "2022-01", "subscribers": 1200},
                         {"province": "79", "month": "2022-01", "subscribers": 3000}]}
    r = put(served, "telco-a", body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["created"], answer["changed"], answer["coverage_changed"], answer["coverage_removed"]) == (
        True, True, 2, 0)
    assert (answer["kind"], answer["link_key"], answer["declared"]) == ("census", "shared", True)
    assert answer["declared_by"].startswith("api:")
    assert answer["months"] == [{"month": "2022-01", "has_usage": False, "coverage_provinces": 2,
                                 "subscribers": 4200}]
    again = put(served, "telco-a", body).json()
    assert (again["created"], again["changed"], again["coverage_changed"]) == (False, False, 0)
    assert again["declared_at"] == answer["declared_at"]
    shown = served.client.get(f"{API}/telco-a", headers=served.headers("analyst")).json()
    assert shown == {k: v for k, v in again.items() if k not in ("created", "changed", "coverage_changed",
                                                                 "coverage_removed")}
    audit = served.client.get("/api/v1/audit", headers=served.headers("admin")).json()["rows"]
    lines = [(a["action"], a["target"], a["received"], a["stored"], a["duplicates"]) for a in audit
             if a["action"] == "sources"]
    assert lines == [("sources", "telco-a", 2, 0, 2), ("sources", "telco-a", 2, 2, 0)]  # newest first


def test_the_api_refuses_with_the_command_lines_messages(served: Served, tmp_path: Path) -> None:
    coverage = [{"province": "01", "month": "2022-01", "subscribers": 5},
                {"province": "Atlantis", "month": "2022-13", "subscribers": -3},
                {"province": "Hà Nội", "month": "2022-01", "subscribers": 6}]
    r = put(served, "telco-a", {"kind": "census", "link_key": "public", "coverage": coverage})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "Khai báo nguồn 'telco-a' không hợp lệ (5 lỗi), không lưu gì."
    fields = [p["field"] for p in body["problems"]]
    assert fields == ["link_key", "coverage.1.province", "coverage.1.month", "coverage.1.subscribers",
                      "coverage.2.province"]
    # the same declaration from the command line says the same things
    cli = Cli(tmp_path / "cli-home")
    path = write(tmp_path / "c.csv", "province,month,subscribers\n" + "".join(
        f"{c['province']},{c['month']},{c['subscribers']}\n" for c in coverage))
    said = " ".join(cli("sources", "declare", "telco-a", "--kind", "census", "--link-key", "public",
                        "--coverage", path).stderr.split())
    for p in body["problems"][:-1]:  # (the API capitalises the first letter of a row's problem)
        assert p["message"][1:] in said, (p["message"], said)
    assert body["problems"][-1]["message"] == ("Hà Nội (01) tháng 2022-01 đã có ở mục coverage.0 (mỗi tỉnh, thành "
                                               "phố và tháng một lần).")
    assert "Hà Nội (01) tháng 2022-01 đã có ở dòng 2 (mỗi tỉnh, thành phố và tháng một lần)." in said
    r = put(served, "telco-a", {"kind": "panel", "coverage": [coverage[0]]})
    assert r.status_code == 422 and [p["field"] for p in r.json()["problems"]] == ["coverage"]
    assert r.json()["problems"][0]["message"].startswith("Độ bao phủ chỉ khai báo cho nguồn loại census")
    assert served.client.get(API, headers=served.headers("admin")).json() == []  # nothing stored


def test_a_declaration_that_contradicts_the_stored_data_is_a_conflict(served: Served) -> None:
    post_usage(served, "telco-a", [{"user_id": "u1", "platform": "zalo", "time": "2022-01-03", "province": "01"},
                                   {"user_id": "u2", "platform": "zalo", "time": "2022-01-04", "province": "01"}])
    r = put(served, "telco-a", {"kind": "census", "link_key": "shared"})
    assert r.status_code == 409
    [problem] = r.json()["problems"]
    assert problem["field"] == "link_key" and "không đổi được sang shared" in problem["message"]
    # two persons were active in Hà Nội in January (posted over HTTP, still in the inbox): one subscriber is too few
    r = put(served, "telco-a", {"kind": "census", "coverage": [{"province": "01", "month": "2022-01",
                                                                 "subscribers": 1}]})
    assert r.status_code == 409
    [problem] = r.json()["problems"]
    assert problem["field"] == "coverage.0.subscribers"
    assert problem["message"].startswith("1 thuê bao ở Hà Nội tháng 2022-01 ít hơn 2 người đã hoạt động")
    assert served.client.get(f"{API}/telco-a", headers=served.headers("admin")).json()["declared"] is False
    r = put(served, "telco-a", {"kind": "census", "coverage": [{"province": "01", "month": "2022-01",
                                                                 "subscribers": 2}]})
    assert r.status_code == 200 and r.json()["link_key"] == "private"


def test_records_posted_to_shared_sources_are_one_person(served: Served) -> None:
    for source in ("telco-a", "telco-b"):
        assert put(served, source, {"kind": "census", "link_key": "shared"}).status_code == 200
    good = {"user_id": "0912000001", "platform": "zalo", "time": "2022-01-03"}
    post_usage(served, "telco-a", [good])  # a clean batch: staged with Arrow kernels
    r = served.client.post(f"{API}/telco-b/usage", headers=served.headers("admin"),
                           json=[good, {"user_id": "u9", "platform": "no-such-app", "time": "2022-01-03"}])
    assert r.status_code == 200 and r.json()["stored"] == 1  # a batch with a bad record: staged in SQL
    post_usage(served, "telco-c", [good])  # never declared: private
    secret = served.service.store.secret
    with served.service.db() as store:
        rows = inbox_rows(store).to_pylist()
    persons = {(r["source"], r["person"]) for r in rows}
    shared = expected_key(secret, "", "0912000001")
    assert persons == {("telco-a", shared), ("telco-b", shared),
                       ("telco-c", expected_key(secret, "telco-c", "0912000001"))}


def test_a_batch_keyed_before_its_source_was_declared_shared_is_refused(served: Served) -> None:
    body = b'[{"user_id": "u1", "platform": "zalo", "time": "2022-01-03"}]'
    raw = parse_records(body, "api-telco-d-1")
    clean = served.service.clean_rows("telco-d", raw)  # keyed as the source is now: private
    assert clean is not None
    assert put(served, "telco-d", {"kind": "census", "link_key": "shared"}).status_code == 200
    future = served.service.submit_usage("telco-d", Submission(raw, Writer(None, "admin"), clean=clean,
                                                               key_domain="telco-d"))
    with pytest.raises(KeyDomainChanged, match="vừa được khai báo lại với khóa liên kết khác"):
        future.result(timeout=60)
    with served.service.db() as store:
        assert inbox_rows(store).num_rows == 0


def test_a_batch_read_in_a_worker_process_is_keyed_in_its_sources_domain(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from thuocdo.web.app import create_app
    from thuocdo.workflows.service import Service, Settings

    service = Service(tmp_path / "home", Settings(flush_rows=1_000_000, flush_idle=3600, reader_processes=1))
    admin, _ = service.access.create_key("admin")
    try:
        with TestClient(create_app(service=service)) as client:
            headers = {"X-API-Key": admin}
            assert client.put(f"{API}/telco-a", json={"kind": "census", "link_key": "shared"},
                              headers=headers).status_code == 200
            r = client.post(f"{API}/telco-a/usage", headers=headers,
                            json=[{"user_id": "0912000001", "platform": "zalo", "time": "2022-01-03"}])
            assert r.status_code == 200 and r.json()["stored"] == 1
            with service.db() as store:
                persons = inbox_rows(store)["person"].to_pylist()
        assert persons == [expected_key(service.store.secret, "", "0912000001")]
    finally:
        service.close()
