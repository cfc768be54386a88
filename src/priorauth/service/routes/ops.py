"""Token endpoint, health, metrics and the CapabilityStatement."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from priorauth.auth.tokens import TokenError
from priorauth.service.capability import capability_statement
from priorauth.service.decisions import dumps
from priorauth.service.deps import StateDep, fhir_base, fhir_response

router = APIRouter()


@router.post("/auth/token")
async def token(request: Request, state: StateDep) -> Response:
    """SMART Backend Services token endpoint (client_credentials + private_key_jwt)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    audiences = {str(request.url).split("?")[0]}
    if state.settings.public_base_url:
        audiences.add(state.settings.public_base_url.rstrip("/").removesuffix("/fhir") + "/auth/token")
    try:
        answer = await run_in_threadpool(state.tokens.issue, form=fields, audiences=audiences, now=state.clock())
    except TokenError as exc:
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/healthz")
async def healthz(state: StateDep) -> Response:
    """Liveness and readiness: 200 when the database answers."""
    ok = await run_in_threadpool(state.db.ping)
    return JSONResponse({"status": "ok" if ok else "database unreachable"}, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics(state: StateDep) -> Response:
    """Prometheus exposition."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/fhir/metadata")
async def metadata(request: Request, state: StateDep) -> Response:
    """The CapabilityStatement (public, as FHIR requires)."""
    return fhir_response(dumps(capability_statement(fhir_base(request, state), state.settings)))
