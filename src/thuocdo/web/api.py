"""The HTTP API (mounted under /api/v1): data delivery for sources and entities, results for everyone.

Every write needs a key of the right role for the right source or entity, and is recorded in the audit log.
Reads of unpublished periods need an analyst or admin key; others see published periods, with figures from
too few panelists withheld.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
from typing import Annotated, Any, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from thuocdo.indices.workflow import IndexRequestError, index_table
from thuocdo.ingest.readers import InputError
from thuocdo.ingest.bodies import MAX_BODY_BYTES, MAX_RECORDS, BodyTooLarge, parse_records
from thuocdo.ingest.stream import Submission, Writer
from thuocdo.model.periods import PeriodError
from thuocdo.output import csv_bytes
from thuocdo.web.access import ANONYMOUS_PRINCIPAL, ROLES, AccessError, Principal, normalise_period
from thuocdo.web.service import Service

router = APIRouter()
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Khóa API (thuocdo keys create).")
_bearer = HTTPBearer(auto_error=False, description="Khóa API dạng Authorization: Bearer td_…")


# -- who is calling ---------------------------------------------------------------------------------------------------
def service_of(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def principal(request: Request, key: Annotated[str | None, Depends(_api_key)] = None,
              bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None) -> Principal:
    token = key or (bearer.credentials if bearer else None)
    if not token:
        return ANONYMOUS_PRINCIPAL
    found = service_of(request).access.authenticate(token)
    if found is None:
        raise HTTPException(401, "Khóa API không hợp lệ hoặc đã bị thu hồi.", headers={"WWW-Authenticate": "Bearer"})
    return found


Caller = Annotated[Principal, Depends(principal)]


def _require_key(who: Principal) -> None:
    if who.role == "anonymous":
        raise HTTPException(401, "Cần khóa API (tiêu đề X-API-Key hoặc Authorization: Bearer).",
                            headers={"WWW-Authenticate": "Bearer"})


def _require_admin(who: Principal) -> None:
    _require_key(who)
    if who.role != "admin":
        raise HTTPException(403, "Chỉ khóa quản trị (admin) được làm việc này.")


def _check_source(source: str) -> None:
    if not _SOURCE.match(source):
        raise HTTPException(422, f"Tên nguồn '{source[:64]}' không hợp lệ: chữ thường, số, '.', '_' hoặc '-', tối đa 64 ký tự.")


def _may_write_source(who: Principal, source: str) -> None:
    _require_key(who)
    _check_source(source)
    if not who.may_write_source(source):
        raise HTTPException(403, f"Khóa này không được ghi vào nguồn '{source}'.")


def _writer(who: Principal, request: Request) -> Writer:
    return Writer(who.key_id, who.role, request.client.host if request.client else None)


def _may_read(service: Service, who: Principal, period: str) -> None:
    """Unpublished periods are for analysts and admins only."""
    try:
        label = normalise_period(period)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    if not who.sees_unpublished and not service.access.is_published(label):
        raise HTTPException(403, f"Kỳ {label} chưa được công bố.")


# -- models (for the OpenAPI schema and the answers) ------------------------------------------------------------------
class UsageRecord(BaseModel):
    """One usage record (DESIGN.md): the same fields as the files."""

    record_id: str | None = Field(None, max_length=128, description="Khóa chống trùng trong nguồn (không bắt buộc).")
    user_id: str = Field(..., min_length=1, max_length=256, description="Mã người dùng của nguồn; chỉ lưu dạng băm có khóa.")
    platform: str = Field(..., description="Mã hoặc bí danh nền tảng trong danh mục.")
    time: str = Field(..., description="ISO 8601, có hoặc không có múi giờ (không có: giờ Việt Nam), hoặc ngày.")
    active_seconds: int | None = Field(0, ge=0, le=86_400)
    bytes: int | None = Field(0, ge=0)
    sessions: int | None = Field(1, ge=0)
    installs: int | None = Field(0, ge=0)
    province: str | None = Field(None, description="Mã hoặc tên tỉnh/thành, cũ (63) hoặc mới (34).")


class Problem(BaseModel):
    field: str
    message: str


class RecordStatus(BaseModel):
    index: int = Field(..., description="Vị trí của bản ghi trong mảng (từ 1), hoặc số dòng NDJSON.")
    status: Literal["stored", "duplicate", "rejected"]
    problems: list[Problem] | None = None


class UsageBatchResult(BaseModel):
    batch_id: str
    source: str
    received: int
    stored: int
    duplicates: int
    rejected: int
    records: list[RecordStatus]


class TableBatchResult(BaseModel):
    batch_id: str
    source: str
    kind: str
    received: int
    stored: int
    duplicates: int
    rejected: int
    problems: list[dict[str, Any]]


class WeightRecord(BaseModel):
    user_id: str = Field(..., min_length=1, max_length=256)
    month: str = Field(..., description="YYYY-MM")
    weight: float = Field(..., gt=0)


class AggregateRecord(BaseModel):
    platform: str
    period: str = Field(..., description="YYYY-MM, YYYY-Qn hoặc YYYY")
    metric: str
    value: float


class IndicatorRecord(BaseModel):
    indicator: str
    period: str
    value: float | None = None
    self_score: float | None = None
    council_score: float | None = None
    evidence: str | None = None


class KeyRequest(BaseModel):
    role: Literal["admin", "analyst", "source", "entity"]
    source: str | None = None
    entity: str | None = None
    label: str | None = Field(None, max_length=200)


class PublicationRequest(BaseModel):
    period: str = Field(..., description="YYYY-MM, YYYY-Qn hoặc YYYY")


_USAGE_BODY = {
    "requestBody": {
        "required": True,
        "description": (f"Mảng JSON các bản ghi, hoặc NDJSON (một bản ghi mỗi dòng); có thể nén gzip "
                        f"(Content-Encoding: gzip). Tối đa {MAX_RECORDS:,} bản ghi và {MAX_BODY_BYTES >> 20} MiB "
                        "sau giải nén mỗi yêu cầu."),
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/UsageRecord"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
}


def _table_body(model: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{model}"}}}}}}


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"Thân yêu cầu vượt giới hạn {MAX_BODY_BYTES:,} byte.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, f"Thân yêu cầu vượt giới hạn {MAX_BODY_BYTES:,} byte.")
        chunks.append(chunk)
    return b"".join(chunks)


# -- data delivery ------------------------------------------------------------------------------------------------------
@router.post("/sources/{source}/usage", response_model=UsageBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=_USAGE_BODY,
             responses={401: {"description": "Thiếu khóa hoặc khóa sai"}, 403: {"description": "Khóa của nguồn khác"},
                        413: {"description": "Quá giới hạn"}, 400: {"description": "Thân yêu cầu không đọc được"}})
async def post_usage(source: str, request: Request, who: Caller) -> Any:
    """Gửi một lô bản ghi sử dụng vào nguồn của mình. Kết quả nêu từng bản ghi: đã lưu, trùng hay bị loại
    (kèm lý do). Gửi lại cùng một lô (thử lại) không lưu gì hai lần."""
    _may_write_source(who, source)
    body = await _body(request)
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    service = service_of(request)
    writer = _writer(who, request)
    batch_id = uuid.uuid4().hex

    try:
        raw, clean = await asyncio.wrap_future(
            service.readers.read(source, body, f"api-{source}-{batch_id[:12]}", gzipped=gzipped))
    except BodyTooLarge as exc:
        raise HTTPException(413, str(exc)) from exc
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc
    submission = Submission(raw, writer, batch_id, clean=clean)
    outcome = await asyncio.wrap_future(service.submit_usage(source, submission))
    return Response(orjson.dumps(outcome.as_json()), media_type="application/json")


def _json_rows(body: bytes, model: type[BaseModel]) -> list[dict[str, Any]]:
    try:
        rows = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"Thân yêu cầu không phải JSON hợp lệ ({exc}).") from exc
    if not isinstance(rows, list) or not rows:
        raise HTTPException(400, "Thân yêu cầu phải là một mảng JSON khác rỗng các bản ghi.")
    if len(rows) > MAX_RECORDS:
        raise HTTPException(413, f"{len(rows):,} bản ghi, vượt giới hạn {MAX_RECORDS:,} bản ghi mỗi yêu cầu.")
    if not all(isinstance(r, dict) for r in rows):
        raise HTTPException(400, "Mỗi phần tử của mảng phải là một đối tượng JSON.")
    known = set(model.model_fields)
    return [{k: v for k, v in r.items() if k in known} for r in rows]


async def _post_table(request: Request, who: Caller, kind: str, source: str, rows: list[dict[str, Any]],
                      name: str) -> Any:
    service = service_of(request)
    try:
        result = await run_in_threadpool(service.ingest_table, kind, source, rows, _writer(who, request), name)
    except (InputError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from exc
    return TableBatchResult(batch_id=result.batch_id, source=source, kind=kind, received=result.rows_read,
                            stored=result.stored, duplicates=result.duplicates, rejected=result.rejected,
                            problems=[{"line": p.line, "field": p.field, "message": p.message} for p in result.problems])


@router.post("/sources/{source}/weights", response_model=TableBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=_table_body("WeightRecord"))
async def post_weights(source: str, request: Request, who: Caller) -> Any:
    """Gửi trọng số bảng mẫu (user_id, month, weight) của nguồn mình; gửi lại thì thay giá trị cũ."""
    _may_write_source(who, source)
    rows = _json_rows(await _body(request), WeightRecord)
    return await _post_table(request, who, "weights", source, rows, f"api-{source}-weights")


@router.post("/sources/{source}/aggregates", response_model=TableBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=_table_body("AggregateRecord"))
async def post_aggregates(source: str, request: Request, who: Caller) -> Any:
    """Gửi số liệu tổng hợp đã công bố (platform, period, metric, value) của nguồn mình."""
    _may_write_source(who, source)
    rows = _json_rows(await _body(request), AggregateRecord)
    return await _post_table(request, who, "aggregates", source, rows, f"api-{source}-aggregates")


def entity_source(entity: str) -> str:
    """The source name under which an entity's own submissions are kept."""
    slug = re.sub(r"[^a-z0-9]+", "-", entity.lower()).strip("-")[:50] or "x"
    return f"entity-{slug}"


