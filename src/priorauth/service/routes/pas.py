"""``$submit`` and ``$inquire``."""

from __future__ import annotations

import time
from functools import partial

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response

from priorauth.pas.validate import parse_json
from priorauth.service.decisions import dumps
from priorauth.service.deps import PrincipalDep, StateDep, fhir_base, fhir_response, read_body

router = APIRouter()


async def _operation(request: Request, state: StateDep, who: PrincipalDep, operation: str) -> Response:
    started = time.perf_counter()
    body, problem, truncated = await read_body(request, state.settings.max_body_bytes)
    content_type = request.headers.get("content-type")
    if problem is not None:
        status = 413 if problem.issue_code == "too-costly" else 415
        reject = partial(
            state.decisions.reject,
            body,
            problem,
            operation=operation,
            status=status,
            org=who.org,
            client_id=who.client_id,
            content_type=content_type,
            truncated=truncated,
        )
        answer = await to_thread.run_sync(reject, limiter=state.decision_limiter)
    else:
        options = {
            "org": who.org,
            "client_id": who.client_id,
            "content_type": content_type,
            "base_url": fhir_base(request, state),
        }
        pooled = None
        if state.pool is not None:
            pooled = await state.pool.decide(operation, body, state.metrics, **options)
        if pooled is not None:
            answer = pooled
        else:
            service = state.decisions.submit if operation == "submit" else state.decisions.inquire
            answer = await to_thread.run_sync(partial(service, body, **options), limiter=state.decision_limiter)
    state.metrics.latency.labels(operation).observe(time.perf_counter() - started)
    response = fhir_response(answer.body, answer.status)
    response.headers["X-Request-Id"] = answer.request_id
    return response


@router.post("/fhir/Claim/$submit")
async def submit(request: Request, state: StateDep, who: PrincipalDep) -> Response:
    """PAS ``$submit``: a request Bundle in, a response Bundle (or one OperationOutcome) out."""
    return await _operation(request, state, who, "submit")


@router.post("/fhir/Claim/$inquire")
async def inquire(request: Request, state: StateDep, who: PrincipalDep) -> Response:
    """PAS ``$inquire``: the latest answer to the caller's matching request."""
    return await _operation(request, state, who, "inquire")


@router.post("/_bench/parse", include_in_schema=False)
async def parse_only(request: Request, state: StateDep) -> Response:
    """Benchmark floor: read and parse the body as ``$submit`` does (same reader, same thread pool),
    nothing else (enabled by PRIORAUTH_BENCH_ENDPOINTS)."""
    if not state.settings.bench_endpoints:
        return Response(status_code=404)
    body, _problem, _truncated = await read_body(request, state.settings.max_body_bytes)
    data = await to_thread.run_sync(parse_json, body, limiter=state.decision_limiter)
    return fhir_response(dumps({"resourceType": "Basic", "entries": len(data.get("entry", []))}))
