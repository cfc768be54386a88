"""``$questionnaire-package`` over HTTP, and a QuestionnaireResponse to our Questionnaire read by the engine."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import httpx
import pytest
from crd_helpers import DTR, QUESTIONNAIRE, Uvicorn, example_resources, load, server, tarlatamab_request, validate

from priorauth.dtr.questionnaire import build_questionnaire
from priorauth.engine.decide import decide
from priorauth.fhir.extract import extract_request
from priorauth.policy.registry import load_registry

__all__ = ["server"]
URL = "/fhir/Questionnaire/$questionnaire-package"
INPUTS = [
    "inferno-dtr-spec_questionnaire_package_input_params_conformant.json",
    "inferno-dtr-preset_payer_questionnaire_package_request_devreq015.json",
]
LINK_IDS = {"I.A.1", "I.A.2", "I.A.4", "I.A.5", "II.A.1", "II.A.2"}


def post(srv: Uvicorn, body: Any) -> httpx.Response:
    return httpx.post(f"{srv.base}{URL}", json=body, timeout=10)


def _items(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        out[item["linkId"]] = item
        out.update(_items(item.get("item", [])))
    return out


@pytest.mark.parametrize("name", INPUTS)
def test_other_orders_get_an_outcome_and_no_package(server: Uvicorn, name: str) -> None:
    response = post(server, load(DTR / name))
    assert response.status_code == 200
    data = response.json()
    validate(data)
    assert [p["name"] for p in data["parameter"]] == ["outcome"]
    assert data["parameter"][0]["resource"]["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize("name", INPUTS)
def test_tarlatamab_order_gets_the_package(server: Uvicorn, name: str) -> None:
    body = copy.deepcopy(load(DTR / name))
    for param in body["parameter"]:
        if param["name"] == "order":
            param["resource"] = tarlatamab_request()
    response = post(server, body)
    assert response.status_code == 200, response.text
    data = response.json()
    validate(data)
    [package] = [p["resource"] for p in data["parameter"] if p["name"] == "PackageBundle"]
    assert package["type"] == "collection"
    resources = [e["resource"] for e in package["entry"]]
    questionnaire = resources[0]
    assert questionnaire["resourceType"] == "Questionnaire"
    assert (questionnaire["url"], questionnaire["version"], questionnaire["status"]) == (
        QUESTIONNAIRE,
        "2025-12-02",
        "active",
    )
    items = _items(questionnaire["item"])
    assert set(items) >= LINK_IDS
    assert all(items[i]["type"] == "boolean" and items[i]["required"] for i in LINK_IDS)
    assert items["I.A.1"]["text"] == "Diagnosis of ES-SCLC;"
    assert items["II.A.2"]["enableWhen"] == [{"question": "II.A.1", "operator": "=", "answerBoolean": True}]
    expressions = [e["valueExpression"]["expression"] for i in items.values() for e in i.get("extension", [])]
    assert "%patient.birthDate" in expressions
    value_sets = {r["url"].rsplit("/", 1)[-1]: r for r in resources if r["resourceType"] == "ValueSet"}
    assert set(value_sets) == {
        "CP.PHAR.685-small-cell-lung-cancer",
        "CP.PHAR.685-platinum-agents",
        "CP.PHAR.685-oncology-taxonomies",
    }
    sclc = value_sets["CP.PHAR.685-small-cell-lung-cancer"]["expansion"]["contains"]
    assert {
        "system": "http://snomed.info/sct",
        "code": "254632001",
        "display": "Small cell carcinoma of lung (disorder)",
    } in sclc
    onc = {c["code"] for c in value_sets["CP.PHAR.685-oncology-taxonomies"]["expansion"]["contains"]}
    assert "207RX0202X" in onc
    for vs_url in value_sets:
        assert any(vs_url in e for e in expressions) or vs_url.endswith("small-cell-lung-cancer")


def test_named_version_is_returned(server: Uvicorn) -> None:
    body = load(DTR / INPUTS[1])
    body["parameter"].append({"name": "questionnaire", "valueCanonical": f"{QUESTIONNAIRE}|2024-11-07"})
    data = post(server, body).json()
    [package] = [p["resource"] for p in data["parameter"] if p["name"] == "PackageBundle"]
    assert package["entry"][0]["resource"]["version"] == "2024-11-07"


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({"resourceType": "Bundle"}, "Parameters.resourceType"),
        ({"resourceType": "Parameters", "parameter": []}, "Parameters.parameter"),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "coverage", "resource": {"resourceType": "Patient"}}],
            },
            "Parameters.parameter[0].resource",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "coverage", "resource": {"resourceType": "Coverage", "status": 7}}],
            },
            "Parameters.parameter[0].resource.",
        ),
    ],
)
def test_bad_input_is_400_with_one_issue(server: Uvicorn, body: Any, expression: str) -> None:
    response = post(server, body)
    assert response.status_code == 400
    outcome = response.json()
    validate(outcome)
    [issue] = outcome["issue"]
    assert issue["expression"][0].startswith(expression)


def test_questionnaire_response_to_our_questionnaire_is_read() -> None:
    claim, resources = example_resources("EX02_marketplace_questionnaire_prescriber_unanswered.json")
    version = load_registry().resolve("CP.PHAR.685", date(2026, 3, 2))
    assert version is not None
    questionnaire = build_questionnaire(version)
    items = _items(questionnaire["item"])
    qr = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    role = next(r for r in resources if r["resourceType"] == "PractitionerRole")
    origin = {
        "url": "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin",
        "extension": [
            {"url": "source", "valueCode": "manual"},
            {
                "url": "author",
                "extension": [
                    {"url": "practitioner", "valueReference": {"reference": role["practitioner"]["reference"]}}
                ],
            },
        ],
    }
    answers = {"II.A.1": False, "I.A.1": True, "I.A.2": True, "I.A.4": True, "I.A.5": True}

    def answer(link: str) -> dict[str, Any]:
        return {
            "linkId": link,
            "text": items[link]["text"],
            "answer": [{"valueBoolean": answers[link], "extension": [origin]}],
        }

    qr["questionnaire"] = f"{questionnaire['url']}|{questionnaire['version']}"
    qr["item"] = [
        {"linkId": "II.A", "item": [answer("II.A.1")]},
        {"linkId": "I.A", "item": [answer(k) for k in ("I.A.1", "I.A.2", "I.A.4", "I.A.5")]},
    ]
    validate(qr)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in [claim, *resources]],
    }
    request = extract_request(bundle, version)
    got = {(ans.evidence.link_id, ans.evidence.value, ans.evidence.origin) for ans in request.shared.answers}
    assert {(k, str(v).lower(), "manual") for k, v in answers.items()} <= got, got
    determination = decide(load_registry(), request.facts_for(request.items[0]), date(2026, 3, 2))
    statuses = determination.statuses()
    assert statuses["I.A.2"] == "met", determination.summary  # EX02 pends on I.A.2 without the answer
    assert statuses["I.A.1"] == "met"
