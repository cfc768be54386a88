"""Evidence: what a criterion's status rests on.

Three kinds come from the request (a FHIR resource element, a DTR questionnaire answer, a quoted span
of a clinical note) and one from our own records (an earlier authorization). All are immutable and
JSON-serialisable via :func:`evidence_to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class ResourceEvidence:
    """An element of a FHIR resource in the request, located by reference and FHIRPath."""

    reference: str
    path: str
    value: str
    kind: Literal["resource"] = "resource"


@dataclass(frozen=True, slots=True)
class AnswerEvidence:
    """A DTR QuestionnaireResponse answer; ``origin`` is its information-origin source (auto/manual/override)."""

    questionnaire_response: str
    link_id: str
    value: str
    origin: str | None = None
    author: str | None = None
    kind: Literal["answer"] = "answer"


@dataclass(frozen=True, slots=True)
class NoteSpanEvidence:
    """A quoted span of a clinical note: document, attachment index, character offsets and modifiers."""

    document: str
    start: int
    end: int
    text: str
    concept: str
    rule_id: str
    attachment: int = 0
    section: str | None = None
    modifiers: tuple[str, ...] = field(default_factory=tuple)
    kind: Literal["note"] = "note"


@dataclass(frozen=True, slots=True)
class AuthorizationEvidence:
    """An earlier authorization of ours for the same member and drug."""

    number: str
    start: str
    end: str
    kind: Literal["authorization"] = "authorization"


Evidence = ResourceEvidence | AnswerEvidence | NoteSpanEvidence | AuthorizationEvidence


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    """Serialise one piece of evidence to plain JSON types (flat values: no deep copy needed)."""
    data = {name: getattr(evidence, name) for name in evidence.__slots__}
    if isinstance(evidence, NoteSpanEvidence):
        data["modifiers"] = list(evidence.modifiers)
    return data


def describe(evidence: Evidence) -> str:
    """A one-line human description, for tables and letters."""
    if isinstance(evidence, ResourceEvidence):
        return f"{evidence.reference} {evidence.path} = {evidence.value}"
    if isinstance(evidence, AnswerEvidence):
        origin = f" ({evidence.origin})" if evidence.origin else ""
        return f"{evidence.questionnaire_response} answer {evidence.link_id} = {evidence.value}{origin}"
    if isinstance(evidence, NoteSpanEvidence):
        return f'{evidence.document} [{evidence.start}:{evidence.end}] "{evidence.text}"'
    return f"authorization {evidence.number} ({evidence.start} to {evidence.end})"
