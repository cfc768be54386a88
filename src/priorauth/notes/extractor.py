"""Deterministic extraction of mentions from one clinical note.

:func:`extract_note` runs the cached medspaCy pipeline over the original text (so every offset slices
it exactly), applies the guards the rules cannot express (the "non-small cell" trap, "EP"/"CE"
only in a treatment context), maps ConText modifiers to ours, scopes sections with the inline-header
fix, and attaches the nearest date, dose and cycle/day.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from priorauth.notes.dates import DateMention, find_dates, nearest_date
from priorauth.notes.model import Mention, NoteExtraction
from priorauth.notes.pipeline import run_pipeline
from priorauth.notes.rules import (
    CONTEXT_CATEGORY_TO_MODIFIER,
    EXTRACTOR_VERSION,
    FAMILY,
    HYPOTHETICAL,
    MODIFIERS,
    PARAGRAPH_SECTIONS,
    PLAN_REALISED_CUE,
    PLAN_SECTIONS,
    TARGETS,
    TARLATAMAB,
    THERAPY_CONCEPTS,
    TITLE_LINES,
    TITLE_RULES,
    ruleset_hash,
)
from priorauth.notes.sections import RawSection, SectionIndex, scope_sections

_AGENTS = {rule.rule_id: rule.agents for rule in TARGETS}
_NON_BEFORE = re.compile(r"non[\s-]*$", re.IGNORECASE)
_SMALL_CELL_CONCEPTS = frozenset({"SCLC", "SCLC_EXTENSIVE", "SCLC_LIMITED"})
_REALISED = re.compile(PLAN_REALISED_CUE, re.IGNORECASE)
_CHECKBOX = re.compile(r"\[[ xX]?\]")
_REGIMEN_ABBREVIATIONS = frozenset({"rx.ep", "rx.ce"})
_TREATMENT_CUE = re.compile(
    r"cycle|chemo|regimen|\bx\s*\d|\bC\d|carbo|cis|etop|platin|atezo|durva|treated|received|s/p|\+|plus|course",
    re.IGNORECASE,
)
_DOSE_AFTER = re.compile(r"^[^.;\n]{0,40}?\b(\d+(?:\.\d+)?)\s*mg\b", re.IGNORECASE)
_DOSE_BEFORE = re.compile(r"\b(\d+(?:\.\d+)?)\s*mg\s+(?:of\s+)?(?:IV\s+)?$", re.IGNORECASE)
_CYCLE_DAY = re.compile(r"\b(?:C(\d{1,2})\s*D(\d{1,2})|cycle\s+(\d{1,2}),?\s+day\s+(\d{1,2}))\b", re.IGNORECASE)


def _modifiers(entity: Any, section: str | None, sentence: str) -> tuple[str, ...]:
    """Our modifier names for a medspaCy entity, in canonical order.

    Section-derived: family history makes a mention ``family``; a therapy in a plan section is
    ``hypothetical`` unless its sentence says it was given or continues ("continue", "received").
    """
    categories = {str(modifier.category) for modifier in entity._.modifiers}
    found = {CONTEXT_CATEGORY_TO_MODIFIER[c] for c in categories if c in CONTEXT_CATEGORY_TO_MODIFIER}
    if section == "family_history":
        found.add(FAMILY)
    if section in PLAN_SECTIONS and entity.label_ in THERAPY_CONCEPTS and not _REALISED.search(sentence):
        found.add(HYPOTHETICAL)
    return tuple(modifier for modifier in MODIFIERS if modifier in found)


def _unchecked(text: str, start: int) -> bool:
    """Whether the mention follows an unchecked template box ("[ ] Stable disease") on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    boxes = _CHECKBOX.findall(text, line_start, start)
    return bool(boxes) and not boxes[-1].strip("[]").strip()


def _line_number(text: str, offset: int) -> int:
    """Zero-based index of the non-blank line holding ``offset``."""
    return sum(1 for line in text[:offset].split("\n")[:-1] if line.strip())


