"""Reviewer actions: approve, approve for less, deny and request information.

Approve and deny go through :meth:`DecisionService.record_decision` (the service's own decision path).
Approve-for-less (A6 + addItem A1) and request-information (stays A4) are written here on top of the
Repository and the PAS builders. Every action is also appended to ``review_action`` with who, when and
why, keyed by the response version it produced: one row per (case, response version).

That row is always written in the decision's own transaction: for approve and deny through the
``within`` callback of ``record_decision``, for the other two directly. So a decision the provider can
see always has its row, and a crash leaves neither. The letter (a PDF, derived from the row and the
stored case) is rendered after the commit; one lost to a crash is made when the case page next opens
(:func:`priorauth.review.letters.complete_letters`).

Decisions recorded outside the workbench (``priorauth decide``) get no ``review_action`` row and no
letter: nobody signed in to the workbench made them. They are still fully recorded by the service: a
reviewer determination per item with the reviewer's NPI and reason, a new ClaimResponse version and its
notifications, and the determination table is their audit trail.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.pas import codes, mapping
from priorauth.pas.response import ItemResult
from priorauth.pas.validate import PasRequest, parse_json, validate_request
from priorauth.review.models import ReviewAction, Reviewer
from priorauth.service.decisions import DecisionError, DecisionService, dumps, result_from_record
from priorauth.store.models import Case, DeterminationRecord, ResponseVersion
from priorauth.store.repository import Repository

Json = dict[str, Any]


class ActionError(ValueError):
    """An action that cannot be recorded (shown to the reviewer, nothing is written)."""


class NotAllowedError(ActionError):
    """The signed-in user may not record clinical decisions."""


@dataclass(frozen=True)
class Recorded:
    """What an action wrote: its row id, the action's name, the X12 code the items got and the new response."""

    action_id: int
    action: str
    review_action: str
    bundle: Json


@dataclass(frozen=True)
class Entry:
    """What a ``review_action`` row says about the decision (who and when are added when it is written)."""

    action: str
    review_action: str
    sequences: list[int]
    reason: str
    criterion: str | None = None
    reason_code: str | None = None
    details: Json = field(default_factory=dict)


def decider_npi(reviewer: Reviewer) -> str:
    """The reviewer's NPI; raises :class:`NotAllowedError` unless they may record clinical decisions."""
    if not reviewer.can_decide or reviewer.npi is None:
        raise NotAllowedError("only a clinical reviewer with a recorded NPI can record a decision")
    return reviewer.npi


