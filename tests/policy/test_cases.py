"""The policy cases of CP.PHAR.685: one test per case (id = the case's name), and every criterion covered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from priorauth.cases.model import LoadedCase, load_cases
from priorauth.cases.runner import run_case
from priorauth.policy.registry import load_registry

POLICY = Path(__file__).resolve().parents[2] / "policies" / "CP.PHAR.685"
CASES = load_cases(POLICY / "cases")


@pytest.fixture(scope="module")
def registry():  # type: ignore[no-untyped-def]
    return load_registry()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_policy_case(case: LoadedCase, registry) -> None:  # type: ignore[no-untyped-def]
    result = run_case(case, registry)
    assert result.passed, result.explain()


def _ids(node: dict) -> list[str]:  # type: ignore[type-arg]
    ids = [node["id"]]
    for child in node.get("children", []):
        ids.extend(_ids(child))
    return ids


def policy_criterion_ids() -> list[str]:
    """Every criterion id of the initial and continued trees, plus the referral rows and the units rule."""
    criteria = yaml.safe_load((POLICY / "criteria.yaml").read_text(encoding="utf-8"))
    return [*_ids(criteria["initial"]), *_ids(criteria["continued"]), "I.B.1.a", "I.B.1.b", "I.B.2", "V"]


def test_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


def test_every_criterion_has_a_case() -> None:
    mentioned = {cid for case in CASES for cid in case.case.output.criteria}
    uncovered = [cid for cid in policy_criterion_ids() if cid not in mentioned]
    assert not uncovered, f"criteria with no case whose expected criteria mention them: {uncovered}"


def test_every_criterion_is_seen_met_and_not_met_or_unknown() -> None:
    seen: dict[str, set[str]] = {}
    for case in CASES:
        for cid, status in case.case.output.criteria.items():
            seen.setdefault(cid, set()).add(status)
    leaves = ["I.A.1", "I.A.2", "I.A.3", "I.A.4", "I.A.5", "II.A.1", "II.A.2", "II.A.3", "V"]
    for cid in leaves:
        assert "met" in seen.get(cid, set()), f"{cid} is never expected met"
        assert seen[cid] - {"met"}, f"{cid} is never expected not met or unknown"


def test_every_referral_row_and_line_of_business_has_a_case() -> None:
    rows = {
        ("I.B.1.a", "commercial"): "CP.CPA.190",
        ("I.B.1.a", "marketplace"): "HIM.PA.33",
        ("I.B.1.a", "medicaid"): "CP.PMN.255",
        ("I.B.1.b", "commercial"): "CP.CPA.190",
        ("I.B.1.b", "marketplace"): "HIM.PA.103",
        ("I.B.1.b", "medicaid"): "CP.PMN.16",
        ("I.B.2", "commercial"): "CP.CPA.09",
        ("I.B.2", "marketplace"): "HIM.PA.154",
        ("I.B.2", "medicaid"): "CP.PMN.53",
    }
    found = {
        (row, c.case.input.line_of_business): c.case.output.referred_to
        for c in CASES
        for row in ("I.B.1.a", "I.B.1.b", "I.B.2")
        if c.case.output.criteria.get(row) == "met"
    }
    for key, policy in rows.items():
        assert found.get(key) == policy, f"no case refers {key[1]} under {key[0]} to {policy}"


def test_bundles_are_valid_fhir_and_reproducible() -> None:
    from fhir.resources.R4B.bundle import Bundle

    from priorauth.cases.builder import build_bundle

    for case in CASES:
        bundle = build_bundle(case.case)
        assert bundle["entry"][0]["resource"]["resourceType"] == "Claim", case.name
        Bundle.model_validate(bundle)
        assert build_bundle(case.case) == bundle, case.name
