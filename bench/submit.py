"""Benchmark ``$submit`` over HTTP against a running server, next to a parse-only floor.

Usage (server started with PRIORAUTH_AUTH=off PRIORAUTH_BENCH_ENDPOINTS=true):

    python bench/submit.py --url http://127.0.0.1:8000 [--body FILE] [--requests 2000] [--concurrency 1 8 32]
    python bench/submit.py --spawn sqlite          # start a server on a temp SQLite file, then bench it
    python bench/submit.py --spawn sqlite --decision-processes 2   # ... deciding in 2 processes behind it
    python bench/submit.py --spawn postgres         # ... on a throwaway PostgreSQL cluster (initdb + pg_ctl)
    python bench/submit.py --spawn postgresql+psycopg://user@host:5432/db

For each concurrency it prints p50/p99 latency and req/s of ``$submit`` and of ``/_bench/parse`` (the
same body read and parsed, nothing else), and the ratio. Then it sends ``--rss-requests`` more submits
and prints the server's RSS before and after (Linux /proc, needs the server's pid: known with
``--spawn``, else ``--pid``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen

DEFAULT_BODY = (
    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "examples" / "EX01_medicaid_approval_structured.json"
)
TARGETS = {"p50_ms": 20.0, "p99_ms": 60.0, "rps": 150.0, "ratio": 3.0}


def _tree(pid: int) -> list[Path]:
    """/proc entries of a server and its worker processes (``serve --workers N`` forks them)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if proc.name == str(pid) or ppid == str(pid):
            found.append(proc)
    return found


