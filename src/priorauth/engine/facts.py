"""The engine's input: what the request documents, normalised, each datum with its evidence.

Adapters (FHIR bundles, DTR answers, note extraction, our own authorization records) build these;
the engine never sees FHIR. A datum that is absent is simply absent: criteria turn absence into
``unknown`` with a reason, never into ``not met``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from priorauth.engine.evidence import AnswerEvidence, Evidence

Histology = Literal["small_cell", "non_small_cell", "other"]
Stage = Literal["extensive", "limited"]
AssessmentKind = Literal["progression", "response", "stable"]
LineOfBusiness = Literal["commercial", "marketplace", "medicaid"]


@dataclass(frozen=True, slots=True)
class DiagnosisFinding:
    """A documented statement about the cancer: histology and/or stage (either may be absent)."""

    evidence: Evidence
    histology: Histology | None = None
    stage: Stage | None = None
    site: str | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class TherapyExposure:
    """A documented administration (or course) of an anticancer agent, by normalised agent name."""

    agent: str
    evidence: Evidence
    start: date | None = None
    end: date | None = None
    dose_mg: float | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class DiseaseAssessment:
    """A documented disease status: progression, response or stable disease, with its date."""

    kind: AssessmentKind
    evidence: Evidence
    on: date | None = None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class OncologyInvolvement:
    """The prescriber's taxonomies and any documented oncology consultation (or its documented absence)."""

    taxonomies: tuple[tuple[str, Evidence], ...] = ()
    consultations: tuple[Evidence, ...] = ()
    no_oncologist: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestedDose:
    """One requested administration: dose in mg and, when given, its date or cycle/day."""

    evidence: Evidence
    dose_mg: float | None
    on: date | None = None
    cycle: int | None = None
    day: int | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A DTR questionnaire answer keyed by criterion id (boolean items)."""

    link_id: str
    value: bool | None
    evidence: AnswerEvidence


@dataclass(frozen=True, slots=True)
class PriorAuthorization:
    """An earlier approval of ours for the same member and drug."""

    number: str
    start: date
    end: date
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class RequestedItem:
    """The Claim item under decision: its codes, units (J9026 = 1 mg per unit) and service period."""

    sequence: int
    codes: tuple[tuple[str, str], ...]
    evidence: Evidence
    ndcs: tuple[str, ...] = ()
    rxnorm: tuple[str, ...] = ()
    units: float | None = None
    service_start: date | None = None
    service_end: date | None = None
    certification_type: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the engine may use to decide one item of one request."""

    item: RequestedItem
    line_of_business: LineOfBusiness | None = None
    line_of_business_evidence: Evidence | None = None
    renewal_date: date | None = None
    member_state: str | None = None
    birth_date: date | None = None
    birth_date_evidence: Evidence | None = None
    diagnoses: tuple[DiagnosisFinding, ...] = ()
    therapies: tuple[TherapyExposure, ...] = ()
    assessments: tuple[DiseaseAssessment, ...] = ()
    oncology: OncologyInvolvement = field(default_factory=OncologyInvolvement)
    requested_doses: tuple[RequestedDose, ...] = ()
    answers: tuple[Answer, ...] = ()
    prior_authorizations: tuple[PriorAuthorization, ...] = ()
    dose_support: tuple[Evidence, ...] = ()
    problems: tuple[str, ...] = ()

    def answer(self, link_id: str) -> Answer | None:
        """The questionnaire answer for a criterion id, if one was given."""
        for answer in self.answers:
            if answer.link_id == link_id:
                return answer
        return None


@dataclass(frozen=True, slots=True)
class PlanConfig:
    """Plan configuration the policy defers to: formulary/PDL status by line of business, state overrides."""

    on_formulary: tuple[LineOfBusiness, ...] = ("commercial", "marketplace", "medicaid")
    # State code → the state Medicaid provisions that take precedence (the policy's Note); none shipped.
    medicaid_state_overrides: tuple[tuple[str, str], ...] = ()

    def state_override(self, state: str | None) -> str | None:
        """The state Medicaid provisions configured for a state, if any."""
        if state is None:
            return None
        return dict(self.medicaid_state_overrides).get(state.upper())
