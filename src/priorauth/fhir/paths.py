"""The FHIRPath expressions the reader uses, compiled once (a bad expression fails at import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

_R4 = models["r4"]

# fhirpathpy 2.x does not mutate the resource for these navigation-only expressions (checked in
# tests/fhir); if that changes, pass copies.
EXPRESSIONS: dict[str, str] = {
    "coverage.lob": "type.coding.where(system = %lob).code",
    "coverage.class_lob": "class.where(type.coding.code = 'plan').value",
    "coverage.renewal": "period.end",
    "coverage.member_id": "identifier.where(type.coding.code = 'MB').value | subscriberId",
    "patient.birth_date": "birthDate",
    "patient.member_id": "identifier.where(type.coding.code = 'MB').value",
    "patient.state": "address.where(use = 'home' or use.empty()).state",
    "taxonomy.specialty": "specialty.coding.where(system = %nucc).code",
    "taxonomy.qualification": "qualification.code.coding.where(system = %nucc).code",
    "careteam.taxonomy": "careTeam.qualification.coding.where(system = %nucc).code",
    "item.certification": "extension.where(url.endsWith('extension-certificationType')).value.coding.code",
    "item.requested_service": "extension.where(url.endsWith('extension-requestedService')).value.reference",
    "answer.origin": "extension.where(url.endsWith('information-origin')).extension.where(url = 'source').value",
}

Compiled = Callable[[Any, dict[str, Any]], list[Any]]
COMPILED: dict[str, Compiled] = {name: fhirpathpy.compile(expr, _R4) for name, expr in EXPRESSIONS.items()}
ENV = {"lob": "https://priorauth.dev/fhir/CodeSystem/line-of-business", "nucc": "http://nucc.org/provider-taxonomy"}


def evaluate(name: str, resource: Any) -> list[Any]:
    """Evaluate a named expression on one resource (or element)."""
    return COMPILED[name](resource, ENV)


def path_of(name: str) -> str:
    """The FHIRPath text of a named expression, for evidence."""
    return EXPRESSIONS[name]
