"""Section scopes, with the inline-header fix from market.md 3.2.

medspaCy's Sectionizer runs a section from its header to the next header. A header with text after
it on the same line ("Family history: mother with SCLC.") is an *inline* header: its scope here ends
at the end of that line, and the following lines return to the enclosing block section (the last
header that stood alone on its line), or to no section.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SectionScope:
    """A run of characters ``[start, end)`` belonging to one section category (None: no section)."""

    category: str | None
    start: int
    end: int
    inline: bool = False


@dataclass(frozen=True, slots=True)
class RawSection:
    """A section as the Sectionizer found it, in character offsets."""

    category: str
    title_start: int
    title_end: int
    body_end: int


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _paragraph_end(text: str, start: int, limit: int) -> int:
    """The end of the paragraph whose body starts at or after ``start`` (skipping leading blank lines)."""
    body = start
    while body < limit and text[body] in " \t\r\n":
        body += 1
    match = _BLANK_LINE.search(text, body, limit)
    return match.start() if match else limit


def scope_sections(
    text: str, sections: Iterable[RawSection], paragraph_sections: frozenset[str] = frozenset()
) -> tuple[SectionScope, ...]:
    """Turn header-to-header sections into scopes where inline headers cover one line only.

    A block header (alone on its line) of a category in ``paragraph_sections`` covers one paragraph:
    such sections (family history, allergies...) are short, and a missed header after them must not
    extend them over the rest of the note.
    """
    scopes: list[SectionScope] = []
    block: str | None = None
    for section in sorted(sections, key=lambda s: s.title_start):
        line_end = text.find("\n", section.title_end)
        if line_end == -1:
            line_end = len(text)
        inline = bool(text[section.title_end : line_end].strip())
        if inline and line_end < section.body_end:
            scopes.append(SectionScope(section.category, section.title_start, line_end, inline=True))
            scopes.append(SectionScope(block, line_end, section.body_end))
        elif not inline and section.category in paragraph_sections:
            end = _paragraph_end(text, section.title_end, section.body_end)
            scopes.append(SectionScope(section.category, section.title_start, end))
            if end < section.body_end:
                scopes.append(SectionScope(None, end, section.body_end))
            block = None
        else:
            scope = SectionScope(section.category, section.title_start, section.body_end, inline=inline)
            scopes.append(scope)
            if not inline:
                block = section.category
    return tuple(scopes)


class SectionIndex:
    """Look up the section of a character offset."""

    def __init__(self, scopes: tuple[SectionScope, ...]) -> None:
        """Index scopes by their start offsets."""
        self._scopes = scopes
        self._starts = [scope.start for scope in scopes]

    def at(self, offset: int) -> str | None:
        """The section category covering ``offset``, or None."""
        index = bisect_right(self._starts, offset) - 1
        if index < 0:
            return None
        scope = self._scopes[index]
        return scope.category if scope.start <= offset < scope.end else None
