"""The extractor's output: mentions with spans, modifiers, section and nearby date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from priorauth.notes.rules import BLOCKING_MODIFIERS, section_eligible
from priorauth.notes.sections import SectionScope


@dataclass(frozen=True, slots=True)
class Mention:
    """One matched concept: ``text == note[start:end]`` in the original note text."""

    concept: str
    text: str
    start: int
    end: int
    rule_id: str
    section: str | None
    modifiers: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    date: dt.date | None = None
    date_text: str | None = None
    end_date: dt.date | None = None
    dose_mg: float | None = None
    cycle: int | None = None
    day: int | None = None

    @property
    def blocked(self) -> bool:
        """Whether a blocking modifier applies (negated, hypothetical, family, uncertain, other indication)."""
        return any(modifier in BLOCKING_MODIFIERS for modifier in self.modifiers)

    @property
    def eligible(self) -> bool:
        """Whether the section allows this concept to support "met"."""
        return section_eligible(self.section, self.concept)

    @property
    def supports_met(self) -> bool:
        """Unmodified (historical allowed) and in an eligible section."""
        return self.eligible and not self.blocked

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mention:
        """The inverse of :meth:`to_dict` (stored extractions are replayed, not re-run)."""
        return cls(
            concept=str(data["concept"]),
            text=str(data["text"]),
            start=int(data["start"]),
            end=int(data["end"]),
            rule_id=str(data["rule_id"]),
            section=data.get("section"),
            modifiers=tuple(data.get("modifiers") or ()),
            agents=tuple(data.get("agents") or ()),
            date=dt.date.fromisoformat(data["date"]) if data.get("date") else None,
            date_text=data.get("date_text"),
            end_date=dt.date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
            dose_mg=float(data["dose_mg"]) if data.get("dose_mg") is not None else None,
            cycle=data.get("cycle"),
            day=data.get("day"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "concept": self.concept,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "rule_id": self.rule_id,
            "section": self.section,
            "modifiers": list(self.modifiers),
            "agents": list(self.agents),
            "date": self.date.isoformat() if self.date else None,
            "date_text": self.date_text,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "dose_mg": self.dose_mg,
            "cycle": self.cycle,
            "day": self.day,
        }


@dataclass(frozen=True, slots=True)
class NoteExtraction:
    """Every mention in one note, with what is needed to reproduce it."""

    document: str
    attachment: int
    text_sha256: str
    text_length: int
    extractor_version: str
    ruleset_sha256: str
    mentions: tuple[Mention, ...]
    sections: tuple[SectionScope, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoteExtraction:
        """The inverse of :meth:`to_dict`."""
        return cls(
            document=str(data["document"]),
            attachment=int(data["attachment"]),
            text_sha256=str(data["text_sha256"]),
            text_length=int(data["text_length"]),
            extractor_version=str(data["extractor_version"]),
            ruleset_sha256=str(data["ruleset_sha256"]),
            mentions=tuple(Mention.from_dict(m) for m in data.get("mentions") or ()),
            sections=tuple(
                SectionScope(category=s["category"], start=s["start"], end=s["end"], inline=s["inline"])
                for s in data.get("sections") or ()
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for storing with the request."""
        return {
            "document": self.document,
            "attachment": self.attachment,
            "text_sha256": self.text_sha256,
            "text_length": self.text_length,
            "extractor_version": self.extractor_version,
            "ruleset_sha256": self.ruleset_sha256,
            "mentions": [mention.to_dict() for mention in self.mentions],
            "sections": [
                {"category": scope.category, "start": scope.start, "end": scope.end, "inline": scope.inline}
                for scope in self.sections
            ],
        }
