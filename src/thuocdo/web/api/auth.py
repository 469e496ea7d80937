"""Who is calling the API: the API-key dependency and the access checks every route applies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from thuocdo.ingest.stream import Writer
from thuocdo.model.periods import PeriodError
from thuocdo.model.sources import is_source_name
from thuocdo.workflows.access import ANONYMOUS_PRINCIPAL, Principal, normalise_period
from thuocdo.workflows.service import Service

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Khóa API (thuocdo keys create).")
_bearer = HTTPBearer(auto_error=False, description="Khóa API dạng Authorization: Bearer td_…")


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


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


def require_key(who: Principal) -> None:
    if who.role == "anonymous":
        raise HTTPException(401, "Cần khóa API (tiêu đề X-API-Key hoặc Authorization: Bearer).",
                            headers={"WWW-Authenticate": "Bearer"})


def require_admin(who: Principal) -> None:
    require_key(who)
    if who.role != "admin":
        raise HTTPException(403, "Chỉ khóa quản trị (admin) được làm việc này.")


def check_source(source: str) -> None:
    if not is_source_name(source):
        raise HTTPException(422, f"Tên nguồn '{source[:64]}' không hợp lệ: chữ thường, số, '.', '_' hoặc '-', "
                                 "tối đa 64 ký tự, không phải 'national'.")


def may_write_source(who: Principal, source: str) -> None:
    require_key(who)
    check_source(source)
    if not who.may_write_source(source):
        raise HTTPException(403, f"Khóa này không được ghi vào nguồn '{source}'.")


def writer(who: Principal, request: Request) -> Writer:
    return Writer(who.key_id, who.role, request.client.host if request.client else None)


def may_read(service: Service, who: Principal, period: str) -> None:
    """Unpublished periods are for analysts and admins only."""
    try:
        label = normalise_period(period)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    if not who.sees_unpublished and not service.access.is_published(label):
        raise HTTPException(403, f"Kỳ {label} chưa được công bố.")
