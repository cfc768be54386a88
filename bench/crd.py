"""CRD / DTR latency over HTTP: order-sign p50/p99 (target p99 <= 50 ms) and $questionnaire-package p50/p99.

Starts its own uvicorn process (the test app from tests/crd/app_for_tests.py) on a free loopback port,
warms up, then times sequential requests with one keep-alive client:

    .venv/bin/python bench/crd.py [--n 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "crd"))

from crd_helpers import DTR, Uvicorn, example_hook, load, tarlatamab_request  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time(client: httpx.Client, url: str, body: Any, n: int) -> list[float]:
    for _ in range(20):
        client.post(url, json=body).raise_for_status()
    times: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        client.post(url, json=body).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    log = Path("/tmp") / f"priorauth-bench-crd-{time.time_ns()}.log"
    server = Uvicorn(log).start()
    try:
        sign_ok, _ = example_hook("EX01_medicaid_approval_structured.json", "order-sign")
        package = load(DTR / "inferno-dtr-preset_payer_questionnaire_package_request_devreq015.json")
        for param in package["parameter"]:
            if param["name"] == "order":
                param["resource"] = tarlatamab_request()
        with httpx.Client(base_url=server.base, timeout=10) as client:
            rows = [
                ("order-sign (tarlatamab, full prefetch)", _time(client, "/cds-services/order-sign", sign_ok, args.n)),
                (
                    "$questionnaire-package (tarlatamab)",
                    _time(client, "/fhir/Questionnaire/$questionnaire-package", package, args.n),
                ),
            ]
    finally:
        server.stop()
    print(f"{'request':42} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for name, times in rows:
        print(f"{name:42} {len(times):5d} {statistics.median(times):8.2f} {_percentile(times, 0.99):8.2f}")
    sign_p99 = _percentile(rows[0][1], 0.99)
    print(f"order-sign p99 target 50 ms: {'met' if sign_p99 <= 50 else 'NOT met'} ({sign_p99:.2f} ms)")


if __name__ == "__main__":
    main()
