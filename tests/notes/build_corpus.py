"""Build the gold corpus from hand-annotated sources.

Each ``corpus/annotated/NAME.ann`` is a note with its gold labels inline, written by hand:
``[[span text|CONCEPT]]`` or ``[[span text|CONCEPT|modifier,modifier]]``. This script only strips the
markup and computes offsets; it writes ``corpus/NAME.txt`` (the note) and ``corpus/NAME.json`` (the
labels: concept, start, end, text, modifiers). Run it after editing an ``.ann`` file:

    .venv/bin/python tests/notes/build_corpus.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"
MARKUP = re.compile(r"\[\[([^|\]]+)\|([A-Z_]+)(?:\|([a-z_,]+))?\]\]")


def parse(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Strip the markup: the plain note and its labels with offsets into it."""
    parts: list[str] = []
    labels: list[dict[str, Any]] = []
    position = 0
    length = 0
    for match in MARKUP.finditer(source):
        before = source[position : match.start()]
        parts.append(before)
        length += len(before)
        span, concept, modifiers = match.group(1), match.group(2), match.group(3)
        labels.append(
            {
                "concept": concept,
                "start": length,
                "end": length + len(span),
                "text": span,
                "modifiers": sorted(modifiers.split(",")) if modifiers else [],
            }
        )
        parts.append(span)
        length += len(span)
        position = match.end()
    parts.append(source[position:])
    text = "".join(parts)
    if "[[" in text or "]]" in text:
        raise ValueError("unbalanced markup")
    return text, labels


def build(name: str, source: str) -> tuple[str, dict[str, Any]]:
    """The note text and its sidecar document."""
    text, labels = parse(source)
    for label in labels:
        assert text[label["start"] : label["end"]] == label["text"]
    return text, {"document": f"DocumentReference/{name}", "mentions": labels}


def main() -> None:
    """Rebuild every note and sidecar."""
    for path in sorted((CORPUS / "annotated").glob("*.ann")):
        text, gold = build(path.stem, path.read_text(encoding="utf-8"))
        (CORPUS / f"{path.stem}.txt").write_text(text, encoding="utf-8")
        (CORPUS / f"{path.stem}.json").write_text(json.dumps(gold, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
