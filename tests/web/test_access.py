"""Who may write and read what: every write endpoint refused without a key, with another source's or entity's
key, with a role that does not write, and with a revoked key; nothing is written by a refused request."""

from __future__ import annotations

import pytest

from tests.conftest import Cli
from tests.web.conftest import Served
from thuocdo.workflows.access import Access

USAGE_ROW = {"user_id": "u1", "platform": "zalo", "time": "2022-01-03"}
#: (method, path, JSON body, the key that owns the target)
WRITES = [
    ("post", "/api/v1/sources/telco-a/usage", [USAGE_ROW], "telco-a"),
    ("post", "/api/v1/sources/telco-a/weights", [{"user_id": "u1", "month": "2022-01", "weight": 2}], "telco-a"),
    ("post", "/api/v1/sources/telco-a/aggregates",
     [{"platform": "zalo", "period": "2022-01", "metric": "web_rank", "value": 3}], "telco-a"),
    ("post", "/api/v1/entities/hue/indicators", [{"indicator": "dti", "period": "2024", "value": 0.5}], "hue"),
    ("post", "/api/v1/keys", {"role": "analyst"}, "admin"),
    ("delete", "/api/v1/keys/000000000000", None, "admin"),
    ("post", "/api/v1/publications", {"period": "2022-Q1"}, "admin"),
    ("delete", "/api/v1/publications/2022-Q1", None, "admin"),
]
#: for each write, keys that must be refused with 403 (a key of the wrong source, entity or role)
WRONG = {"telco-a": ["telco-b", "hue", "analyst"], "hue": ["ha-noi", "telco-a", "analyst"],
         "admin": ["analyst", "telco-a", "hue"]}


def _send(served: Served, method: str, path: str, body: object, headers: dict[str, str]):
    return served.client.request(method.upper(), path, json=body, headers=headers)


def _nothing_written(served: Served) -> None:
    with served.service.db() as store:
        for table in ("inbox", "inbox_segments", "batches", "audit_log", "weights", "aggregates", "quarantine"):
            assert store.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0, table
    assert served.service.access.publications() == []


@pytest.mark.parametrize(("method", "path", "body", "owner"), WRITES, ids=[f"{m} {p}" for m, p, _, _ in WRITES])
def test_every_write_needs_the_right_key(served: Served, method: str, path: str, body: object, owner: str) -> None:
    assert _send(served, method, path, body, {}).status_code == 401
    assert _send(served, method, path, body, {"X-API-Key": "td_000000000000_" + "x" * 43}).status_code == 401
    assert _send(served, method, path, body, {"Authorization": "Bearer not-a-key"}).status_code == 401
    for wrong in WRONG[owner]:
        r = _send(served, method, path, body, served.headers(wrong))
        assert r.status_code == 403, (wrong, r.text)
    _nothing_written(served)


@pytest.mark.parametrize(("method", "path", "body", "owner"), WRITES[:3], ids=[p for _, p, _, _ in WRITES[:3]])
def test_a_revoked_key_stops_working_at_once(served: Served, method: str, path: str, body: object, owner: str) -> None:
    key_id = served.keys[owner].split("_")[1]
    Access(served.home).revoke_key(key_id)  # as `thuocdo keys revoke` would, from another process
    assert _send(served, method, path, body, served.headers(owner)).status_code == 401
    _nothing_written(served)


def test_the_owner_and_the_admin_may_write(served: Served) -> None:
    for who in ("telco-a", "admin"):
        r = served.client.post("/api/v1/sources/telco-a/usage", json=[USAGE_ROW], headers=served.headers(who))
        assert r.status_code == 200, r.text
    r = served.client.post("/api/v1/keys", json={"role": "source", "source": "telco-c"},
                           headers=served.headers("admin"))
    assert r.status_code == 201
    new_key = r.json()["key"]
    r = served.client.post("/api/v1/sources/telco-c/usage", json=[USAGE_ROW], headers={"X-API-Key": new_key})
    assert r.status_code == 200 and r.json()["stored"] == 1


def test_keys_are_stored_as_hashes_only(served: Served) -> None:
    data = (served.home / "access.sqlite").read_bytes()
    for key in served.keys.values():
        assert key.encode() not in data
        assert key.split("_")[1].encode() in data  # the public id is


def test_unpublished_results_are_for_analysts_and_admins(served: Served) -> None:
    served.client.post("/api/v1/sources/telco-a/usage", json=[USAGE_ROW], headers=served.headers("telco-a"))
    for who, status in ((None, 403), ("telco-a", 403), ("hue", 403), ("analyst", 200), ("admin", 200)):
        r = served.client.get("/api/v1/metrics", params={"period": "2022-01"}, headers=served.headers(who))
        assert r.status_code == status, who
    periods = served.client.get("/api/v1/periods").json()
    assert periods["months"] == []
    assert served.client.get("/api/v1/periods", headers=served.headers("analyst")).json()["months"] == ["2022-01"]
    assert served.client.get("/api/v1/audit", headers=served.headers("analyst")).status_code == 403


def test_keys_from_the_command_line(cli: Cli) -> None:
    created = cli("keys", "create", "--role", "source", "--source", "telco-a", "--label", "Telco A")
    assert created.exit_code == 0, created.stderr
    key = created.stdout.strip()
    access = Access(cli.home)
    principal = access.authenticate(key)
    assert principal is not None and (principal.role, principal.source) == ("source", "telco-a")
    listed = cli("keys", "list")
    assert principal.key_id in listed.stdout and key not in listed.stdout
    assert cli("keys", "revoke", principal.key_id).exit_code == 0
    assert access.authenticate(key) is None
    bad = cli("keys", "create", "--role", "source")
    assert bad.exit_code == 2 and "--source" in bad.stderr
    assert cli("publish", "2022-Q1").exit_code == 0 and access.is_published("2022-02")
    assert cli("publish", "2022-13").exit_code == 2
