"""Walk a criterion tree: every child is evaluated (no short-circuit), leaves dispatch on ``kind``."""

from __future__ import annotations

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
    if isinstance(node, DiagnosisCriterion):
        return clinical.diagnosis(node, ctx)
    if isinstance(node, OncologistCriterion):
        return clinical.oncologist(node, ctx)
    if isinstance(node, AgeCriterion):
        return clinical.age(node, ctx)
    if isinstance(node, ProgressionAfterTherapyCriterion):
        return clinical.progression_after_platinum(ctx)
    if isinstance(node, DoseScheduleCriterion):
        return dose.dose_schedule(node, ctx)
    if isinstance(node, LiteratureSupportCriterion):
        return dose.literature_support(ctx)
    if isinstance(node, CurrentTherapyCriterion):
        return continuation.current_therapy(node, ctx)
    if isinstance(node, ResponseCriterion):
        return continuation.response(ctx)
    if isinstance(node, DoseIncreaseCriterion):
        return dose.dose_increase(ctx)
    raise TypeError(f"no check for criterion kind {type(node).__name__}")  # pragma: no cover


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
        counts = {t: statuses.count(t) for t in Truth}
        reason = (
            f"{counts[Truth.MET]} met, {counts[Truth.NOT_MET]} not met, {counts[Truth.UNKNOWN]} unknown "
            f"({node.logic.replace('_', ' ')})"
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
