"""CDS Hooks 2.0 endpoints (CRD 2.2): ``GET /cds-services`` and ``POST /cds-services/{id}``."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from priorauth.crd.discovery import discovery
from priorauth.crd.hooks import HookError, UnknownServiceError, answer

router = APIRouter(tags=["CRD"])


@router.get("/cds-services")
async def cds_services() -> JSONResponse:
    """Discovery: the order-sign, order-select and order-dispatch services and their prefetch."""
    return JSONResponse(discovery())


@router.post("/cds-services/{service_id}")
async def cds_service(service_id: str, request: Request) -> Response:
    """One hook call: coverage information as systemActions (never a card for it), plus an info card."""
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JSONResponse({"error": f"the body is not JSON: {exc}"}, 400)
    try:
        return JSONResponse(await answer(service_id, body))
    except UnknownServiceError:
        return JSONResponse({"error": f"no CDS service {service_id!r}"}, 404)
    except HookError as exc:
        return JSONResponse({"error": str(exc)}, 400)
