"""From a determination to what the provider reads: X12 306 review action and process notes.

The engine never denies: every outcome but ``approved`` is pended (A4). A3 exists only for a
reviewer's signed decision (:func:`reviewer_denial`).
"""

from __future__ import annotations

from datetime import date

from priorauth.engine.determination import Determination, Outcome
from priorauth.pas import codes
from priorauth.pas.response import ItemResult

APPEAL_RIGHTS = (
    "You may appeal this decision: submit an appeal with any additional documentation within 180 days "
    "of this notice; an expedited appeal may be requested when a delay could seriously jeopardize the "
    "member's life or health."
)


def questionnaire_canonical(det: Determination) -> str | None:
    """The DTR questionnaire that can answer the missing criteria, for the policy version applied."""
    if not det.policy_id:
        return None
    canonical = codes.QUESTIONNAIRE_BASE + det.policy_id
    return f"{canonical}|{det.policy_version}" if det.policy_version else canonical


def engine_item_result(
    sequence: int, det: Determination, *, auth_number: str | None, tracking_number: str
) -> ItemResult:
    """Map an engine determination to an item answer (A1 only for approvals, A4 for everything else)."""
    label = f"Item {sequence}"
    policy = f"{det.policy_id} version {det.policy_version}" if det.policy_id else "no policy"
    if det.outcome is Outcome.APPROVED and det.window is not None:
        window = (det.window.start, det.window.end)
        note = (
            f"{label}: approved under {policy}, authorization {auth_number}, "
            f"from {window[0].isoformat()} to {window[1].isoformat()} ({det.window.basis})."
        )
        return ItemResult(sequence, "A1", (note,), auth_number=auth_number, window=window)
    notes: list[str] = []
    if det.outcome is Outcome.NO_POLICY:
        notes.append(f"{label}: no automated policy for this item; pended for review by the plan.")
    elif det.outcome is Outcome.REFERRED and det.referral is not None:
        ref = det.referral
        notes.append(
            f"{label}: referred to policy {ref.policy_id} (criterion {ref.criterion_id} of {policy}): "
            f"{ref.reason}. The request will be reviewed under {ref.policy_id}."
        )
    elif det.outcome in (Outcome.CLINICAL_REVIEW, Outcome.RECOMMEND_DENIAL):
        # A recommendation to deny is not a decision; the provider only learns it is under review.
        notes.append(f"{label}: pended for clinical review by the plan under {policy}.")
    else:
        notes.append(f"{label}: pended under {policy}: more information is needed.")
    for missing in det.missing:
        notes.append(
            f'{label}: criterion {missing.criterion_id} is not documented. Policy: "{missing.text}" '
            f"Documentation needed: {missing.needed}."
        )
    if det.missing:
        canonical = questionnaire_canonical(det)
        if canonical:
            notes.append(
                f"{label}: the missing answers can be given in the plan's questionnaire "
                f"(LOINC 102089-0, DTR) {canonical}; then resubmit as an update of this request."
            )
    if (
        det.approvable_units is not None
        and det.requested_units is not None
        and det.approvable_units < det.requested_units
    ):
        notes.append(
            f"{label}: {det.requested_units:g} units were requested; the policy supports "
            f"{det.approvable_units} units. A reduced approval needs a reviewer's decision."
        )
    return ItemResult(sequence, "A4", tuple(notes), tracking_number=tracking_number)


def engine_failure_result(sequence: int, *, tracking_number: str) -> ItemResult:
    """The item could not be evaluated automatically: pended for a person, never an error to the provider."""
    note = f"Item {sequence}: pended for review by the plan (automated review was not possible)."
    return ItemResult(sequence, "A4", (note,), tracking_number=tracking_number)


def ineligible_result(sequence: int, reason: str, *, tracking_number: str) -> ItemResult:
    """The plan's eligibility check did not confirm the member: pended with the reason, never an error."""
    note = f"Item {sequence}: pended: the member's eligibility could not be confirmed: {reason}."
    return ItemResult(sequence, "A4", (note,), tracking_number=tracking_number)


def cancelled_result(sequence: int) -> ItemResult:
    """An item the provider cancelled (``infoCancelled`` or certificationType 3)."""
    return ItemResult(sequence, "C", (f"Item {sequence}: cancelled at the provider's request.",))


def reviewer_approval(
    sequence: int, *, auth_number: str, window: tuple[date, date], npi: str, reason: str
) -> ItemResult:
    """A reviewer's approval (A1)."""
    note = (
        f"Item {sequence}: approved after clinical review (reviewer NPI {npi}), authorization {auth_number}, "
        f"from {window[0].isoformat()} to {window[1].isoformat()}. {reason}"
    )
    return ItemResult(sequence, "A1", (note.strip(),), auth_number=auth_number, window=window)


def reviewer_denial(
    sequence: int, *, npi: str, reason: str, criterion: str | None, reason_code: str | None = None
) -> ItemResult:
    """A reviewer's signed denial (A3): the criterion, the specific reason, its X12 code and appeal rights."""
    cited = f" Criterion {criterion} is not met." if criterion else ""
    note = f"Item {sequence}: not certified after clinical review (reviewer NPI {npi}).{cited} Reason: {reason}"
    return ItemResult(sequence, "A3", (note, APPEAL_RIGHTS), reason_code=reason_code)
