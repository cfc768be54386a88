"""The regex prefilter: it never skips a pattern that matches, and the filtered matchers find the same matches."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from priorauth.notes.pipeline import build_pipeline
from priorauth.notes.prefilter import IGNORECASE_ASCII_EQUIVALENTS, Prefilter, fold, match_starts, requirement
from priorauth.notes.rules import CONTEXT_RULES, SECTION_RULES, TARGETS

CORPUS = Path(__file__).parent / "corpus"
SHORT = (
    "Progressive disease (RECIST 1.1): enlarging right upper lobe primary (3.1 -> 4.6 cm) and new and "
    "enlarging hepatic metastases."
)
MATCHERS = (
    ("medspacy_target_matcher", "_TargetMatcher__matcher"),
    ("medspacy_context", "_ConText__matcher"),
    ("medspacy_sectionizer", "_Sectionizer__matcher"),
)
PATTERNS = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        *(rule.pattern for rule in TARGETS),
        *(rule.pattern for rule in SECTION_RULES),
        *(rule.pattern for rule in CONTEXT_RULES if rule.pattern),
    )
]


def _texts() -> Iterator[str]:
    """Corpus notes, and variants that only a case-insensitive Unicode match sees as the same words."""
    unicode_lookalikes = str.maketrans({"s": "\u017f", "i": "\u0131", "k": "\u212a", "I": "\u0130"})
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        yield text
        yield text.upper()
        yield text.translate(unicode_lookalikes)
    yield SHORT


TEXTS = list(_texts())


def test_fold_table_covers_every_ignorecase_equivalent_of_ascii() -> None:
    """Every non-ASCII character that ``re.IGNORECASE`` matches to an ASCII character folds to it."""
    everything = "".join(chr(code) for code in range(0x80, 0x110000) if not 0xD800 <= code < 0xE000)
    equivalents = set(re.findall(r"[\x00-\x7f]", everything, re.IGNORECASE))
    for letter in string.ascii_letters:
        equivalents |= set(re.findall(re.escape(letter), everything, re.IGNORECASE))
    assert equivalents == set(IGNORECASE_ASCII_EQUIVALENTS)
    for character in equivalents:
        ascii_matches = [a for a in map(chr, range(128)) if re.fullmatch(re.escape(a), character, re.IGNORECASE)]
        assert ascii_matches
        assert {fold(a) for a in ascii_matches} == {fold(character)}


def test_requirements_are_read_from_the_patterns() -> None:
    assert requirement(re.compile(r"\b(?:carboplatin|paraplatin)\b", re.I)).all_of == (("carboplatin", "paraplatin"),)
    assert requirement(re.compile(r"(?m)^[ \t]*(?:findings[ \t]*:)", re.I)).all_of == (("findings",), (":",))
    # Optional parts, look-arounds and classes require nothing.
    assert requirement(re.compile(r"(?<=\()limited(?=\))|(?:foo)?[ab]+", re.I)).all_of == ()
    # A case-sensitive abbreviation is looked for as written.
    assert requirement(re.compile(r"\b(?-i:EP)\b", re.I)).all_of == (("EP",),)


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:40])
def test_a_pattern_that_matches_is_never_skipped(pattern: re.Pattern[str]) -> None:
    prefilter = Prefilter([pattern])
    for text in TEXTS:
        if pattern.search(text):
            assert prefilter.may_match(text) == [True], text[:80]


def _word_salad(seed: int, count: int) -> list[str]:
    """Random texts made of the patterns' own literals, fragments of them and separators (adjacent and overlapping matches)."""
    words = sorted(
        {literal for pattern in PATTERNS for one_of in requirement(pattern).all_of for literal in one_of}
        | {
            "small cell",
            "non-small cell",
            "stage",
            "disease",
            "ES-SCLC",
            "carbo/etop",
            "PD-L1",
            "EP",
            "CE",
            "ſclc",
            "İV",
        }
    )
    separators = [" ", "  ", "-", "/", "\n", ": ", ", ", "(", ")", "", ".", "\t", "[x] ", "radiation "]
    generator = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(generator.randint(1, 40)):
            word = generator.choice(words)
            parts.append(word.upper() if generator.random() < 0.2 else word)
            parts.append(generator.choice(separators))
        texts.append("".join(parts))
    return texts


