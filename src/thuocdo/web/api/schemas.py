"""The API's Pydantic models (for the OpenAPI schema and the answers) and the request bodies read by hand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from thuocdo.ingest.bodies import MAX_BODY_BYTES, MAX_RECORDS
from thuocdo.ingest.sources import KIND_HELP, LINK_KEY_HELP, MAX_SUBSCRIBERS, MONTH_PATTERN
from thuocdo.model.sources import LINK_KEYS, SOURCE_KINDS, SOURCE_PATTERN

#: what the routes accept, stated in the schema (ASCII digits; years 2000-2099)
SOURCE_NAME = SOURCE_PATTERN.pattern
#: what a result route reads: a source, census sources joined by ',' (one population), or 'national'
SOURCE_SELECTION = r"^[a-z0-9][a-z0-9._-]{0,63}(,[a-z0-9][a-z0-9._-]{0,63}){0,15}$"
YEAR = r"^20[0-9]{2}$"
QUARTER = r"^20[0-9]{2}-[Qq][1-4]$"
MONTH_OR_QUARTER = r"^20[0-9]{2}-(0[1-9]|1[0-2]|[Qq][1-4])$"
MONTH = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
ANY_PERIOD = r"^20[0-9]{2}(-(0[1-9]|1[0-2]|[Qq][1-4]))?$"


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
    field: str = Field(..., description="Trường có lỗi (`*`: cả bản ghi hoặc cả yêu cầu).")
    message: str = Field(..., description="Lý do, bằng tiếng Việt.")


class ErrorBody(BaseModel):
    """The body of every error the API answers (4xx), whatever its cause."""

    detail: str = Field(..., description="Lý do, bằng tiếng Việt.")
    problems: list[Problem] = Field(..., description="Từng lỗi của tham số hoặc thân yêu cầu (422); rỗng khi "
                                                     "lý do đã đủ trong `detail`.")


#: what each error status means, wherever it is answered
ERROR_DESCRIPTIONS = {
    400: "Thân yêu cầu không đọc được: không phải JSON (hay NDJSON) hợp lệ, gzip hỏng, mảng rỗng.",
    401: "Thiếu khóa API, hoặc khóa sai hay đã bị thu hồi.",
    403: "Khóa không được làm việc này (nguồn, đơn vị hay vai trò khác), hoặc kỳ chưa được công bố.",
    404: "Không có thứ được hỏi (khóa, nguồn, báo cáo, kết quả của kỳ hay cấp này).",
    409: "Yêu cầu đúng lược đồ nhưng mâu thuẫn với dữ liệu đã lưu (mỗi lỗi một mục trong `problems`), hoặc lô "
         "được xử lý đúng lúc nguồn được khai báo lại: gửi lại.",
    413: f"Vượt giới hạn: {MAX_RECORDS:,} bản ghi và {MAX_BODY_BYTES >> 20} MiB (sau giải nén) mỗi yêu cầu.",
    415: "Content-Encoding không được hỗ trợ: chỉ gzip, hoặc không nén.",
    422: "Tham số hoặc thân yêu cầu không đúng lược đồ (mỗi lỗi một mục trong `problems`).",
    503: "Kho đối tượng của cụm không nhận được lô lúc này: gửi lại sau.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that answers these error statuses, each with the error body."""
    answers: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        answers[code] = {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]}
        if code == 401:
            answers[code]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                             "description": "Bearer"}}
    return answers


class TableAnswer(BaseModel):
    """A result table as JSON: the request's own values (period, by, year…), the columns and one object per row."""

    model_config = ConfigDict(extra="allow")

    columns: list[str]
    rows: list[dict[str, Any]]


TABLE_MEDIA = {
    "csv": ("text/csv", {"schema": {"type": "string"}}),
    "parquet": ("application/vnd.apache.parquet", {"schema": {"type": "string", "format": "binary"}}),
}


