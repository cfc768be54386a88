"""``POST /fhir/Questionnaire/$questionnaire-package``: a FastAPI router to mount in the service app."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from priorauth.dtr.package import questionnaire_package
from priorauth.errors import BundleError
from priorauth.pas.outcome import operation_outcome

router = APIRouter(tags=["DTR"])
FHIR_JSON = "application/fhir+json"


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status, media_type=FHIR_JSON)


@router.post("/fhir/Questionnaire/$questionnaire-package")
async def questionnaire_package_operation(request: Request) -> Response:
    """DTR 2.2 ``$questionnaire-package``: JSON Parameters in, Parameters out; 400 + OperationOutcome on bad input."""
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _json(operation_outcome("Parameters", f"the body is not JSON: {exc}", code="structure"), 400)
    try:
        return _json(questionnaire_package(data))
    except BundleError as error:
        return _json(operation_outcome(error.expression, error.message, code=error.issue_code), 400)
