"""Benchmark the note extractor on the hand-labelled gold corpus in ``tests/notes/corpus``.

Prints precision and recall per concept and overall, for all mentions and separately for the
mentions that would support "met" (no blocking modifier, eligible section); the time per note for
the ~10 kB and ~18 kB notes (median over repeats, after a warm-up); and memory (process RSS after the
pipeline is loaded, and the tracemalloc peak while extracting the 18 kB note).

A predicted mention matches a gold one when the concept is the same and the spans overlap (one to
one). ``--strict`` requires identical offsets instead. ``--errors`` lists every disagreement.

    .venv/bin/python bench/notes.py [--repeats 20] [--strict] [--errors]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from priorauth.notes import EXTRACTOR_VERSION, Mention, extract_note, ruleset_hash  # noqa: E402
from priorauth.notes.pipeline import build_pipeline  # noqa: E402
from priorauth.notes.rules import BLOCKING_MODIFIERS, CONCEPTS  # noqa: E402

CORPUS = ROOT / "tests" / "notes" / "corpus"
LONG_NOTES = ("n43_long_consult_10k", "n44_long_discharge_18k")


@dataclass(frozen=True)
class Gold:
    """One gold label."""

    concept: str
    start: int
    end: int
    text: str
    modifiers: tuple[str, ...]

    @property
    def supports_met(self) -> bool:
        """No blocking modifier."""
        return not any(m in BLOCKING_MODIFIERS for m in self.modifiers)


@dataclass(frozen=True)
class Note:
    """A corpus note with its gold labels."""

    name: str
    text: str
    gold: tuple[Gold, ...]


def load_corpus(corpus: Path = CORPUS) -> list[Note]:
    """Every note and its sidecar."""
    notes = []
    for path in sorted(corpus.glob("*.txt")):
        data = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        gold = tuple(
            Gold(m["concept"], m["start"], m["end"], m["text"], tuple(m["modifiers"])) for m in data["mentions"]
        )
        notes.append(Note(path.stem, path.read_text(encoding="utf-8"), gold))
    return notes


Span = tuple[str, int, int]


def _overlap(a: Span, b: Span, strict: bool) -> bool:
    if a[0] != b[0]:
        return False
    if strict:
        return a[1] == b[1] and a[2] == b[2]
    return a[1] < b[2] and b[1] < a[2]


def match(predicted: Sequence[Span], gold: Sequence[Span], strict: bool) -> list[tuple[int, int]]:
    """One-to-one pairs (predicted index, gold index), greedy in text order."""
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for i, p in enumerate(predicted):
        for j, g in enumerate(gold):
            if j not in used and _overlap(p, g, strict):
                pairs.append((i, j))
                used.add(j)
                break
    return pairs


@dataclass
class Tally:
    """True positives, false positives and false negatives per concept."""

    tp: Counter[str]
    fp: Counter[str]
    fn: Counter[str]

    @classmethod
    def empty(cls) -> Tally:
        return cls(Counter(), Counter(), Counter())

    def add(self, predicted: Sequence[Span], gold: Sequence[Span], strict: bool) -> list[tuple[int, int]]:
        pairs = match(predicted, gold, strict)
        matched_p = {i for i, _ in pairs}
        matched_g = {j for _, j in pairs}
        for i, p in enumerate(predicted):
            (self.tp if i in matched_p else self.fp)[p[0]] += 1
        for j, g in enumerate(gold):
            if j not in matched_g:
                self.fn[g[0]] += 1
        return pairs

    def scores(self, concept: str | None = None) -> tuple[int, int, int, float, float]:
        if concept is None:
            tp, fp, fn = sum(self.tp.values()), sum(self.fp.values()), sum(self.fn.values())
        else:
            tp, fp, fn = self.tp[concept], self.fp[concept], self.fn[concept]
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        return tp, fp, fn, precision, recall


@dataclass
class Evaluation:
    """The corpus evaluation."""

    all_mentions: Tally
    met: Tally
    blocking_agree: int
    blocking_total: int
    errors: list[str]


def _spans_mentions(mentions: Sequence[Mention]) -> list[Span]:
    return [(m.concept, m.start, m.end) for m in mentions]


def _spans_gold(gold: Sequence[Gold]) -> list[Span]:
    return [(g.concept, g.start, g.end) for g in gold]


def evaluate(notes: Sequence[Note], strict: bool = False) -> Evaluation:
    """Score the extractor against the gold labels."""
    all_tally, met_tally = Tally.empty(), Tally.empty()
    agree = total = 0
    errors: list[str] = []
    for note in notes:
        extraction = extract_note(note.text, f"DocumentReference/{note.name}")
        predicted = list(extraction.mentions)
        pairs = all_tally.add(_spans_mentions(predicted), _spans_gold(note.gold), strict)
        for i, j in pairs:
            total += 1
            if predicted[i].supports_met == note.gold[j].supports_met:
                agree += 1
            else:
                p, g = predicted[i], note.gold[j]
                errors.append(
                    f"{note.name}: MODIFIER {g.concept} {g.text!r}@{g.start} gold={list(g.modifiers)} "
                    f"pred={list(p.modifiers)} section={p.section}"
                )
        met_pred = [m for m in predicted if m.supports_met]
        met_gold = [g for g in note.gold if g.supports_met]
        met_pairs = met_tally.add(_spans_mentions(met_pred), _spans_gold(met_gold), strict)
        mp = {i for i, _ in met_pairs}
        mg = {j for _, j in met_pairs}
        errors += [
            f"{note.name}: MET-FP {m.concept} {m.text!r}@{m.start} mods={list(m.modifiers)} section={m.section}"
            for i, m in enumerate(met_pred)
            if i not in mp
        ]
        errors += [
            f"{note.name}: MET-FN {g.concept} {g.text!r}@{g.start}" for j, g in enumerate(met_gold) if j not in mg
        ]
        matched_all_p = {i for i, _ in pairs}
        matched_all_g = {j for _, j in pairs}
        errors += [
            f"{note.name}: FP {m.concept} {m.text!r}@{m.start} mods={list(m.modifiers)}"
            for i, m in enumerate(predicted)
            if i not in matched_all_p
        ]
        errors += [
            f"{note.name}: FN {g.concept} {g.text!r}@{g.start} mods={list(g.modifiers)}"
            for j, g in enumerate(note.gold)
            if j not in matched_all_g
        ]
    return Evaluation(all_tally, met_tally, agree, total, errors)


def _table(title: str, tally: Tally, out: Callable[[str], None]) -> None:
    out(f"\n{title}")
    out(f"{'concept':<18}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>9}")
    for concept in CONCEPTS:
        tp, fp, fn, precision, recall = tally.scores(concept)
        if tp + fp + fn:
            out(f"{concept:<18}{tp:>5}{fp:>5}{fn:>5}{precision:>11.3f}{recall:>9.3f}")
    tp, fp, fn, precision, recall = tally.scores()
    out(f"{'OVERALL':<18}{tp:>5}{fp:>5}{fn:>5}{precision:>11.3f}{recall:>9.3f}")


def timing(notes: Sequence[Note], repeats: int) -> dict[str, tuple[int, float, float]]:
    """Per long note: characters, median and max milliseconds over ``repeats`` warm runs."""
    results: dict[str, tuple[int, float, float]] = {}
    for note in notes:
        if note.name not in LONG_NOTES:
            continue
        extract_note(note.text, note.name)
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            extract_note(note.text, note.name)
            samples.append((time.perf_counter() - started) * 1000)
        results[note.name] = (len(note.text), statistics.median(samples), max(samples))
    return results


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--strict", action="store_true", help="require identical offsets")
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)

    rss_start = _rss_mb()
    started = time.perf_counter()
    build_pipeline()
    load_ms = (time.perf_counter() - started) * 1000
    rss_loaded = _rss_mb()

    notes = load_corpus()
    result = evaluate(notes, strict=args.strict)
    print(f"extractor {EXTRACTOR_VERSION}, ruleset sha256 {ruleset_hash()[:16]}...")
    gold_count = sum(len(n.gold) for n in notes)
    print(f"corpus: {len(notes)} notes, {sum(len(n.text) for n in notes)} characters, {gold_count} gold mentions")
    print(f"matching: {'identical offsets' if args.strict else 'same concept, overlapping span'}")
    _table("ALL MENTIONS (any modifiers)", result.all_mentions, print)
    _table("MET-SUPPORTING MENTIONS (unmodified, eligible section)", result.met, print)
    agreement = result.blocking_agree / result.blocking_total if result.blocking_total else 1.0
    print(
        f"\nblocking-modifier agreement on matched mentions: {result.blocking_agree}/{result.blocking_total}"
        f" = {agreement:.3f}"
    )

    print(f"\npipeline load: {load_ms:.0f} ms")
    for name, (chars, median, worst) in timing(notes, args.repeats).items():
        print(f"{name}: {chars} chars, median {median:.1f} ms, max {worst:.1f} ms over {args.repeats} runs")

    long_note = next(n for n in notes if n.name == LONG_NOTES[-1])
    tracemalloc.start()
    extract_note(long_note.text, long_note.name)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"memory: max RSS {rss_start:.0f} MB before load, {rss_loaded:.0f} MB after load, "
        f"{_rss_mb():.0f} MB at end; tracemalloc peak for the 18 kB note {peak / 1024 / 1024:.1f} MB"
    )

    if args.errors:
        print("\nDISAGREEMENTS")
        for line in result.errors:
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
