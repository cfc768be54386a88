"""The FHIRPath expressions the reader uses, compiled once (a bad expression fails at import).

The FHIRPath text is the source of truth (it is also cited as evidence); fhirpathpy's parser reads it.
Expressions within the subset of :mod:`priorauth.fhir.fastpath` are evaluated by closures built from
that parse tree, the rest by fhirpathpy's evaluator; differential tests (tests/fhir/test_fastpath.py)
hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from priorauth.fhir import fastpath

_R4 = models["r4"]

# Neither the fast path nor fhirpathpy 2.x mutates the resource for these navigation-only expressions
# (checked in tests/fhir); if that changes, pass copies.
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


def compile_path(expression: str) -> tuple[Compiled, bool]:
    """The fast-path closure for an expression, else fhirpathpy's compiled evaluator; and whether it is fast."""
    try:
        return fastpath.compile_expression(expression, _R4), True
    except fastpath.Unsupported:
        return fhirpathpy.compile(expression, _R4), False


_BUILT = {name: compile_path(expr) for name, expr in EXPRESSIONS.items()}
COMPILED: dict[str, Compiled] = {name: fn for name, (fn, _) in _BUILT.items()}
# The names the fast path serves (the tests require all of them, so a silent fallback shows).
FAST: frozenset[str] = frozenset(name for name, (_, fast) in _BUILT.items() if fast)
ENV = {"lob": "https://priorauth.dev/fhir/CodeSystem/line-of-business", "nucc": "http://nucc.org/provider-taxonomy"}


def evaluate(name: str, resource: Any) -> list[Any]:
    """Evaluate a named expression on one resource (or element)."""
    return COMPILED[name](resource, ENV)


def path_of(name: str) -> str:
    """The FHIRPath text of a named expression, for evidence."""
    return EXPRESSIONS[name]
