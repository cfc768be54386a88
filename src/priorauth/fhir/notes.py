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


def read_notes(bundle: ReceivedBundle) -> tuple[Any, ...]:
    """Run the extractor on every note of the request; returns ``NoteFacts``, one per text."""
    from priorauth.notes import extract_note, note_facts

    results = []
    for note in note_texts(bundle):
        facts = note_facts(extract_note(note.text, note.document, max(note.attachment, 0)))
        if note.written is not None:
            # A finding without a date of its own is dated by the report or note it appears in.
            facts = dataclasses.replace(
                facts,
                assessments=tuple(
                    a if a.on is not None else dataclasses.replace(a, on=note.written) for a in facts.assessments
                ),
            )
        results.append(facts)
    return tuple(results)
