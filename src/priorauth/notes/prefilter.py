"""Literal prefilters for regular expressions: skip a pattern whose required text is not in the note.

The note pipeline runs ~80 case-insensitive regexes over every note, and almost all of them find
nothing in a short note: Python's ``re`` cannot use a fast literal search for a pattern that starts
with ``\\b`` and ignores case, so each of them steps through the whole text. A substring test
(``"enlarging" in text``) runs at memory speed. :func:`requirement` reads, from the parsed pattern,
literal strings that every match must contain; :meth:`Requirement.may_match` tests them against the
note's :func:`fold`-ed text. A pattern that fails the test cannot match, so skipping it leaves the
matches (and their order) as they were; a pattern that passes is run as before.

The test only ever errs towards running a pattern: anything the reader does not understand (look-
arounds, classes, back references, optional parts, non-ASCII literals) adds no requirement.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

try:  # Python 3.11+: the parser behind re.compile (private, but stable since 3.11; not in typeshed).
    _sre: Any = importlib.import_module("re._constants")
    _sre_parse: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - another Python: no prefilter, every pattern runs
    _sre = None
    _sre_parse = None

#: Characters outside ASCII that ``re.IGNORECASE`` matches to an ASCII character (Unicode simple case
#: folding plus ``re``'s own fix-ups): "İ" and "ı" match "i", "ſ" matches "s", the Kelvin sign matches
#: "k". Folding maps them to that ASCII letter so that a literal found by the regex is found by ``in``
#: too. tests/notes/test_prefilter.py checks the table against ``re`` over every code point.
IGNORECASE_ASCII_EQUIVALENTS: dict[str, str] = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_FOLD_TABLE = str.maketrans(IGNORECASE_ASCII_EQUIVALENTS)


def fold(text: str) -> str:
    """``text`` lower-cased so that a case-insensitive regex match of ASCII literals is a substring of it.

    Every character that ``re.IGNORECASE`` matches to an ASCII character becomes that character in
    lower case (characters that match nothing in ASCII may become anything: the test stays a
    necessary condition). Offsets are not preserved and are never used.
    """
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD_TABLE).lower()


@dataclass(frozen=True, slots=True)
class Requirement:
    """Literals a match must contain: for each group in ``all_of``, at least one of its strings.

    Strings are ASCII and lower case (compare with :func:`fold`-ed text). No groups: no requirement.
    """

    all_of: tuple[tuple[str, ...], ...] = ()

    def may_match(self, folded: str) -> bool:
        """False only when the pattern cannot match the text whose :func:`fold` is ``folded``."""
        return all(any(literal in folded for literal in one_of) for one_of in self.all_of)


_OneOf = frozenset[str]


def _strength(one_of: AbstractSet[str]) -> tuple[int, int]:
    """Rank an alternative set: longer shortest literal first, then fewer literals."""
    return min(len(literal) for literal in one_of), -len(one_of)


def _sequence(items: Any) -> list[_OneOf]:
    """The requirements of a parsed (sub)pattern: a list of alternative sets that must all be present."""
    assert _sre is not None
    required: list[_OneOf] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            required.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _sre.LITERAL and isinstance(av, int) and av < 128:
            # Case-sensitive parts ("(?-i:PD)") fold too: a weaker, still necessary condition.
            run.append(chr(av).lower())
            continue
        flush()
        if op is _sre.SUBPATTERN:
            required.extend(_sequence(av[-1]))
        elif op is _sre.ATOMIC_GROUP:
            required.extend(_sequence(av))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            minimum, _maximum, body = av
            if minimum >= 1:
                required.extend(_sequence(body))
        elif op is _sre.BRANCH:
            branch = _branch(av[1])
            if branch is not None:
                required.append(branch)
        # Anything else (AT, IN, ANY, NOT_LITERAL, look-arounds, group references, non-ASCII
        # literals) requires nothing we can test with ``in``.
    flush()
    return required


def _branch(alternatives: list[Any]) -> _OneOf | None:
    """One alternative set for ``a|b|c``: the strongest requirement of each alternative, united."""
    united: set[str] = set()
    for alternative in alternatives:
        required = _sequence(alternative)
        if not required:
            return None
        united |= max(required, key=_strength)
    return _minimal(united)


def _minimal(literals: set[str] | _OneOf) -> _OneOf:
    """Drop a literal that contains another one of the set: finding the shorter one is implied by it."""
    return frozenset(
        literal for literal in literals if not any(other != literal and other in literal for other in literals)
    )


def requirement(pattern: re.Pattern[str]) -> Requirement:
    """The literals any match of ``pattern`` contains (an empty :class:`Requirement` when unknown)."""
    if _sre_parse is None or not isinstance(pattern.pattern, str):
        return Requirement()
    try:
        parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
        required = _sequence(list(parsed))
    except Exception:  # pragma: no cover - an unknown parser shape: run the pattern unfiltered
        return Requirement()
    # Most selective first, so that a missing literal stops the test early.
    unique = sorted(set(required), key=lambda one_of: (_strength(one_of), sorted(one_of)), reverse=True)
    return Requirement(tuple(tuple(sorted(one_of)) for one_of in unique))


class Prefilter:
    """Which of a fixed list of patterns may match a text, from one substring test per distinct literal.

    Each alternative set of each pattern's :class:`Requirement` gets a bit; each literal the mask of the
    sets it satisfies. One pass over the distinct literals gives the satisfied bits, and a pattern may
    match when all of its bits are set: a few integer operations per pattern instead of a Python-level
    test of each of its literals.
    """

    __slots__ = ("_literals", "_needs", "size")

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        """Read the requirements of ``patterns`` (in the order :meth:`may_match` reports them)."""
        masks: dict[str, int] = {}
        needs: list[int] = []
        bit = 0
        for pattern in patterns:
            need = 0
            for one_of in requirement(pattern).all_of:
                need |= 1 << bit
                for literal in one_of:
                    masks[literal] = masks.get(literal, 0) | 1 << bit
                bit += 1
            needs.append(need)
        self._literals = tuple(sorted(masks.items()))
        self._needs = tuple(needs)
        self.size = len(needs)

    def may_match(self, text: str) -> list[bool]:
        """For each pattern, False when it cannot match ``text`` (True: it may)."""
        folded = fold(text)
        found = 0
        for literal, mask in self._literals:
            if literal in folded:
                found |= mask
        return [found & need == need for need in self._needs]
