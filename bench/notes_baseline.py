"""Dump ``extract_note(...).to_dict()`` for every note text we can find, to compare implementations.

Sources: the gold corpus (``tests/notes/corpus/*.txt``), ``tests/note_samples.NOTE``, and the notes in
every bundle under ``../shared/fixtures`` (examples and davinci), read with ``read_bundle`` and
``note_texts``. Each text is also run in variations: upper-cased, lower-cased, with doubled line
breaks, with line breaks turned to spaces, its two halves and each line alone. The output is a JSON list of
``{"source", "variant", "extraction"}``; two runs are compared byte for byte.

    PYTHONPATH=src .venv/bin/python bench/notes_baseline.py /tmp/notes-baseline.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
#: The typical short note on the $submit hot path.
SHORT = (
    "Progressive disease (RECIST 1.1): enlarging right upper lobe primary (3.1 -> 4.6 cm) and new and "
    "enlarging hepatic metastases."
)


def note_sources() -> Iterator[tuple[str, str]]:
    """(name, text) for every note text in the corpus, the test samples and the shared fixtures."""
    from priorauth.fhir.bundle import BundleError, read_bundle
    from priorauth.fhir.notes import note_texts

    for path in sorted((ROOT / "tests" / "notes" / "corpus").glob("*.txt")):
        yield f"corpus/{path.name}", path.read_text(encoding="utf-8")
    sys.path.insert(0, str(ROOT / "tests"))
    import note_samples

    yield "note_samples.NOTE", note_samples.NOTE
    yield "short", SHORT
    for path in sorted(FIXTURES.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            bundle = read_bundle(data)
        except (BundleError, ValueError, UnicodeDecodeError):
            continue
        for note in note_texts(bundle):
            yield f"{path.relative_to(FIXTURES)}#{note.document}/{note.attachment}", note.text


def variants(text: str) -> Iterator[tuple[str, str]]:
    """The text and variations of it that exercise case, line breaks and truncation."""
    yield "original", text
    yield "upper", text.upper()
    yield "lower", text.lower()
    yield "double_breaks", text.replace("\n", "\n\n")
    yield "no_breaks", text.replace("\n", " ")
    yield "crlf", text.replace("\n", "\r\n")
    half = len(text) // 2
    yield "first_half", text[:half]
    yield "second_half", text[half:]
    # Every line on its own: many short notes, like the ones on the $submit hot path.
    for number, line in enumerate(text.splitlines()):
        if line.strip():
            yield f"line{number}", line


def main() -> None:
    """Write the outputs as JSON."""
    from priorauth.notes import extract_note

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    results = []
    seen: set[str] = set()
    for source, text in note_sources():
        for variant, varied in variants(text):
            if varied in seen:
                continue
            seen.add(varied)
            extraction = extract_note(varied, source, 0)
            results.append({"source": source, "variant": variant, "extraction": extraction.to_dict()})
    args.output.write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")
    mentions = sum(len(r["extraction"]["mentions"]) for r in results)  # type: ignore[arg-type]
    print(f"{len(results)} texts, {mentions} mentions -> {args.output}")


if __name__ == "__main__":
    main()
