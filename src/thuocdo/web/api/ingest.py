"""Data delivery: usage records, panel weights and published aggregates from sources, indicators from entities."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from thuocdo.ingest import bodies
from thuocdo.ingest.bodies import MAX_BODY_BYTES, BodyTooLarge
from thuocdo.ingest.readers import InputError
from thuocdo.ingest.stream import KeyDomainChanged, Submission
from thuocdo.web.api.auth import Caller, may_write_source, require_key, service_of, writer
from thuocdo.web.api.schemas import (
    SOURCE_NAME,
    USAGE_BODY,
    AggregateRecord,
    IndicatorRecord,
    TableBatchResult,
    UsageBatchResult,
    WeightRecord,
    errors,
    table_body,
)
from thuocdo.workflows.cluster import ClusterError

router = APIRouter()

#: the source a batch is for, as the path names it
SourcePath = Annotated[str, Path(pattern=SOURCE_NAME, description="Tên nguồn: chữ thường không dấu, số, '.', '_' "
                                                                  "hoặc '-', tối đa 64 ký tự.")]
#: every error a write route may answer
WRITE_ERRORS = errors(400, 401, 403, 413, 415, 422)


def _gzipped(request: Request) -> bool:
    """Whether the body is gzip (Content-Encoding: gzip); 415 for any other content coding."""
    coding = request.headers.get("content-encoding", "").strip().lower()
    if coding in ("", "identity"):
        return False
    if coding in ("gzip", "x-gzip"):
        return True
    raise HTTPException(415, f"Content-Encoding '{coding[:40]}' không được hỗ trợ: gửi thân yêu cầu không nén "
                             "hoặc nén gzip (Content-Encoding: gzip).")


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


@router.post("/sources/{source}/usage", response_model=UsageBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=USAGE_BODY, responses={
                 202: {"model": UsageBatchResult, "description": "Nguồn nằm trong lakehouse: lô đã vào vùng chờ, các "
                       "bản ghi hợp lệ ở trạng thái pending cho tới khi lô được nạp."},
                 **WRITE_ERRORS, **errors(409, 503)})
async def post_usage(source: SourcePath, request: Request, who: Caller) -> Any:
    """Gửi một lô bản ghi sử dụng vào nguồn của mình. Kết quả nêu từng bản ghi: đã lưu, trùng hay bị loại
    (kèm lý do). Gửi lại cùng một lô (thử lại) không lưu gì hai lần. Nguồn nằm trong lakehouse của cụm: lô được
    nhận vào vùng chờ (202, các bản ghi hợp lệ ở trạng thái pending) và được Spark lưu cùng các tệp của nguồn."""
    may_write_source(who, source)
    gzipped = _gzipped(request)
    body = await _body(request)
    service = service_of(request)
    author = writer(who, request)
    batch_id = uuid.uuid4().hex
    in_lakehouse = await run_in_threadpool(service.in_lakehouse, source)
    key_domain = await run_in_threadpool(service.key_domain, source)  # persons keyed as the source is declared

    try:
        raw, clean = await asyncio.wrap_future(
            service.readers.read(key_domain, body, f"api-{source}-{batch_id[:12]}", gzipped=gzipped))
    except BodyTooLarge as exc:
        raise HTTPException(413, str(exc)) from exc
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc
    submission = Submission(raw, author, batch_id, clean=clean, key_domain=key_domain)
    if in_lakehouse:  # landed for Spark, which stores it with the source's files (202: not stored yet)
        try:
            outcome = await run_in_threadpool(service.land_usage, source, submission, body, gzipped)
        except (OSError, ClusterError) as exc:  # the object store refuses, or the cluster is down
            raise HTTPException(503, f"Không ghi được lô vào kho đối tượng của cụm: {exc}") from exc
        return Response(orjson.dumps(outcome.as_json()), status_code=202, media_type="application/json")
    try:
        outcome = await asyncio.wrap_future(service.submit_usage(source, submission))
    except KeyDomainChanged as exc:
        raise HTTPException(409, str(exc)) from exc
    return Response(orjson.dumps(outcome.as_json()), media_type="application/json")


async def _table_rows(request: Request, model: type[BaseModel]) -> list[dict[str, Any]]:
    """The records of a JSON array body (gzip or not), with only the fields of `model`."""
    gzipped = _gzipped(request)
    body = await _body(request)
    try:
        body = await run_in_threadpool(bodies.decompressed, body, "Thân yêu cầu", gzipped=gzipped)
    except BodyTooLarge as exc:
        raise HTTPException(413, str(exc)) from exc
    except InputError as exc:
        raise HTTPException(400, str(exc)) from exc
    return _json_rows(body, model)


def _json_rows(body: bytes, model: type[BaseModel]) -> list[dict[str, Any]]:
    try:
        rows = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"Thân yêu cầu không phải JSON hợp lệ ({exc}).") from exc
    if not isinstance(rows, list) or not rows:
        raise HTTPException(400, "Thân yêu cầu phải là một mảng JSON khác rỗng các bản ghi.")
    if len(rows) > bodies.MAX_RECORDS:
        raise HTTPException(413, f"{len(rows):,} bản ghi, vượt giới hạn {bodies.MAX_RECORDS:,} bản ghi mỗi yêu cầu.")
    if not all(isinstance(r, dict) for r in rows):
        raise HTTPException(400, "Mỗi phần tử của mảng phải là một đối tượng JSON.")
    known = set(model.model_fields)
    return [{k: v for k, v in r.items() if k in known} for r in rows]


async def _post_table(request: Request, who: Caller, kind: str, source: str, rows: list[dict[str, Any]],
                      name: str) -> Any:
    service = service_of(request)
    try:
        result = await run_in_threadpool(service.ingest_table, kind, source, rows, writer(who, request), name)
    except (InputError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from exc
    return TableBatchResult(batch_id=result.batch_id, source=source, kind=kind, received=result.rows_read,
                            stored=result.stored, duplicates=result.duplicates, rejected=result.rejected,
                            problems=[{"line": p.line, "field": p.field, "message": p.message}
                                      for p in result.problems])


@router.post("/sources/{source}/weights", response_model=TableBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=table_body("WeightRecord"), responses=WRITE_ERRORS)
async def post_weights(source: SourcePath, request: Request, who: Caller) -> Any:
    """Gửi trọng số bảng mẫu (user_id, month, weight) của nguồn mình; gửi lại thì thay giá trị cũ."""
    may_write_source(who, source)
    rows = await _table_rows(request, WeightRecord)
    return await _post_table(request, who, "weights", source, rows, f"api-{source}-weights")


@router.post("/sources/{source}/aggregates", response_model=TableBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=table_body("AggregateRecord"), responses=WRITE_ERRORS)
async def post_aggregates(source: SourcePath, request: Request, who: Caller) -> Any:
    """Gửi số liệu tổng hợp đã công bố (platform, period, metric, value) của nguồn mình."""
    may_write_source(who, source)
    rows = await _table_rows(request, AggregateRecord)
    return await _post_table(request, who, "aggregates", source, rows, f"api-{source}-aggregates")


def entity_source(entity: str) -> str:
    """The source name under which an entity's own submissions are kept."""
    slug = re.sub(r"[^a-z0-9]+", "-", entity.lower()).strip("-")[:50] or "x"
    return f"entity-{slug}"


@router.post("/entities/{entity}/indicators", response_model=TableBatchResult, tags=["gửi dữ liệu"],
             openapi_extra=table_body("IndicatorRecord"), responses=WRITE_ERRORS)
async def post_indicators(entity: str, request: Request, who: Caller) -> Any:
    """Gửi giá trị chỉ số (indicator, period, value, self_score, council_score, evidence) của tỉnh/thành
    hoặc bộ, ngành của mình."""
    require_key(who)
    if not who.may_write_entity(entity):
        raise HTTPException(403, f"Khóa này không được nộp chỉ số cho '{entity[:64]}'.")
    rows = await _table_rows(request, IndicatorRecord)
    for r in rows:
        r["entity"] = entity
        r["source"] = entity_source(entity)
    return await _post_table(request, who, "indicators", entity_source(entity), rows, f"api-{entity_source(entity)}")
