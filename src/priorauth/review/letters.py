"""Letters (PDF, WeasyPrint) generated from the stored trace and the reviewer's recorded action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment

from priorauth.policy.registry import PolicyRegistry
from priorauth.review.casefile import CaseView
from priorauth.review.models import ReviewAction, Reviewer, ReviewLetter
from priorauth.review.settings import ReviewSettings
from priorauth.store.db import Database

KINDS = {"approve": "approval", "approve_partial": "partial", "deny": "denial", "request_info": "information"}
TITLES = {
    "approval": "Prior authorization approved",
    "partial": "Prior authorization approved in part",
    "denial": "Prior authorization denied",
    "information": "More information needed for your prior authorization request",
}
MONITORING = (
    "Imdelltra (tarlatamab-dlle) carries a boxed warning for cytokine release syndrome (CRS) and neurologic "
    "toxicity including immune effector cell-associated neurotoxicity syndrome (ICANS), including "
    "life-threatening or fatal reactions. Start with the step-up dosing schedule. After the Cycle 1 Day 1 and "
    "Cycle 1 Day 8 infusions, monitor the patient for 22 to 24 hours from the start of the infusion in an "
    "appropriate healthcare setting; the patient should then stay within 1 hour of that setting for 48 hours "
    "from the start of the infusion, with a caregiver. Monitor for signs and symptoms of CRS and neurologic "
    "toxicity including ICANS throughout treatment, and withhold or permanently discontinue based on severity "
    "as the label describes."
)


@dataclass(frozen=True)
class LetterFacts:
    """Everything a letter says, gathered before rendering."""

    kind: str
    title: str
    case: CaseView
    action: ReviewAction
    reviewer: Reviewer
    settings: ReviewSettings
    boxed_warning: str | None
    monitoring: str
    issued: datetime


def boxed_warning(registry: PolicyRegistry | None, policy_id: str | None, version: str | None) -> str | None:
    """The boxed warning of the policy version applied, from the policy data."""
    if registry is None or policy_id is None or policy_id not in registry.policies:
        return None
    for candidate in registry.versions(policy_id):
        if version is None or candidate.version == version:
            return candidate.drug.boxed_warning
    return None


def render_letter(env: Environment, facts: LetterFacts) -> bytes:
    """The letter as PDF bytes."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    html = env.get_template("letter.html").render(f=facts)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def store_letter(db: Database, facts: LetterFacts, pdf: bytes) -> int:
    """Keep the letter with the case; returns its id."""
    filename = f"{facts.kind}-{facts.case.tracking}-{facts.action.id}.pdf"
    with db.write() as session:
        row = ReviewLetter(
            case_id=facts.case.case_id,
            action_id=facts.action.id,
            kind=facts.kind,
            filename=filename,
            pdf=pdf,
            created_at=facts.issued,
        )
        session.add(row)
        session.flush()
        return int(row.id)
