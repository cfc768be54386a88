"""A light closed-loop HTTP/1.1 load generator for the benchmarks (an asyncio protocol on uvloop +
httptools' response parser: about 0.1 ms of CPU per 64 kB request, half what asyncio streams cost).

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


class _Client(asyncio.Protocol):
    """One keep-alive connection: sends a request, reads its answer with httptools, sends the next.

    A protocol rather than asyncio streams, and uvloop where installed: the generator shares the
    machine with the server it measures, so each request should cost it as little CPU as possible.
    """

    def __init__(self, head: bytes, bodies: Callable[[], bytes | None], result: Result, ended: asyncio.Future[None]):
        self._head = head
        self._bodies = bodies
        self._result = result
        self._ended = ended
        self._parser = httptools.HttpResponseParser(self)
        self._started = 0.0
        self._in_flight = False
        self._transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a TCP transport (uvloop's is not a subclass)
        self._send_next()

    def _send_next(self) -> None:
        assert self._transport is not None
        body = self._bodies()
        if body is None:
            self._transport.close()
            return
        self._started = time.perf_counter()
        self._in_flight = True
        self._transport.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_message_complete(self) -> None:  # httptools callback: one whole answer read
        self._in_flight = False
        result = self._result
        result.latencies.append(time.perf_counter() - self._started)
        status = self._parser.get_status_code()
        result.statuses[status] = result.statuses.get(status, 0) + 1
        result.errors += status != 200
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._ended.done():
            return
        if self._in_flight:
            self._ended.set_exception(ConnectionError("the server closed the connection before answering"))
        else:
            self._ended.set_result(None)


async def _connection(host: str, port: int, head: bytes, bodies: Callable[[], bytes | None], result: Result) -> None:
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    await loop.create_connection(lambda: _Client(head, bodies, result, ended), host, port)
    await ended


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

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(main())
    else:
        uvloop.run(main())
    return result
