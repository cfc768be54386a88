"""``POST /fhir/Subscription``, ``GET`` and ``DELETE /fhir/Subscription/{id}``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from priorauth.errors import BundleError
from priorauth.notify import subscriptions
from priorauth.pas.validate import parse_json
from priorauth.service.decisions import dumps
from priorauth.service.deps import PrincipalDep, StateDep, fhir_base, fhir_response, outcome_response, read_body

router = APIRouter()


@router.post("/fhir/Subscription")
async def create(request: Request, state: StateDep, who: PrincipalDep) -> Response:
    """Create an active rest-hook Subscription for the caller's organization."""
    body, problem, _ = await read_body(request, state.settings.max_body_bytes)
    try:
        if problem is not None:
            raise problem
        data = parse_json(body)
        resource = await run_in_threadpool(
            subscriptions.create_subscription, state.db, data, caller_org=who.org, now=state.clock()
        )
    except BundleError as exc:
        return outcome_response(400, exc.expression.replace("Bundle", "Subscription", 1), exc.message, exc.issue_code)
    except subscriptions.SubscriptionForbiddenError as exc:
        return outcome_response(403, "Subscription.criteria.extension", str(exc), "forbidden")
    response = fhir_response(dumps(resource), 201)
    response.headers["Location"] = f"{fhir_base(request, state)}/Subscription/{resource['id']}"
    return response


@router.get("/fhir/Subscription/{subscription_id}")
async def read(subscription_id: str, state: StateDep, who: PrincipalDep) -> Response:
    """A subscription of the caller's organization."""
    resource = await run_in_threadpool(subscriptions.read_subscription, state.db, subscription_id, caller_org=who.org)
    if resource is None:
        return outcome_response(404, "Subscription.id", f"Subscription/{subscription_id} not found", "not-found")
    return fhir_response(dumps(resource))


@router.delete("/fhir/Subscription/{subscription_id}")
async def delete(subscription_id: str, state: StateDep, who: PrincipalDep) -> Response:
    """Turn a subscription off."""
    found = await run_in_threadpool(subscriptions.delete_subscription, state.db, subscription_id, caller_org=who.org)
    if not found:
        return outcome_response(404, "Subscription.id", f"Subscription/{subscription_id} not found", "not-found")
    return Response(status_code=204)
