"""FHIR reads of what we stored: ClaimResponse (current version) and Bundles (received or answered)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from priorauth.service.decisions import dumps
from priorauth.service.deps import PrincipalDep, StateDep, fhir_response, outcome_response

router = APIRouter()


@router.get("/fhir/ClaimResponse/{claim_response_id}")
async def read_claim_response(claim_response_id: str, state: StateDep, who: PrincipalDep) -> Response:
    """The current ClaimResponse; other organizations' requests are indistinguishable from missing ones."""
    resource = await run_in_threadpool(state.decisions.claim_response, claim_response_id, who.org)
    if resource is None:
        return outcome_response(404, "ClaimResponse.id", f"ClaimResponse/{claim_response_id} not found", "not-found")
    return fhir_response(dumps(resource))


@router.get("/fhir/Bundle/{bundle_id}")
async def read_bundle(bundle_id: str, state: StateDep, who: PrincipalDep) -> Response:
    """A received request (by request id) or an answer (by response Bundle id), byte for byte as stored."""
    body = await run_in_threadpool(state.decisions.stored_bundle, bundle_id, who.org)
    if body is None:
        return outcome_response(404, "Bundle.id", f"Bundle/{bundle_id} not found", "not-found")
    return fhir_response(body)
