"""Letters (PDF, WeasyPrint) generated from the stored trace and the reviewer's recorded action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.policy.registry import PolicyRegistry
from priorauth.review.casefile import CaseView, case_view
from priorauth.review.models import ReviewAction, Reviewer, ReviewLetter
from priorauth.review.settings import ReviewSettings
from priorauth.store.db import Database
from priorauth.store.models import ResponseVersion
from priorauth.store.repository import Repository

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


@dataclass(frozen=True)
class Issued:
    """The letter of one review action: its id, its kind, and whether this call made it."""

    letter_id: int
    kind: str
    created: bool


def _existing(session: Session, action_id: int) -> Issued | None:
    row = session.scalars(
        select(ReviewLetter).where(ReviewLetter.action_id == action_id).order_by(ReviewLetter.id)
    ).first()
    return Issued(int(row.id), row.kind, False) if row is not None else None


def ensure_letter(
    db: Database,
    env: Environment,
    settings: ReviewSettings,
    registry: Callable[[], PolicyRegistry | None],
    action_id: int,
    *,
    issued: datetime,
) -> Issued | None:
    """The letter of a review action: the stored one, else a new one made from the stored decision.

    Called right after an action and again by :func:`complete_letters` for an action whose letter was
    never stored, so it must be idempotent: one letter per action. The PDF is rendered outside any
    transaction (it takes a while); the insert re-checks under the case row lock, and a concurrent
    caller that lost the race keeps the letter already stored. The case is shown as it stood at the
    action's response version. None when the action, its case or its reviewer is gone.
    """
    with db.read() as session:
        found = _existing(session, action_id)
        action = session.get(ReviewAction, action_id)
        if found is not None or action is None:
            return found
        reviewer = session.get(Reviewer, action.reviewer_id)
        decided = session.scalars(
            select(ResponseVersion.created_at).where(
                ResponseVersion.case_id == action.case_id, ResponseVersion.version == action.response_version
            )
        ).first()
        view = case_view(Repository(session), settings, action.case_id, as_of=decided)
    if view is None or reviewer is None:
        return None
    item = next((i for i in view.items if i.policy_id), None)
    kind = KINDS[action.action]
    facts = LetterFacts(
        kind=kind,
        title=TITLES[kind],
        case=view,
        action=action,
        reviewer=reviewer,
        settings=settings,
        boxed_warning=boxed_warning(
            registry(), item.policy_id if item else None, item.policy_version if item else None
        ),
        monitoring=MONITORING,
        issued=issued,
    )
    pdf = render_letter(env, facts)
    with db.write() as session:
        Repository(session).case(action.case_id, for_update=True)
        found = _existing(session, action_id)
        if found is not None:
            return found
        return Issued(store_letter(session, facts, pdf), kind, True)


def store_letter(session: Session, facts: LetterFacts, pdf: bytes) -> int:
    """Inside the caller's transaction: keep the letter with the case; returns its id."""
    filename = f"{facts.kind}-{facts.case.tracking}-{facts.action.id}.pdf"
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


def complete_letters(
    db: Database,
    env: Environment,
    settings: ReviewSettings,
    registry: Callable[[], PolicyRegistry | None],
    case_id: str,
    *,
    now: datetime,
) -> list[Issued]:
    """Make the letters a case's review actions are missing; returns those this call made.

    The ``review_action`` row is committed with its decision, but the letter is rendered after the
    commit, so a crash in between leaves a row without a letter. This runs when the case page opens
    (one indexed query when nothing is missing), so the reviewer who reloads sees the letter.
    """
    with db.read() as session:
        unlettered = list(
            session.scalars(
                select(ReviewAction.id)
                .where(
                    ReviewAction.case_id == case_id,
                    ~select(ReviewLetter.id).where(ReviewLetter.action_id == ReviewAction.id).exists(),
                )
                .order_by(ReviewAction.id)
            )
        )
    made = []
    for action_id in unlettered:
        issued = ensure_letter(db, env, settings, registry, action_id, issued=now)
        if issued is not None and issued.created:
            made.append(issued)
    return made
