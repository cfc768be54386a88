"""Literal prefilters for regular expressions: skip a pattern whose required text is not in the note.

The note pipeline runs ~80 case-insensitive regexes over every note, and almost all of them find
nothing in a short note: Python's ``re`` cannot use a fast literal search for a pattern that starts
with ``\\b`` and ignores case, so each of them steps through the whole text. A substring test
(``"enlarging" in text``) runs at memory speed. :func:`requirement` reads, from the parsed pattern,
literal strings that every match must contain; :class:`Prefilter` tests them against the note's
:func:`fold`-ed text. A pattern that fails the test cannot match, so skipping it leaves the
matches (and their order) as they were; a pattern that passes is run as before.

The test only ever errs towards running a pattern: anything the reader does not understand (look-
arounds, classes, back references, optional parts, non-ASCII literals) adds no requirement.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
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

    A literal with an upper-case letter comes from a case-sensitive part of the pattern
    (``(?-i:PD)``) and is looked for, as it is, in the text; any other literal is lower case and is
    looked for in the :func:`fold`-ed text. No groups: no requirement.
    """

    all_of: tuple[tuple[str, ...], ...] = ()


_OneOf = frozenset[str]
#: How many alternative sets a branch ``a|b|c`` contributes (see :func:`_branch`).
_BRANCH_SETS = 3


def _strength(one_of: AbstractSet[str]) -> tuple[int, int]:
    """Rank an alternative set: longer shortest literal first, then fewer literals."""
    return min(len(literal) for literal in one_of), -len(one_of)


def _sequence(items: Any, ignore_case: bool) -> list[_OneOf]:
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
            run.append(chr(av).lower() if ignore_case else chr(av))
            continue
        flush()
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            flags = (re.IGNORECASE if ignore_case else 0) | add_flags
            required.extend(_sequence(body, bool(flags & ~del_flags & re.IGNORECASE)))
        elif op is _sre.ATOMIC_GROUP:
            required.extend(_sequence(av, ignore_case))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            minimum, _maximum, body = av
            if minimum >= 1:
                required.extend(_sequence(body, ignore_case))
        elif op is _sre.BRANCH:
            required.extend(_branch(av[1], ignore_case))
        # Anything else (AT, IN, ANY, NOT_LITERAL, look-arounds, group references, non-ASCII
        # literals) requires nothing we can test with ``in``.
    flush()
    return required


def _branch(alternatives: list[Any], ignore_case: bool) -> list[_OneOf]:
    """Alternative sets for ``a|b|c``: each unites one requirement of every alternative.

    A match satisfies every requirement of the alternative it took, so any choice of one requirement
    per alternative gives a valid set. The first set unites the strongest of each, the next the
    second strongest (or the last one an alternative has), and so on; an alternative that requires
    nothing makes the whole branch require nothing.
    """
    ranked: list[list[_OneOf]] = []
    for alternative in alternatives:
        required = _sequence(alternative, ignore_case)
        if not required:
            return []
        ranked.append(sorted(required, key=lambda one_of: (_strength(one_of), sorted(one_of)), reverse=True))
    depth = min(_BRANCH_SETS, max(len(required) for required in ranked))
    return [_minimal(set().union(*(required[min(k, len(required) - 1)] for required in ranked))) for k in range(depth)]


def _minimal(literals: AbstractSet[str]) -> _OneOf:
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
        required = _sequence(list(parsed), bool(parsed.state.flags & re.IGNORECASE))
    except Exception:  # pragma: no cover - an unknown parser shape: run the pattern unfiltered
        return Requirement()
    # Most selective first, so that a missing literal stops the test early.
    unique = sorted(set(required), key=lambda one_of: (_strength(one_of), sorted(one_of)), reverse=True)
    return Requirement(tuple(tuple(sorted(one_of)) for one_of in unique))


def _zero_width(op: Any) -> bool:
    """Whether a parsed item never consumes text (``\\b``, ``^``, look-arounds)."""
    return op is _sre.AT or op is _sre.ASSERT or op is _sre.ASSERT_NOT


