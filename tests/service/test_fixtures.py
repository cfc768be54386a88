"""Every shared PAS fixture gets a valid answer from a real server over HTTP (SQLite file)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_helpers import PAS_REQUESTS, PAS_RESPONSES, Server, review_action

from priorauth.store.bodies import decode_body

REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


REQUESTS = sorted(PAS_REQUESTS.glob("*.json"))
SUBMITS = [p for p in REQUESTS if _load(p)["resourceType"] == "Bundle" and "inquir" not in p.name]
INQUIRIES = [p for p in REQUESTS if _load(p)["resourceType"] == "Bundle" and "inquir" in p.name]
SUBSCRIPTIONS = [p for p in REQUESTS if _load(p)["resourceType"] == "Subscription"]
OTHERS = [p for p in REQUESTS if _load(p)["resourceType"] not in ("Bundle", "Subscription")]


def _adjudication_shape(node: Any) -> Any:
    """The urls and value keys of an adjudication's extensions (values themselves ignored)."""
    if isinstance(node, dict):
        return {k: _adjudication_shape(v) for k, v in node.items() if k in ("url", "extension", "category")}
    if isinstance(node, list):
        return [_adjudication_shape(v) for v in node]
    return None


def _check_response_bundle(bundle: dict[str, Any], claim: dict[str, Any]) -> dict[str, Any]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    response = bundle["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse"
    assert response["use"] == "preauthorization" and response["status"] == "active"
    assert response["outcome"] in ("complete", "error")
    assert response["request"]
    full_urls = {e.get("fullUrl") for e in bundle["entry"]}
    for key in ("patient", "insurer", "requestor"):
        if key in response:
            ref = response[key]["reference"]
            assert any(u == ref or (u or "").endswith("/" + ref) for u in full_urls), (key, ref)
    sequences = [i["sequence"] for i in claim.get("item", [])]
    assert [i["itemSequence"] for i in response.get("item", [])] == sequences
    golden = _load(PAS_RESPONSES / "ig-pas221_Bundle-ReferralPendingAuthorizationResponseBundleExample.json")
    golden_adj = _adjudication_shape(golden["entry"][0]["resource"]["item"][0]["adjudication"])
    notes = {n["number"]: n["text"] for n in response.get("processNote", [])}
    for item in response.get("item", []):
        assert sorted(_adjudication_shape(item["adjudication"])[0]) == sorted(golden_adj[0])
        code = review_action(response, item["itemSequence"])
        # None of these fixtures is for our drug: never approved, never denied by the engine.
        assert code in ("A4", "C"), code
        if code == "A4":
            texts = [notes[n] for n in item["noteNumber"]]
            assert any("no automated policy" in t or "pended" in t for t in texts), texts
    if not sequences:
        assert response["outcome"] == "error" and response["error"]
    return response


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from service_helpers import service_env

    tmp = tmp_path_factory.mktemp("fixtures")
    url = f"sqlite:///{tmp / 'priorauth.db'}"
    srv = Server(service_env(url), tmp / "server.log").start()
    yield srv, tmp / "priorauth.db"
    srv.stop()


@pytest.mark.parametrize("path", SUBMITS, ids=lambda p: p.name)
def test_submit_fixture_gets_a_valid_pas_answer(shared_server: Any, path: Path) -> None:
    srv, db_path = shared_server
    body = path.read_bytes()
    answer = srv.submit(body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    bundle = answer.json()
    response = _check_response_bundle(bundle, _load(path)["entry"][0]["resource"])
    # What was received and what was answered can be read back exactly.
    request_id = answer.headers["x-request-id"]
    assert httpx.get(f"{srv.url}/fhir/Bundle/{request_id}").content == body
    assert httpx.get(f"{srv.url}/fhir/Bundle/{bundle['id']}").json() == bundle
    assert httpx.get(f"{srv.url}/fhir/ClaimResponse/{response['id']}").json() == response
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute(
            "SELECT body, body_encoding, http_status FROM received_request WHERE id = ?", (request_id,)
        ).fetchone()
        assert (decode_body(stored[0], stored[1]), stored[2]) == (body, 200)
        if len(body) > 4096:  # JSON this size always compresses
            assert stored[1] == "zstd" and len(stored[0]) < len(body) / 2
        assert conn.execute("SELECT count(*) FROM determination WHERE request_id = ?", (request_id,)).fetchone()[
            0
        ] == len(response.get("item", []))


@pytest.mark.parametrize("path", INQUIRIES, ids=lambda p: p.name)
def test_inquiry_fixture_finds_the_submitted_request(shared_server: Any, path: Path) -> None:
    srv, _ = shared_server
    for submit in SUBMITS:  # make sure every submitter identifier has a request on file
        assert srv.submit(submit.read_bytes()).status_code == 200
    answer = srv.submit(path.read_bytes(), op="inquire")
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-inquiry-response-bundle"
    ]
    assert bundle["entry"][0]["resource"]["resourceType"] == "ClaimResponse"


@pytest.mark.parametrize("path", SUBSCRIPTIONS, ids=lambda p: p.name)
def test_subscription_fixtures(shared_server: Any, path: Path) -> None:
    srv, _ = shared_server
    answer = httpx.post(
        f"{srv.url}/fhir/Subscription", content=path.read_bytes(), headers={"Content-Type": "application/fhir+json"}
    )
    if "id_only" in path.name:
        assert answer.status_code == 400
        assert answer.json()["issue"][0]["expression"] == ["Subscription.channel.payload"]
        return
    assert answer.status_code == 201, answer.text
    created = answer.json()
    read = httpx.get(f"{srv.url}/fhir/Subscription/{created['id']}").json()
    assert read["id"] == created["id"]
    assert httpx.delete(f"{srv.url}/fhir/Subscription/{created['id']}").status_code == 204
    assert httpx.get(f"{srv.url}/fhir/Subscription/{created['id']}").json()["status"] == "off"


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.name)
def test_lone_resources_are_not_pas_bundles(shared_server: Any, path: Path) -> None:
    srv, _ = shared_server
    answer = srv.submit(path.read_bytes())
    assert answer.status_code == 400
    issues = answer.json()["issue"]
    assert len(issues) == 1 and issues[0]["expression"] == ["Bundle.resourceType"]


def test_metadata_and_metrics(shared_server: Any) -> None:
    srv, _ = shared_server
    capability = httpx.get(f"{srv.url}/fhir/metadata").json()
    assert capability["resourceType"] == "CapabilityStatement" and capability["fhirVersion"] == "4.0.1"
    operations = {op["name"] for r in capability["rest"][0]["resource"] for op in r.get("operation", [])}
    assert operations == {"submit", "inquire", "questionnaire-package"}
    assert any("davinci-pas|2.2.1" in ig for ig in capability["implementationGuide"])
    assert "priorauth_pas_requests_total" in httpx.get(f"{srv.url}/metrics").text
