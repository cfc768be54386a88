"""The CapabilityStatement: operations offered and implementation guides claimed."""

from __future__ import annotations

from typing import Any

from priorauth.pas import codes
from priorauth.service.settings import Settings
from priorauth.version import ENGINE_VERSION

IGS = (
    "http://hl7.org/fhir/us/davinci-pas/ImplementationGuide/hl7.fhir.us.davinci-pas|2.2.1",
    "http://hl7.org/fhir/us/davinci-crd/ImplementationGuide/hl7.fhir.us.davinci-crd|2.2.1",
    "http://hl7.org/fhir/us/davinci-dtr/ImplementationGuide/hl7.fhir.us.davinci-dtr|2.2.0",
    "http://hl7.org/fhir/uv/subscriptions-backport/ImplementationGuide/hl7.fhir.uv.subscriptions-backport|1.1.0",
)


def capability_statement(base_url: str, settings: Settings) -> dict[str, Any]:
    """A server CapabilityStatement for this deployment."""
    security: dict[str, Any] = {"cors": False}
    if settings.auth == "on":
        token_url = base_url.removesuffix("/fhir") + "/auth/token"
        security = {
            "cors": False,
            "service": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                            "code": "SMART-on-FHIR",
                        }
                    ]
                }
            ],
            "extension": [
                {
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": token_url}],
                }
            ],
        }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "priorauth", "version": ENGINE_VERSION},
        "implementation": {
            "description": "priorauth: PAS ($submit, $inquire), DTR ($questionnaire-package) and CRD "
            "(CDS Hooks at /cds-services: order-sign, order-select, order-dispatch)",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "implementationGuide": list(IGS),
        "rest": [
            {
                "mode": "server",
                "security": security,
                "resource": [
                    {
                        "type": "Claim",
                        "operation": [
                            {
                                "name": "submit",
                                "definition": "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit",
                            },
                            {
                                "name": "inquire",
                                "definition": "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry",
                            },
                        ],
                    },
                    {
                        "type": "Questionnaire",
                        "operation": [
                            {
                                "name": "questionnaire-package",
                                "definition": "http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/questionnaire-package",
                            }
                        ],
                    },
                    {"type": "ClaimResponse", "interaction": [{"code": "read"}]},
                    {"type": "Bundle", "interaction": [{"code": "read"}]},
                    {
                        "type": "Subscription",
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical",
                                "valueCanonical": codes.TOPIC_PAS,
                            }
                        ],
                        "interaction": [{"code": "create"}, {"code": "read"}, {"code": "delete"}],
                    },
                ],
            }
        ],
    }
