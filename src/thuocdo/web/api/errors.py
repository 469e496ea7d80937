"""One error body for every error the API answers (:class:`~thuocdo.web.api.schemas.ErrorBody`), in Vietnamese.

The routes raise ``HTTPException`` with a Vietnamese ``detail``; FastAPI and Starlette raise their own (an
unreadable JSON body, an unknown path or method) and FastAPI a ``RequestValidationError`` for parameters and
bodies that break the schema. Under the API's prefix all of them are answered as ``{"detail", "problems"}``,
with the messages of Starlette, FastAPI and Pydantic put into Vietnamese. Elsewhere (the dashboard) Starlette's
answers are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from thuocdo.web.api.schemas import ErrorBody, Problem

INVALID_REQUEST = "Yêu cầu không hợp lệ."

#: the English details Starlette and FastAPI give, in Vietnamese (by status; FastAPI's own by text)
_STATUS_DETAILS = {
    400: "Yêu cầu không đọc được.",
    404: "Không có địa chỉ này trong API (xem /api/v1/docs).",
    405: "Phương thức HTTP này không dùng được với địa chỉ này (xem /api/v1/docs).",
    413: "Thân yêu cầu quá lớn.",
}
_FASTAPI_DETAILS = {
    "There was an error parsing the body": "Thân yêu cầu không đọc được: không phải JSON hợp lệ (UTF-8).",
}


def error_response(status: int, detail: str, problems: Sequence[Problem] = (),
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(detail=detail, problems=list(problems))
    return JSONResponse(body.model_dump(), status_code=status, headers=dict(headers) if headers else None)


def vietnamese_detail(status: int, detail: Any) -> str:
    """A route's own detail as it is; Starlette's and FastAPI's English ones in Vietnamese."""
    text = detail if isinstance(detail, str) else str(detail)
    if text in _FASTAPI_DETAILS:
        return _FASTAPI_DETAILS[text]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = None
    if text == phrase or (status == 413 and text in ("Request Entity Too Large", "Content Too Large")):
        return _STATUS_DETAILS.get(status, f"Lỗi HTTP {status}.")
    return text


def problem_message(error: Mapping[str, Any]) -> str:
    """A Pydantic validation error in Vietnamese (its English message for a kind not translated here)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    expected = str(ctx.get("expected", "")).replace(" or ", " hoặc ")
    messages = {
        "missing": "Thiếu giá trị bắt buộc.",
        "string_type": "Phải là một chuỗi.",
        "string_too_short": f"Cần ít nhất {ctx.get('min_length')} ký tự.",
        "string_too_long": f"Tối đa {ctx.get('max_length')} ký tự.",
        "string_pattern_mismatch": f"Không đúng dạng (mẫu {ctx.get('pattern')}).",
        "literal_error": f"Phải là một trong: {expected}.",
        "enum": f"Phải là một trong: {expected}.",
        "int_type": "Phải là một số nguyên.",
        "int_parsing": "Phải là một số nguyên.",
        "int_from_float": "Phải là một số nguyên.",
        "float_type": "Phải là một số.",
        "float_parsing": "Phải là một số.",
        "bool_type": "Phải là true hoặc false.",
        "bool_parsing": "Phải là true hoặc false.",
        "greater_than": f"Phải lớn hơn {ctx.get('gt')}.",
        "greater_than_equal": f"Phải từ {ctx.get('ge')} trở lên.",
        "less_than": f"Phải nhỏ hơn {ctx.get('lt')}.",
        "less_than_equal": f"Phải từ {ctx.get('le')} trở xuống.",
        "none_required": "Không dùng cho vai trò này (để trống hoặc bỏ đi).",
        "model_type": "Phải là một đối tượng JSON.",
        "model_attributes_type": "Phải là một đối tượng JSON.",
        "dict_type": "Phải là một đối tượng JSON.",
        "list_type": "Phải là một mảng JSON.",
        "json_invalid": f"Không phải JSON hợp lệ ({ctx.get('error', '')}).",
        "union_tag_not_found": f"Thiếu trường {ctx.get('discriminator', '')}.".replace("'", ""),
        "union_tag_invalid": f"Trường {ctx.get('discriminator', '')} phải là một trong: "
                             f"{ctx.get('expected_tags', '')}.".replace("'", ""),
    }
    return messages.get(kind, str(error.get("msg", "")))


def validation_problems(errors: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """One problem per error, naming the parameter or the body's field (`*`: the whole request)."""
    return [Problem(field=_field(e), message=problem_message(e)) for e in errors]


def _field(error: Mapping[str, Any]) -> str:
    path = [str(p) for p in error.get("loc", ())[1:]]  # without the location (query, path, body…)
    if error.get("type", "").startswith("union_tag_"):  # the field that chooses the kind of body
        path.append(str((error.get("ctx") or {}).get("discriminator", "")).strip("'"))
    return ".".join(p for p in path if p) or "*"


def install(app: FastAPI, prefix: str) -> None:
    """Answer every error under `prefix` with the error body (validation errors everywhere, as before)."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, INVALID_REQUEST, validation_problems(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith(f"{prefix}/"):
            return await http_exception_handler(request, exc)
        return error_response(exc.status_code, vietnamese_detail(exc.status_code, exc.detail), headers=exc.headers)
