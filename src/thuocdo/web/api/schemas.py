"""The API's Pydantic models (for the OpenAPI schema and the answers) and the request bodies read by hand."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from thuocdo.ingest.bodies import MAX_BODY_BYTES, MAX_RECORDS


class UsageRecord(BaseModel):
    """One usage record (DESIGN.md): the same fields as the files."""

    record_id: str | None = Field(None, max_length=128, description="Khóa chống trùng trong nguồn (không bắt buộc).")
    user_id: str = Field(..., min_length=1, max_length=256,
                         description="Mã người dùng của nguồn; chỉ lưu dạng băm có khóa.")
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


USAGE_BODY: dict[str, Any] = {
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


def table_body(model: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{model}"}}}}}}


#: models of request bodies read by hand (their schemas are added to the OpenAPI components)
BODY_MODELS = (UsageRecord, WeightRecord, AggregateRecord, IndicatorRecord)
