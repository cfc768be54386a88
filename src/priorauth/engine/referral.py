"""Section I.B: where a request for a use other than I.A is referred, by label change, formulary and LOB."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from dateutil.relativedelta import relativedelta

from priorauth.engine.determination import Referral
from priorauth.engine.facts import PlanConfig
from priorauth.engine.trace import TraceNode
from priorauth.engine.truth import Truth
from priorauth.policy.model import LineOfBusiness, PolicyVersion


def unreflected_label_changes(version: PolicyVersion, as_of: date, uses: Collection[str] | None = None) -> list[date]:
    """Label changes within the I.B.1 window before ``as_of`` that this version does not reflect.

    With ``uses``, only changes that touched one of those kinds of use (the ways the request differs).
    """
    window = version.criteria.other_diagnoses.label_change.window_months
    since = as_of - relativedelta(months=window)
    return [
        c.date
        for c in version.label_changes
        if since <= c.date <= as_of
        and c.date not in version.reflects_label_changes
        and (uses is None or bool(set(c.uses) & set(uses)))
    ]


def refer(
    version: PolicyVersion,
    as_of: date,
    lob: LineOfBusiness,
    plan: PlanConfig,
    why: str,
    uses: Collection[str] | None = None,
) -> tuple[Referral, TraceNode]:
    """The I.B row that applies and the policy it names, with a trace node citing its words."""
    section = version.criteria.other_diagnoses
    changes = unreflected_label_changes(version, as_of, uses)
    if changes:
        on_formulary = lob in plan.on_formulary
        row = section.label_change.on_formulary if on_formulary else section.label_change.off_formulary
        status = "on" if on_formulary else "not on"
        reason = (
            f"{why}; the label changed on {', '.join(str(c) for c in changes)}, within "
            f"{section.label_change.window_months} months and not yet reflected in version {version.version}; "
            f"the drug is {status} the formulary/PDL for this line of business"
        )
        node_children = (
            TraceNode(
                criterion_id=section.label_change.id, status=Truth.MET, text=section.label_change.text, reason=reason
            ),
            TraceNode(
                criterion_id=row.id, status=Truth.MET, text=row.text, reason=f"refer to {row.policies.for_lob(lob)}"
            ),
        )
        chosen_id = row.id
        policy_id = row.policies.for_lob(lob)
    else:
        row2 = section.off_label
        reason = (
            f"{why}; no unreflected label change in the last {section.label_change.window_months} months, "
            f"so the off-label use policy applies"
        )
        node_children = (
            TraceNode(
                criterion_id=section.label_change.id,
                status=Truth.NOT_MET,
                text=section.label_change.text,
                reason="no label change within the window, touching this use, that this version does not reflect",
            ),
            TraceNode(
                criterion_id=row2.id, status=Truth.MET, text=row2.text, reason=f"refer to {row2.policies.for_lob(lob)}"
            ),
        )
        chosen_id = row2.id
        policy_id = row2.policies.for_lob(lob)
    node = TraceNode(
        criterion_id=section.id,
        status=Truth.MET,
        text=section.text,
        reason=reason,
        logic="any_of",
        children=node_children,
        documentation=section.documentation,
    )
    return Referral(policy_id=policy_id, criterion_id=chosen_id, reason=reason), node
