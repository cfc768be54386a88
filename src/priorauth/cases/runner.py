"""Run policy cases: build each case's PAS Bundle, read it as a request, decide, compare with the case.

The request goes through the same path as ``$submit``: :func:`priorauth.fhir.extract.extract_request`
reads the Bundle, ``facts_for`` gives the engine's facts for the item (with the case's earlier
authorizations standing in for our stored approvals), and :func:`priorauth.engine.decide.decide`
decides on the case's request date under the case's plan configuration.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from priorauth.cases.builder import build_bundle
from priorauth.cases.model import LoadedCase, load_cases
from priorauth.engine.determination import Determination
from priorauth.engine.evidence import AuthorizationEvidence, describe
from priorauth.engine.facts import Facts, PlanConfig, PriorAuthorization
from priorauth.engine.trace import TraceNode
from priorauth.policy.model import LINES_OF_BUSINESS
from priorauth.policy.registry import PolicyRegistry, load_registry


def default_cases_path(policy_root: Path | None = None) -> Path:
    """The policies folder; every ``<policy>/cases/*.yaml`` under it is a case file."""
    from priorauth.policy.registry import default_policy_root

    return policy_root or default_policy_root()


@dataclass(frozen=True, slots=True)
class CriterionMismatch:
    """A criterion whose status differs from the case's expectation, with its trace node (if evaluated)."""

    criterion_id: str
    expected: str
    actual: str | None
    node: TraceNode | None

    def describe(self) -> str:
        """One line, then the node's reason and evidence."""
        actual = self.actual or "not evaluated"
        lines = [f"{self.criterion_id}: expected {self.expected}, got {actual}"]
        if self.node is not None:
            lines.append(f"    reason: {self.node.reason}")
            lines.extend(f"    evidence: {describe(e)}" for e in self.node.evidence)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case: passed, or the differences (outcome fields and criteria) and the trace."""

    case: LoadedCase
    differences: tuple[str, ...] = ()
    criteria: tuple[CriterionMismatch, ...] = ()
    determination: Determination | None = None
    error: str | None = None
    bundle: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def passed(self) -> bool:
        return self.error is None and not self.differences and not self.criteria

    def explain(self) -> str:
        """A readable report of a failure (empty for a pass): what differs, each failing criterion's trace."""
        if self.passed:
            return ""
        lines = [f"FAIL {self.case.location}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        lines.extend(f"  {d}" for d in self.differences)
        lines.extend("  " + m.describe().replace("\n", "\n  ") for m in self.criteria)
        if self.determination is not None:
            lines.append(f"  engine summary: {self.determination.summary}")
            if self.determination.trace is not None:
                lines.append("  trace:")
                lines.extend("    " + line for line in format_trace(self.determination.trace))
        return "\n".join(lines)


def format_trace(node: TraceNode, depth: int = 0) -> list[str]:
    """The trace as indented lines: id, status, reason."""
    lines = [f"{'  ' * depth}{node.criterion_id} [{node.status.value}] {node.reason}"]
    for child in node.children:
        lines.extend(format_trace(child, depth + 1))
    return lines


def _extract(bundle: dict[str, Any]) -> Any:
    module = importlib.import_module("priorauth.fhir.extract")
    return module.extract_request(bundle)


def prior_authorizations(case: LoadedCase) -> tuple[PriorAuthorization, ...]:
    """The case's earlier approvals, as our store would hand them to the engine."""
    return tuple(
        PriorAuthorization(
            number=p.number,
            start=p.start,
            end=p.end,
            evidence=AuthorizationEvidence(p.number, p.start.isoformat(), p.end.isoformat()),
        )
        for p in case.case.input.prior_authorizations
    )


def plan_config(case: LoadedCase) -> PlanConfig:
    """Plan configuration from the case: formulary/PDL status (on unless it says not), state overrides."""
    inp = case.case.input
    return PlanConfig(
        on_formulary=LINES_OF_BUSINESS if inp.on_formulary else (),
        medicaid_state_overrides=tuple(sorted(inp.medicaid_state_overrides.items())),
    )


def facts_of(case: LoadedCase, bundle: dict[str, Any]) -> Facts:
    """Read the built bundle and return the facts for its (single) requested item."""
    request = _extract(bundle)
    items = list(request.items)
    if not items:
        raise ValueError("the reader found no item in the built bundle")
    facts: Facts = request.facts_for(items[0], prior_authorizations=prior_authorizations(case))
    return facts


def compare(case: LoadedCase, determination: Determination) -> tuple[tuple[str, ...], tuple[CriterionMismatch, ...]]:
    """Differences between the case's expected output and a determination."""
    want = case.case.output
    diffs: list[str] = []
    if determination.outcome.value != want.determination:
        diffs.append(f"determination: expected {want.determination}, got {determination.outcome.value}")
    if want.path is not None and determination.path != want.path:
        diffs.append(f"path: expected {want.path}, got {determination.path}")
    window = determination.window
    if want.window_start is not None and (window is None or window.start != want.window_start):
        diffs.append(f"window_start: expected {want.window_start}, got {window.start if window else None}")
    if want.window_end is not None and (window is None or window.end != want.window_end):
        got = f"{window.end} ({window.basis})" if window else None
        diffs.append(f"window_end: expected {want.window_end}, got {got}")
    if want.approvable_units is not None and determination.approvable_units != want.approvable_units:
        diffs.append(f"approvable_units: expected {want.approvable_units}, got {determination.approvable_units}")
    if want.referred_to is not None:
        got_ref = determination.referral.policy_id if determination.referral else None
        if got_ref != want.referred_to:
            diffs.append(f"referred_to: expected {want.referred_to}, got {got_ref}")
    if want.missing is not None:
        got_missing = sorted({m.criterion_id for m in determination.missing})
        if got_missing != sorted(set(want.missing)):
            diffs.append(f"missing: expected {sorted(set(want.missing))}, got {got_missing}")
    statuses = determination.statuses()
    mismatches: list[CriterionMismatch] = []
    for criterion_id, expected in want.criteria.items():
        actual = statuses.get(criterion_id)
        if actual != expected:
            node = determination.trace.find(criterion_id) if determination.trace else None
            mismatches.append(CriterionMismatch(criterion_id, expected, actual, node))
    return tuple(diffs), tuple(mismatches)


def run_case(case: LoadedCase, registry: PolicyRegistry | None = None) -> CaseResult:
    """Build, read, decide and compare one case. Never raises for a failing case: the error is in the result."""
    from priorauth.engine.decide import decide

    registry = registry or load_registry()
    try:
        bundle = build_bundle(case.case)
        facts = facts_of(case, bundle)
        determination = decide(registry, facts, case.case.request_date, plan_config(case))
    except Exception as exc:  # a broken build or reader is reported per case, not as a crash
        return CaseResult(case=case, error=f"{type(exc).__name__}: {exc}")
    differences, mismatches = compare(case, determination)
    return CaseResult(
        case=case, differences=differences, criteria=mismatches, determination=determination, bundle=bundle
    )


def run_cases(path: Path | None = None, registry: PolicyRegistry | None = None) -> list[CaseResult]:
    """Run every case under ``path`` (a case file or a folder; default: every policy's ``cases/``)."""
    root = path or default_cases_path()
    cases = load_cases(root)
    registry = registry or load_registry()
    return [run_case(case, registry) for case in cases]


def summarize(results: list[CaseResult]) -> str:
    """A final line: how many cases passed, failed."""
    failed = sum(1 for r in results if not r.passed)
    return f"{len(results) - failed} passed, {failed} failed, {len(results)} cases"
