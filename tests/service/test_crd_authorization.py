"""An order that meets every criterion at CRD time is authorized there and stored like a PAS approval."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
from service_helpers import Server

from crd.crd_helpers import COVERAGE_INFO, example_hook


def _coverage_information(response: dict) -> dict[str, str]:  # type: ignore[type-arg]
    (action,) = response["systemActions"]
    extension = next(e for e in action["resource"]["extension"] if e["url"] == COVERAGE_INFO)
    values: dict[str, str] = {}
    for sub in extension["extension"]:
        value = next(v for k, v in sub.items() if k.startswith("value"))
        values[sub["url"]] = value if isinstance(value, str) else str(value)
    return values


def test_satisfied_order_is_stored_with_the_same_authorization_number(server: Server, tmp_path: Path) -> None:
    body, _ = example_hook("EX01_medicaid_approval_structured.json", "order-sign")
    response = httpx.post(f"{server.url}/cds-services/order-sign", json=body, timeout=30)
    assert response.status_code == 200, response.text
    info = _coverage_information(response.json())
    assert info["pa-needed"] == "satisfied"
    number = info["satisfied-pa-id"]
    assertion = info["coverage-assertion-id"]
    with sqlite3.connect(tmp_path / "priorauth.db") as conn:
        rows = conn.execute(
            "SELECT d.review_action, d.window_end, c.claim_value FROM determination d "
            "JOIN pa_case c ON c.id = d.case_id WHERE d.auth_number = ?",
            (number,),
        ).fetchall()
    assert rows == [("A1", "2027-03-02", assertion)]


def test_an_order_that_needs_documentation_opens_no_request(server: Server, tmp_path: Path) -> None:
    body, _ = example_hook("EX02_marketplace_questionnaire_prescriber_unanswered.json", "order-sign")
    response = httpx.post(f"{server.url}/cds-services/order-sign", json=body, timeout=30)
    info = _coverage_information(response.json())
    assert info["pa-needed"] == "auth-needed"
    with sqlite3.connect(tmp_path / "priorauth.db") as conn:
        assert conn.execute("SELECT count(*) FROM pa_case").fetchone() == (0,)


def test_a_second_order_is_decided_once_with_our_earlier_approval(server: Server, tmp_path: Path) -> None:
    """The PAS service decides the order with the member's earlier approval (continued therapy): the
    first order-sign is approved and stored; the same order signed again is judged as continued therapy,
    whose response documentation the order does not carry, so it opens no second request."""
    body, _ = example_hook("EX01_medicaid_approval_structured.json", "order-sign")
    first = _coverage_information(httpx.post(f"{server.url}/cds-services/order-sign", json=body, timeout=30).json())
    assert first["pa-needed"] == "satisfied"
    second = _coverage_information(httpx.post(f"{server.url}/cds-services/order-sign", json=body, timeout=30).json())
    assert second["pa-needed"] == "auth-needed"
    assert "II.A.2" in second["reason"]  # continued therapy: the response documentation is missing
    with sqlite3.connect(tmp_path / "priorauth.db") as conn:
        assert conn.execute("SELECT count(*) FROM pa_case").fetchone() == (1,)