def _starts(items: list[Any]) -> frozenset[str] | None:
    """Literals one of which every match of ``items`` begins with (lower case), or None when unknown.

    None also when the items may match the empty string: then a match need not begin with anything.
    """
    index = 0
    while index < len(items) and _zero_width(items[index][0]):
        index += 1
    if index == len(items):
        return None
    op, av = items[index]
    if op is _sre.LITERAL:
        run = []
        while index < len(items) and items[index][0] is _sre.LITERAL and items[index][1] < 128:
            run.append(chr(items[index][1]).lower())
            index += 1
        return frozenset({"".join(run)}) if run else None
    if op is _sre.SUBPATTERN:
        return _starts(list(av[-1]))
    if op is _sre.ATOMIC_GROUP:
        return _starts(list(av))
    if op is _sre.BRANCH:
        united: set[str] = set()
        for alternative in av[1]:
            starts = _starts(list(alternative))
            if starts is None:
                return None
            united |= starts
        return frozenset(united)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        minimum, _maximum, body = av
        starts = _starts(list(body))
        if starts is None or minimum >= 1:
            return starts
        # An optional first item: a match begins with it or with what follows it.
        rest = _starts(items[index + 1 :])
        return None if rest is None else starts | rest
    return None


def match_starts(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lower-case literals one of which every match of ``pattern`` begins with; None when unknown.

    Only literals of two or more characters are given: a pattern that may begin with a single
    character (``[ \\t]*`` before a header) is scanned by ``re`` as it is.
    """
    if _sre_parse is None or not isinstance(pattern.pattern, str):
        return None
    try:
        starts = _starts(list(_sre_parse.parse(pattern.pattern, pattern.flags)))
    except Exception:  # pragma: no cover - an unknown parser shape: scan the whole text
        return None
    if not starts or min(len(literal) for literal in starts) < 2:
        return None
    # A literal that begins with another one is implied by it (a mere substring is not: it is elsewhere).
    return tuple(
        sorted(literal for literal in starts if not any(o != literal and literal.startswith(o) for o in starts))
    )


def _finditer_from_starts(
    pattern: re.Pattern[str], text: str, folded: str, starts: tuple[str, ...]
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, trying ``pattern.match`` only where one of ``starts`` begins.

    ``re`` tries every position of the text; a position where no match can begin is skipped here.
    ``pattern.match(text, pos)`` sees the text before ``pos`` (for ``\\b`` and look-behinds) just as
    the scan does, and ``finditer`` goes on from the end of each (non-empty) match, as here.
    """
    following = [folded.find(literal) for literal in starts]
    position = 0
    while True:
        candidate = -1
        for index, at in enumerate(following):
            if 0 <= at < position:
                at = following[index] = folded.find(starts[index], position)
            if at >= 0 and (candidate < 0 or at < candidate):
                candidate = at
        if candidate < 0:
            return
        found = pattern.match(text, candidate)
        if found is None:
            position = candidate + 1
            continue
        yield found
        position = max(found.end(), candidate + 1)


class Prefilter:
    """Which of a fixed list of patterns may match a text, from one substring test per distinct literal.

    Each alternative set of each pattern's :class:`Requirement` gets a bit; each literal the mask of the
    sets it satisfies. One pass over the distinct literals gives the satisfied bits, and a pattern may
    match when all of its bits are set: a few integer operations per pattern instead of a Python-level
    test of each of its literals.
    """

    __slots__ = ("_literals", "_needs", "_patterns", "_starts", "size")

    _literals: tuple[tuple[str, bool, int], ...]

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        """Read the requirements of ``patterns`` (in the order :meth:`finditers` reports them)."""
        self._patterns = tuple(patterns)
        self._starts = tuple(match_starts(pattern) for pattern in patterns)
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
        # (literal, whether it is looked for as written, mask): see Requirement.
        self._literals = tuple((literal, literal != literal.lower(), mask) for literal, mask in sorted(masks.items()))
        self._needs = tuple(needs)
        self.size = len(needs)

    def may_match(self, text: str) -> list[bool]:
        """For each pattern, False when it cannot match ``text`` (True: it may)."""
        folded = fold(text)
        found = 0
        for literal, exact, mask in self._literals:
            if literal in (text if exact else folded):
                found |= mask
        return [found & need == need for need in self._needs]

    def finditers(self, text: str) -> list[Iterator[re.Match[str]] | None]:
        """For each pattern, None when it cannot match ``text``, else what ``pattern.finditer(text)`` yields.

        A pattern whose matches begin with known literals is only tried where one of them is.
        """
        folded = fold(text)
        found = 0
        for literal, exact, mask in self._literals:
            if literal in (text if exact else folded):
                found |= mask
        # Fold keeps offsets unless a character lower-cases to several (only U+0130, mapped before).
        aligned = len(folded) == len(text)
        return [
            None
            if found & need != need
            else (
                _finditer_from_starts(pattern, text, folded, starts)
                if starts is not None and aligned
                else pattern.finditer(text)
            )
            for pattern, starts, need in zip(self._patterns, self._starts, self._needs, strict=True)
        ]
