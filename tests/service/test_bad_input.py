"""Nonconformant requests: one OperationOutcome naming the element, stored, and the server keeps serving."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_helpers import EXAMPLES, PAS_REQUESTS, Server

from priorauth.store.bodies import decode_body

GOOD = PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json"


def _good() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOOD.read_text())
    return data


def _claim_not_first() -> bytes:
    data = _good()
    data["entry"].append(data["entry"].pop(0))
    return json.dumps(data).encode()


def _dangling() -> bytes:
    data = _good()
    data["entry"][0]["resource"]["provider"] = {"reference": "Organization/DoesNotExist"}
    return json.dumps(data).encode()


def _no_coverage() -> bytes:
    data = _good()
    data["entry"] = [e for e in data["entry"] if e["resource"]["resourceType"] != "Coverage"]
    return json.dumps(data).encode()


def _no_insurance() -> bytes:
    data = _good()
    del data["entry"][0]["resource"]["insurance"]
    return json.dumps(data).encode()


def _transaction() -> bytes:
    data = _good()
    data["type"] = "transaction"
    return json.dumps(data).encode()


def _too_big() -> bytes:
    data = _good()
    data["entry"][0]["resource"]["text"] = {"status": "generated", "div": "<div>" + "x" * 5_000_000 + "</div>"}
    return json.dumps(data).encode()


def _duplicate_sequence() -> bytes:
    data = _good()
    items = data["entry"][0]["resource"]["item"]
    items[1]["sequence"] = items[0]["sequence"]
    return json.dumps(data).encode()


def _no_status() -> bytes:
    data = copy.deepcopy(json.loads((EXAMPLES / "EX01_medicaid_approval_structured.json").read_text()))
    del data["entry"][0]["resource"]["status"]
    return json.dumps(data).encode()


CASES = [
    ("not-json", b"{this is not json", 400, "Bundle"),
    ("json-array", b"[1, 2]", 400, "Bundle"),
    ("not-a-bundle", b'{"resourceType": "Claim"}', 400, "Bundle.resourceType"),
    ("transaction", _transaction(), 400, "Bundle.type"),
    ("empty", b'{"resourceType": "Bundle", "type": "collection", "entry": []}', 400, "Bundle.entry"),
    ("claim-not-first", _claim_not_first(), 400, "Bundle.entry[0].resource"),
    ("dangling-reference", _dangling(), 400, "Bundle.entry[0].resource.provider"),
    ("missing-coverage", _no_coverage(), 400, "Bundle.entry[0].resource.insurance[0].coverage"),
    ("missing-insurance", _no_insurance(), 400, "Bundle.entry[0].resource.insurance"),
    ("duplicate-sequence", _duplicate_sequence(), 400, "Bundle.entry[0].resource.item[1].sequence"),
    ("missing-status", _no_status(), 400, "Bundle.entry[0].resource.status"),
    ("five-megabytes", _too_big(), 413, "Bundle"),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from service_helpers import service_env

    tmp = tmp_path_factory.mktemp("bad")
    server = Server(service_env(f"sqlite:///{tmp / 'p.db'}"), tmp / "server.log").start()
    yield server, tmp / "p.db"
    server.stop()


@pytest.mark.parametrize(("name", "body", "status", "expression"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_gets_one_operation_outcome(srv: Any, name: str, body: bytes, status: int, expression: str) -> None:
    server, db_path = srv
    answer = server.submit(body)
    assert answer.status_code == status, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert len(outcome["issue"]) == 1
    assert outcome["issue"][0]["expression"] == [expression]
    request_id = answer.headers["x-request-id"]
    with sqlite3.connect(db_path) as conn:
        row = conn.execute(
            "SELECT http_status, outcome, body, body_encoding, truncated FROM received_request WHERE id = ?",
            (request_id,),
        ).fetchone()
    assert row is not None and row[0] == status and json.loads(row[1]) == outcome
    if status != 413:
        assert decode_body(row[2], row[3]) == body
    # Still serving: health and a valid request.
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert server.submit(GOOD.read_bytes()).status_code == 200


def test_xml_is_refused_and_stored(srv: Any) -> None:
    server, _ = srv
    answer = httpx.post(
        f"{server.url}/fhir/Claim/$submit", content=b"<Bundle/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert answer.status_code == 415
    assert answer.json()["issue"][0]["code"] == "not-supported"


def test_unknown_reads_are_404_outcomes(srv: Any) -> None:
    server, _ = srv
    for path in ("/fhir/ClaimResponse/nope", "/fhir/Bundle/nope", "/fhir/Subscription/nope"):
        answer = httpx.get(server.url + path)
        assert answer.status_code == 404
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_inquiry_without_match_is_404(srv: Any) -> None:
    server, _ = srv
    data = json.loads((PAS_REQUESTS / "ig-pas221_Bundle-PASClaimInquiryBundleExample.json").read_text())
    data["entry"][0]["resource"]["identifier"][0]["value"] = "never-submitted"
    answer = server.submit(json.dumps(data).encode(), op="inquire")
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]


def test_submit_bundle_file_is_unchanged(tmp_path: Path) -> None:
    # Guard against a fixture edited in place by a test above.
    assert json.loads(GOOD.read_text())["entry"][0]["resource"]["resourceType"] == "Claim"
