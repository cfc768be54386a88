"""An A6 (approved for less than asked) item is always answered with its addItem, however it is rebuilt."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from service_helpers import FIXTURES

from priorauth.pas.response import ItemResult, ResponseContent, build_claim_response

CLAIM = json.loads((FIXTURES / "examples" / "EX01_medicaid_approval_structured.json").read_text())["entry"][0][
    "resource"
]


def test_an_a6_item_is_answered_with_an_authorized_add_item() -> None:
    item = ItemResult(
        1,
        "A6",
        ("Item 1: modified after clinical review: authorized 120 of the 241 units requested.",),
        auth_number="PA260302-ABCD1234",
        window=(date(2026, 3, 2), date(2026, 9, 2)),
        authorized_units=120,
    )
    content = ResponseContent("case-1", datetime(2026, 3, 3, tzinfo=UTC), (item,), human_reviewed=True)
    response = build_claim_response(CLAIM, content)
    (requested,) = response["item"]
    action = requested["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert action["code"] == "A6"
    (added,) = response["addItem"]
    assert added["itemSequence"] == [1]
    assert added["quantity"]["value"] == 120
    assert added["productOrService"]["coding"][0]["code"] == "J9026"
    added_action = added["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert added_action["code"] == "A1"
    assert response["preAuthRef"] == "PA260302-ABCD1234"
    assert response["preAuthPeriod"] == {"start": "2026-03-02", "end": "2026-09-02"}
    assert response["outcome"] == "complete"


def test_a_pended_item_answers_complete_as_the_pas_examples_do() -> None:
    content = ResponseContent("case-2", datetime(2026, 3, 3, tzinfo=UTC), (ItemResult(1, "A4", ("Pended.",)),))
    response = build_claim_response(CLAIM, content)
    assert response["outcome"] == "complete" and "preAuthRef" not in response
