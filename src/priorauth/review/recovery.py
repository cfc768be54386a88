"""Completing the review log: every reviewer decision gets its ``review_action`` row and its letter.

Why this exists: approve and deny are recorded by :meth:`DecisionService.record_decision`, which commits
the determinations and the new ClaimResponse version in its own transaction. The ``review_action`` row
and the letter can only be written after that. If the process dies in between, the provider already
has the decision but the workbench has no record of who made it, and no letter.

The design, without changing ``record_decision``:

* The stored decision is the source of truth. Each reviewer decision is one ClaimResponse version with
  ``cause = "review"``; its reviewer determinations carry the same ``created_at``, the reviewer's NPI,
  the outcome, the reason and the notes sent to the provider. That is enough to rebuild the row.
* ``review_action`` has at most one row per (case, response version). The action path and this module
  both insert through :func:`priorauth.review.actions.log_action`, which locks the case row and reuses a
  row that is already there, so a repair racing the action it repairs cannot log it twice.
* A letter is made from the action row and the case as it stood at that response version, at most once
  per action (:func:`priorauth.review.letters.ensure_letter`).
* The repair is lazy: :func:`complete_case` runs whenever a case page is opened (a few indexed queries
  when nothing is missing), so the reviewer who reloads after a crash sees the row and the letter.

Rebuilt rows say so (``details["recovered"]``). A rebuilt row is attributed to the workbench reviewer
with the decision's NPI; a decision whose NPI is no workbench reviewer's (for example ``priorauth decide``
run by someone without an account) is not logged here, since there is nobody to attribute it to.
Approve-for-less and request-information write their row in the decision's own transaction; rebuilding
them only matters for data written before that was so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.policy.registry import PolicyRegistry
from priorauth.review.actions import Entry, log_action
from priorauth.review.letters import ensure_letter
from priorauth.review.models import ReviewAction, Reviewer, ReviewLetter
from priorauth.review.settings import ReviewSettings
from priorauth.store.db import Database
from priorauth.store.models import DeterminationRecord, ResponseVersion

#: Reviewer determination outcome -> (workbench action, X12 306 code the items got).
ACTIONS = {
    "approved": ("approve", "A1"),
    "denied": ("deny", "A3"),
    "approved_modified": ("approve_partial", "A6"),
    "information_requested": ("request_info", "A4"),
}

# These read back the texts actions.py writes (denial_reason, the A6 note, the information request note).
_DENIAL = re.compile(
    r'(?P<reason>.*?)(?: Policy criterion (?P<criterion>.+?): "(?P<words>.*)")?'
    r" \(reason code (?P<code>[^:]+): (?P<text>.*)\)",
    re.DOTALL,
)
_DENIAL_NOTE = re.compile(r" Criterion (?P<criterion>.+?) is not met\.")
_PARTIAL_NOTE = re.compile(r"\. Criterion (?P<criterion>.+?)\. Reason: ", re.DOTALL)
_INFO_NOTE = re.compile(
    r'for criterion (?P<criterion>.+?)\.(?: Policy: "(?P<words>.*?)")? Needed: .*'
    r" Please send it by (?P<by>\d{4}-\d{2}-\d{2}) ",
    re.DOTALL,
)


@dataclass(frozen=True)
class Denial:
    """The parts of a workbench denial reason (see :func:`priorauth.review.actions.denial_reason`)."""

    reason: str
    criterion: str | None
    policy_words: str
    reason_code: str | None
    reason_code_text: str


def parse_denial_reason(text: str) -> Denial:
    """Split a recorded denial reason into the reviewer's words, the policy's words and the reason code.

    A reason not written by the workbench (``priorauth decide``) is kept whole, without a code.
    """
    found = _DENIAL.fullmatch(text)
    if found is None:
        return Denial(text, None, "", None, "")
    return Denial(found["reason"], found["criterion"], found["words"] or "", found["code"], found["text"])


@dataclass(frozen=True)
class Rebuilt:
    """A ``review_action`` row rebuilt from a reviewer response version."""

    entry: Entry
    reviewer: Reviewer
    version: int
    decided_at: datetime


def _notes(row: DeterminationRecord) -> list[str]:
    return [str(n) for n in json.loads(row.notes)] if row.notes else []


def _search(pattern: re.Pattern[str], text: str, group: str) -> str | None:
    found = pattern.search(text)
    return found[group] if found else None


def _entry(rows: list[DeterminationRecord]) -> Entry | None:
    first = rows[0]
    if first.outcome not in ACTIONS:
        return None
    action, code = ACTIONS[first.outcome]
    sequences = [r.item_sequence for r in rows]
    reason = first.reason or ""
    notes = _notes(first)
    window = (
        [first.window_start.isoformat(), first.window_end.isoformat()]
        if first.window_start and first.window_end
        else None
    )
    if action == "approve":
        return Entry(action, code, sequences, reason, details={"window": window, "recovered": True})
    if action == "deny":
        denial = parse_denial_reason(reason)
        criterion = denial.criterion or next((c for n in notes if (c := _search(_DENIAL_NOTE, n, "criterion"))), None)
        details = {
            "policy_words": denial.policy_words,
            "reason_code_text": denial.reason_code_text,
            "recovered": True,
        }
        return Entry(action, code, sequences, denial.reason, criterion, denial.reason_code, details)
    if action == "approve_partial":
        trace = json.loads(first.trace) if first.trace else {}
        details = {
            "units": first.authorized_units,
            "requested_units": trace.get("requested_units"),
            "window": window,
            "auth_number": first.auth_number,
            "recovered": True,
        }
        criterion = _search(_PARTIAL_NOTE, notes[0], "criterion") if notes else None
        return Entry(action, code, sequences, reason, criterion, None, details)
    asked = _INFO_NOTE.search(notes[-1]) if notes else None
    details = {
        "policy_words": (asked["words"] or "") if asked else "",
        "reply_by": asked["by"] if asked else None,
        "recovered": True,
    }
    return Entry(action, code, sequences, reason, asked["criterion"] if asked else None, None, details)


def rebuild(session: Session, version: ResponseVersion) -> Rebuilt | None:
    """The ``review_action`` row a reviewer response version should have, from its stored determinations.

    None when the version has no reviewer determination or its NPI is no workbench reviewer's.
    """
    rows = list(
        session.scalars(
            select(DeterminationRecord)
            .where(
                DeterminationRecord.case_id == version.case_id,
                DeterminationRecord.decided_by == "reviewer",
                # record_decision and publish_review_version stamp the determinations and the version
                # with one clock reading: that is what ties them together.
                DeterminationRecord.created_at == version.created_at,
            )
            .order_by(DeterminationRecord.item_sequence)
        )
    )
    if not rows or rows[0].reviewer_npi is None:
        return None
    reviewer = session.scalars(
        select(Reviewer).where(Reviewer.npi == rows[0].reviewer_npi, Reviewer.role == "reviewer").order_by(Reviewer.id)
    ).first()
    entry = _entry(rows)
    if reviewer is None or entry is None:
        return None
    return Rebuilt(entry, reviewer, version.version, version.created_at)


def recover_actions(db: Database, case_id: str) -> list[tuple[int, Rebuilt]]:
    """Write the missing ``review_action`` rows of a case's reviewer decisions; returns those written."""
    with db.read() as session:
        logged = set(session.scalars(select(ReviewAction.response_version).where(ReviewAction.case_id == case_id)))
        versions = session.scalars(
            select(ResponseVersion)
            .where(ResponseVersion.case_id == case_id, ResponseVersion.cause == "review")
            .order_by(ResponseVersion.version)
        )
        missing = [found for v in versions if v.version not in logged and (found := rebuild(session, v))]
    written: list[tuple[int, Rebuilt]] = []
    for found in missing:
        with db.write() as session:
            action_id, created = log_action(
                session,
                found.entry,
                case_id=case_id,
                reviewer_id=found.reviewer.id,
                npi=found.reviewer.npi,
                version=found.version,
                now=found.decided_at,
            )
        if created:
            written.append((action_id, found))
    return written


def complete_case(
    db: Database,
    env: Environment,
    settings: ReviewSettings,
    registry: Callable[[], PolicyRegistry | None],
    case_id: str,
    *,
    now: datetime,
) -> list[tuple[str, str]]:
    """Rebuild missing ``review_action`` rows, then make missing letters; returns (audit event, detail) pairs."""
    events = [
        (
            "action_recovered",
            f"{found.entry.action} -> {found.entry.review_action} of response version {found.version} "
            f"(action {action_id})",
        )
        for action_id, found in recover_actions(db, case_id)
    ]
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
    for action_id in unlettered:
        issued = ensure_letter(db, env, settings, registry, action_id, issued=now)
        if issued is not None and issued.created:
            events.append(("letter_generated", f"{issued.kind} letter {issued.letter_id} (completed late)"))
    return events