@router.post("/entities/{entity}/indicators", response_model=TableBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=_table_body("IndicatorRecord"))
async def post_indicators(entity: str, request: Request, who: Caller) -> Any:
    """Gửi giá trị chỉ số (indicator, period, value, self_score, council_score, evidence) của tỉnh/thành
    hoặc bộ, ngành của mình."""
    _require_key(who)
    if not who.may_write_entity(entity):
        raise HTTPException(403, f"Khóa này không được nộp chỉ số cho '{entity[:64]}'.")
    rows = _json_rows(await _body(request), IndicatorRecord)
    for r in rows:
        r["entity"] = entity
        r["source"] = entity_source(entity)
    return await _post_table(request, who, "indicators", entity_source(entity), rows, f"api-{entity_source(entity)}")


# -- results ------------------------------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _table_response(table: pa.Table, fmt: str, meta: dict[str, Any]) -> Response:
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


@router.get("/metrics", tags=["kết quả"])
def get_metrics(request: Request, who: Caller,
                period: Annotated[str, Query(description="YYYY-MM hoặc YYYY-Qn", max_length=16)],
                by: Annotated[Literal["platform", "province", "category"], Query()] = "platform",
                source: Annotated[str | None, Query(max_length=64)] = None,
                distinct: Annotated[Literal["exact", "sketch"], Query(
                    description="exact (mặc định) hoặc sketch: MAU từ các sketch HLL đã lưu, kèm cận và sai số")] = "exact",
                format: Annotated[Literal["json", "csv", "parquet"], Query()] = "json") -> Response:
    """Các chỉ số sử dụng của một kỳ, cùng tham số và cột với `thuocdo metrics` (cộng cột `suppressed` cho
    khách: số liệu dựa trên dưới 20 người trong mẫu không được công bố)."""
    service = service_of(request)
    _may_read(service, who, period)
    if source is not None:
        _check_source(source)
    try:
        table = service.public_metrics(period, by, who, source, distinct)
    except (PeriodError, InputError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return _table_response(table, format, {"period": normalise_period(period), "by": by})


@router.get("/periods", tags=["kết quả"])
def get_periods(request: Request, who: Caller) -> dict[str, Any]:
    """Các tháng có số liệu sử dụng và các kỳ đã công bố (khách chỉ thấy tháng đã công bố)."""
    service = service_of(request)
    months = service.months_with_data()
    if not who.sees_unpublished:
        months = [m for m in months if service.access.is_published(m)]
    return {"months": months, "published": service.access.publications()}


@router.get("/index", tags=["kết quả"])
def get_index(request: Request, who: Caller,
              period: Annotated[str, Query(pattern=r"^\d{4}$", description="Năm, YYYY")],
              framework: Annotated[str, Query(max_length=40)] = "dti-2022",
              level: Annotated[Literal["province", "ministry", "nation"], Query()] = "province",
              units: Annotated[Literal["63", "34"] | None, Query()] = None, format: Fmt = "json") -> Response:
    """Kết quả chỉ số tổng hợp và xếp hạng (kèm khoảng hạng 5–95% Monte Carlo) của một năm."""
    service = service_of(request)
    _may_read(service, who, period)
    try:
        run = service.index(framework, period, level, units)
    except (IndexRequestError, KeyError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return _table_response(index_table(run), format, {"framework": framework, "period": period, "level": level,
                                                      "units": getattr(run, "units", None)})


@router.get("/targets", tags=["kết quả"])
def get_targets(request: Request, who: Caller, year: Annotated[int, Query(ge=2000, le=2100)],
                format: Fmt = "json") -> Response:
    """Các mục tiêu quốc gia: giá trị thực tế, mục tiêu, mức đạt, khoảng cách, tăng trưởng cần thiết, trạng thái."""
    service = service_of(request)
    _may_read(service, who, str(year))
    return _table_response(service.targets(year), format, {"year": year})


@router.get("/catalog/platforms", tags=["danh mục"])
def get_platforms(request: Request) -> list[dict[str, Any]]:
    """Danh mục nền tảng: mã, tên, nhóm, nguồn gốc (vn/foreign), chủ sở hữu, loại, bí danh."""
    return service_of(request).catalog.platform_rows()


@router.get("/catalog/categories", tags=["danh mục"])
def get_categories(request: Request) -> list[dict[str, str]]:
    """Các nhóm nền tảng."""
    return [{"id": c.id, "name_vi": c.name_vi, "name_en": c.name_en} for c in service_of(request).catalog.categories]


@router.get("/catalog/provinces", tags=["danh mục"])
def get_provinces(request: Request) -> list[dict[str, str]]:
    """Các tỉnh/thành: 34 đơn vị từ 01/7/2025 và 63 đơn vị trước đó, với đơn vị mới mà mỗi đơn vị cũ thuộc về."""
    return service_of(request).catalog.province_rows()


REPORT_FORMATS = ("md", "html", "docx", "pdf")
_MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
          "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}


@router.get("/reports", tags=["báo cáo"])
def list_reports(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Các báo cáo quý có thể tải (khách: các quý đã công bố)."""
    service = service_of(request)
    quarters = sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in service.months_with_data()})
    if not who.sees_unpublished:
        quarters = [q for q in quarters if service.access.is_published(q)]
    return [{"period": q, "formats": {f: f"{request.url_for('get_report', period=q, fmt=f).path}" for f in REPORT_FORMATS}}
            for q in quarters]


@router.get("/reports/{period}/{fmt}", tags=["báo cáo"], response_class=FileResponse,
            responses={200: {"content": {m: {} for m in _MEDIA.values()}}})
def get_report(request: Request, who: Caller, period: str, fmt: Literal["md", "html", "docx", "pdf"]) -> Any:
    """Tải báo cáo quý (md, html, docx, pdf); lập lần đầu khi được hỏi."""
    service = service_of(request)
    if not re.match(r"^\d{4}-[Qq][1-4]$", period):
        raise HTTPException(422, f"Kỳ '{period[:16]}' không hợp lệ: báo cáo theo quý, dạng YYYY-Qn.")
    _may_read(service, who, period)
    try:
        path = service.report(normalise_period(period), fmt)
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from exc
    return FileResponse(path, media_type=_MEDIA[fmt], filename=path.name)


# -- administration ------------------------------------------------------------------------------------------------------
@router.get("/audit", tags=["quản trị"])
def get_audit(request: Request, who: Caller, limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> Response:
    """Nhật ký ghi: ai (khóa, vai trò), ghi gì (loại, nguồn/đơn vị, lô), khi nào, bao nhiêu dòng."""
    _require_admin(who)
    return _table_response(service_of(request).audit(limit), "json", {})


@router.get("/keys", tags=["quản trị"])
def list_keys(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Các khóa API (không bao giờ có giá trị khóa, chỉ mã khóa)."""
    _require_admin(who)
    return [k.__dict__ for k in service_of(request).access.keys()]


@router.post("/keys", tags=["quản trị"], status_code=201)
def create_key(request: Request, who: Caller, body: KeyRequest) -> dict[str, Any]:
    """Tạo khóa; giá trị khóa chỉ trả về một lần."""
    _require_admin(who)
    if body.source is not None:
        _check_source(body.source)
    try:
        key, info = service_of(request).access.create_key(body.role, source=body.source, entity=body.entity,
                                                          label=body.label, actor=who.key_id)
    except AccessError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"key": key, **info.__dict__}


@router.delete("/keys/{key_id}", tags=["quản trị"])
def revoke_key(request: Request, who: Caller, key_id: str) -> dict[str, Any]:
    """Thu hồi một khóa (có hiệu lực ngay)."""
    _require_admin(who)
    try:
        return service_of(request).access.revoke_key(key_id, actor=who.key_id).__dict__
    except AccessError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/publications", tags=["quản trị"])
def list_publications(request: Request) -> list[str]:
    """Các kỳ đã công bố (một quý công bố cả ba tháng của nó; một năm công bố cả năm)."""
    return service_of(request).access.publications()


@router.post("/publications", tags=["quản trị"], status_code=201)
def publish(request: Request, who: Caller, body: PublicationRequest) -> list[str]:
    """Công bố một kỳ."""
    _require_admin(who)
    try:
        service_of(request).access.publish(body.period, actor=who.key_id)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    return service_of(request).access.publications()


@router.delete("/publications/{period}", tags=["quản trị"])
def withdraw(request: Request, who: Caller, period: str) -> list[str]:
    """Rút lại việc công bố một kỳ."""
    _require_admin(who)
    try:
        service_of(request).access.publish(period, actor=who.key_id, withdraw=True)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    return service_of(request).access.publications()


@router.get("/health", tags=["quản trị"])
def health() -> dict[str, str]:
    """Máy chủ đang chạy."""
    return {"status": "ok"}


#: models of request bodies read by hand (their schemas are added to the OpenAPI components)
BODY_MODELS = (UsageRecord, WeightRecord, AggregateRecord, IndicatorRecord)
__all__ = ["BODY_MODELS", "ROLES", "router"]
