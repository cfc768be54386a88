"""Walk a criterion tree: every child is evaluated (no short-circuit), leaves dispatch on ``kind``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from priorauth.engine.context import EvalContext
from priorauth.engine.criteria import clinical, continuation, dose
from priorauth.engine.reconcile import Finding, with_answer
from priorauth.engine.trace import TraceNode
from priorauth.engine.truth import Truth, all_of, any_of, implies
from priorauth.policy.model import (
    AgeCriterion,
    CurrentTherapyCriterion,
    DiagnosisCriterion,
    DoseIncreaseCriterion,
    DoseScheduleCriterion,
    Group,
    LiteratureSupportCriterion,
    Node,
    OncologistCriterion,
    ProgressionAfterTherapyCriterion,
    ResponseCriterion,
)


def _leaf(node: Node, ctx: EvalContext) -> Finding:
    check = _CHECKS.get(type(node))
    if check is None:  # pragma: no cover - every leaf kind of policy/model.py is listed below
        raise TypeError(f"no check for criterion kind {type(node).__name__}")
    return check(node, ctx)


# Leaf kind -> check.
_CHECKS: dict[type[Any], Callable[[Any, EvalContext], Finding]] = {
    DiagnosisCriterion: clinical.diagnosis,
    OncologistCriterion: clinical.oncologist,
    AgeCriterion: clinical.age,
    ProgressionAfterTherapyCriterion: lambda node, ctx: clinical.progression_after_platinum(ctx),
    DoseScheduleCriterion: dose.dose_schedule,
    LiteratureSupportCriterion: lambda node, ctx: dose.literature_support(ctx),
    CurrentTherapyCriterion: continuation.current_therapy,
    ResponseCriterion: lambda node, ctx: continuation.response(ctx),
    DoseIncreaseCriterion: lambda node, ctx: dose.dose_increase(ctx),
}


def evaluate_node(node: Node, ctx: EvalContext) -> TraceNode:
    """Evaluate one criterion (and its subtree) into a trace node."""
    if isinstance(node, Group):
        children = tuple(evaluate_node(child, ctx) for child in node.children)
        statuses = [c.status for c in children]
        if node.logic == "all_of":
            status = all_of(statuses)
        elif node.logic == "any_of":
            status = any_of(statuses)
        else:
            status = implies(statuses[0], statuses[1])
        reason = (
            f"{statuses.count(Truth.MET)} met, {statuses.count(Truth.NOT_MET)} not met, "
            f"{statuses.count(Truth.UNKNOWN)} unknown ({node.logic.replace('_', ' ')})"
        )
        return TraceNode(
            criterion_id=node.id,
            status=status,
            text=node.text,
            reason=reason,
            logic=node.logic,
            children=children,
            needed=node.needed,
            documentation=node.documentation,
        )
    finding = _leaf(node, ctx)
    if node.question is not None:
        finding = with_answer(finding, ctx.facts.answer(node.question))
    review = isinstance(node, LiteratureSupportCriterion) and bool(ctx.facts.dose_support)
    return TraceNode(
        criterion_id=node.id,
        status=finding.status,
        text=node.text,
        reason=finding.reason,
        logic=node.kind,
        evidence=finding.evidence,
        needed=node.needed,
        documentation=node.documentation,
        clinical_review=review,
    )