def _keep(text: str, concept: str, rule_id: str, start: int, sentence: str) -> bool:
    """Guards applied after matching: the NSCLC trap, template checkboxes, regimen abbreviations."""
    if concept in _SMALL_CELL_CONCEPTS and _NON_BEFORE.search(text[max(0, start - 6) : start]):
        return False
    if _unchecked(text, start):
        return False
    if rule_id in TITLE_RULES and _line_number(text, start) >= TITLE_LINES:
        return False
    return not (rule_id in _REGIMEN_ABBREVIATIONS and not _TREATMENT_CUE.search(sentence))


def _dose(text: str, start: int, end: int, limit: int) -> float | None:
    """A dose in mg written right after (or just before) a mention, within its sentence."""
    after = _DOSE_AFTER.match(text[end:limit])
    if after:
        return float(after.group(1))
    before = _DOSE_BEFORE.search(text[max(0, start - 20) : start])
    return float(before.group(1)) if before else None


def _cycle_day(sentence: str) -> tuple[int | None, int | None]:
    """Cycle and day ("C1D8", "cycle 2, day 15") written in the mention's sentence."""
    match = _CYCLE_DAY.search(sentence)
    if not match:
        return None, None
    cycle = match.group(1) or match.group(3)
    day = match.group(2) or match.group(4)
    return int(cycle), int(day)


def _mention(text: str, entity: Any, index: SectionIndex, dates: tuple[DateMention, ...]) -> Mention | None:
    """Build one mention from a medspaCy entity, or None when a guard drops it."""
    start, end = entity.start_char, entity.end_char
    concept = str(entity.label_)
    rule_id = str(entity._.target_rule.literal)
    sent = entity.sent
    window = (sent.start_char, sent.end_char)
    sentence = text[window[0] : window[1]]
    if not _keep(text, concept, rule_id, start, sentence):
        return None
    section = index.at(start)
    found, until = nearest_date(text, dates, start, end, window)
    dose = _dose(text, start, end, window[1]) if concept == TARLATAMAB else None
    cycle, day = _cycle_day(sentence) if concept in THERAPY_CONCEPTS else (None, None)
    return Mention(
        concept=concept,
        text=text[start:end],
        start=start,
        end=end,
        rule_id=rule_id,
        section=section,
        modifiers=_modifiers(entity, section, sentence),
        agents=_AGENTS.get(rule_id, ()),
        date=found.value if found else None,
        date_text=found.text if found else None,
        end_date=until.value if until else None,
        dose_mg=dose,
        cycle=cycle,
        day=day,
    )


def _token_end(doc: Any, token_index: int) -> int:
    """Character offset just after token ``token_index - 1`` (the end of a token span)."""
    if token_index <= 0:
        return 0
    token = doc[min(token_index, len(doc)) - 1]
    return int(token.idx) + len(token.text)


def extract_note(text: str, document: str, attachment: int = 0) -> NoteExtraction:
    """Every mention in ``text`` (plain text), with offsets into ``text`` itself."""
    doc = run_pipeline(text)
    raw = [
        RawSection(
            category=str(section.category),
            title_start=doc[section.title_start].idx,
            title_end=_token_end(doc, section.title_end),
            body_end=_token_end(doc, section.body_end),
        )
        for section in doc._.sections
        if section.category is not None
    ]
    scopes = scope_sections(text, raw, PARAGRAPH_SECTIONS)
    index = SectionIndex(scopes)
    dates = find_dates(text)
    mentions = [m for entity in doc.ents if (m := _mention(text, entity, index, dates)) is not None]
    return NoteExtraction(
        document=document,
        attachment=attachment,
        text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        text_length=len(text),
        extractor_version=EXTRACTOR_VERSION,
        ruleset_sha256=ruleset_hash(),
        mentions=tuple(sorted(mentions, key=lambda m: (m.start, m.end))),
        sections=scopes,
    )
