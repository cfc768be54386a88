"""The reader and engine against the shared examples and every Da Vinci PAS request fixture."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from priorauth.engine.decide import decide
from priorauth.engine.determination import Outcome
from priorauth.engine.evidence import AnswerEvidence, ResourceEvidence
from priorauth.errors import BundleError
from priorauth.fhir.extract import extract_request
from priorauth.policy.registry import load_registry

SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
EXAMPLES = SHARED / "examples"
PAS_REQUESTS = SHARED / "davinci" / "pas" / "requests"
DAY = date(2026, 3, 2)


def _decide(name: str) -> list:  # type: ignore[type-arg]
    request = extract_request(json.loads((EXAMPLES / name).read_text()))
    return [decide(load_registry(), request.facts_for(item), DAY) for item in request.items]


def test_structured_medicaid_request_is_approved_for_twelve_months() -> None:
    (det,) = _decide("EX01_medicaid_approval_structured.json")
    assert det.outcome is Outcome.APPROVED
    assert det.window is not None and (det.window.start, det.window.end) == (DAY, date(2027, 3, 2))
    assert det.policy_version == "2025-12-02" and det.policy_hash and det.policy_hash.startswith("sha256:")
    statuses = det.statuses()
    for cid in ("I.A.1", "I.A.2", "I.A.3", "I.A.4", "I.A.5", "V"):
        assert statuses[cid] == "met", cid
    diagnosis = det.trace.find("I.A.1")
    assert diagnosis is not None and all(isinstance(e, ResourceEvidence) for e in diagnosis.evidence)


def test_questionnaire_only_request_pends_naming_the_unanswered_prescriber_item() -> None:
    (det,) = _decide("EX02_marketplace_questionnaire_prescriber_unanswered.json")
    assert det.outcome is Outcome.PENDED
    assert [m.criterion_id for m in det.missing] == ["I.A.2"]
    node = det.trace.find("I.A.1")
    assert node is not None and node.status.value == "met"
    answer = node.evidence[0]
    assert isinstance(answer, AnswerEvidence) and answer.origin == "manual" and answer.link_id == "I.A.1"


def test_limited_stage_medicaid_request_is_referred_to_the_medicaid_off_label_policy() -> None:
    (det,) = _decide("EX03_limited_stage_medicaid_referral.json")
    assert det.outcome is Outcome.REFERRED
    assert det.referral is not None and det.referral.policy_id == "CP.PMN.53"
    assert det.referral.criterion_id == "I.B.2"
    assert det.statuses()["I.A.1"] == "not_met"


def test_the_trace_is_json_serialisable_and_replays_identically() -> None:
    first = [d.to_dict() for d in _decide("EX01_medicaid_approval_structured.json")]
    second = [d.to_dict() for d in _decide("EX01_medicaid_approval_structured.json")]
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


@pytest.mark.parametrize("path", sorted(PAS_REQUESTS.glob("*.json")), ids=lambda p: p.name)
def test_every_pas_fixture_is_read_or_refused_with_an_element(path: Path) -> None:
    data = json.loads(path.read_text())
    if data.get("resourceType") != "Bundle":
        with pytest.raises(BundleError) as info:
            extract_request(data)
        assert info.value.expression == "Bundle.resourceType"
        return
    request = extract_request(data)
    for item in request.items:
        det = decide(load_registry(), request.facts_for(item), DAY)
        assert det.outcome is Outcome.NO_POLICY, "no shared PAS fixture is a tarlatamab request"
        assert "no policy of ours covers this item" in det.findings


@pytest.mark.parametrize(
    ("mutate", "expression"),
    [
        (lambda b: b.__setitem__("resourceType", "Claim"), "Bundle.resourceType"),
        (lambda b: b.__setitem__("type", "transaction"), "Bundle.type"),
        (lambda b: b.__setitem__("entry", []), "Bundle.entry"),
        (lambda b: b["entry"].reverse(), "Bundle.entry[0].resource"),
        (lambda b: b["entry"][0]["resource"].__setitem__("status", 12), "Bundle.entry[0].resource.status"),
        (lambda b: b["entry"][3].pop("resource"), "Bundle.entry[3].resource"),
    ],
)
def test_bad_bundles_name_the_failing_element(mutate, expression: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((EXAMPLES / "EX01_medicaid_approval_structured.json").read_text())
    mutate(data)
    with pytest.raises(BundleError) as info:
        extract_request(data)
    assert info.value.expression == expression


def test_a_request_whose_coverage_has_no_line_of_business_pends_naming_it() -> None:
    data = json.loads((EXAMPLES / "EX01_medicaid_approval_structured.json").read_text())
    for entry in data["entry"]:
        if entry["resource"]["resourceType"] == "Coverage":
            entry["resource"].pop("type")
            entry["resource"].pop("class", None)
    request = extract_request(data)
    det = decide(load_registry(), request.facts_for(request.items[0]), DAY)
    assert det.outcome is Outcome.PENDED
    assert "LOB" in [m.criterion_id for m in det.missing]


def test_a_claim_without_insurance_is_not_valid_fhir() -> None:
    data = json.loads((EXAMPLES / "EX01_medicaid_approval_structured.json").read_text())
    data["entry"][0]["resource"]["insurance"] = []
    with pytest.raises(BundleError) as info:
        extract_request(data)
    assert info.value.expression.startswith("Bundle.entry[0].resource.insurance")
