"""Character prechecks for the tokenizer's affix regexes: skip a search that cannot match.

spaCy's tokenizer calls its prefix, suffix and infix regexes on every whitespace-delimited chunk it
has not cached (and a chunk after a special case such as "):" is never cached). The regexes are
alternations of hundreds of branches with large Unicode classes, and ``re`` tries every branch at
every position: they were ~40% of the run time on an 18 kB note. Most chunks are plain words that
cannot hold an affix at all.

Every match of these patterns consumes at least one character, and :func:`consumed_class` reads,
from the parsed pattern, a character class holding every character any match can consume. So:

- a prefix match begins at 0 and consumes ``chunk[0]``: if that is not in the class, no match;
- a suffix match ends at the end (a chunk holds no newline, before which ``$`` also matches) and
  consumes ``chunk[-1]``: if that is not in the class, no match;
- an infix match consumes some character of the chunk: if none is in the class, no match.

Otherwise the original regex runs as before, so the result is the same for every string. A pattern
the reader does not fully understand (case-insensitive parts, categories, negated classes, back
references, possibly empty matches) gets no precheck.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

try:  # the parser behind re.compile (private, stable since 3.11; see priorauth.notes.prefilter)
    _sre: Any = importlib.import_module("re._constants")
    _sre_parse: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - another Python: no precheck
    _sre = None
    _sre_parse = None


class _UnknownItemError(Exception):
    """A parsed item whose consumed characters are not read here."""


def _class_items(items: Any, out: list[str]) -> None:
    """Append, as character-class text, every character ``items`` (a parsed sequence) may consume."""
    for op, av in items:
        if op is _sre.LITERAL:
            out.append(re.escape(chr(av)))
        elif op is _sre.IN:
            for in_op, in_av in av:
                if in_op is _sre.LITERAL:
                    out.append(re.escape(chr(in_av)))
                elif in_op is _sre.RANGE:
                    out.append(f"{re.escape(chr(in_av[0]))}-{re.escape(chr(in_av[1]))}")
                else:  # NEGATE, CATEGORY, ...: not read
                    raise _UnknownItemError
        elif op is _sre.AT or op is _sre.ASSERT or op is _sre.ASSERT_NOT:
            continue  # zero-width: consumes nothing (a look-around's text is not part of the match)
        elif op is _sre.SUBPATTERN:
            _group, add_flags, _del_flags, body = av
            if add_flags & re.IGNORECASE:
                raise _UnknownItemError
            _class_items(body, out)
        elif op is _sre.ATOMIC_GROUP:
            _class_items(av, out)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            _class_items(av[2], out)
        elif op is _sre.BRANCH:
            for alternative in av[1]:
                _class_items(alternative, out)
        else:  # ANY, NOT_LITERAL, GROUPREF, ...: not read
            raise _UnknownItemError


def consumed_class(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """One-character class of every character a match of ``pattern`` may consume; None when unknown.

    None also when a match may be empty (then it need not consume anything) or case is ignored.
    """
    if _sre_parse is None or not isinstance(pattern.pattern, str) or pattern.flags & re.IGNORECASE:
        return None
    try:
        parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
        if parsed.getwidth()[0] < 1 or parsed.state.flags & re.IGNORECASE:
            return None
        out: list[str] = []
        _class_items(list(parsed), out)
    except _UnknownItemError:
        return None
    except Exception:  # pragma: no cover - an unknown parser shape: no precheck
        return None
    if not out:
        return None
    return re.compile("[" + "".join(out) + "]", pattern.flags & re.UNICODE)


class AffixSearch:
    """``prefix_search``/``suffix_search``/``infix_finditer`` of a pattern, with a character precheck.

    Keeps ``pattern`` as the wrapped :class:`re.Pattern`: spaCy serialises a tokenizer's affix
    functions by reading ``function.__self__.pattern``.
    """

    __slots__ = ("_class", "pattern")

    def __init__(self, pattern: re.Pattern[str], consumed: re.Pattern[str]) -> None:
        """Wrap ``pattern``, whose matches consume only characters of ``consumed``."""
        self.pattern = pattern
        self._class = consumed

    def prefix_search(self, string: str) -> re.Match[str] | None:
        """``pattern.search(string)`` for a prefix pattern (every match consumes ``string[0]``)."""
        if string and self._class.match(string) is None:
            return None
        return self.pattern.search(string)

    def suffix_search(self, string: str) -> re.Match[str] | None:
        """``pattern.search(string)`` for a suffix pattern (every match consumes ``string[-1]``)."""
        if string and string[-1] != "\n" and self._class.match(string, len(string) - 1) is None:
            return None
        return self.pattern.search(string)

    def infix_finditer(self, string: str) -> Iterator[re.Match[str]]:
        """``pattern.finditer(string)`` (every match consumes a character of the class)."""
        if self._class.search(string) is None:
            return iter(())
        return self.pattern.finditer(string)


def _anchored(pattern: re.Pattern[str], at_start: bool) -> bool:
    """Whether every alternative of ``pattern`` is anchored at the beginning (or end) of the string."""
    anchor = _sre.AT_BEGINNING if at_start else _sre.AT_END
    try:
        parsed = list(_sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # pragma: no cover - an unknown parser shape
        return False
    if pattern.flags & re.MULTILINE:
        return False
    alternatives = parsed[0][1][1] if len(parsed) == 1 and parsed[0][0] is _sre.BRANCH else [parsed]
    for alternative in alternatives:
        items = list(alternative)
        edge = items[0] if at_start else items[-1] if items else None
        if edge is None or edge[0] is not _sre.AT or edge[1] is not anchor:
            return False
    return True


def precheck_affixes(tokenizer: Any) -> None:
    """Give a spaCy tokenizer's affix functions a character precheck (same results, fewer scans).

    Each function is replaced only when it is the bound method of a compiled pattern (as spaCy's
    ``compile_*_regex`` make them), the pattern is anchored as its role needs (``^`` for prefixes,
    ``$`` for suffixes, so that the match consumes the first or last character) and its consumed
    characters can be read; otherwise it is left as it is.
    """
    if _sre_parse is None:  # pragma: no cover - another Python
        return
    roles: tuple[tuple[str, str, bool | None], ...] = (
        ("prefix_search", "search", True),
        ("suffix_search", "search", False),
        ("infix_finditer", "finditer", None),
    )
    for attribute, method, at_start in roles:
        function: Callable[..., Any] | None = getattr(tokenizer, attribute, None)
        pattern = getattr(function, "__self__", None)
        if not isinstance(pattern, re.Pattern) or getattr(function, "__name__", None) != method:
            continue
        if at_start is not None and not _anchored(pattern, at_start):
            continue
        consumed = consumed_class(pattern)
        if consumed is None:
            continue
        setattr(tokenizer, attribute, getattr(AffixSearch(pattern, consumed), attribute))
