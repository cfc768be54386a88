"""The tokenizer's affix prechecks: the same matches as the plain regexes, on every string."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from priorauth.notes.affixes import AffixSearch, consumed_class, precheck_affixes
from priorauth.notes.pipeline import build_pipeline

CORPUS = Path(__file__).parent / "corpus"


def _chunks() -> list[str]:
    """Whitespace-delimited chunks of the corpus, each suffix and prefix of them, and random strings."""
    chunks = {chunk for path in sorted(CORPUS.glob("*.txt")) for chunk in path.read_text(encoding="utf-8").split()}
    pieces = set(chunks)
    for chunk in chunks:
        pieces.update(chunk[i:] for i in range(len(chunk)))
        pieces.update(chunk[:i] for i in range(len(chunk)))
    rng = random.Random(7)
    alphabet = "aZ09.,;:-/()[]'\"+*^~<>=%$&!?_@#|\\…—–‐°²µ€😀İ\n"
    pieces.update("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(20_000))
    return sorted(pieces)


def _spans(found: object) -> object:
    if found is None:
        return None
    if isinstance(found, re.Match):
        return found.span()
    return [match.span() for match in found]  # type: ignore[attr-defined]


@pytest.mark.parametrize("attribute", ["prefix_search", "suffix_search", "infix_finditer"])
def test_prechecked_affixes_find_what_the_regexes_find(attribute: str) -> None:
    function = getattr(build_pipeline().tokenizer, attribute)
    wrapper = function.__self__
    assert isinstance(wrapper, AffixSearch)  # the precheck is in place for the real patterns
    plain = getattr(wrapper.pattern, "finditer" if attribute == "infix_finditer" else "search")
    for piece in _chunks():
        assert _spans(function(piece)) == _spans(plain(piece)), piece


def test_consumed_class_refuses_what_it_cannot_read() -> None:
    assert consumed_class(re.compile(r"a*")) is None  # may match the empty string
    assert consumed_class(re.compile(r"(?i)ab")) is None
    assert consumed_class(re.compile(r"[^a]")) is None
    assert consumed_class(re.compile(r"\w")) is None
    consumed = consumed_class(re.compile(r"(?<=[0-9])(?:km|m)$|\.\.+"))
    assert consumed is not None
    assert {c for c in "kmp.9" if consumed.match(c)} == {"k", "m", "."}


def test_precheck_keeps_functions_it_cannot_read() -> None:
    class Tokenizer:
        prefix_search = re.compile(r"x|^y").search  # not anchored in every alternative
        suffix_search = re.compile(r"x$").search
        infix_finditer = re.compile(r"\w").finditer

    tokenizer = Tokenizer()
    precheck_affixes(tokenizer)
    assert isinstance(tokenizer.prefix_search.__self__, re.Pattern)
    assert isinstance(tokenizer.suffix_search.__self__, AffixSearch)
    assert isinstance(tokenizer.infix_finditer.__self__, re.Pattern)
