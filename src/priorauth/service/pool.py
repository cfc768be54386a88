"""Decisions in worker processes behind one HTTP process (``PRIORAUTH_DECISION_PROCESSES``).

Why: a decision is CPU-bound Python, so one process decides on one core at a time (the GIL).
``serve --workers N`` runs N HTTP processes, but the kernel hands each keep-alive connection to one of
them for good: measured with 8 client connections and 2 workers, the split was 8/0, 6/2 or 2/6 as
often as 4/4, and the idle worker's core went unused. Here one process serves HTTP and queues every
``$submit`` / ``$inquire`` on its deciding processes, request by request, so the load is even
whatever the connections do.

Each deciding process builds its own :class:`DecisionService` from the same settings and opens the
same database; it stores the request and its decision before its answer comes back, as in-process
deciding does. Nothing is kept in their memory that another process needs. The HTTP process keeps
the metrics: each answer carries the counter increments the decision made. A deciding process is
built from the settings alone (clock, request date, policy directory, plan), as ``serve`` builds one.

How requests travel: each deciding process has one socket pair to the HTTP process and answers its
requests in the order they came (length-prefixed pickles). The HTTP process reads the answers on its
event loop. ``concurrent.futures.ProcessPoolExecutor`` did the same job with a queue-feeder thread and
a manager thread in the HTTP process: they cost about 0.5 ms of CPU a request and competed with the
event loop for the GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import pickle
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from priorauth.service.decisions import Answer, DecisionService
from priorauth.service.metrics import Metrics
from priorauth.service.settings import Settings

log = logging.getLogger(__name__)

# (counter name, label values, increment)
CounterDelta = tuple[str, tuple[str, ...], float]
# ("answer", (Answer, [CounterDelta, ...])) or ("error", text)
Reply = tuple[str, Any]

_LENGTH = struct.Struct("!I")
# Requests sent ahead to one deciding process. Two keep it busy while its previous answer travels back;
# more would queue a request behind a slow one while another process sits idle.
_DEPTH = 2
_READY = b"ready"


class _DeciderDiedError(Exception):
    """The deciding process ended before answering."""


class DecidingError(RuntimeError):
    """The deciding process raised: what it raised, as text (exceptions do not always pickle)."""


# --- the deciding process -------------------------------------------------------------------------


@dataclass
class _Counted:
    """Counter values already reported to the HTTP process."""

    values: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=dict)

    def deltas(self, metrics: Metrics) -> list[CounterDelta]:
        """What the decision added to the counters since the last call."""
        deltas: list[CounterDelta] = []
        for counter in (metrics.requests, metrics.items):
            for family in counter.collect():
                for sample in family.samples:
                    if not sample.name.endswith("_total"):
                        continue
                    key = (family.name, tuple(sample.labels.values()))
                    change = sample.value - self.values.get(key, 0.0)
                    if change:
                        self.values[key] = sample.value
                        deltas.append((family.name, key[1], change))
        return deltas


def _serve(channel: socket.socket, settings_data: dict[str, Any]) -> None:
    """Main function of a deciding process: build the service, then answer requests until EOF."""
    from priorauth.notes.pipeline import build_pipeline
    from priorauth.store.db import open_database

    settings = Settings.model_validate(settings_data)
    logging.basicConfig(level=logging.WARNING)
    service = DecisionService(open_database(settings.database_url), settings, metrics=Metrics())
    try:
        build_pipeline()
    except Exception:
        log.exception("the note pipeline failed to build; notes will be retried on first use")
    gc.collect()
    gc.freeze()  # see service.app._warm_up: start-up objects out of the collector's sight
    counted = _Counted()
    incoming = channel.makefile("rb")
    channel.sendall(_LENGTH.pack(len(_READY)) + _READY)
    while header := incoming.read(_LENGTH.size):
        if len(header) < _LENGTH.size:
            break
        (size,) = _LENGTH.unpack(header)
        operation, body, options = pickle.loads(incoming.read(size))
        call = service.submit if operation == "submit" else service.inquire
        reply: tuple[str, Any]
        try:
            reply = ("answer", (call(body, **options), counted.deltas(service.metrics)))
        except Exception as error:  # answered as the in-process call would raise it
            log.exception("deciding failed")
            reply = ("error", f"{type(error).__name__}: {error}")
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        channel.sendall(_LENGTH.pack(len(data)) + data)


# --- the HTTP process's side ----------------------------------------------------------------------


@dataclass(eq=False)
class _Decider:
    """One deciding process, its socket and the answers it owes (in the order asked)."""

    process: BaseProcess
    channel: socket.socket
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    owed: deque[asyncio.Future[Reply]] = field(default_factory=deque)
    listening: asyncio.Task[None] | None = None


async def _frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return await reader.readexactly(size)


class DecisionPool:
    """Deciding processes; :meth:`decide` awaits one request's answer."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings.model_dump(mode="json")
        self._processes = processes
        self._deciders: list[_Decider] = []
        # Requests no process can take yet (each has _DEPTH in hand), first come first served.
        self._waiting: deque[tuple[bytes, asyncio.Future[Reply]]] = deque()
        self._replacing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Start every deciding process now (each imports spaCy, ~1–2 s), not on the first requests."""
        await asyncio.gather(*(self._add_decider() for _ in range(self._processes)))

    async def _add_decider(self) -> None:
        # "spawn": the HTTP process has threads (checkpoints, outbox, event loop); forking it is unsafe.
        ours, theirs = socket.socketpair()
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(theirs, self._settings), name="priorauth-decider", daemon=True
        )
        try:
            process.start()
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        try:
            if await _frame(reader) != _READY:
                raise _DeciderDiedError("unexpected first message")
        except (asyncio.IncompleteReadError, ConnectionError, _DeciderDiedError):
            log.exception("a deciding process failed to start (exit code %s)", process.exitcode)
            writer.close()
            return
        decider = _Decider(process, ours, reader, writer)
        decider.listening = asyncio.get_running_loop().create_task(self._listen(decider))
        self._deciders.append(decider)
        self._dispatch()

    async def _listen(self, decider: _Decider) -> None:
        """Hand each answer to the request that waits for it; on EOF the process has died."""
        try:
            while True:
                reply = pickle.loads(await _frame(decider.reader))
                future = decider.owed.popleft()
                if not future.done():
                    future.set_result(reply)
                self._dispatch()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            # An answer that cannot be read, or one nobody asked for: the channel is out of step, so
            # treat the process as lost (its requests are decided here) rather than leave them waiting.
            log.exception("unreadable answer from a deciding process; stopping it")
            decider.process.kill()
        self._lost(decider)

    def _lost(self, decider: _Decider) -> None:
        if decider in self._deciders:
            self._deciders.remove(decider)
        decider.writer.close()
        if self._closed:
            return
        log.error(
            "a deciding process died (exit code %s); its %d request(s) are decided in-process, "
            "a new process is starting",
            decider.process.exitcode,
            len(decider.owed),
        )
        while decider.owed:
            future = decider.owed.popleft()
            if not future.done():
                future.set_exception(_DeciderDiedError())
        replacing = asyncio.get_running_loop().create_task(self._add_decider())
        self._replacing.add(replacing)  # held until done: the loop keeps only a weak reference
        replacing.add_done_callback(self._replacing.discard)
        self._dispatch()

    def _dispatch(self) -> None:
        """Send waiting requests to the least busy processes with room."""
        while self._waiting:
            free = [d for d in self._deciders if len(d.owed) < _DEPTH]
            if not free:
                if not self._deciders:
                    # None running (a replacement may take seconds to start): the callers decide in-process.
                    while self._waiting:
                        _, future = self._waiting.popleft()
                        if not future.done():
                            future.set_exception(_DeciderDiedError())
                return
            decider = min(free, key=lambda d: len(d.owed))
            data, future = self._waiting.popleft()
            if future.done():  # the caller went away
                continue
            decider.owed.append(future)
            decider.writer.write(_LENGTH.pack(len(data)) + data)

    async def decide(self, operation: str, body: bytes, metrics: Metrics, **options: Any) -> Answer | None:
        """The answer from a deciding process, or None when none could give it (a process died, or none
        is running): the caller then decides the request itself.

        A process that died after committing a request leaves it stored once more than answered:
        nothing received is lost, and the answer sent is the second decision's.
        """
        if self._closed:
            return None
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        data = pickle.dumps((operation, body, options), protocol=pickle.HIGHEST_PROTOCOL)
        self._waiting.append((data, future))
        self._dispatch()
        try:
            kind, payload = await future
        except _DeciderDiedError:
            return None
        if kind == "error":
            raise DecidingError(payload)
        answer, deltas = payload
        for name, labels, change in deltas:
            counter = metrics.requests if name == "priorauth_pas_requests" else metrics.items
            counter.labels(*labels).inc(change)
        return answer  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Stop the deciding processes. Called once the server has finished its requests: the end of
        its socket ends a process's loop."""
        self._closed = True
        for task in self._replacing:
            task.cancel()
        deciders, self._deciders = list(self._deciders), []
        for decider in deciders:
            if decider.listening is not None:
                decider.listening.cancel()
            # At once: closing the transport only closes the socket on a later turn of the loop.
            with contextlib.suppress(OSError):
                decider.channel.shutdown(socket.SHUT_RDWR)
            decider.writer.close()
        for decider in deciders:
            await asyncio.to_thread(decider.process.join, 10)
            if decider.process.is_alive():
                log.warning("a deciding process did not stop; killing it")
                decider.process.kill()
