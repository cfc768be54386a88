"""Engine benchmark: parse, fact extraction and evaluation times for a ~30-resource PAS bundle.

Run: ``.venv/bin/python bench/engine.py [BUNDLE.json] [--runs N]``. Prints median and p99 of each
stage over N runs (default 2000) and decisions per second. Targets (issue 3): evaluation ≤ 1 ms
median; parse + extract + evaluate ≤ 10 ms median. Figures are wall-clock on this machine; compare
stages as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from priorauth.engine.decide import decide
from priorauth.engine.facts import PlanConfig
from priorauth.fhir.bundle import read_bundle
from priorauth.fhir.extract import extract_from
from priorauth.policy.registry import load_registry

DEFAULT = (
    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "examples" / "EX01_medicaid_approval_structured.json"
)


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name:<28} median {median:8.3f} ms   p99 {p99:8.3f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bundle", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    raw = args.bundle.read_bytes()
    registry = load_registry()
    version = registry.latest("CP.PHAR.685")
    as_of = date(2026, 3, 2)
    plan = PlanConfig()
    data = json.loads(raw)
    bundle = read_bundle(data)
    request = extract_from(bundle, version)
    facts = request.facts_for(request.items[0])
    print(f"bundle: {args.bundle.name}, {len(raw) / 1024:.1f} kB, {len(data['entry'])} resources; {args.runs} runs")
    for _ in range(50):  # warm caches (compiled FHIRPath, pydantic validators)
        decide(registry, extract_from(read_bundle(json.loads(raw)), version).facts_for(request.items[0]), as_of, plan)
    parse = report("parse (json + PAS checks)", timed(lambda: read_bundle(json.loads(raw)), args.runs))
    extract = report("fact extraction", timed(lambda: extract_from(bundle, version), args.runs))
    evaluate = report("evaluation (decide)", timed(lambda: decide(registry, facts, as_of, plan), args.runs))

    def whole() -> None:
        req = extract_from(read_bundle(json.loads(raw)), version)
        for item in req.items:
            decide(registry, req.facts_for(item), as_of, plan)

    total_samples = timed(whole, args.runs)
    total = report("parse + extract + evaluate", total_samples)
    print(f"sum of stage medians         {parse + extract + evaluate:8.3f} ms")
    print(f"decisions/s (evaluation only) {1000 / evaluate:8.0f}")
    print(f"decisions/s (end to end)      {1000 / total:8.0f}")
    print(
        f"targets: evaluation median <= 1 ms: {'MET' if evaluate <= 1 else 'MISSED'}; "
        f"end-to-end median <= 10 ms: {'MET' if total <= 10 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
