"""Reviewer actions: approve, approve for less, deny and request information.

Approve and deny go through :meth:`DecisionService.record_decision` (the service's own decision path).
Approve-for-less (A6 + addItem A1) and request-information (stays A4) are written here on top of the
Repository and the PAS builders, in one transaction with the new response version and the outbox
rows. Every action is also appended to ``review_action`` with who, when and why.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from priorauth.pas import codes, mapping
from priorauth.pas.response import ItemResult
from priorauth.pas.validate import parse_json, validate_request
from priorauth.review.models import ReviewAction, Reviewer
from priorauth.service.decisions import DecisionError, DecisionService, dumps, result_from_record
from priorauth.store.models import Case, DeterminationRecord
from priorauth.store.repository import Repository

Json = dict[str, Any]


class ActionError(ValueError):
    """An action that cannot be recorded (shown to the reviewer, nothing is written)."""


class NotAllowedError(ActionError):
    """The signed-in user may not record clinical decisions."""


@dataclass(frozen=True)
class Recorded:
    """What an action wrote: its row id, the X12 code the items got and the new response bundle."""

    action_id: int
    review_action: str
    bundle: Json


def _require_decider(reviewer: Reviewer) -> str:
    if not reviewer.can_decide or reviewer.npi is None:
        raise NotAllowedError("only a clinical reviewer with a recorded NPI can record a decision")
    return reviewer.npi


def _append_action(
    service: DecisionService,
    *,
    case_id: str,
    reviewer: Reviewer,
    action: str,
    review_action: str,
    sequences: list[int],
    reason: str,
    criterion: str | None,
    reason_code: str | None,
    details: Json,
    now: datetime,
) -> int:
    with service.db.write() as session:
        case = session.get(Case, case_id)
        row = ReviewAction(
            case_id=case_id,
            reviewer_id=reviewer.id,
            reviewer_npi=reviewer.npi,
            action=action,
            review_action=review_action,
            sequences=sequences,
            criterion=criterion,
            reason_code=reason_code,
            reason=reason,
            details=details,
            response_version=case.version if case else 0,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return int(row.id)


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
    npi = _require_decider(reviewer)
    if not reason.strip():
        raise ActionError("give the reason for the approval (it goes into the record and the letter)")
    sequences = _pended_sequences(service, case_id)
    try:
        bundle = service.record_decision(case_id, approve=True, reviewer_npi=npi, reason=reason.strip(), window=window)
    except DecisionError as exc:
        raise ActionError(str(exc)) from exc
    action_id = _append_action(
        service,
        case_id=case_id,
        reviewer=reviewer,
        action="approve",
        review_action="A1",
        sequences=sequences,
        reason=reason.strip(),
        criterion=None,
        reason_code=None,
        details={"window": [window[0].isoformat(), window[1].isoformat()] if window else None},
        now=service.clock(),
    )
    return Recorded(action_id, "A1", bundle)


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
    npi = _require_decider(reviewer)
    if not reason.strip():
        raise ActionError("a denial needs the specific reason: what is not met and why")
    if not criterion.strip():
        raise ActionError("a denial must cite the criterion that is not met")
    if reason_code not in reason_codes:
        raise ActionError("choose a denial reason code")
    sequences = _pended_sequences(service, case_id)
    words = f' Policy criterion {criterion}: "{policy_words.strip()}"' if policy_words.strip() else ""
    note_reason = f"{reason.strip()}{words} (reason code {reason_code}: {reason_codes[reason_code]})"
    try:
        bundle = service.record_decision(
            case_id,
            approve=False,
            reviewer_npi=npi,
            reason=note_reason,
            criterion=criterion.strip(),
            reason_code=reason_code,
        )
    except DecisionError as exc:
        raise ActionError(str(exc)) from exc
    action_id = _append_action(
        service,
        case_id=case_id,
        reviewer=reviewer,
        action="deny",
        review_action="A3",
        sequences=sequences,
        reason=reason.strip(),
        criterion=criterion.strip(),
        reason_code=reason_code,
        details={"policy_words": policy_words.strip(), "reason_code_text": reason_codes[reason_code]},
        now=service.clock(),
    )
    return Recorded(action_id, "A3", bundle)


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
        "trace": prev.trace,
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
    npi = _require_decider(reviewer)
    if not reason.strip():
        raise ActionError("a reduced approval is an adverse decision: give the reason and cite the criterion")
    if units <= 0:
        raise ActionError("the authorized units must be more than zero")
    if window[1] < window[0]:
        raise ActionError("the authorized period ends before it starts")
    now = service.clock()
    as_of = service.request_date(now)
    auth = f"PA{as_of:%y%m%d}-{secrets.token_hex(4).upper()}"
    with service.db.write() as session:
        repo = Repository(session)
        case = repo.case(case_id, for_update=True)
        if case is None or case.status != "pended":
            raise ActionError(f"case {case_id} is not pended")
        current = repo.current_determinations(case.id)
        prev = current.get(sequence)
        if prev is None or prev.review_action != "A4":
            raise ActionError(f"item {sequence} is not pended")
        last = repo.request(case.last_request_id)
        assert last is not None
        request = validate_request(parse_json(last.body), operation="submit")
        claim_item = next(
            (i for i in request.claim.get("item") or [] if isinstance(i, dict) and i.get("sequence") == sequence), {}
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
        results = {s: result_from_record(d) for s, d in current.items()}
        results[sequence] = ItemResult(
            sequence, "A6", (note, mapping.APPEAL_RIGHTS), auth_number=auth, window=window, authorized_units=units
        )
        repo.add(
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
        bundle = service.publish_review_version(repo, case, request, results, reviewer_npi=npi, now=now)
    action_id = _append_action(
        service,
        case_id=case_id,
        reviewer=reviewer,
        action="approve_partial",
        review_action="A6",
        sequences=[sequence],
        reason=reason.strip(),
        criterion=criterion,
        reason_code=None,
        details={
            "units": units,
            "requested_units": requested,
            "window": [window[0].isoformat(), window[1].isoformat()],
            "auth_number": auth,
        },
        now=now,
    )
    return Recorded(action_id, "A6", bundle)


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
    npi = _require_decider(reviewer)
    if not needed.strip():
        raise ActionError("name the document or information that is needed")
    if not criterion.strip():
        raise ActionError("name the criterion the information is for")
    now = service.clock()
    by = (service.request_date(now) + timedelta(days=reply_days)).isoformat()
    with service.db.write() as session:
        repo = Repository(session)
        case = repo.case(case_id, for_update=True)
        if case is None or case.status != "pended":
            raise ActionError(f"case {case_id} is not pended")
        current = repo.current_determinations(case.id)
        pended = sorted(s for s, d in current.items() if d.review_action == "A4")
        if not pended:
            raise ActionError(f"case {case_id} has no pended item")
        last = repo.request(case.last_request_id)
        assert last is not None
        request = validate_request(parse_json(last.body), operation="submit")
        results = {s: result_from_record(d) for s, d in current.items()}
        for seq in pended:
            prev = current[seq]
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
            old = results[seq]
            results[seq] = ItemResult(seq, "A4", (*old.notes, note), tracking_number=old.tracking_number)
            repo.add(
                _reviewer_record(
                    prev,
                    reviewer_npi=npi,
                    reason=needed.strip(),
                    outcome="information_requested",
                    review_action="A4",
                    notes=dumps(list(results[seq].notes)),
                    tracking_number=prev.tracking_number,
                    created_at=now,
                )
            )
        bundle = service.publish_review_version(repo, case, request, results, reviewer_npi=npi, now=now)
    action_id = _append_action(
        service,
        case_id=case_id,
        reviewer=reviewer,
        action="request_info",
        review_action="A4",
        sequences=pended,
        reason=needed.strip(),
        criterion=criterion.strip(),
        reason_code=None,
        details={"policy_words": policy_words.strip(), "reply_by": by},
        now=now,
    )
    return Recorded(action_id, "A4", bundle)
