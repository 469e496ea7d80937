"""The HTTP API (mounted under /api/v1): data delivery for sources and entities, results for everyone.

Every write needs a key of the right role for the right source or entity, and is recorded in the audit log.
Reads of unpublished periods need an analyst or admin key; others see published periods, with figures from
too few panelists withheld.
"""

from __future__ import annotations

from fastapi import APIRouter

from thuocdo.web.api import admin, catalog, ingest, results, sources
from thuocdo.web.api.auth import Caller
from thuocdo.web.api.schemas import BODY_MODELS
from thuocdo.workflows.access import ROLES

router = APIRouter()
router.include_router(ingest.router)
router.include_router(sources.router)
router.include_router(results.router)
router.include_router(catalog.router)
router.include_router(results.reports_router)
router.include_router(admin.router)

__all__ = ["BODY_MODELS", "ROLES", "Caller", "router"]
