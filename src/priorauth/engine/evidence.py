"""Evidence: what a criterion's status rests on.

Three kinds come from the request (a FHIR resource element, a DTR questionnaire answer, a quoted span
of a clinical note) and one from our own records (an earlier authorization). All are immutable and
JSON-serialisable via :func:`evidence_to_dict`.
"""

from __future__ import annotations

from collections.abc import Callable
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
    write = _WRITERS.get(type(evidence))
    if write is not None:
        return write(evidence)
    data = {name: getattr(evidence, name) for name in evidence.__slots__}
    if isinstance(evidence, NoteSpanEvidence):
        data["modifiers"] = list(evidence.modifiers)
    return data


# One literal per kind, keys in field order: several times faster than reading ``__slots__`` with
# getattr, and a trace holds dozens of pieces. tests/engine/test_serialisation.py holds each writer
# to the class's fields, so a new field cannot be silently dropped.
def _resource_dict(e: Any) -> dict[str, Any]:
    return {"reference": e.reference, "path": e.path, "value": e.value, "kind": e.kind}


def _answer_dict(e: Any) -> dict[str, Any]:
    return {
        "questionnaire_response": e.questionnaire_response,
        "link_id": e.link_id,
        "value": e.value,
        "origin": e.origin,
        "author": e.author,
        "kind": e.kind,
    }


def _note_dict(e: Any) -> dict[str, Any]:
    return {
        "document": e.document,
        "start": e.start,
        "end": e.end,
        "text": e.text,
        "concept": e.concept,
        "rule_id": e.rule_id,
        "attachment": e.attachment,
        "section": e.section,
        "modifiers": list(e.modifiers),
        "kind": e.kind,
    }


def _authorization_dict(e: Any) -> dict[str, Any]:
    return {"number": e.number, "start": e.start, "end": e.end, "kind": e.kind}


_WRITERS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    ResourceEvidence: _resource_dict,
    AnswerEvidence: _answer_dict,
    NoteSpanEvidence: _note_dict,
    AuthorizationEvidence: _authorization_dict,
}


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
