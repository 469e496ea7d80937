"""The catalog, open to everyone: platforms, platform categories and provinces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from thuocdo.web.api.auth import service_of

router = APIRouter()


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
