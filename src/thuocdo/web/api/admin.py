"""Administration: the audit log, API keys, publication of periods, and the health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from thuocdo.model.periods import PeriodError
from thuocdo.web.api.auth import Caller, check_source, require_admin, service_of
from thuocdo.web.api.results import table_response
from thuocdo.web.api.schemas import (
    ANY_PERIOD,
    Health,
    KeyAnswer,
    KeyRequest,
    NewKey,
    PublicationRequest,
    errors,
    table_answers,
)
from thuocdo.workflows.access import AccessError

router = APIRouter()


@router.get("/audit", tags=["quản trị"], responses={**table_answers(), **errors(401, 403, 422)})
def get_audit(request: Request, who: Caller, limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> Response:
    """Nhật ký ghi: ai (khóa, vai trò), ghi gì (loại, nguồn/đơn vị, lô), khi nào, bao nhiêu dòng."""
    require_admin(who)
    return table_response(service_of(request).audit(limit), "json", {})


@router.get("/keys", tags=["quản trị"], response_model=list[KeyAnswer], responses=errors(401, 403))
def list_keys(request: Request, who: Caller) -> list[dict[str, Any]]:
    """Các khóa API (không bao giờ có giá trị khóa, chỉ mã khóa)."""
    require_admin(who)
    return [k.__dict__ for k in service_of(request).access.keys()]


@router.post("/keys", tags=["quản trị"], status_code=201, response_model=NewKey,
             responses=errors(400, 401, 403, 422))
def create_key(request: Request, who: Caller, key_request: KeyRequest) -> dict[str, Any]:
    """Tạo khóa; giá trị khóa chỉ trả về một lần."""
    require_admin(who)
    body = key_request.root
    if body.source is not None:
        check_source(body.source)
    try:
        key, info = service_of(request).access.create_key(body.role, source=body.source, entity=body.entity,
                                                          label=body.label, actor=who.key_id)
    except AccessError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"key": key, **info.__dict__}


@router.delete("/keys/{key_id}", tags=["quản trị"], response_model=KeyAnswer, responses=errors(401, 403, 404, 422))
def revoke_key(request: Request, who: Caller,
               key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="Mã khóa (12 chữ số hex, như "
                                                                                  "`thuocdo keys list` in ra)")]
               ) -> dict[str, Any]:
    """Thu hồi một khóa (có hiệu lực ngay)."""
    require_admin(who)
    try:
        return service_of(request).access.revoke_key(key_id, actor=who.key_id).__dict__
    except AccessError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/publications", tags=["quản trị"])
def list_publications(request: Request) -> list[str]:
    """Các kỳ đã công bố (một quý công bố cả ba tháng của nó; một năm công bố cả năm)."""
    return service_of(request).access.publications()


@router.post("/publications", tags=["quản trị"], status_code=201, responses=errors(400, 401, 403, 422))
def publish(request: Request, who: Caller, body: PublicationRequest) -> list[str]:
    """Công bố một kỳ."""
    require_admin(who)
    try:
        service_of(request).access.publish(body.period, actor=who.key_id)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    return service_of(request).access.publications()


@router.delete("/publications/{period}", tags=["quản trị"], responses=errors(401, 403, 422))
def withdraw(request: Request, who: Caller,
             period: Annotated[str, Path(pattern=ANY_PERIOD, description="YYYY-MM, YYYY-Qn hoặc YYYY (năm 2000–2099)")]
             ) -> list[str]:
    """Rút lại việc công bố một kỳ."""
    require_admin(who)
    try:
        service_of(request).access.publish(period, actor=who.key_id, withdraw=True)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    return service_of(request).access.publications()


@router.get("/health", tags=["quản trị"], response_model=Health, response_model_exclude_none=True,
            responses=errors(401))
def health(request: Request, who: Caller) -> dict[str, Any]:
    """Tình trạng máy chủ: `ok`, hoặc `degraded` khi có bản ghi gửi qua API bị giữ lại (không gộp được vào kho)
    hay việc gộp hộp thư vào kho (hoặc nạp lô chờ của lakehouse) đang lỗi. Khóa quản trị và khóa phân tích thấy
    chi tiết: số bản ghi đang chờ gộp, các lô bị giữ lại với lý do, số lần gộp (nạp) lỗi liên tiếp và lỗi gần
    nhất."""
    state = service_of(request).health()
    return state if who.sees_unpublished else {"status": state["status"]}