RANDOM_TEXTS = _word_salad(20260225, 300)


def test_candidate_scan_finds_what_finditer_finds() -> None:
    """Patterns scanned from their start literals yield the very matches ``finditer`` yields."""
    assert sum(match_starts(pattern) is not None for pattern in PATTERNS) >= len(TARGETS) // 2
    prefilter = Prefilter(PATTERNS)
    found = 0
    for text in [*RANDOM_TEXTS, *TEXTS]:
        for pattern, finditer in zip(PATTERNS, prefilter.finditers(text), strict=True):
            expected = [found.span() for found in pattern.finditer(text)]
            assert [found.span() for found in finditer or ()] == expected, (pattern.pattern, text[:80])
            found += len(expected)
    assert found


SYNTHETIC = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:progression|gress)\w*",  # one start literal inside another, not at its start
        r"(?:ab)?cd(?:ef)+",  # an optional first group
        r"(?<!x)\b(?:yz|yzz)\b",
        r"(?m)^(?:head|he)\s*:",
        r"(?-i:AB)c+",
    )
]


def test_start_literals_of_synthetic_patterns() -> None:
    assert [match_starts(pattern) for pattern in SYNTHETIC] == [
        ("gress", "progression"),
        ("ab", "cd"),
        ("yz",),
        ("he",),
        ("ab",),
    ]
    generator = random.Random(7)
    pieces = [
        "progression",
        "gress",
        "pro",
        "ab",
        "AB",
        "cd",
        "ef",
        "yz",
        "yzz",
        "x",
        "head",
        "he",
        ":",
        " ",
        "\n",
        "c",
    ]
    prefilter = Prefilter(SYNTHETIC)
    for _ in range(500):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 30)))
        for pattern, finditer in zip(SYNTHETIC, prefilter.finditers(text), strict=True):
            assert [m.span() for m in finditer or ()] == [m.span() for m in pattern.finditer(text)], (pattern, text)


def test_prefilter_skips_most_target_patterns_on_a_short_note() -> None:
    """Not a correctness property: the reason the prefilter exists (a no-op filter would pass the others)."""
    may_match = Prefilter([re.compile(rule.pattern, re.IGNORECASE) for rule in TARGETS]).may_match(SHORT)
    assert sum(may_match) <= len(TARGETS) // 4


def _unfiltered(regex: Any, doc: Any) -> list[tuple[int, int, int]]:
    """What the regex matcher returned before the prefilter: every pattern, in order."""
    matches: list[tuple[int, int, int]] = []
    for match_id, patterns in regex._patterns.items():
        for pattern in patterns:
            for found in pattern.finditer(doc.text):
                span = doc.char_span(found.start(), found.end(), alignment_mode="expand")
                if span is not None and len(span):
                    matches.append((match_id, span.start, span.end))
    return matches


@pytest.mark.parametrize(("component", "attribute"), MATCHERS)
def test_filtered_matchers_find_the_same_matches_as_unfiltered_ones(component: str, attribute: str) -> None:
    nlp = build_pipeline()
    regex = getattr(nlp.get_pipe(component), attribute)._MedspacyMatcher__regex_matcher
    assert regex.prefilter().size == sum(len(patterns) for patterns in regex._patterns.values())
    found = 0
    for text in [*TEXTS, *RANDOM_TEXTS]:
        doc = nlp.make_doc(text)
        expected = _unfiltered(regex, doc)
        assert regex(doc) == expected
        found += len(expected)
    assert found


def test_date_shortcut_drops_no_date() -> None:
    """``find_dates`` skips texts without "/" or four digits; the full regex finds nothing in them either."""
    from priorauth.notes.dates import _DATE_RE, _parse, find_dates

    samples = ["March 14, 2025", "14 Mar 2025", "3/14/25", "03/2025", "2025-03-14", "Mar 25", "C1D8 on 3.14.25"]
    lines = [line for text in TEXTS for line in text.splitlines()]
    for text in [*samples, *lines, *RANDOM_TEXTS]:
        expected = [m.group(0) for m in _DATE_RE.finditer(text) if _parse(m) is not None]
        assert [d.text for d in find_dates(text)] == expected