def log_action(
    session: Session, entry: Entry, *, case_id: str, reviewer_id: int, npi: str | None, version: int, now: datetime
) -> int:
    """Inside the decision's transaction: the ``review_action`` row of the response version it produced.

    Returns the row id. The caller holds the case row lock and has just made ``version``, so no other
    row for it can exist.
    """
    row = ReviewAction(
        case_id=case_id,
        reviewer_id=reviewer_id,
        reviewer_npi=npi,
        action=entry.action,
        review_action=entry.review_action,
        sequences=entry.sequences,
        criterion=entry.criterion,
        reason_code=entry.reason_code,
        reason=entry.reason,
        details=entry.details,
        response_version=version,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return int(row.id)


def _through_service(
    service: DecisionService,
    reviewer: Reviewer,
    case_id: str,
    entry: Entry,
    decide: Callable[[Callable[[Repository, Json], None]], Json],
) -> Recorded:
    """Run ``record_decision`` with the ``review_action`` row written inside its transaction.

    ``decide`` calls ``record_decision`` and passes it the ``within`` callback it is given.
    """
    logged: list[int] = []

    def within(repo: Repository, bundle: Json) -> None:
        # The version is found by the new bundle's id (staged in this transaction, flushed by the query);
        # its created_at is the decision's own clock reading, which the row then shares.
        version, decided_at = repo.session.execute(
            select(ResponseVersion.version, ResponseVersion.created_at).where(ResponseVersion.bundle_id == bundle["id"])
        ).one()
        logged.append(
            log_action(
                repo.session,
                entry,
                case_id=case_id,
                reviewer_id=reviewer.id,
                npi=reviewer.npi,
                version=int(version),
                now=decided_at,
            )
        )

    try:
        bundle = decide(within)
    except DecisionError as exc:
        raise ActionError(str(exc)) from exc
    return Recorded(logged[0], entry.action, entry.review_action, bundle)


@dataclass
class _Open:
    """A pended case, row-locked inside a write transaction, with its current item answers."""

    repo: Repository
    case: Case
    current: dict[int, DeterminationRecord]
    results: dict[int, ItemResult]

    @cached_property
    def request(self) -> PasRequest:
        """The case's latest request (parsed only once an action needs it)."""
        last = self.repo.request(self.case.last_request_id)
        assert last is not None
        return validate_request(parse_json(last.received_body()), operation="submit")


@contextmanager
def _open_pended(service: DecisionService, case_id: str) -> Iterator[_Open]:
    """A write transaction on a pended case; raises :class:`ActionError` when it is not pended."""
    with service.db.write() as session:
        repo = Repository(session)
        case = repo.case(case_id, for_update=True)
        if case is None or case.status != "pended":
            raise ActionError(f"case {case_id} is not pended")
        current = repo.current_determinations(case.id)
        yield _Open(repo, case, current, {s: result_from_record(d) for s, d in current.items()})


def _publish(
    opened: _Open, service: DecisionService, reviewer: Reviewer, npi: str, entry: Entry, now: datetime
) -> Recorded:
    """Inside ``opened``'s transaction: the new response version and its ``review_action`` row, together."""
    bundle = service.publish_review_version(
        opened.repo, opened.case, opened.request, opened.results, reviewer_npi=npi, now=now
    )
    action_id = log_action(
        opened.repo.session,
        entry,
        case_id=opened.case.id,
        reviewer_id=reviewer.id,
        npi=npi,
        version=opened.case.version,
        now=now,
    )
    return Recorded(action_id, entry.action, entry.review_action, bundle)


def _pended_sequences(service: DecisionService, case_id: str) -> list[int]:
    with service.db.read() as session:
        repo = Repository(session)
        case = repo.case(case_id)
        if case is None:
            raise ActionError(f"no case {case_id}")
        if case.status != "pended":
            raise ActionError(f"case {case_id} is {case.status}; only pended cases can be decided")
        return sorted(s for s, d in repo.current_determinations(case_id).items() if d.review_action == "A4")


def approve(
    service: DecisionService,
    reviewer: Reviewer,
    case_id: str,
    *,
    reason: str,
    window: tuple[date, date] | None = None,
) -> Recorded:
    """Approve every pended item in full (A1) through the service's decision path."""
    npi = decider_npi(reviewer)
    if not reason.strip():
        raise ActionError("give the reason for the approval (it goes into the record and the letter)")
    entry = Entry(
        "approve",
        "A1",
        _pended_sequences(service, case_id),
        reason.strip(),
        details={"window": [window[0].isoformat(), window[1].isoformat()] if window else None},
    )
    return _through_service(
        service,
        reviewer,
        case_id,
        entry,
        lambda within: service.record_decision(
            case_id, approve=True, reviewer_npi=npi, reason=reason.strip(), window=window, within=within
        ),
    )


def denial_reason(reason: str, criterion: str, policy_words: str, reason_code: str, reason_code_text: str) -> str:
    """The reason a denial records and sends: the reviewer's words, the policy's words and the reason code."""
    words = f' Policy criterion {criterion}: "{policy_words.strip()}"' if policy_words.strip() else ""
    return f"{reason.strip()}{words} (reason code {reason_code}: {reason_code_text})"


def deny(
    service: DecisionService,
    reviewer: Reviewer,
    case_id: str,
    *,
    criterion: str,
    policy_words: str,
    reason: str,
    reason_code: str,
    reason_codes: dict[str, str],
) -> Recorded:
    """Deny every pended item (A3) with a specific reason citing a criterion and the policy's words."""
    npi = decider_npi(reviewer)
    if not reason.strip():
        raise ActionError("a denial needs the specific reason: what is not met and why")
    if not criterion.strip():
        raise ActionError("a denial must cite the criterion that is not met")
    if reason_code not in reason_codes:
        raise ActionError("choose a denial reason code")
    entry = Entry(
        "deny",
        "A3",
        _pended_sequences(service, case_id),
        reason.strip(),
        criterion=criterion.strip(),
        reason_code=reason_code,
        details={"policy_words": policy_words.strip(), "reason_code_text": reason_codes[reason_code]},
    )
    note_reason = denial_reason(reason, criterion, policy_words, reason_code, reason_codes[reason_code])
    return _through_service(
        service,
        reviewer,
        case_id,
        entry,
        lambda within: service.record_decision(
            case_id,
            approve=False,
            reviewer_npi=npi,
            reason=note_reason,
            criterion=criterion.strip(),
            reason_code=reason_code,
            within=within,
        ),
    )


def _reviewer_record(prev: DeterminationRecord, **changes: Any) -> DeterminationRecord:
    values: dict[str, Any] = {
        "case_id": prev.case_id,
        "request_id": None,
        "item_sequence": prev.item_sequence,
        "previous_id": prev.id,
        "decided_by": "reviewer",
        "policy_id": prev.policy_id,
        "policy_version": prev.policy_version,
        "policy_hash": prev.policy_hash,
        "engine_version": prev.engine_version,
        "request_date": prev.request_date,
        "line_of_business": prev.line_of_business,
        "member_id": prev.member_id,
        **prev.trace_columns(),
    }
    values.update(changes)
    return DeterminationRecord(**values)


def approve_partial(
    service: DecisionService,
    reviewer: Reviewer,
    case_id: str,
    *,
    sequence: int,
    units: float,
    window: tuple[date, date],
    reason: str,
    criterion: str | None,
) -> Recorded:
    """Approve less than asked: the item gets A6 and an ``addItem`` with what is authorized gets A1."""
    npi = decider_npi(reviewer)
    if not reason.strip():
        raise ActionError("a reduced approval is an adverse decision: give the reason and cite the criterion")
    if units <= 0:
        raise ActionError("the authorized units must be more than zero")
    if window[1] < window[0]:
        raise ActionError("the authorized period ends before it starts")
    now = service.clock()
    as_of = service.request_date(now)
    auth = f"PA{as_of:%y%m%d}-{secrets.token_hex(4).upper()}"
    with _open_pended(service, case_id) as opened:
        prev = opened.current.get(sequence)
        if prev is None or prev.review_action != "A4":
            raise ActionError(f"item {sequence} is not pended")
        claim_item = next(
            (
                i
                for i in opened.request.claim.get("item") or []
                if isinstance(i, dict) and i.get("sequence") == sequence
            ),
            {},
        )
        requested = (claim_item.get("quantity") or {}).get("value")
        period = claim_item.get("servicedPeriod") or {}
        cited = f" Criterion {criterion}." if criterion else ""
        cut = []
        if isinstance(requested, int | float) and units < float(requested):
            cut.append(f"{units:g} of the {float(requested):g} units requested")
        if period.get("end") and window[1].isoformat() < str(period["end"]):
            cut.append(f"through {window[1].isoformat()} instead of {period['end']}")
        what = " and ".join(cut) or "a modified authorization"
        note = (
            f"Item {sequence}: modified after clinical review (reviewer NPI {npi}): authorized {what}, "
            f"authorization {auth}, from {window[0].isoformat()} to {window[1].isoformat()}.{cited} "
            f"Reason: {reason.strip()}"
        )
        opened.results[sequence] = ItemResult(
            sequence, "A6", (note, mapping.APPEAL_RIGHTS), auth_number=auth, window=window, authorized_units=units
        )
        opened.repo.add(
            _reviewer_record(
                prev,
                reviewer_npi=npi,
                reason=reason.strip(),
                outcome="approved_modified",
                review_action="A6",
                auth_number=auth,
                window_start=window[0],
                window_end=window[1],
                notes=dumps([note, mapping.APPEAL_RIGHTS]),
                authorized_units=units,
                created_at=now,
            )
        )
        entry = Entry(
            "approve_partial",
            "A6",
            [sequence],
            reason.strip(),
            criterion=criterion,
            details={
                "units": units,
                "requested_units": requested,
                "window": [window[0].isoformat(), window[1].isoformat()],
                "auth_number": auth,
            },
        )
        return _publish(opened, service, reviewer, npi, entry, now)


def request_information(
    service: DecisionService,
    reviewer: Reviewer,
    case_id: str,
    *,
    criterion: str,
    policy_words: str,
    needed: str,
    reply_days: int,
) -> Recorded:
    """Ask the provider for what is missing: the items stay A4 with a note naming the criterion and document."""
    npi = decider_npi(reviewer)
    if not needed.strip():
        raise ActionError("name the document or information that is needed")
    if not criterion.strip():
        raise ActionError("name the criterion the information is for")
    now = service.clock()
    by = (service.request_date(now) + timedelta(days=reply_days)).isoformat()
    with _open_pended(service, case_id) as opened:
        pended = sorted(s for s, d in opened.current.items() if d.review_action == "A4")
        if not pended:
            raise ActionError(f"case {case_id} has no pended item")
        for seq in pended:
            prev = opened.current[seq]
            words = f' Policy: "{policy_words.strip()}"' if policy_words.strip() else ""
            questionnaire = ""
            if prev.policy_id:
                canonical = codes.QUESTIONNAIRE_BASE + prev.policy_id
                if prev.policy_version:
                    canonical += f"|{prev.policy_version}"
                questionnaire = f" The plan's DTR questionnaire (LOINC 102089-0) {canonical} can carry the answer."
            note = (
                f"Item {seq}: the clinical reviewer requests more information for criterion {criterion.strip()}."
                f"{words} Needed: {needed.strip()}. Please send it by {by} as an update of this request."
                f"{questionnaire}"
            )
            old = opened.results[seq]
            opened.results[seq] = ItemResult(seq, "A4", (*old.notes, note), tracking_number=old.tracking_number)
            opened.repo.add(
                _reviewer_record(
                    prev,
                    reviewer_npi=npi,
                    reason=needed.strip(),
                    outcome="information_requested",
                    review_action="A4",
                    notes=dumps(list(opened.results[seq].notes)),
                    tracking_number=prev.tracking_number,
                    created_at=now,
                )
            )
        entry = Entry(
            "request_info",
            "A4",
            pended,
            needed.strip(),
            criterion=criterion.strip(),
            details={"policy_words": policy_words.strip(), "reply_by": by},
        )
        return _publish(opened, service, reviewer, npi, entry, now)
