"""CDS Hooks 2.0 endpoints (CRD 2.2): ``GET /cds-services`` and ``POST /cds-services/{id}``."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from priorauth.crd.discovery import discovery
from priorauth.crd.hooks import HookError, UnknownServiceError, answer

router = APIRouter(tags=["CRD"])


def store_order(decisions: Any, bundle: dict[str, Any]) -> str | None:
    """Store an order that met every criterion as a PAS request; the authorization number if approved."""
    answer_ = decisions.submit(json.dumps(bundle).encode(), org=None, content_type="application/fhir+json")
    if answer_.status != 200:
        return None
    response = json.loads(answer_.body)
    claim_response = response["entry"][0]["resource"]
    # preAuthRef is set only when the item was approved (A1).
    number = claim_response.get("preAuthRef")
    return str(number) if number else None


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
    # Mounted in the PAS service, approvals issued at order time are stored like a $submit approval.
    state = getattr(request.app.state, "priorauth", None)
    authorize = partial(store_order, state.decisions) if state is not None else None

    try:
        return JSONResponse(await answer(service_id, body, authorize=authorize))
    except UnknownServiceError:
        return JSONResponse({"error": f"no CDS service {service_id!r}"}, 404)
    except HookError as exc:
        return JSONResponse({"error": str(exc)}, 400)
