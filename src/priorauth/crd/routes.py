"""CDS Hooks 2.0 endpoints (CRD 2.2): ``GET /cds-services`` and ``POST /cds-services/{id}``."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from priorauth.crd.discovery import discovery
from priorauth.crd.hooks import HookError, OrderDecision, UnknownServiceError, answer
from priorauth.engine.determination import Outcome
from priorauth.service.decisions import Answer, DecisionService, dumps

router = APIRouter(tags=["CRD"])


def authorize_order(decisions: DecisionService, bundle: dict[str, Any]) -> OrderDecision:
    """Decide an order as a PAS request (our earlier approvals included); store it only when approved."""
    prepared = decisions.prepare(dumps(bundle).encode(), org=None, content_type="application/fhir+json")
    if isinstance(prepared, Answer):
        issue = json.loads(prepared.body).get("issue") or [{}]
        return OrderDecision(None, problem=str(issue[0].get("diagnostics", "the order was rejected")))
    first = prepared.decided[0] if prepared.decided else None
    if first is None or first.determination is None:
        problem = "; ".join(first.result.notes) if first is not None else "the order has no item"
        return OrderDecision(None, problem=problem)
    if first.determination.outcome is not Outcome.APPROVED or first.result.auth_number is None:
        return OrderDecision(first.determination)
    decisions.commit(prepared)
    return OrderDecision(first.determination, first.result.auth_number)


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
    authorize = partial(authorize_order, state.decisions) if state is not None else None

    try:
        return JSONResponse(await answer(service_id, body, authorize=authorize))
    except UnknownServiceError:
        return JSONResponse({"error": f"no CDS service {service_id!r}"}, 404)
    except HookError as exc:
        return JSONResponse({"error": str(exc)}, 400)
