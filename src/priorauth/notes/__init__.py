"""Deterministic clinical-note extraction with spans (medspaCy rules on a blank English pipeline).

Public API:

- :func:`extract_note` (text, document id, attachment index) -> :class:`NoteExtraction`
- :func:`note_facts` (extraction) -> :class:`NoteFacts` (engine facts with note-span evidence)
- :func:`decode_attachment` (content type, base64 data) -> plain text
- :data:`EXTRACTOR_VERSION` and :func:`ruleset_hash`, stored with every extraction
"""

from __future__ import annotations

from priorauth.notes.attachments import AttachmentError, decode_attachment
from priorauth.notes.extractor import extract_note
from priorauth.notes.facts import NoteFacts, evidence_of, note_facts
from priorauth.notes.model import Mention, NoteExtraction
from priorauth.notes.rules import EXTRACTOR_VERSION, ruleset_hash

__all__ = [
    "EXTRACTOR_VERSION",
    "AttachmentError",
    "Mention",
    "NoteExtraction",
    "NoteFacts",
    "decode_attachment",
    "evidence_of",
    "extract_note",
    "note_facts",
    "ruleset_hash",
]
