"""Time ``extract_note`` of this tree against a base revision, interleaved in one process.

The machine's speed swings from minute to minute, so the two implementations run in alternating
rounds and the report gives the median per-call time of each and the median of the per-round ratios.
The base revision's ``src/priorauth/notes`` is loaded from git as a separate package
(``priorauth_base_notes``), with its own spaCy pipeline and its own sentence component name.

    PYTHONPATH=src .venv/bin/python bench/notes_speed.py [--base main] [--rounds 15]
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "notes" / "corpus"
SHORT = (
    "Progressive disease (RECIST 1.1): enlarging right upper lobe primary (3.1 -> 4.6 cm) and new and "
    "enlarging hepatic metastases."
)
BASE_PACKAGE = "priorauth_base_notes"


def load_base(ref: str, into: Path) -> Callable[..., Any]:
    """``extract_note`` of ``src/priorauth/notes`` at git revision ``ref``, imported as another package."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src/priorauth/notes"], check=True, capture_output=True
    ).stdout
    package = into / BASE_PACKAGE
    package.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py"):
                continue
            name = Path(member.name).name
            extracted = tar.extractfile(member)
            assert extracted is not None
            source = extracted.read().decode("utf-8")
            if name == "__init__.py":
                source = ""  # the public package imports engine facts; the benchmark needs extractor only
            source = source.replace("priorauth.notes", BASE_PACKAGE)
            # Its own spaCy factory names, so that the base pipeline does not pick up this tree's components.
            source = source.replace('"priorauth_', '"base_priorauth_')
            (package / name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(into))
    module = importlib.import_module(f"{BASE_PACKAGE}.extractor")
    return module.extract_note  # type: ignore[no-any-return]


def per_call(function: Callable[..., Any], text: str, calls: int) -> float:
    """Microseconds per call of ``function(text, "d")``."""
    start = time.perf_counter()
    for _ in range(calls):
        function(text, "d")
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    """Print old and new microseconds per call and their ratio for a short and the longest note."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="main", help="git revision to compare with (default: main)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    from priorauth.notes import extract_note

    longest = max(CORPUS.glob("*.txt"), key=lambda path: len(path.read_text(encoding="utf-8")))
    cases = [("short", SHORT, 400), (longest.stem, longest.read_text(encoding="utf-8"), 3)]
    with tempfile.TemporaryDirectory() as tmp:
        base = load_base(args.base, Path(tmp))
        for _name, text, _calls in cases:
            assert base(text, "d").to_dict() == extract_note(text, "d").to_dict()
            per_call(base, text, 3)
            per_call(extract_note, text, 3)
        for name, text, calls in cases:
            old: list[float] = []
            new: list[float] = []
            for _ in range(args.rounds):
                old.append(per_call(base, text, calls))
                new.append(per_call(extract_note, text, calls))
            ratio = statistics.median(o / n for o, n in zip(old, new, strict=True))
            print(
                f"{name} ({len(text)} chars): base {statistics.median(old):.0f} us, "
                f"this tree {statistics.median(new):.0f} us, speed-up x{ratio:.2f} (median of {args.rounds} rounds)"
            )


if __name__ == "__main__":
    main()