def table_answers(*formats: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a route that gives a table as JSON (`TableAnswer`) and in these other formats."""
    content = dict(TABLE_MEDIA[f] for f in formats)
    described = "JSON" + "".join(f", {f.upper()}" for f in formats) + " (tham số `format`)" if formats else "JSON"
    return {200: {"model": TableAnswer, "content": content, "description": f"Bảng kết quả: {described}."}}


class RecordStatus(BaseModel):
    index: int = Field(..., description="Vị trí của bản ghi trong mảng (từ 1), hoặc số dòng NDJSON.")
    status: Literal["stored", "duplicate", "rejected", "pending"] = Field(
        ..., description="pending: đã nhận vào vùng chờ của lakehouse, sẽ được lưu (hoặc nhận là trùng) khi Spark nạp.")
    problems: list[Problem] | None = None


class UsageBatchResult(BaseModel):
    batch_id: str
    source: str
    received: int
    stored: int
    duplicates: int
    rejected: int
    pending: int = Field(0, description="Số bản ghi đã nhận vào vùng chờ của lakehouse, chưa lưu.")
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


class _KeyRequest(BaseModel):
    label: str | None = Field(None, max_length=200, description="Ghi chú (ví dụ tên đơn vị).")


class AdminKeyRequest(_KeyRequest):
    role: Literal["admin"]
    source: None = None
    entity: None = None


class AnalystKeyRequest(_KeyRequest):
    role: Literal["analyst"]
    source: None = None
    entity: None = None


class SourceKeyRequest(_KeyRequest):
    role: Literal["source"]
    source: str = Field(..., pattern=SOURCE_NAME, description="Nguồn mà khóa được ghi vào.")
    entity: None = None


class EntityKeyRequest(_KeyRequest):
    role: Literal["entity"]
    source: None = None
    entity: str = Field(..., min_length=1, description="Tỉnh/thành hoặc bộ, ngành mà khóa được nộp chỉ số.")


class KeyRequest(RootModel[Annotated[AdminKeyRequest | AnalystKeyRequest | SourceKeyRequest | EntityKeyRequest,
                                     Field(discriminator="role")]]):
    """A new key: its role, and the source (role `source`) or the entity (role `entity`) it is for."""


class KeyAnswer(BaseModel):
    """An API key as listed: never its value, only its id."""

    id: str
    role: Literal["admin", "analyst", "source", "entity"]
    source: str | None
    entity: str | None
    label: str | None
    created_at: str
    revoked_at: str | None


class NewKey(KeyAnswer):
    key: str = Field(..., description="Giá trị khóa: chỉ trả về lần này, không lưu ở đâu.")


class PublicationRequest(BaseModel):
    period: str = Field(..., pattern=ANY_PERIOD, description="YYYY-MM, YYYY-Qn hoặc YYYY (năm 2000–2099)")


GZIP_NOTE = (f"Có thể nén gzip (Content-Encoding: gzip). Tối đa {MAX_RECORDS:,} bản ghi và {MAX_BODY_BYTES >> 20} MiB "
             "sau giải nén mỗi yêu cầu (413 nếu vượt); gzip hỏng: 400; Content-Encoding khác: 415.")

#: the characters a body may start with before its first record, as the body reader skips them
_SKIPPED = r"\t\n\r \uFEFB\uFEFF\uFFFB\uFFFF"


def _records(model: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{model}"}, "minItems": 1,
            "maxItems": MAX_RECORDS}


USAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Mảng JSON các bản ghi, hoặc NDJSON (Content-Type: application/x-ndjson, một bản ghi mỗi "
                       "dòng; thân bắt đầu bằng `[` được đọc như một mảng JSON). " + GZIP_NOTE,
        "content": {
            "application/json": {"schema": _records("UsageRecord")},
            "application/x-ndjson": {"schema": {"type": "string", "pattern": f"^[{_SKIPPED}]*[^{_SKIPPED}\\[]"}},
        },
    },
}


def table_body(model: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": "Mảng JSON các bản ghi. " + GZIP_NOTE,
                            "content": {"application/json": {"schema": _records(model)}}}}


#: models of request bodies read by hand (their schemas are added to the OpenAPI components)
BODY_MODELS = (UsageRecord, WeightRecord, AggregateRecord, IndicatorRecord)


class HeldBatch(BaseModel):
    source: str
    records: int
    reason: str


class BandRow(BaseModel):
    band_low: float = Field(..., description="Người dùng hằng tháng từ (gồm cả mức này).")
    band_high: float | None = Field(None, description="Người dùng hằng tháng dưới (trống: không giới hạn).")
    platforms: int
    vn_platforms: int
    foreign_platforms: int
    names: str = Field(..., description="Tên các nền tảng trong kỳ, MAU giảm dần.")


class BandsResult(BaseModel):
    period: str
    source: str
    missing: int = Field(..., description="Số nền tảng không có số liệu (hoặc không được công bố), không xếp nhóm.")
    rows: list[BandRow]


class QualityDay(BaseModel):
    day: str = Field(..., description="Ngày hoạt động (giờ Việt Nam), YYYY-MM-DD.")
    records: int = Field(..., description="Bản ghi đã lưu của ngày, mỗi bản ghi một lần.")
    rejected: int = Field(..., description="Dòng của ngày bị loại (vào khu cách ly), mọi lần gửi.")
    duplicates: int = Field(..., description="Dòng của ngày trùng bản ghi đã lưu hoặc dòng trước trong cùng lần gửi.")
    persons: int = Field(..., description="Số người có hoạt động trong ngày.")
    platforms: int = Field(..., description="Số nền tảng có hoạt động trong ngày.")
    late_records: int = Field(..., description="Bản ghi lưu sau ngày hoạt động quá late_days ngày.")
    baseline: float | None = Field(None, description="Trung vị số bản ghi cùng thứ trong 8 tuần trước (từ 4 tuần).")
    status: Literal["ok", "missing", "low", "high"]


class QualitySummary(BaseModel):
    days: int = Field(..., description="Số ngày của kỳ trong khoảng nguồn đã gửi (từ ngày đầu đến ngày cuối có bản "
                                       "ghi).")
    days_complete: int = Field(..., description="Số ngày đủ: tình trạng ok hoặc high.")
    days_missing: int
    days_low: int
    days_high: int
    records: int
    rejected: int
    duplicates: int
    late_records: int
    rejected_share: float | None = Field(None, description="rejected ÷ (records + duplicates + rejected).")
    median_lateness_days: int | None = Field(None, description="Độ trễ trung vị (ngày) của bản ghi trong kỳ.")
    first_day: str | None = Field(None, description="Ngày đầu có bản ghi của nguồn (mọi kỳ).")
    last_day: str | None = Field(None, description="Ngày cuối có bản ghi của nguồn (mọi kỳ).")
    rejected_undated: int = Field(..., description="Dòng bị loại không đọc được thời gian, của các lần gửi trong kỳ.")


class QualityResult(BaseModel):
    source: str
    period: str
    late_days: int
    summary: QualitySummary
    days: list[QualityDay]


class Health(BaseModel):
    """The server's state; the details are for admin and analyst keys only."""

    status: Literal["ok", "degraded"]
    inbox_records: int | None = None
    held: list[HeldBatch] | None = None
    merge_failures: int | None = None
    last_merge_error: str | None = None
    landing_failures: int | None = Field(None, description="Số lần liên tiếp nạp lô chờ của lakehouse bị lỗi.")
    last_landing_error: str | None = None


# -- sources -------------------------------------------------------------------------------------------------------
# The constraints below are stated in the schema and checked by the one validation of declarations
# (thuocdo.ingest.sources.check_declaration), so that the API answers with the command line's messages.
class CoverageItem(BaseModel):
    """The subscribers a census source has in a province and a month."""

    province: str = Field(..., description="Mã của một trong 34 tỉnh, thành phố (như bản ghi lưu) hoặc tên của nó.",
                          json_schema_extra={"minLength": 1, "maxLength": 100})
    month: str = Field(..., description="YYYY-MM", json_schema_extra={"pattern": MONTH_PATTERN})
    subscribers: int = Field(..., description="Số thuê bao (số nguyên không âm).",
                             json_schema_extra={"minimum": 0, "maximum": MAX_SUBSCRIBERS})


class SourceDeclaration(BaseModel):
    """A source's declaration (`thuocdo sources declare`)."""

    kind: str = Field(..., description=f"Loại nguồn: {KIND_HELP}.", json_schema_extra={"enum": list(SOURCE_KINDS)})
    link_key: Annotated[str, Field(json_schema_extra={"enum": list(LINK_KEYS)})] | None = Field(
        None, description=f"Khóa liên kết: {LINK_KEY_HELP}. Không nêu: giữ khóa đã khai báo (private cho nguồn mới). "
                          "Không đổi được khi nguồn đã có bản ghi sử dụng hoặc trọng số (409).")
    coverage: list[CoverageItem] | None = Field(
        None, description="Độ bao phủ, chỉ cho loại census: mỗi (tỉnh/thành, tháng) một lần, tỉnh/thành có trong danh "
                          "mục; thay các dòng cùng tỉnh/thành và tháng đã khai báo. Ít hơn số người đã hoạt động theo "
                          "bản ghi đã lưu của nguồn: 409.")


class SourceSummary(BaseModel):
    """A source as listed: declared, or known from its data (`declared` false: kind inferred, link key private)."""

    source: str
    kind: Literal["census", "panel", "aggregates"]
    link_key: Literal["shared", "private"]
    declared: bool
    has_usage: bool
    has_weights: bool
    has_aggregates: bool
    usage_months: int = Field(..., description="Số tháng có bản ghi sử dụng.")
    usage_from: str | None
    usage_to: str | None
    coverage_months: int = Field(..., description="Số tháng có độ bao phủ khai báo.")


class SourceMonth(BaseModel):
    month: str
    has_usage: bool
    coverage_provinces: int = Field(..., description="Số tỉnh/thành có độ bao phủ khai báo trong tháng.")
    subscribers: int | None = Field(..., description="Tổng thuê bao khai báo trong tháng.")


class SourceAnswer(BaseModel):
    """One source, with its declaration and its months (usage records, coverage)."""

    source: str
    kind: Literal["census", "panel", "aggregates"]
    link_key: Literal["shared", "private"]
    declared: bool
    declared_at: str | None
    declared_by: str | None
    has_usage: bool
    has_weights: bool
    has_aggregates: bool
    months: list[SourceMonth]


class SourceDeclared(SourceAnswer):
    """A declaration written: the source as it is now, and what changed."""

    created: bool = Field(..., description="Nguồn được khai báo lần đầu.")
    changed: bool = Field(..., description="Có gì thay đổi (không: khai báo lại y như cũ).")
    coverage_changed: int = Field(..., description="Số dòng bao phủ mới hoặc đổi giá trị.")
    coverage_removed: int = Field(..., description="Số dòng bao phủ bị xóa (nguồn không còn là census).")
