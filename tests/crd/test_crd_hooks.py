"""CRD over HTTP against a real uvicorn process: discovery, other orders, tarlatamab orders, fhirServer fetch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from crd_helpers import (
    CRD,
    QUESTIONNAIRE,
    FhirFiles,
    Uvicorn,
    coverage_information,
    example_hook,
    load,
    server,
    validate,
    with_tarlatamab,
)

__all__ = ["server"]  # the module-scoped uvicorn fixture

ORDER_FIXTURES = [
    "inferno-crd-preset_order-sign_devicerequest-E0250.json",
    "inferno-crd-preset_order-sign_servicerequest-G0180.json",
    "inferno-crd-preset_order-dispatch_servicerequest-G0180.json",
    "inferno-crd-preset_order-select_medreq-azathioprine.json",
    "inferno-crd-spec_order-sign_hook_request.json",
    "inferno-crd-spec_order-select_hook_request.json",
    "inferno-crd-spec_order-dispatch_hook_request.json",
]


def call(srv: Uvicorn, body: dict[str, Any], service: str | None = None) -> dict[str, Any]:
    response = httpx.post(f"{srv.base}/cds-services/{service or body['hook']}", json=body, timeout=15)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    assert set(data) <= {"cards", "systemActions"}
    for card in data["cards"]:
        assert len(card["summary"]) <= 140 and card["indicator"] in ("info", "warning", "critical")
        assert "extension" not in str(card.get("suggestions", "")), "coverage information never goes in a card"
    for action in data["systemActions"]:
        assert action["type"] == "update"
        validate(action["resource"])
    return data


def test_discovery(server: Uvicorn) -> None:
    data = httpx.get(f"{server.base}/cds-services").json()
    hooks = {s["id"]: s for s in data["services"]}
    assert {s["hook"] for s in hooks.values()} == {"order-sign", "order-select", "order-dispatch"}
    for service in hooks.values():
        assert service["description"] and service["title"]
        prefetch = service["prefetch"]
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        for key in ("coverage", "conditions", "medicationStatements", "medicationAdministrations"):
            assert "{{context.patientId}}" in prefetch[key]
    assert "PractitionerRole?" in hooks["order-sign"]["prefetch"]["practitionerRoles"]


@pytest.mark.parametrize("name", ORDER_FIXTURES)
def test_other_orders_are_answered_without_error(server: Uvicorn, name: str) -> None:
    body = load(CRD / name)
    body.pop("fhirServer", None)  # hermetic: nothing to fetch from the internet
    data = call(server, body)
    assert not any("tarlatamab" in c["summary"].lower() for c in data["cards"])
    for action in data["systemActions"]:
        subs = coverage_information(action["resource"])
        assert subs["pa-needed"] in ("no-auth", "indeterminate")
        assert "questionnaire" not in subs
    if not data["systemActions"]:  # no Coverage anywhere: the missing data is listed instead
        assert any("missing" in c["summary"].lower() for c in data["cards"])


@pytest.mark.parametrize(
    "name",
    [
        "inferno-crd-preset_order-sign_devicerequest-E0250.json",
        "inferno-crd-preset_order-select_medreq-azathioprine.json",
        "inferno-crd-preset_order-dispatch_servicerequest-G0180.json",
    ],
)
def test_tarlatamab_order_needs_auth_with_questionnaire(server: Uvicorn, name: str) -> None:
    body = with_tarlatamab(load(CRD / name))
    body.pop("fhirServer", None)
    data = call(server, body)
    [action] = data["systemActions"]
    assert action["resource"]["id"] == "mr-tarlatamab"
    subs = coverage_information(action["resource"])
    assert subs["covered"] == "covered" and subs["pa-needed"] == "auth-needed"
    assert subs["doc-needed"] == "clinical" and subs["doc-purpose"] == "withpa"
    assert subs["questionnaire"] == f"{QUESTIONNAIRE}|2025-12-02"
    # pat015 is a child with no line of business, and nothing clinical was prefetched: all said in the reason
    reason = subs["reason"]["text"]
    assert "I.A.3" in reason and "LOB" in reason and "conditions" in reason
    [card] = [c for c in data["cards"] if "CRS" in c["summary"]]
    assert "1 mg" in card["detail"] and "ICANS" in card["detail"]


@pytest.mark.parametrize(
    "order",
    [
        {
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "J9026"}]
            }
        },
        {"medicationCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "55513007701"}]}},
        {"medicationCodeableConcept": {"text": "IMDELLTRA 10 mg"}},
    ],
)
def test_tarlatamab_recognised_by_code_or_name(server: Uvicorn, order: dict[str, Any]) -> None:
    from crd_helpers import tarlatamab_request

    body = with_tarlatamab(
        load(CRD / "inferno-crd-preset_order-sign_devicerequest-E0250.json"), tarlatamab_request(**order)
    )
    body.pop("fhirServer", None)
    subs = coverage_information(call(server, body)["systemActions"][0]["resource"])
    assert subs["pa-needed"] == "auth-needed"


@pytest.mark.parametrize("hook", ["order-sign", "order-select", "order-dispatch"])
def test_tarlatamab_all_criteria_met_is_satisfied(server: Uvicorn, hook: str) -> None:
    body, _ = example_hook("EX01_medicaid_approval_structured.json", hook)
    data = call(server, body)
    [action] = data["systemActions"]
    subs = coverage_information(action["resource"])
    assert subs["pa-needed"] == "satisfied", subs.get("reason")
    assert subs["satisfied-pa-id"].startswith("CRD-")
    assert "questionnaire" not in subs and "doc-needed" not in subs


def test_missing_prefetch_fetched_from_fhir_server(server: Uvicorn) -> None:
    body, resources = example_hook("EX01_medicaid_approval_structured.json", prefetch=False)
    with FhirFiles(resources) as fhir:
        body["fhirServer"] = fhir.base
        body["fhirAuthorization"] = {
            "access_token": "tok-123",
            "token_type": "Bearer",
            "expires_in": 30,
            "scope": "patient/*.read",
            "subject": "priorauth",
        }
        data = call(server, body)
    subs = coverage_information(data["systemActions"][0]["resource"])
    assert subs["pa-needed"] == "satisfied", subs.get("reason")
    paths = {p.split("?")[0] for p, _ in fhir.requests}
    assert {"/r4/Coverage", "/r4/Condition", "/r4/MedicationAdministration", "/r4/PractitionerRole"} <= paths
    assert all(auth == "Bearer tok-123" for _, auth in fhir.requests)


def test_missing_prefetch_without_server_is_listed(server: Uvicorn) -> None:
    body, _ = example_hook("EX01_medicaid_approval_structured.json", prefetch=False)
    data = call(server, body)
    subs = coverage_information(data["systemActions"][0]["resource"])
    assert subs["pa-needed"] == "auth-needed"
    assert "no fhirServer" in subs["reason"]["text"]


def test_unreachable_fhir_server_is_bounded(server: Uvicorn) -> None:
    body, _ = example_hook("EX01_medicaid_approval_structured.json", prefetch=False)
    body["fhirServer"] = "http://127.0.0.1:9/r4"  # discard port: connection refused
    body["fhirAuthorization"] = {"access_token": "x", "token_type": "Bearer"}
    subs = coverage_information(call(server, body)["systemActions"][0]["resource"])
    assert subs["pa-needed"] == "auth-needed" and "ConnectError" in subs["reason"]["text"]


def test_bad_requests(server: Uvicorn) -> None:
    assert httpx.post(f"{server.base}/cds-services/nope", json={}).status_code == 404
    assert httpx.post(f"{server.base}/cds-services/order-sign", content=b"{").status_code == 400
    assert httpx.post(f"{server.base}/cds-services/order-sign", json={"hook": "order-sign"}).status_code == 400
    wrong = {"hook": "order-select", "hookInstance": "x", "context": {}}
    assert httpx.post(f"{server.base}/cds-services/order-sign", json=wrong).status_code == 400
