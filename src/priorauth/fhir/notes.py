"""Intake step: find the clinical text in a request and run the note extractor on it.

Runs when a request arrives, never inside the engine; the result (with the extractor version and the
rule-set hash) is what the reader folds into the facts, so a replay of stored results gives the same
evidence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

from priorauth.fhir.bundle import ReceivedBundle
from priorauth.fhir.clinical import as_dict, parse_date


@dataclass(frozen=True)
class NoteText:
    """One piece of clinical text: the resource it came from, the attachment index, the text and its date."""

    document: str
    attachment: int
    text: str
    written: date | None = None


def note_texts(bundle: ReceivedBundle) -> list[NoteText]:
    """DocumentReference attachments (plain text or base64, text or HTML) and DiagnosticReport text."""
    from priorauth.notes import AttachmentError, decode_attachment

    found: list[NoteText] = []
    for ref, res in bundle.of_type("DocumentReference", "DiagnosticReport"):
        attachments: list[Any] = []
        context = as_dict(res.get("context"))
        period = as_dict(context.get("period"))
        written = (
            parse_date(res.get("effectiveDateTime")) or parse_date(period.get("start")) or parse_date(res.get("date"))
        )
        if res["resourceType"] == "DocumentReference":
            attachments = [c.get("attachment") for c in res.get("content", []) or [] if isinstance(c, dict)]
        else:
            attachments = list(res.get("presentedForm", []) or [])
            conclusion = res.get("conclusion")
            if isinstance(conclusion, str) and conclusion.strip():
                found.append(NoteText(ref, -1, conclusion, written))
        for index, attachment in enumerate(attachments):
            if not isinstance(attachment, dict) or not attachment.get("data"):
                continue
            try:
                text = decode_attachment(str(attachment.get("contentType", "text/plain")), str(attachment["data"]))
            except AttachmentError:
                continue
            if text.strip():
                found.append(NoteText(ref, index, text, written))
    return found


@dataclass(frozen=True)
class NoteRecord:
    """One stored extraction (with the extractor version and rule-set hash) and the note's own date."""

    extraction: Any  # priorauth.notes.NoteExtraction (imported lazily: spaCy is heavy)
    written: date | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, stored with the request."""
        data: dict[str, Any] = self.extraction.to_dict()
        data["written"] = self.written.isoformat() if self.written else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoteRecord:
        """Rebuild a stored record (a replay reads this instead of re-running the extractor)."""
        from priorauth.notes.model import NoteExtraction

        return cls(NoteExtraction.from_dict(data), parse_date(data.get("written")))


def extract_notes(bundle: ReceivedBundle) -> tuple[NoteRecord, ...]:
    """The intake step: run the extractor on every note of the request."""
    from priorauth.notes import extract_note

    return tuple(
        NoteRecord(extract_note(n.text, n.document, max(n.attachment, 0)), n.written) for n in note_texts(bundle)
    )


def facts_of(record: NoteRecord) -> Any:
    """Engine facts from one stored extraction; undated findings take the note's date."""
    from priorauth.notes import note_facts

    facts = note_facts(record.extraction)
    if record.written is None:
        return facts
    return dataclasses.replace(
        facts,
        assessments=tuple(
            a if a.on is not None else dataclasses.replace(a, on=record.written) for a in facts.assessments
        ),
    )


def read_notes(bundle: ReceivedBundle) -> tuple[Any, ...]:
    """Extract and turn into facts in one go (the offline ``priorauth evaluate`` path)."""
    return tuple(facts_of(r) for r in extract_notes(bundle))
