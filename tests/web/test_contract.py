"""The API answers as its OpenAPI schema says: one error body for every error, every status a route answers
declared with it, the CSV and Parquet answers declared, gzip accepted on every write route.

(The property-based proof over generated requests is tests/web/test_schema.py; these are the worked cases.)
"""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from tests.web.conftest import Served

API = "/api/v1"
#: every write route with a small good body, and the key that owns it
WRITES = [
    ("/api/v1/sources/telco-a/usage", [{"user_id": "u1", "platform": "zalo", "time": "2022-01-03"}], "telco-a"),
    ("/api/v1/sources/telco-a/weights", [{"user_id": "u1", "month": "2022-01", "weight": 2}], "telco-a"),
    ("/api/v1/sources/telco-a/aggregates",
     [{"platform": "zalo", "period": "2022-01", "metric": "web_rank", "value": 3}], "telco-a"),
    ("/api/v1/entities/hue/indicators", [{"indicator": "dti_awareness", "period": "2024", "value": 0.5}], "hue"),
]
WRITE_IDS = [path.rsplit("/", 1)[1] for path, _, _ in WRITES]


def _schema(served: Served) -> dict[str, Any]:
    schema: dict[str, Any] = served.client.get(f"{API}/openapi.json").json()
    return schema


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in schema["paths"].items() for method, op in item.items()
            if path != f"{API}/health"]  # /health is another change's


def _is_error_body(body: Any) -> None:
    assert isinstance(body, dict) and set(body) == {"detail", "problems"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["problems"], list)
    for p in body["problems"]:
        assert set(p) == {"field", "message"} and all(isinstance(v, str) for v in p.values()), p


def _declared(schema: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(code) for code in schema["paths"][path][method]["responses"]}


# -- 1. one error body, declared as a model ------------------------------------------------------------------------
def test_every_error_response_is_declared_with_the_error_model(served: Served) -> None:
    schema = _schema(served)
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    assert "HTTPValidationError" not in orjson.dumps(schema).decode()
    assert set(components["ErrorBody"]["required"]) == {"detail", "problems"}
    for method, path, op in _operations(schema):
        for code, response in op["responses"].items():
            if int(code) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (method, path, code)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in op["responses"], (method, path)
        if any(s for s in op.get("security", [])):  # a key may be sent: a wrong one is refused
            assert "401" in op["responses"], (method, path)


