"""DecisionService without HTTP, on a real SQLite file and the real engine; mapping with hand-made determinations."""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from service_helpers import EXAMPLES, PAS_REQUESTS, review_action

from priorauth.engine.determination import Determination, MissingItem, Outcome, Referral, Window
from priorauth.pas import mapping
from priorauth.pas.response import ItemResult, ResponseContent, build_response_bundle
from priorauth.pas.validate import parse_json, validate_request
from priorauth.service.decisions import Answer, DecisionError, DecisionService, dumps
from priorauth.service.settings import load_settings
from priorauth.store.bodies import unpack_text
from priorauth.store.db import open_database, upgrade

HOMECARE = PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json"
HOMECARE_UPDATE = PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationUpdateBundleExample.json"


@pytest.fixture
def service(tmp_path: Path) -> DecisionService:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    return DecisionService(open_database(url), load_settings(database_url=url, today="2026-03-02"))


def _response(answer_body: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(answer_body)["entry"][0]["resource"]
    return data


def test_mapping_approved_pended_referred() -> None:
    base = {
        "summary": "s",
        "as_of": date(2026, 3, 2),
        "engine_version": "t",
        "policy_id": "CP.PHAR.685",
        "policy_version": "2025-12-02",
    }
    approved = Determination(
        outcome=Outcome.APPROVED, window=Window(date(2026, 3, 2), date(2027, 3, 2), "12 months"), **base
    )  # type: ignore[arg-type]
    result = mapping.engine_item_result(1, approved, auth_number="PA1", tracking_number="T")
    assert (result.review_action, result.auth_number, result.window) == (
        "A1",
        "PA1",
        (date(2026, 3, 2), date(2027, 3, 2)),
    )
    pended = Determination(
        outcome=Outcome.PENDED, missing=(MissingItem("I.A.4", "Progressed on platinum;", "a progress note"),), **base
    )  # type: ignore[arg-type]
    result = mapping.engine_item_result(1, pended, auth_number=None, tracking_number="T")
    assert result.review_action == "A4"
    assert any("I.A.4" in n and "Progressed on platinum" in n and "a progress note" in n for n in result.notes)
    assert any("102089-0" in n for n in result.notes)
    referred = Determination(outcome=Outcome.REFERRED, referral=Referral("CP.PMN.53", "I.B.2", "limited stage"), **base)  # type: ignore[arg-type]
    result = mapping.engine_item_result(1, referred, auth_number=None, tracking_number="T")
    assert result.review_action == "A4" and "CP.PMN.53" in result.notes[0]
    for outcome in (Outcome.RECOMMEND_DENIAL, Outcome.CLINICAL_REVIEW, Outcome.NO_POLICY):
        result = mapping.engine_item_result(
            1,
            Determination(outcome=outcome, **base),
            auth_number=None,  # type: ignore[arg-type]
            tracking_number="T",
        )
        assert result.review_action == "A4"  # the engine never denies
        assert all("den" not in n.lower() for n in result.notes)


def test_tarlatamab_examples(service: DecisionService) -> None:
    ex1 = _response(service.submit((EXAMPLES / "EX01_medicaid_approval_structured.json").read_bytes(), org=None).body)
    assert review_action(ex1, 1) == "A1"
    assert ex1["preAuthPeriod"] == {"start": "2026-03-02", "end": "2027-03-02"} and ex1["preAuthRef"]
    ex2 = _response(
        service.submit(
            (EXAMPLES / "EX02_marketplace_questionnaire_prescriber_unanswered.json").read_bytes(), org=None
        ).body
    )
    assert review_action(ex2, 1) == "A4"
    assert any("I.A.2" in n["text"] for n in ex2["processNote"])
    ex3 = _response(
        service.submit((EXAMPLES / "EX03_limited_stage_medicaid_referral.json").read_bytes(), org=None).body
    )
    assert review_action(ex3, 1) == "A4"
    assert any("CP.PMN.53" in n["text"] for n in ex3["processNote"])


def test_earlier_approval_reaches_the_engine(service: DecisionService, tmp_path: Path) -> None:
    body = (EXAMPLES / "EX01_medicaid_approval_structured.json").read_bytes()
    first = service.submit(body, org=None)
    second = service.submit(body, org=None)
    # Judged as continued therapy (II.A): our approval meets II.A.1, a response note is now needed.
    response = _response(second.body)
    assert review_action(response, 1) == "A4"
    assert any("II.A.2" in n["text"] for n in response["processNote"])
    with sqlite3.connect(tmp_path / "d.db") as conn:
        traces = [unpack_text(row[0]) for row in conn.execute("SELECT trace_packed FROM determination ORDER BY id")]
    assert '"kind": "authorization"' not in traces[0] and '"kind":"authorization"' not in traces[0]
    assert '"kind": "authorization"' in traces[1] or '"kind":"authorization"' in traces[1]
    assert first.case_id != second.case_id


def test_update_cancels_and_adds_items_on_the_same_case(service: DecisionService, tmp_path: Path) -> None:
    initial = service.submit(HOMECARE.read_bytes(), org=None)
    update = service.submit(HOMECARE_UPDATE.read_bytes(), org=None)
    assert update.case_id == initial.case_id
    response = _response(update.body)
    assert [review_action(response, s) for s in (1, 2, 3)] == ["A4", "C", "A4"]
    with sqlite3.connect(tmp_path / "d.db") as conn:
        versions = conn.execute(
            "SELECT version, cause FROM response_version WHERE case_id = ? ORDER BY version", (initial.case_id,)
        ).fetchall()
        linked = conn.execute(
            "SELECT count(*) FROM determination WHERE case_id = ? AND previous_id IS NOT NULL", (initial.case_id,)
        ).fetchone()[0]
    assert versions == [(1, "submit"), (2, "update")]
    assert linked == 2  # items 1 and 2 re-decided, linked to their first determinations
    # Cancel all: Claim-level certificationType 3.
    cancel = json.loads(HOMECARE_UPDATE.read_text())
    claim = cancel["entry"][0]["resource"]
    claim["identifier"][0]["value"] = "111099-CANCEL"
    claim.setdefault("extension", []).append(
        {
            "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType",
            "valueCodeableConcept": {"coding": [{"system": "https://codesystem.x12.org/005010/1322", "code": "3"}]},
        }
    )
    cancelled = service.submit(json.dumps(cancel).encode(), org=None)
    assert cancelled.case_id == initial.case_id
    assert [review_action(_response(cancelled.body), s) for s in (1, 2, 3)] == ["C", "C", "C"]
    with pytest.raises(DecisionError):
        service.record_decision(initial.case_id, approve=True, reviewer_npi="1234567893", reason="x")


def test_reviewer_rules(service: DecisionService) -> None:
    answer = service.submit(copy.deepcopy(HOMECARE.read_bytes()), org=None)
    with pytest.raises(DecisionError):
        service.record_decision(answer.request_id, approve=False, reviewer_npi="123", reason="x")
    with pytest.raises(DecisionError):
        service.record_decision(answer.request_id, approve=False, reviewer_npi="1234567893", reason=" ")
    bundle = service.record_decision(
        answer.request_id,
        approve=True,
        reviewer_npi="1234567893",
        reason="Documented.",
        window=(date(2026, 3, 2), date(2026, 6, 30)),
    )
    final = bundle["entry"][0]["resource"]
    assert review_action(final, 1) == "A1" and final["preAuthPeriod"] == {"start": "2026-03-02", "end": "2026-06-30"}
    assert service.claim_response(final["id"], None) == final
    assert service.claim_response(final["id"], "someone-else") is None


def test_a_reviewer_denial_carries_the_x12_reason_code_and_human_review(service: DecisionService) -> None:
    answer = service.submit(copy.deepcopy(HOMECARE.read_bytes()), org=None)
    bundle = service.record_decision(
        answer.request_id,
        approve=False,
        reviewer_npi="1234567893",
        reason="Not medically necessary per the documentation.",
        criterion="I.A.1",
        reason_code="MN",
    )
    final = bundle["entry"][0]["resource"]
    assert review_action(final, 1) == "A3"
    action = next(
        ext
        for adjudication in final["item"][0]["adjudication"]
        for ext in adjudication.get("extension", [])
        if ext["url"].endswith("extension-reviewAction")
    )
    reason = next(sub for sub in action["extension"] if sub["url"] == "reasonCode")
    assert reason["valueCodeableConcept"]["coding"][0] == {
        "system": "https://codesystem.x12.org/external/886",
        "code": "MN",
    }


def test_stored_rows_are_the_answer_and_the_engine_determination(service: DecisionService, tmp_path: Path) -> None:
    # Each JSON column is written by the fast encoder; it must be the text the general one writes.
    body = (EXAMPLES / "EX01_medicaid_approval_structured.json").read_bytes()
    prepared = service.prepare(body, org=None)
    assert not isinstance(prepared, Answer)
    answer = service.commit(prepared)
    with sqlite3.connect(tmp_path / "d.db") as conn:
        stored_bundle, bundle_id = conn.execute("SELECT bundle, bundle_id FROM response_version").fetchone()
        traces = [
            (row[0], None if row[1] is None else unpack_text(row[1]))
            for row in conn.execute("SELECT trace, trace_packed FROM determination ORDER BY item_sequence")
        ]
        payloads = [row[0] for row in conn.execute("SELECT payload FROM note_extraction ORDER BY id")]
    assert stored_bundle == answer.body == dumps(json.loads(answer.body))
    assert bundle_id == json.loads(answer.body)["id"]
    # Traces are kept compressed; the plain column is only for rows written before that.
    assert traces == [(None, dumps(d.to_dict()) if d is not None else None) for d in prepared.determinations]
    assert payloads == [dumps(note.to_dict()) for note in prepared.notes]
    assert payloads  # EX01 carries a clinical note


def test_the_response_echoes_copies_of_the_request_entries() -> None:
    request = validate_request(parse_json(HOMECARE.read_bytes()), operation="submit")
    content = ResponseContent("cr-1", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), (ItemResult(1, "A4", ("n",)),))
    with_index = build_response_bundle(
        request.bundle, request.claim, content, base_url="https://x.test/fhir", index=request.index
    )
    fresh = build_response_bundle(request.bundle, request.claim, content, base_url="https://x.test/fhir")
    with_index.pop("id"), fresh.pop("id")
    assert with_index == fresh
    echoed = [entry["resource"] for entry in with_index["entry"][1:]]
    assert [r["resourceType"] for r in echoed] == ["Patient", "Organization", "Organization"]
    originals = [request.index.resolve(f"{r['resourceType']}/{r['id']}") for r in echoed]
    assert echoed == originals
    assert all(copy is not original for copy, original in zip(echoed, originals, strict=True))
    response = with_index["entry"][0]["resource"]
    assert response["identifier"][1:] == request.claim["identifier"]
    assert response["identifier"][1] is not request.claim["identifier"][0]
    assert response["patient"] == request.claim["patient"] and response["patient"] is not request.claim["patient"]
