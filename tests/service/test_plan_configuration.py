"""Plan configuration from settings: the eligibility plug-in, formulary status and state Medicaid overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from service_helpers import FIXTURES, review_action

from priorauth.service.decisions import DecisionService
from priorauth.service.eligibility import EligibilityConfigError, load_eligibility
from priorauth.service.settings import load_settings
from priorauth.store.db import open_database, upgrade

EX01 = FIXTURES / "examples" / "EX01_medicaid_approval_structured.json"


def _service(tmp_path: Path, **settings: Any) -> DecisionService:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    upgrade(url)
    return DecisionService(open_database(url), load_settings(database_url=url, today="2026-03-02", **settings))


def _with_coverage(**changes: Any) -> bytes:
    data = json.loads(EX01.read_text())
    for entry in data["entry"]:
        if entry["resource"]["resourceType"] == "Coverage":
            entry["resource"].update(changes)
    return json.dumps(data).encode()


def _answer(service: DecisionService, body: bytes) -> dict[str, Any]:
    response: dict[str, Any] = json.loads(service.submit(body, org=None).body)["entry"][0]["resource"]
    return response


def test_eligibility_is_off_by_default_and_an_ended_coverage_is_then_not_checked(tmp_path: Path) -> None:
    service = _service(tmp_path)
    ended = _with_coverage(period={"start": "2025-01-01", "end": "2025-12-31"})
    assert review_action(_answer(service, ended), 1) == "A1"


def test_with_the_coverage_check_an_ended_coverage_pends_with_the_reason(tmp_path: Path) -> None:
    service = _service(tmp_path, eligibility="priorauth.service.eligibility:coverage_active")
    response = _answer(service, _with_coverage(period={"start": "2025-01-01", "end": "2025-12-31"}))
    assert review_action(response, 1) == "A4"
    notes = " ".join(n["text"] for n in response["processNote"])
    assert "eligibility could not be confirmed" in notes and "coverage ended 2025-12-31" in notes
    assert review_action(_answer(service, _with_coverage()), 1) == "A1"


def test_a_misconfigured_plug_in_is_refused_with_its_name() -> None:
    with pytest.raises(EligibilityConfigError, match="no_such_module"):
        load_eligibility("no_such_module:check")
    with pytest.raises(EligibilityConfigError, match="expected 'package.module:function'"):
        load_eligibility("just-a-name")


def test_a_state_medicaid_override_from_settings_refers_the_request(tmp_path: Path) -> None:
    data = json.loads(EX01.read_text())
    state = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")["address"][0][
        "state"
    ]
    service = _service(tmp_path, medicaid_state_overrides={state: f"{state}-MEDICAID-PROVISIONS"})
    response = _answer(service, EX01.read_bytes())
    assert review_action(response, 1) == "A4"
    notes = " ".join(n["text"] for n in response["processNote"])
    assert f"{state}-MEDICAID-PROVISIONS" in notes
