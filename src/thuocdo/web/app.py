"""The web application: the API under /api/v1 and the Vietnamese dashboard, over one store.

>>> app = create_app(settings=None, service=None)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from thuocdo import __version__
from thuocdo.workflows.service import Service, Settings

API_PREFIX = "/api/v1"
DESCRIPTION = """
API của thuocdo: nhận dữ liệu từ các nhà mạng, nền tảng và địa phương; trả kết quả đo lường chuyển đổi số.

* **Gửi dữ liệu** (cần khóa API; mọi thân yêu cầu có thể nén gzip, `Content-Encoding: gzip`): bản ghi sử
  dụng (mảng JSON hoặc NDJSON), trọng số bảng mẫu, số liệu tổng hợp đã công bố của nguồn mình; giá trị chỉ số
  của tỉnh/bộ mình.
* **Kết quả**: chỉ số sử dụng (như `thuocdo metrics`), chỉ số tổng hợp và xếp hạng, mục tiêu quốc gia,
  danh mục, báo cáo. Khách không có khóa chỉ thấy các kỳ đã công bố; số liệu dựa trên dưới 20 người trong
  mẫu không được công bố.

Khóa API gửi trong tiêu đề `X-API-Key` hoặc `Authorization: Bearer …`; tạo bằng `thuocdo keys create`.

Mọi lỗi có cùng một dạng (`ErrorBody`): `{"detail": "lý do", "problems": [{"field": …, "message": …}]}`;
`problems` nêu từng tham số hay trường sai lược đồ (422). Mỗi thao tác khai báo mọi mã trạng thái nó trả về.
"""


def create_app(home: str | Path | None = None, settings: Settings | None = None,
               service: Service | None = None) -> FastAPI:
    """The ASGI app. The store is opened at start-up (or `service` is used as given, for tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        app.state.service = service if service is not None else Service(home, settings)
        try:
            yield
        finally:
            if own:
                app.state.service.close()

    app = FastAPI(title="thuocdo", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None)
    if service is not None:
        app.state.service = service

    from thuocdo.web.api import BODY_MODELS, errors
    from thuocdo.web.api import router as api_router

    errors.install(app, API_PREFIX)
    app.include_router(api_router, prefix=API_PREFIX)

    def openapi() -> dict[str, Any]:
        """The generated schema, plus the record models that request bodies refer to. Every route declares its
        errors with the API's error body, so FastAPI's own validation-error schemas are not in it."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in BODY_MODELS:
                components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    try:
        from thuocdo.web.dashboard import mount as mount_dashboard
    except ImportError:  # the dashboard module is optional for API-only deployments
        pass
    else:
        mount_dashboard(app)
    return app
