"""Turn mentions into engine facts, each carrying its note span as evidence.

Rules of use (market.md 3.3, policy-reading.md): a mention with no blocking modifier in an eligible
section becomes a positive fact; a negated mention (and nothing else blocking) becomes a fact with
``negated=True``, which the engine may use only to recommend; hypothetical, family, uncertain and
other-indication mentions become nothing. Historical mentions count: prior platinum is history.
"""

from __future__ import annotations

from dataclasses import dataclass

from priorauth.engine.evidence import NoteSpanEvidence
from priorauth.engine.facts import (
    AssessmentKind,
    DiagnosisFinding,
    DiseaseAssessment,
    Histology,
    Stage,
    TherapyExposure,
)
from priorauth.notes.model import Mention, NoteExtraction
from priorauth.notes.rules import (
    BLOCKING_MODIFIERS,
    BRAIN_METASTASES,
    NEGATED,
    NO_ONCOLOGIST,
    NSCLC,
    ONCOLOGY_CONSULT,
    PROGRESSION,
    RESPONSE,
    SCLC,
    SCLC_EXTENSIVE,
    SCLC_LIMITED,
    STABLE,
    STAGE_EXTENSIVE,
    STAGE_LIMITED,
    THERAPY_CONCEPTS,
)

_DIAGNOSES: dict[str, tuple[Histology | None, Stage | None]] = {
    SCLC: ("small_cell", None),
    SCLC_EXTENSIVE: ("small_cell", "extensive"),
    SCLC_LIMITED: ("small_cell", "limited"),
    NSCLC: ("non_small_cell", None),
    STAGE_EXTENSIVE: (None, "extensive"),
    STAGE_LIMITED: (None, "limited"),
}
_ASSESSMENTS: dict[str, AssessmentKind] = {PROGRESSION: "progression", RESPONSE: "response", STABLE: "stable"}


@dataclass(frozen=True, slots=True)
class NoteFacts:
    """The engine facts one note documents."""

    diagnoses: tuple[DiagnosisFinding, ...] = ()
    therapies: tuple[TherapyExposure, ...] = ()
    assessments: tuple[DiseaseAssessment, ...] = ()
    consultations: tuple[NoteSpanEvidence, ...] = ()
    no_oncologist: tuple[NoteSpanEvidence, ...] = ()
    brain_metastases: tuple[NoteSpanEvidence, ...] = ()


def evidence_of(extraction: NoteExtraction, mention: Mention) -> NoteSpanEvidence:
    """The quoted span of a mention as engine evidence."""
    return NoteSpanEvidence(
        document=extraction.document,
        start=mention.start,
        end=mention.end,
        text=mention.text,
        concept=mention.concept,
        rule_id=mention.rule_id,
        attachment=extraction.attachment,
        section=mention.section,
        modifiers=mention.modifiers,
    )


def polarity(mention: Mention) -> bool | None:
    """True: a positive fact; False: a negated fact; None: not usable as a fact."""
    if not mention.eligible:
        return None
    if not mention.blocked:
        return True
    others = {m for m in mention.modifiers if m in BLOCKING_MODIFIERS} - {NEGATED}
    if NEGATED in mention.modifiers and not others:
        return False
    return None


def note_facts(extraction: NoteExtraction) -> NoteFacts:
    """Facts from one extraction, in note order."""
    diagnoses: list[DiagnosisFinding] = []
    therapies: list[TherapyExposure] = []
    assessments: list[DiseaseAssessment] = []
    consultations: list[NoteSpanEvidence] = []
    no_oncologist: list[NoteSpanEvidence] = []
    brain: list[NoteSpanEvidence] = []
    for mention in extraction.mentions:
        positive = polarity(mention)
        if positive is None:
            continue
        negated = not positive
        evidence = evidence_of(extraction, mention)
        concept = mention.concept
        if concept in _DIAGNOSES:
            histology, stage = _DIAGNOSES[concept]
            diagnoses.append(DiagnosisFinding(evidence, histology=histology, stage=stage, negated=negated))
        elif concept in THERAPY_CONCEPTS:
            therapies.extend(
                TherapyExposure(
                    agent=agent,
                    evidence=evidence,
                    start=mention.date,
                    end=mention.end_date,
                    dose_mg=mention.dose_mg,
                    negated=negated,
                )
                for agent in mention.agents
            )
        elif concept in _ASSESSMENTS:
            kind = _ASSESSMENTS[concept]
            assessments.append(DiseaseAssessment(kind, evidence, on=mention.date, negated=negated))
        elif concept == ONCOLOGY_CONSULT:
            (no_oncologist if negated else consultations).append(evidence)
        elif concept == NO_ONCOLOGIST and positive:
            no_oncologist.append(evidence)
        elif concept == BRAIN_METASTASES and positive:
            brain.append(evidence)
    return NoteFacts(
        diagnoses=tuple(diagnoses),
        therapies=tuple(therapies),
        assessments=tuple(assessments),
        consultations=tuple(consultations),
        no_oncologist=tuple(no_oncologist),
        brain_metastases=tuple(brain),
    )
