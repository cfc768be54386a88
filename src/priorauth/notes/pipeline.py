"""The medspaCy pipeline, built once per process and reused.

``spacy.blank("en")`` with medspaCy's clinical tokenizer, our own line-aware sentence splitter (PyRuSH
costs ~0.5 s on an 18 kB note, market.md 3.2), medspaCy's TargetMatcher, ConText and Sectionizer,
all loaded from :mod:`priorauth.notes.rules`. Nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from priorauth.notes.rules import CONTEXT_RULES, SECTION_RULES, TARGETS

SENTENCE_COMPONENT = "priorauth_line_sentences"

_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "vs", "e.g", "i.e", "approx", "no", "st", "pt", "etc"})
_SENT_END = frozenset({".", "!", "?"})


def _is_sentence_start(prev_text: str, prev_prev_text: str, prev_ws: str, text: str) -> bool:
    """Decide whether a token starts a sentence, from the previous token and the whitespace between them."""
    if "\n" in prev_ws or "\n" in prev_text:
        if "\n\n" in prev_ws or "\n" in prev_text:
            return True
        # A single line break continues the sentence only when a lowercase word is wrapped.
        return not (prev_text[-1:].isalpha() and prev_text[-1:].islower() and text[:1].islower())
    if prev_text in _SENT_END and prev_ws:
        if prev_text == "." and prev_prev_text.lower() in _ABBREVIATIONS:
            return False
        return bool(text[:1].isupper() or text[:1].isdigit() or not text[:1].isalpha())
    return False


def _register_sentence_component() -> None:
    """Register the line-aware sentence splitter as a spaCy component (idempotent)."""
    from spacy.language import Language
    from spacy.tokens import Doc

    if SENTENCE_COMPONENT in Language.factories:
        return

    @Language.component(SENTENCE_COMPONENT)
    def line_sentences(doc: Doc) -> Doc:
        for index, token in enumerate(doc):
            if index == 0:
                token.is_sent_start = True
                continue
            prev = doc[index - 1]
            prev_prev = doc[index - 2].text if index > 1 else ""
            token.is_sent_start = _is_sentence_start(prev.text, prev_prev, prev.whitespace_, token.text)
        return doc


@lru_cache(maxsize=1)
def build_pipeline() -> Any:
    """Build the spaCy ``Language`` with our rules; cached, so every call returns the same object."""
    import spacy
    from medspacy.context import ConTextRule
    from medspacy.custom_tokenizer import create_medspacy_tokenizer
    from medspacy.section_detection import SectionRule
    from medspacy.target_matcher import TargetRule

    _silence_loguru()
    _register_sentence_component()
    nlp = spacy.blank("en")
    nlp.tokenizer = create_medspacy_tokenizer(nlp)
    nlp.add_pipe(SENTENCE_COMPONENT)
    matcher: Any = nlp.add_pipe("medspacy_target_matcher")
    matcher.add(
        [
            TargetRule(rule.rule_id, rule.concept, pattern=rule.pattern, metadata={"rule_id": rule.rule_id})
            for rule in TARGETS
        ]
    )
    context: Any = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(
        [
            ConTextRule(
                rule.literal,
                rule.category,
                pattern=rule.pattern,
                direction=rule.direction,
                allowed_types=set(rule.allowed_types) if rule.allowed_types else None,
                max_scope=rule.max_scope,
            )
            for rule in CONTEXT_RULES
        ]
    )
    sectionizer: Any = nlp.add_pipe(
        "medspacy_sectionizer",
        config={"rules": None, "require_start_line": True, "span_attrs": None},
    )
    sectionizer.add([SectionRule(rule.pattern, rule.category, pattern=rule.pattern) for rule in SECTION_RULES])
    return nlp


def _silence_loguru() -> None:
    """PyRuSH (imported by medspaCy) logs every sentence at DEBUG through loguru; keep warnings only."""
    try:
        import sys

        from loguru import logger

        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    except ImportError:  # pragma: no cover - loguru ships with medspaCy
        return
