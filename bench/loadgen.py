"""A light closed-loop HTTP/1.1 load generator for the benchmarks (asyncio + httptools' response parser).

The benchmarks share a 2-core machine with the server they measure. A generator built on a full client
library (httpx in threads) spent about as much CPU per request as the server's parse-only floor, which
both slowed the server and inflated every latency. This one keeps ``concurrency`` keep-alive
connections, each sending its next request when the previous answer has been read in full, so the
figures are the server's.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools


@dataclass
class Result:
    """Latencies (seconds) of the completed requests, the wall time and the non-200 answers."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        """Median latency, ms."""
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        """99th percentile latency, ms."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def rps(self) -> float:
        """Completed requests per second of wall time."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


class _Answer:
    """httptools callbacks for one response."""

    def __init__(self) -> None:
        self.done = False
        self.body = bytearray()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


async def _connection(host: str, port: int, head: bytes, bodies: Callable[[], bytes | None], result: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (body := bodies()) is not None:
            answer = _Answer()
            parser = httptools.HttpResponseParser(answer)
            started = time.perf_counter()
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            while not answer.done:
                chunk = await reader.read(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                parser.feed_data(chunk)
            result.latencies.append(time.perf_counter() - started)
            status = parser.get_status_code()
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.errors += status != 200
    finally:
        writer.close()


def post(url: str, bodies: Callable[[int], bytes], total: int, concurrency: int) -> Result:
    """POST ``total`` bodies (``bodies(n)`` makes the n-th) over ``concurrency`` keep-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/fhir+json\r\n"
        "Accept: application/fhir+json\r\nContent-Length: "
    ).encode()
    result = Result()
    issued = iter(range(total))

    def next_body() -> bytes | None:
        n = next(issued, None)
        return None if n is None else bodies(n)

    async def main() -> None:
        started = time.perf_counter()
        await asyncio.gather(*(_connection(host, port, head, next_body, result) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started

    asyncio.run(main())
    return result
