"""FastAPI dependencies: the app state, the caller, and helpers for FHIR bodies and answers."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from priorauth.auth.tokens import Principal
from priorauth.errors import BundleError
from priorauth.service.decisions import dumps
from priorauth.service.state import AppState

FHIR_JSON = "application/fhir+json"
_ACCEPTED_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")


# The dependencies are coroutines: FastAPI runs a plain ``def`` dependency in its thread pool, a
# thread hop (and a GIL hand-over) per dependency per request for what is an attribute read.
async def get_state(request: Request) -> AppState:
    """The application's state object."""
    state: AppState = request.app.state.priorauth
    return state


StateDep = Annotated[AppState, Depends(get_state)]


class Unauthorized(HTTPException):
    """401 with an OperationOutcome body (handled in the app)."""


async def get_principal(request: Request, state: StateDep) -> Principal:
    """The authenticated client, or an anonymous principal when ``PRIORAUTH_AUTH=off``."""
    if state.settings.auth == "off":
        return Principal(None, None)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(401, "a bearer token from POST /auth/token is required")
    # The token lookup reads the database: off the event loop.
    principal = await to_thread.run_sync(state.tokens.check, token.strip(), state.clock())
    if principal is None:
        raise Unauthorized(401, "the bearer token is unknown or expired")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def fhir_base(request: Request, state: AppState) -> str:
    """The FHIR base URL for fullUrls: configured, or as the client reached us."""
    if state.settings.public_base_url:
        return state.settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/") + "/fhir"


async def read_body(request: Request, limit: int) -> tuple[bytes, BundleError | None, bool]:
    """Read at most ``limit`` bytes; returns (body or its prefix, problem, truncated)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        problem = BundleError(
            "Bundle", f"the body is {int(declared)} bytes; the limit is {limit}", issue_code="too-costly"
        )
        return b"", problem, True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            chunks.append(chunk[: max(0, limit - (size - len(chunk)))])
            problem = BundleError("Bundle", f"the body exceeds the limit of {limit} bytes", issue_code="too-costly")
            return b"".join(chunks), problem, True
        chunks.append(chunk)
    body = b"".join(chunks)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _ACCEPTED_TYPES:
        problem = BundleError("Bundle", f"only FHIR JSON is accepted, not {content_type!r}", issue_code="not-supported")
        return body, problem, False
    return body, None, False


def fhir_response(body: str | bytes, status: int = 200) -> Response:
    """A FHIR JSON response."""
    return Response(content=body, status_code=status, media_type=FHIR_JSON)


def outcome_response(status: int, expression: str, message: str, code: str) -> Response:
    """A one-issue OperationOutcome response."""
    from priorauth.pas.outcome import operation_outcome

    return fhir_response(dumps(operation_outcome(expression, message, code=code)), status)
