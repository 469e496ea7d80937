"""Results for everyone: usage metrics, periods, the composite index, national targets and quarterly reports.

Reads of unpublished periods need an analyst or admin key; others see published periods, with figures from
too few panelists withheld. The reports have a router of their own (`reports_router`) because the API lists
them after the catalog.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse

from thuocdo.catalog.frameworks import framework_ids
from thuocdo.indices.runs import IndexRequestError, index_table
from thuocdo.ingest.readers import InputError
from thuocdo.metrics.bands import ThresholdError, parse_thresholds
from thuocdo.model.periods import PeriodError
from thuocdo.reports.issuance import IssueError
from thuocdo.reports.tabular import csv_bytes
from thuocdo.web.api.auth import Caller, check_source, may_read, service_of
from thuocdo.web.api.schemas import (
    MONTH,
    MONTH_OR_QUARTER,
    QUARTER,
    SOURCE_NAME,
    SOURCE_SELECTION,
    YEAR,
    BandsResult,
    errors,
    table_answers,
)
from thuocdo.workflows.access import normalise_period
from thuocdo.workflows.estimates import NATIONAL, NotPublic, UnknownSource
from thuocdo.workflows.reports import (
    DATE_HELP,
    DATE_PATTERN,
    ISSUER_HELP,
    SIGNER_HELP,
    SIGNER_MAX,
    SIGNER_TITLE_HELP,
    ReportRequestError,
    issue_settings,
    issuer_ids,
)
from thuocdo.workflows.retention import NoData

router = APIRouter()
reports_router = APIRouter()


def check_selection(source: str | None) -> None:
    """422 when a selection names a source that cannot be one (each of a union's, or the one)."""
    if source is not None and source != NATIONAL:
        for name in source.split(","):
            check_source(name)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def table_response(table: pa.Table, fmt: str, meta: dict[str, Any]) -> Response:
    if fmt == "csv":
        return Response(csv_bytes(table), media_type="text/csv; charset=utf-8")
    if fmt == "parquet":
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return Response(sink.getvalue().to_pybytes(), media_type="application/vnd.apache.parquet")
    rows = [{k: _jsonable(v) for k, v in r.items()} for r in table.to_pylist()]
    return Response(orjson.dumps({**meta, "columns": table.column_names, "rows": rows},
                                 option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME, default=str),
                    media_type="application/json")


Fmt = Annotated[Literal["json", "csv"], Query(description="json hoặc csv")]


@router.get("/metrics", tags=["kết quả"],
            responses={**table_answers("csv", "parquet"), **errors(401, 403, 404, 422)})
def get_metrics(request: Request, who: Caller,
                period: Annotated[str, Query(description="YYYY-MM hoặc YYYY-Qn (năm 2000–2099)",
                                             pattern=MONTH_OR_QUARTER)],
                by: Annotated[Literal["platform", "province", "category"], Query()] = "platform",
                source: Annotated[str | None, Query(
                    pattern=SOURCE_SELECTION,
                    description="Một nguồn; nhiều nguồn nhà mạng gộp làm một ('a,b'); hoặc 'national': ước lượng "
                                "toàn quốc kết hợp các nguồn, kèm sai số (cột sources, mau_low, mau_high). Mặc "
                                "định: 'national' khi kho có nhiều nguồn, nguồn duy nhất khi chỉ có một.")] = None,
                distinct: Annotated[Literal["exact", "sketch"], Query(
                    description="exact (mặc định) hoặc sketch: MAU từ các sketch HLL đã lưu, "
                                "kèm cận và sai số; sketch chỉ dùng với by=platform hoặc by=province "
                                "(by=category: 422) và với một nguồn (hợp nguồn hay national: 422)")] = "exact",
                format: Annotated[Literal["json", "csv", "parquet"], Query()] = "json") -> Response:
    """Các chỉ số sử dụng của một kỳ, cùng tham số và cột với `thuocdo metrics` (cộng cột `suppressed` cho
    khách: số liệu dựa trên dưới 20 người trong mẫu không được công bố, và các ô đi kèm cũng được ẩn để không
    thể suy ra chúng bằng phép trừ từ tổng; tổng theo nhóm chỉ cộng các ô được công bố, cột `withheld` đếm các
    nền tảng không được tính)."""
    service = service_of(request)
    may_read(service, who, period)
    check_selection(source)
    try:
        if source is None:  # the national estimate when several sources have records and it can be made
            default, _ = service.usage_sources()
            source = default if default == NATIONAL else None
        table = service.public_metrics(period, by, who, source, distinct)
    except UnknownSource as exc:
        raise HTTPException(404, str(exc)) from exc
    except NotPublic as exc:
        raise HTTPException(403, str(exc)) from exc
    except (PeriodError, InputError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return table_response(table, format, {"period": normalise_period(period), "by": by})


@router.get("/bands", tags=["kết quả"], response_model=BandsResult, responses=errors(401, 403, 404, 422))
def get_bands(request: Request, who: Caller,
              period: Annotated[str, Query(description="YYYY-MM hoặc YYYY-Qn (năm 2000–2099)",
                                           pattern=MONTH_OR_QUARTER)],
              thresholds: Annotated[str | None, Query(
                  pattern=r"^[1-9][0-9]{0,14}(,[1-9][0-9]{0,14}){0,9}$",
                  description="Các ngưỡng người dùng hằng tháng (số nguyên dương, tối đa 10), cách nhau bởi dấu "
                              "phẩy, theo thứ tự nào cũng được (mặc định 10000000,5000000,1000000).")] = None,
              source: Annotated[str | None, Query(
                  pattern=SOURCE_SELECTION,
                  description="Nguồn, hợp nguồn hay 'national', như ở /metrics. Mặc định: ước lượng toàn quốc khi "
                              "làm được, nguồn duy nhất khi chỉ có một.")] = None) -> dict[str, Any]:
    """Số nền tảng theo nhóm số người dùng hằng tháng, như `thuocdo bands`: mỗi nhóm [band_low, band_high) (một
    nền tảng đúng bằng ngưỡng thuộc nhóm trên), số nền tảng, của Việt Nam, nước ngoài, và tên (MAU giảm dần).
    Nền tảng không có số liệu công bố (khách không xem được) không được xếp nhóm: đếm ở `missing`."""
    service = service_of(request)
    may_read(service, who, period)
    check_selection(source)
    try:
        limits = None if thresholds is None else sorted({int(t) for t in thresholds.split(",")}, reverse=True)
        found = service.bands(period, parse_thresholds(limits), who, source)
    except UnknownSource as exc:
        raise HTTPException(404, str(exc)) from exc
    except NotPublic as exc:
        raise HTTPException(403, str(exc)) from exc
    except (PeriodError, InputError, ThresholdError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"period": normalise_period(period), "source": found.source, "missing": found.missing,
            "rows": found.table.to_pylist()}


@router.get("/retention", tags=["kết quả"], responses=errors(401, 403, 404, 422))
def get_retention(request: Request, who: Caller,
                  cohort: Annotated[str, Query(description="Tháng của nhóm người dùng (YYYY-MM).", pattern=MONTH)],
                  months: Annotated[int, Query(ge=0, le=120, description="Số tháng theo dõi sau tháng đó.")],
                  platform: Annotated[str | None, Query(pattern=SOURCE_NAME, description="Mã nền tảng.")] = None,
                  source: Annotated[str | None, Query(
                      pattern=SOURCE_NAME, description="Một nguồn (mặc định: nguồn duy nhất có bản ghi).")] = None,
                  by: Annotated[Literal["province"] | None, Query()] = None) -> dict[str, Any]:
    """Tỷ lệ giữ chân người dùng, như `thuocdo retention` (chỉ khóa phân tích hoặc quản trị): trong số người dùng
    một nền tảng trong tháng `cohort` (có trọng số của tháng đó), tỷ lệ còn dùng ở từng tháng sau (`rows`: platform,
    name, cohort, month, months_since, cohort_persons, retained_persons, retained_share, margin; province khi
    by=province)."""
    if not who.sees_unpublished:
        raise HTTPException(403, "Tỷ lệ giữ chân người dùng chỉ dành cho khóa phân tích (analyst) hoặc quản trị "
                                 "(admin).")
    if source is not None:
        check_source(source)
    service = service_of(request)
    try:
        found = service.retention(cohort, months, platform, source, by == "province")
    except (UnknownSource, NoData) as exc:
        raise HTTPException(404, str(exc)) from exc
    except (PeriodError, InputError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"cohort": cohort, "source": found.source, "months": found.months,
            "rows": [{k: _jsonable(v) for k, v in r.items()} for r in found.table.to_pylist()]}


@router.get("/periods", tags=["kết quả"], responses=errors(401))
def get_periods(request: Request, who: Caller) -> dict[str, Any]:
    """Các tháng có số liệu sử dụng và các kỳ đã công bố (khách chỉ thấy tháng đã công bố)."""
    service = service_of(request)
    months = service.months_with_data()
    if not who.sees_unpublished:
        months = [m for m in months if service.access.is_published(m)]
    return {"months": months, "published": service.access.publications()}


@router.get("/index", tags=["kết quả"], responses={**table_answers("csv"), **errors(401, 403, 404, 422)})
def get_index(request: Request, who: Caller,
              period: Annotated[str, Query(pattern=YEAR, description="Năm, YYYY (2000–2099)")],
              framework: Annotated[str, Query(max_length=40, json_schema_extra={"enum": list(framework_ids())},
                                              description="Bộ chỉ số")] = "dti-2022",
              level: Annotated[Literal["province", "ministry", "nation"], Query()] = "province",
              units: Annotated[Literal["63", "34"] | None, Query()] = None, format: Fmt = "json") -> Response:
    """Kết quả chỉ số tổng hợp và xếp hạng (kèm khoảng hạng 5–95% Monte Carlo) của một năm. 404: chưa có giá
    trị chỉ số nào cho năm đó, hoặc bộ chỉ số không có cấp được hỏi."""
    service = service_of(request)
    if framework not in framework_ids():
        raise HTTPException(422, f"Không có bộ chỉ số '{framework[:40]}' (có: {', '.join(framework_ids())}).")
    may_read(service, who, period)
    try:
        run = service.index(framework, period, level, units)
    except (IndexRequestError, KeyError, ValueError) as exc:  # no values for the year, or no such level
        raise HTTPException(404, str(exc)) from exc
    return table_response(index_table(run), format, {"framework": framework, "period": period, "level": level,
                                                     "units": getattr(run, "units", None)})


@router.get("/targets", tags=["kết quả"], responses={**table_answers("csv"), **errors(401, 403, 422)})
def get_targets(request: Request, who: Caller, year: Annotated[int, Query(ge=2000, le=2100)],
                format: Fmt = "json") -> Response:
    """Các mục tiêu quốc gia: giá trị thực tế, mục tiêu, mức đạt, khoảng cách, tăng trưởng cần thiết, trạng thái."""
    service = service_of(request)
    may_read(service, who, str(year))
    return table_response(service.targets(year), format, {"year": year})


REPORT_FORMATS = ("md", "html", "docx", "pdf")
_MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
          "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}


@reports_router.get("/reports", tags=["báo cáo"], responses=errors(401))
def list_reports(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Các báo cáo quý có thể tải (khách: các quý đã công bố)."""
    service = service_of(request)
    quarters = sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in service.months_with_data()})
    if not who.sees_unpublished:
        quarters = [q for q in quarters if service.access.is_published(q)]
    return [{"period": q,
             "formats": {f: f"{request.url_for('get_report', period=q, fmt=f).path}" for f in REPORT_FORMATS}}
            for q in quarters]


@reports_router.get("/reports/{period}/{fmt}", tags=["báo cáo"], response_class=FileResponse,
                    responses={200: {"content": {m: {"schema": {"type": "string", "format": "binary"}}
                                                 for m in _MEDIA.values()},
                                     "description": "Tệp báo cáo."},
                               **errors(401, 403, 404, 422)})
def get_report(request: Request, who: Caller,
               period: Annotated[str, Path(pattern=QUARTER, description="Quý, YYYY-Qn (năm 2000–2099)")],
               fmt: Literal["md", "html", "docx", "pdf"],
               issuer: Annotated[str | None, Query(max_length=40, description=ISSUER_HELP,
                                                   json_schema_extra={"enum": issuer_ids()})] = None,
               signer: Annotated[str, Query(max_length=SIGNER_MAX, description=SIGNER_HELP)] = "",
               signer_title: Annotated[str, Query(max_length=SIGNER_MAX, description=SIGNER_TITLE_HELP)] = "",
               date: Annotated[str | None, Query(pattern=DATE_PATTERN, description=DATE_HELP,
                                                 json_schema_extra={"format": "date"})] = None) -> Any:
    """Tải báo cáo quý (md, html, docx, pdf); lập lần đầu khi được hỏi, mỗi bộ tùy chọn ban hành một bản, như
    `thuocdo report --issuer/--signer/--signer-title/--date`. 404: chưa có số liệu của quý. 422: tùy chọn ban
    hành không dùng được (cơ quan không có, ngày không có thật, không sau kỳ báo cáo hay trước văn bản được trích
    dẫn, cơ quan chưa hoặc không còn ban hành vào ngày đó)."""
    service = service_of(request)
    may_read(service, who, period)
    try:
        settings = issue_settings(issuer, signer, signer_title, date)
    except ReportRequestError as exc:  # the options themselves
        raise HTTPException(422, str(exc)) from exc
    try:
        path = service.report(normalise_period(period), fmt, settings)
    except IssueError as exc:  # the options, against the period and what the report cites
        raise HTTPException(422, str(exc)) from exc
    except ValueError as exc:  # no data for the quarter
        raise HTTPException(404, str(exc)) from exc
    return FileResponse(path, media_type=_MEDIA[fmt], filename=path.name)
