"""The national estimate and unions through the API: who may read what, and caches that follow declarations."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.web.conftest import Served

API = "/api/v1"


def _deliver(served: Served, source: str, persons: int, subscribers: int) -> None:
    rows = [{"user_id": f"{source}-{i}", "platform": "zalo", "time": "2022-01-15T10:00:00+07:00",
             "active_seconds": 60, "province": "Hà Nội"} for i in range(persons)]
    posted = served.client.post(f"{API}/sources/{source}/usage", content=orjson.dumps(rows),
                                headers={**served.headers("admin"), "Content-Type": "application/json"})
    assert posted.status_code == 200, posted.text
    _declare(served, source, subscribers)


def _declare(served: Served, source: str, subscribers: int) -> None:
    body = {"kind": "census", "link_key": "private",
            "coverage": [{"province": "01", "month": "2022-01", "subscribers": subscribers}]}
    declared = served.client.put(f"{API}/sources/{source}", json=body, headers=served.headers("admin"))
    assert declared.status_code == 200, declared.text


def _metrics(served: Served, who: str | None, **query: str) -> Any:
    return served.client.get(f"{API}/metrics", params={"period": "2022-01", **query}, headers=served.headers(who))


def _rows(served: Served, who: str | None, **query: str) -> list[dict[str, Any]]:
    answer = _metrics(served, who, **query)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


@pytest.fixture
def operators(served: Served) -> Served:
    _deliver(served, "telco-a", 70, 140)
    _deliver(served, "telco-b", 65, 200)
    served.service.access.publish("2022-Q1")
    return served


def test_the_default_is_the_national_estimate(operators: Served) -> None:
    rows = _rows(operators, "analyst")
    [zalo] = [r for r in rows if r["platform"] == "zalo"]
    assert zalo["source"] == "national"
    assert zalo["sample_persons"] == 135
    # the analyst sees each source's share; the estimate itself is checked by hand in tests/test_source_selection.py
    assert {part.split("=")[0] for part in zalo["sources"].split(";")} == {"telco-a", "telco-b"}
    assert "=" in zalo["sources"]


def test_the_public_sees_the_sources_without_their_shares_or_sample(operators: Served) -> None:
    [zalo] = [r for r in _rows(operators, None) if r["platform"] == "zalo"]
    assert zalo["source"] == "national" and zalo["mau"] > 0
    assert sorted(zalo["sources"].split(";")) == ["telco-a", "telco-b"]  # a share × the sample is a count
    assert zalo["sample_persons"] is None


def test_a_union_is_for_analysts_and_an_unknown_source_is_not_found(operators: Served) -> None:
    assert _metrics(operators, None, source="telco-a,telco-b").status_code == 403
    [zalo] = [r for r in _rows(operators, "analyst", source="telco-a,telco-b") if r["platform"] == "zalo"]
    assert zalo["mau"] == pytest.approx(135)  # private keys: 70 + 65 persons
    missing = _metrics(operators, "analyst", source="telco-a,telco-x")
    assert missing.status_code == 404 and "telco-x" in missing.json()["detail"]


def test_a_new_declaration_moves_the_published_national_figures(operators: Served) -> None:
    before = next(r for r in _rows(operators, None) if r["platform"] == "zalo")["mau"]
    _declare(operators, "telco-a", 280)  # twice the subscribers: telco-a's 70 persons stand for fewer
    after = next(r for r in _rows(operators, None) if r["platform"] == "zalo")["mau"]
    assert after < before
