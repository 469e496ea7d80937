"""The store of the small hand-made panel (tests/reports/report_fixture.py), the metric tables of its quarter and
its quarterly report, shared by the report tests (read only: they are built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports.report_fixture import write_fixture
from thuocdo.catalog import load_catalog
from thuocdo.reports.build import build_report
from thuocdo.reports.context import ReportInputs
from thuocdo.reports.model import Report
from thuocdo.store import Store
from thuocdo.workflows import ingest as ingest_workflow
from thuocdo.workflows.reports import report_inputs

SOURCE = "fixture-panel"


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    files = write_fixture(folder / "in")
    home = folder / "home"
    for kind in ("weights", "usage"):
        report = ingest_workflow.ingest(home, kind, [files[kind]], SOURCE)
        assert not report.errors and report.rejected == 0
    ingest_workflow.ingest(home, "aggregates", [files["aggregates"]], "web-panel")
    # the deliveries are dated (a week after the quarter), so that the report's lateness does not move with the day
    # the tests run
    with Store(home) as db:
        db.con.execute("UPDATE batches SET committed_at = TIMESTAMP '2022-04-07 03:00:00'")
    return home


@pytest.fixture(scope="session")
def inputs(store: Path) -> ReportInputs:
    return report_inputs(store, "2022-Q1")


@pytest.fixture(scope="session")
def report(inputs: ReportInputs) -> Report:
    return build_report(inputs, load_catalog())
