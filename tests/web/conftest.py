"""Fixtures of the web tests: a served store (the ASGI app over a Service) and keys of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from thuocdo.web.app import create_app
from thuocdo.workflows.service import Service, Settings


@dataclass
class Served:
    home: Path
    service: Service
    client: TestClient
    keys: dict[str, str]

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"X-API-Key": self.keys[who]}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A server over an empty store, with keys: admin, analyst, telco-a and telco-b sources, entities hue and 46."""
    home = tmp_path / "home"
    service = Service(home, Settings(flush_rows=1_000_000, flush_idle=3600))
    keys = {}
    for name, role, extra in (("admin", "admin", {}), ("analyst", "analyst", {}),
                              ("telco-a", "source", {"source": "telco-a"}),
                              ("telco-b", "source", {"source": "telco-b"}),
                              ("hue", "entity", {"entity": "hue"}), ("ha-noi", "entity", {"entity": "ha-noi"})):
        keys[name], _ = service.access.create_key(role, **extra)
    app = create_app(service=service)
    try:
        with TestClient(app) as client:
            yield Served(home, service, client, keys)
    finally:
        service.close()