def test_error_bodies_follow_the_model(served: Served) -> None:
    admin = served.headers("admin")
    cases = [
        (served.client.post(f"{API}/sources/telco-a/weights", json=[]), 401),
        (served.client.get(f"{API}/audit", headers=served.headers("analyst")), 403),
        (served.client.delete(f"{API}/keys/000000000000", headers=admin), 404),
        (served.client.post(f"{API}/sources/telco-a/usage", content=b"[{", headers=admin), 400),
        (served.client.post(f"{API}/keys", content=b'{"role": "\xff"}',
                            headers={**admin, "Content-Type": "application/json"}), 400),
        (served.client.get(f"{API}/metrics", params={"period": "2022-13"}, headers=admin), 422),
        (served.client.post(f"{API}/sources/telco-a/usage", content=b"[]",
                            headers={**admin, "Content-Encoding": "br"}), 415),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        _is_error_body(response.json())
    assert cases[0][0].json()["detail"] == "Cần khóa API (tiêu đề X-API-Key hoặc Authorization: Bearer)."
    assert cases[0][0].headers["WWW-Authenticate"] == "Bearer"
    assert cases[4][0].json()["detail"].startswith("Thân yêu cầu không đọc được")  # FastAPI's own, in Vietnamese


def test_validation_problems_name_the_field_in_vietnamese(served: Served) -> None:
    r = served.client.get(f"{API}/metrics", params={"period": "2022-13", "by": "nope"}, headers=served.headers("admin"))
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "Yêu cầu không hợp lệ."
    problems = {p["field"]: p["message"] for p in body["problems"]}
    assert set(problems) == {"period", "by"}
    assert "YYYY-MM" in problems["period"] or "dạng" in problems["period"]
    assert "platform" in problems["by"] and "hoặc" in problems["by"]
    missing = served.client.get(f"{API}/metrics", headers=served.headers("admin")).json()
    assert missing["problems"] == [{"field": "period", "message": "Thiếu giá trị bắt buộc."}]


def test_unknown_paths_and_methods_of_the_api_answer_the_error_body(served: Served) -> None:
    r = served.client.get(f"{API}/no-such-thing")
    assert r.status_code == 404
    _is_error_body(r.json())
    assert r.json()["detail"] != "Not Found"
    r = served.client.put(f"{API}/metrics")
    assert r.status_code == 405
    _is_error_body(r.json())
    assert served.client.get("/khong-co-trang-nay").status_code == 404  # the dashboard keeps its own answers


# -- 2. every status a route answers is declared; schema-valid requests are served -----------------------------------
def test_statuses_that_were_undocumented_are_declared(served: Served) -> None:
    schema = _schema(served)
    for path, _, _ in WRITES:
        template = path.replace("telco-a", "{source}").replace("hue", "{entity}")
        assert {400, 401, 403, 413, 415, 422} <= _declared(schema, "post", template), template
    assert {401, 403, 404, 422} <= _declared(schema, "get", f"{API}/index")
    assert {401, 403, 404, 422} <= _declared(schema, "get", f"{API}/reports/{{period}}/{{fmt}}")
    assert {401, 403, 404} <= _declared(schema, "delete", f"{API}/keys/{{key_id}}")
    assert {400, 401, 403, 422} <= _declared(schema, "post", f"{API}/keys")
    assert {400, 401, 403, 422} <= _declared(schema, "post", f"{API}/publications")


def test_the_schema_states_the_constraints_the_routes_check(served: Served) -> None:
    schema = _schema(served)
    params = {p["name"]: p["schema"] for p in schema["paths"][f"{API}/metrics"]["get"]["parameters"]}
    assert "pattern" in params["period"]
    source = params["source"]["anyOf"][0]  # a source, or census sources joined by ',' (a union)
    assert source["pattern"] == "^[a-z0-9][a-z0-9._-]{0,63}(,[a-z0-9][a-z0-9._-]{0,63}){0,15}$"
    for path in (f"{API}/sources/{{source}}/usage", f"{API}/sources/{{source}}/weights"):
        [param] = schema["paths"][path]["post"]["parameters"]
        assert param["schema"]["pattern"] == "^[a-z0-9][a-z0-9._-]{0,63}$"
    index = {p["name"]: p["schema"] for p in schema["paths"][f"{API}/index"]["get"]["parameters"]}
    assert "dti-2022" in index["framework"]["enum"]
    body = schema["paths"][f"{API}/sources/{{source}}/weights"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["minItems"] == 1 and body["schema"]["maxItems"] == 100_000
    key = schema["components"]["schemas"]["KeyRequest"]
    assert key["discriminator"]["propertyName"] == "role" and len(key["oneOf"]) == 4


def test_schema_valid_requests_that_were_refused_or_failed(served: Served) -> None:
    admin = served.headers("admin")
    # a period of year 0 passed the old schema and broke the server (500); now the schema refuses it
    r = served.client.get(f"{API}/metrics", params={"period": "0000-01"}, headers=admin)
    assert r.status_code == 422
    _is_error_body(r.json())
    # no values for the year, or a level the framework has not: nothing to show, not a malformed request
    r = served.client.get(f"{API}/index", params={"period": "2022", "level": "ministry"}, headers=admin)
    assert r.status_code == 404 and "Chưa có giá trị chỉ số nào" in r.json()["detail"]
    r = served.client.get(f"{API}/index", params={"period": "2022", "framework": "egdi"}, headers=admin)
    assert r.status_code == 404 and "không có cấp" in r.json()["detail"]
    r = served.client.get(f"{API}/index", params={"period": "2022", "framework": "no-such"}, headers=admin)
    assert r.status_code == 422 and "Không có bộ chỉ số" in r.json()["detail"]
    # a source key without its source: refused by the schema (one body per role), with the field named
    r = served.client.post(f"{API}/keys", json={"role": "source"}, headers=admin)
    assert r.status_code == 422 and [p["field"] for p in r.json()["problems"]] == ["source.source"]
    r = served.client.post(f"{API}/keys", json={"role": "source", "source": "telco-c", "label": "C"}, headers=admin)
    assert r.status_code == 201 and r.json()["source"] == "telco-c"
    r = served.client.post(f"{API}/keys", json={"role": "analyst", "source": None}, headers=admin)
    assert r.status_code == 201 and r.json()["role"] == "analyst"


# -- 3. CSV and Parquet answers are declared ------------------------------------------------------------------------
def test_csv_and_parquet_answers_are_declared(served: Served) -> None:
    schema = _schema(served)
    for path, media in ((f"{API}/metrics", {"application/json", "text/csv", "application/vnd.apache.parquet"}),
                        (f"{API}/index", {"application/json", "text/csv"}),
                        (f"{API}/targets", {"application/json", "text/csv"}),
                        (f"{API}/audit", {"application/json"})):
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == media, path
        assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/TableAnswer"}
    r = served.client.get(f"{API}/targets", params={"year": 2024, "format": "csv"}, headers=served.headers("admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")


# -- 4. gzip on every write route -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body", "owner"), WRITES, ids=WRITE_IDS)
def test_every_write_route_accepts_gzip(served: Served, path: str, body: object, owner: str) -> None:
    headers = {**served.headers(owner), "Content-Type": "application/json"}
    r = served.client.post(path, content=gzip.compress(orjson.dumps(body)),
                           headers={**headers, "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert (r.json()["received"], r.json()["stored"]) == (1, 1)
    again = served.client.post(path, content=orjson.dumps(body), headers=headers)  # the same, not compressed
    assert again.status_code == 200 and again.json()["received"] == 1


@pytest.mark.parametrize(("path", "body", "owner"), WRITES, ids=WRITE_IDS)
def test_bad_gzip_and_oversized_bodies_are_refused(served: Served, monkeypatch: pytest.MonkeyPatch, path: str,
                                                   body: object, owner: str) -> None:
    headers = {**served.headers(owner), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = served.client.post(path, content=b"\x1f\x8b not gzip at all", headers=headers)
    assert r.status_code == 400, r.text
    _is_error_body(r.json())
    assert "gzip" in r.json()["detail"] and "hỏng" in r.json()["detail"]
    r = served.client.post(path, content=gzip.compress(orjson.dumps(body))[:-12], headers=headers)  # cut short
    assert r.status_code == 400 and "gzip" in r.json()["detail"]
    r = served.client.post(path, content=orjson.dumps(body), headers={**headers, "Content-Encoding": "deflate"})
    assert r.status_code == 415 and "gzip" in r.json()["detail"]
    monkeypatch.setattr("thuocdo.ingest.bodies.MAX_BODY_BYTES", 1000)  # the limit applies after decompression
    big = gzip.compress(orjson.dumps(body * 50))
    assert len(big) < 1000
    r = served.client.post(path, content=big, headers=headers)
    assert r.status_code == 413, r.text
    _is_error_body(r.json())
    with served.service.db() as store:
        for table in ("batches", "inbox", "audit_log", "weights", "aggregates"):
            assert store.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0, table


def test_gzip_is_documented_on_every_write_route(served: Served) -> None:
    schema = _schema(served)
    for path, _, _ in WRITES:
        template = path.replace("telco-a", "{source}").replace("hue", "{entity}")
        description = schema["paths"][template]["post"]["requestBody"]["description"]
        assert "Content-Encoding: gzip" in description and "64 MiB" in description, template
