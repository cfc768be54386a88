"""The engine's answer for one requested item. Never a denial: a denial needs a clinical reviewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from priorauth.engine.trace import TraceNode


class Outcome(StrEnum):
    """What the engine may decide on its own.

    Every outcome but ``approved`` is pended (PAS ``A4``) for the provider; ``recommend_denial`` and
    ``clinical_review`` go to a clinical reviewer, ``pended`` asks the provider for documents.
    """

    APPROVED = "approved"
    PENDED = "pended"
    REFERRED = "referred"
    CLINICAL_REVIEW = "clinical_review"
    RECOMMEND_DENIAL = "recommend_denial"
    NO_POLICY = "no_policy"


@dataclass(frozen=True, slots=True)
class MissingItem:
    """A criterion that could not be settled, and the document that would settle it."""

    criterion_id: str
    text: str
    needed: str


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral to another policy (section I.B): which, by which row, and why."""

    policy_id: str
    criterion_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Window:
    """The approval window, inclusive of both dates, and how its length was chosen."""

    start: date
    end: date
    basis: str


@dataclass(frozen=True, slots=True)
class Determination:
    """A reproducible decision: policy version and hash, request date, outcome, window and full trace."""

    outcome: Outcome
    summary: str
    as_of: date
    engine_version: str
    policy_id: str | None = None
    policy_version: str | None = None
    policy_hash: str | None = None
    line_of_business: str | None = None
    path: str | None = None
    window: Window | None = None
    requested_units: float | None = None
    approvable_units: int | None = None
    referral: Referral | None = None
    missing: tuple[MissingItem, ...] = ()
    findings: tuple[str, ...] = ()
    trace: TraceNode | None = None

    def statuses(self) -> dict[str, str]:
        """Criterion id to status value, for tests and tables."""
        if self.trace is None:
            return {}
        return {k: v.value for k, v in self.trace.statuses().items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (stored with the request; printed by ``priorauth evaluate --json``)."""
        return {
            "outcome": self.outcome.value,
            "summary": self.summary,
            "as_of": self.as_of.isoformat(),
            "engine_version": self.engine_version,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "policy_hash": self.policy_hash,
            "line_of_business": self.line_of_business,
            "path": self.path,
            "window": None
            if self.window is None
            else {
                "start": self.window.start.isoformat(),
                "end": self.window.end.isoformat(),
                "basis": self.window.basis,
            },
            "requested_units": self.requested_units,
            "approvable_units": self.approvable_units,
            "referral": None
            if self.referral is None
            else {
                "policy_id": self.referral.policy_id,
                "criterion_id": self.referral.criterion_id,
                "reason": self.referral.reason,
            },
            "missing": [{"criterion_id": m.criterion_id, "text": m.text, "needed": m.needed} for m in self.missing],
            "findings": list(self.findings),
            "trace": None if self.trace is None else self.trace.to_dict(),
        }
