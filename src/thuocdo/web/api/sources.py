"""The registry of sources: list them, show one with its coverage, declare one (admin), as `thuocdo sources` does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from thuocdo.ingest.readers import InputError
from thuocdo.ingest.sources import CoverageRow, DeclarationError, DeclarationProblem
from thuocdo.model.periods import PeriodError
from thuocdo.web.api.auth import Caller, require_admin, require_key, service_of, writer
from thuocdo.web.api.errors import error_response
from thuocdo.web.api.ingest import SourcePath
from thuocdo.web.api.schemas import (
    MONTH_OR_QUARTER,
    Problem,
    QualityResult,
    SourceAnswer,
    SourceDeclaration,
    SourceDeclared,
    SourceSummary,
    errors,
)
from thuocdo.workflows.access import Principal
from thuocdo.workflows.quality import NoData

router = APIRouter()


def _may_read(who: Principal, source: str | None = None) -> None:
    """Analysts and admins read every source; a source's key reads its own."""
    require_key(who)
    if not (who.sees_unpublished or (source is not None and who.role == "source" and who.source == source)):
        raise HTTPException(403, "Chỉ khóa quản trị, khóa phân tích (hoặc khóa của chính nguồn) xem được nguồn.")


@router.get("/sources", tags=["nguồn dữ liệu"], response_model=list[SourceSummary], responses=errors(401, 403))
def list_sources(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Mọi nguồn: đã khai báo, hoặc đã có dữ liệu mà chưa khai báo (loại suy ra từ dữ liệu, khóa liên kết
    private), với số tháng có bản ghi sử dụng và số tháng có độ bao phủ."""
    _may_read(who)
    return service_of(request).sources()


@router.get("/sources/{source}", tags=["nguồn dữ liệu"], response_model=SourceAnswer,
            responses=errors(401, 403, 404, 422))
def get_source(source: SourcePath, request: Request, who: Caller) -> dict[str, Any]:
    """Một nguồn: loại, khóa liên kết, khai báo, và theo tháng: có bản ghi sử dụng không, số tỉnh/thành và tổng
    thuê bao trong độ bao phủ khai báo."""
    _may_read(who, source)
    detail = service_of(request).source(source)
    if detail is None:
        raise HTTPException(404, f"Không có nguồn '{source}': nguồn chưa khai báo và chưa có dữ liệu.")
    return detail.as_json()


@router.get("/sources/{source}/quality", tags=["nguồn dữ liệu"], response_model=QualityResult,
            responses=errors(401, 403, 404, 422))
def get_quality(source: SourcePath, request: Request, who: Caller,
                period: Annotated[str, Query(description="YYYY-MM hoặc YYYY-Qn (năm 2000–2099)",
                                             pattern=MONTH_OR_QUARTER)],
                late_days: Annotated[int, Query(ge=0, le=365, description="Bản ghi lưu sau ngày hoạt động quá số "
                                                                          "ngày này là đến muộn.")] = 2
                ) -> dict[str, Any]:
    """Chất lượng số liệu của một nguồn theo từng ngày của kỳ, như `thuocdo quality`: bản ghi đã lưu, bị loại,
    trùng lặp, số người, số nền tảng, bản ghi đến muộn, mức thường lệ và tình trạng của ngày (`ok`, `missing`:
    không có bản ghi trong khoảng nguồn đã gửi, `low`/`high`: thấp/cao bất thường so với trung vị cùng thứ trong 8
    tuần trước), với bảng tóm tắt. Khóa quản trị, khóa phân tích, hoặc khóa của chính nguồn."""
    _may_read(who, source)
    try:
        found = service_of(request).quality(source, period, late_days)
    except NoData as exc:
        raise HTTPException(404, str(exc)) from exc
    except (PeriodError, InputError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"source": source, "period": found.period.label, "late_days": late_days,
            "summary": found.summary.as_json(),
            "days": [{**row, "day": row["day"].isoformat()} for row in found.days.to_pylist()]}


@router.put("/sources/{source}", tags=["nguồn dữ liệu"], response_model=SourceDeclared,
            responses=errors(400, 401, 403, 409, 422))
async def declare_source(source: SourcePath, body: SourceDeclaration, request: Request, who: Caller) -> Any:
    """Khai báo (hoặc khai báo lại) một nguồn, như `thuocdo sources declare`: loại, khóa liên kết, độ bao phủ (chỉ
    cho census). Khai báo lại y như cũ không đổi gì; độ bao phủ thay các dòng cùng tỉnh/thành và tháng. Chỉ khóa quản
    trị. Sai (tỉnh/thành không có, tháng lặp…): 422; mâu thuẫn với dữ liệu đã lưu (đổi khóa liên kết hay loại của
    nguồn đã có bản ghi, độ bao phủ ít hơn số người đã đo được): 409; các lỗi nêu như dòng lệnh."""
    require_admin(who)
    coverage = None if body.coverage is None else [
        CoverageRow(i, item.province, item.month, item.subscribers) for i, item in enumerate(body.coverage, 1)]
    service = service_of(request)
    try:
        declared = await run_in_threadpool(service.declare_source, source, body.kind, body.link_key, coverage,
                                           writer(who, request), coverage_item)
    except DeclarationError as exc:
        return _refused(exc)
    result = declared.result
    return {**declared.detail.as_json(), "created": result.created, "changed": result.changed,
            "coverage_changed": result.coverage_changed, "coverage_removed": result.coverage_removed}


def coverage_item(position: int) -> str:
    """How a message names another item of the posted coverage (position from 1; the API's fields count from 0)."""
    return f"mục coverage.{position - 1}"


def _refused(exc: DeclarationError) -> Response:
    """422 (malformed) or 409 (contradicts the stored data), each problem with the field of the request it is in."""
    return error_response(409 if exc.conflict else 422, exc.summary, [_problem(p) for p in exc.problems])


def _problem(problem: DeclarationProblem) -> Problem:
    if problem.line is not None:
        field = f"coverage.{problem.line - 1}.{problem.field}"
    else:
        field = "source" if problem.field == "name" else problem.field
    message = problem.message[:1].upper() + problem.message[1:]
    return Problem(field=field, message=message if message.endswith(".") else message + ".")
