"""CDS Hooks 2.0 discovery: the three order hooks, each with the prefetch the tarlatamab rule reads."""

from __future__ import annotations

from typing import Any

PATIENT_PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
}
USER_PREFETCH: dict[str, str] = {
    "user": "{{context.userId}}",
    "practitionerRoles": "PractitionerRole?practitioner={{userPractitionerId}}",
}
# What each prefetch key holds, so data delivered under another key (or fetched) still counts.
PREFETCH_TYPES: dict[str, tuple[str, ...]] = {
    "patient": ("Patient",),
    "coverage": ("Coverage",),
    "conditions": ("Condition",),
    "medicationStatements": ("MedicationStatement",),
    "medicationAdministrations": ("MedicationAdministration",),
    "observations": ("Observation",),
    "user": ("Practitioner", "PractitionerRole"),
    "practitionerRoles": ("PractitionerRole",),
    "order": ("ServiceRequest", "MedicationRequest"),
}
# Keys whose absence is worth fetching and reporting for a tarlatamab order (``user`` is a bonus).
NEEDED_FOR_TARLATAMAB = (
    "patient",
    "observations",
    "coverage",
    "conditions",
    "medicationStatements",
    "medicationAdministrations",
    "practitionerRoles",
)

SERVICES: dict[str, dict[str, Any]] = {
    "order-sign": {
        "hook": "order-sign",
        "title": "Tarlatamab (Imdelltra) coverage requirements at order signing",
        "description": "Coverage information (CRD 2.2) for MedicationRequest / ServiceRequest orders under "
        "Centene CP.PHAR.685: prior authorization needs, a DTR questionnaire when documentation is needed.",
        "prefetch": {**PATIENT_PREFETCH, **USER_PREFETCH},
    },
    "order-select": {
        "hook": "order-select",
        "title": "Tarlatamab (Imdelltra) coverage requirements at order selection",
        "description": "Coverage information for the selected orders under Centene CP.PHAR.685.",
        "prefetch": {**PATIENT_PREFETCH, **USER_PREFETCH},
    },
    "order-dispatch": {
        "hook": "order-dispatch",
        "title": "Tarlatamab (Imdelltra) coverage requirements at order dispatch",
        "description": "Coverage information for the dispatched order under Centene CP.PHAR.685.",
        "prefetch": {**PATIENT_PREFETCH, "order": "{{context.order}}"},
    },
}


def discovery() -> dict[str, Any]:
    """The ``GET /cds-services`` body."""
    return {"services": [{"id": sid, **spec} for sid, spec in SERVICES.items()]}