def rss_kib(pid: int) -> int:
    """Resident set size of a server and its worker processes, KiB."""
    total = 0
    for proc in _tree(pid):
        for line in (proc / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server and its worker processes so far, seconds (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in _tree(pid):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ...; utime and stime are fields 14 and 15 of stat(5).
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def distinct_bodies(body: bytes) -> Callable[[int], bytes]:
    """Request ``n`` as a distinct member with its own request identifier (as a payer sees traffic).

    The member id and the Claim identifier of the sample body are replaced by numbered ones, so the
    service judges each request on its own (no member accumulates thousands of earlier approvals).
    """
    data = json.loads(body)
    claim = data["entry"][0]["resource"]
    claim_id = str(claim["identifier"][0]["value"]).encode()
    members = {
        str(i["value"]).encode()
        for entry in data["entry"]
        if entry["resource"]["resourceType"] in ("Coverage", "Patient")
        for i in entry["resource"].get("identifier", [])
        if isinstance(i, dict) and "value" in i
    }

    def make(n: int) -> bytes:
        out = body.replace(claim_id, f"BENCH-{n:09d}".encode())
        for member in members:
            out = out.replace(member, f"B{n:09d}".encode())
        return out

    return make


_sequence = itertools.count()


def run(url: str, body: bytes, total: int, concurrency: int, distinct: bool = False) -> tuple[float, float, float, int]:
    """Send ``total`` POSTs over ``concurrency`` connections; returns p50 ms, p99 ms, req/s, errors."""
    make = distinct_bodies(body) if distinct else None

    def bodies(_n: int) -> bytes:
        return make(next(_sequence)) if make is not None else body

    result = loadgen.post(url, bodies, total, concurrency)
    return result.p50_ms, result.p99_ms, result.rps, result.errors


def spawn(database_url: str, workers: int = 1, decision_processes: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``serve`` on a free port with the bench endpoint on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if database_url == "sqlite":
        database_url = f"sqlite:///{tempfile.mkdtemp(prefix='priorauth-bench-')}/bench.db"
    env = dict(
        os.environ,
        PRIORAUTH_AUTH="off",
        PRIORAUTH_BENCH_ENDPOINTS="true",
        PRIORAUTH_DATABASE_URL=database_url,
        PRIORAUTH_TODAY="2026-03-02",
        PRIORAUTH_WORKERS=str(workers),
        PRIORAUTH_DECISION_PROCESSES=str(decision_processes),
    )
    if not database_url.startswith("sqlite"):
        subprocess.run([sys.executable, "-m", "priorauth.cli.service_commands", "db", "upgrade"], env=env, check=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "priorauth.cli.service_commands",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url")
    parser.add_argument(
        "--spawn", help="'sqlite', 'postgres' (a throwaway cluster) or a database URL: start a server for the run"
    )
    parser.add_argument("--pid", type=int, help="server pid, for RSS (known with --spawn)")
    parser.add_argument("--body", type=Path, default=DEFAULT_BODY)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rss-requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="HTTP server processes (with --spawn)")
    parser.add_argument(
        "--decision-processes",
        type=int,
        default=0,
        help="deciding processes behind each HTTP process (with --spawn; 0: decide in its threads)",
    )
    parser.add_argument(
        "--same-member",
        dest="distinct",
        action="store_false",
        help="send the body unchanged every time (one member resubmitting: continued therapy each time)",
    )
    args = parser.parse_args()
    proc = None
    stack = contextlib.ExitStack()
    if args.spawn == "postgres":
        from priorauth.store.throwaway import create_database, throwaway_cluster

        # A cluster of our own. synchronous_commit=off is PostgreSQL's counterpart of our SQLite
        # setting (WAL, synchronous=NORMAL): a commit survives the server process dying, not the OS.
        cluster = stack.enter_context(throwaway_cluster(("synchronous_commit=off",)))
        args.spawn = create_database(cluster, "bench")
    if args.spawn:
        proc, url = spawn(args.spawn, args.workers, args.decision_processes)
        pid: int | None = proc.pid
    elif args.url:
        url, pid = args.url.rstrip("/"), args.pid
    else:
        parser.error("give --url or --spawn")
    body = args.body.read_bytes()
    try:
        run(url + "/fhir/Claim/$submit", body, 50, 4)  # warm-up: imports, caches, connection pools
        kind = "a distinct member and request id each" if args.distinct else "the same member every time"
        print(f"body {args.body.name} ({len(body)} bytes), {args.requests} requests per run, {kind}")
        if args.spawn:
            print(f"server: {args.workers} HTTP process(es), {args.decision_processes} deciding process(es) each")
        print(
            f"{'c':>3} {'submit p50':>11} {'p99':>8} {'req/s':>8} | {'floor p50':>10} {'p99':>8} "
            f"{'req/s':>8} | {'p50 ratio':>9} {'errors':>6}" + (" | server CPU/req: submit, floor" if pid else "")
        )
        cpu: dict[str, list[float]] = {"floor": [], "submit": []}

        def timed(name: str, *call_args: Any) -> tuple[float, float, float, int]:
            before = cpu_seconds(pid) if pid is not None else 0.0
            figures = run(*call_args)
            if pid is not None:
                cpu[name].append((cpu_seconds(pid) - before) / args.requests * 1000)
            return figures

        for concurrency in args.concurrency:
            fp50, fp99, frps, _ = timed("floor", url + "/_bench/parse", body, args.requests, concurrency)
            p50, p99, rps, errors = timed(
                "submit", url + "/fhir/Claim/$submit", body, args.requests, concurrency, args.distinct
            )
            cpu_cols = f" | {cpu['submit'][-1]:>7.2f}ms {cpu['floor'][-1]:>7.2f}ms" if pid is not None else ""
            print(
                f"{concurrency:>3} {p50:>9.1f}ms {p99:>6.1f}ms {rps:>8.0f} | {fp50:>8.1f}ms {fp99:>6.1f}ms "
                f"{frps:>8.0f} | {p50 / fp50:>8.1f}x {errors:>6}{cpu_cols}"
            )
        if cpu["submit"]:
            floor_cpu, submit_cpu = statistics.median(cpu["floor"]), statistics.median(cpu["submit"])
            print(
                f"server CPU per request (all its processes, median over the runs): submit {submit_cpu:.2f} ms, "
                f"floor {floor_cpu:.2f} ms ({submit_cpu / floor_cpu:.1f}x)"
            )
        print(
            f"targets at c=8 on SQLite: p50 <= {TARGETS['p50_ms']:.0f} ms, p99 <= {TARGETS['p99_ms']:.0f} ms, "
            f">= {TARGETS['rps']:.0f} req/s, <= {TARGETS['ratio']:.0f}x floor"
        )
        if pid is not None and args.rss_requests:
            before = rss_kib(pid)
            run(url + "/fhir/Claim/$submit", body, args.rss_requests, 8, args.distinct)
            after = rss_kib(pid)
            print(
                f"RSS (server and workers) before {before / 1024:.1f} MiB, after {args.rss_requests} more submits "
                f"{after / 1024:.1f} MiB ({(after - before) / 1024:+.1f} MiB)"
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        stack.close()


if __name__ == "__main__":
    main()
