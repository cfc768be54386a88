"""Decisions in worker processes behind one HTTP process (``PRIORAUTH_DECISION_PROCESSES``).

Why: a decision is CPU-bound Python, so one process decides on one core at a time (the GIL).
``serve --workers N`` runs N HTTP processes, but the kernel hands each keep-alive connection to one of
them for good: measured with 8 client connections and 2 workers, the split was 8/0, 6/2 or 2/6 as
often as 4/4, and the idle worker's core went unused. Here one process serves HTTP and queues every
``$submit`` / ``$inquire`` on a pool of deciding processes, request by request, so the load is even
whatever the connections do.

Each deciding process builds its own :class:`DecisionService` from the same settings and opens the
same database; it stores the request and its decision before its answer comes back, as in-process
deciding does. Nothing is kept in their memory that another process needs. The HTTP process keeps
the metrics: each answer carries the counter increments the decision made. A deciding process is
built from the settings alone (clock, request date, policy directory, plan), as ``serve`` builds one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from priorauth.service.decisions import Answer, DecisionService
from priorauth.service.metrics import Metrics
from priorauth.service.settings import Settings

log = logging.getLogger(__name__)

# (counter name, label values, increment)
CounterDelta = tuple[str, tuple[str, ...], float]


@dataclass
class _Worker:
    """The deciding process's own service, made once by the pool's initializer."""

    service: DecisionService
    counted: dict[tuple[str, tuple[str, ...]], float]


_worker: _Worker | None = None  # one per deciding process (the process is the unit of state here)


def _start_worker(settings_data: dict[str, Any]) -> None:
    """Pool initializer: open the database, build the note pipeline, freeze start-up garbage."""
    global _worker
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
    _worker = _Worker(service, {})


def _counter_deltas(worker: _Worker) -> list[CounterDelta]:
    """What the decision added to the worker's counters since the last call."""
    deltas: list[CounterDelta] = []
    metrics = worker.service.metrics
    for counter in (metrics.requests, metrics.items):
        for family in counter.collect():
            for sample in family.samples:
                if not sample.name.endswith("_total"):
                    continue
                key = (family.name, tuple(sample.labels.values()))
                change = sample.value - worker.counted.get(key, 0.0)
                if change:
                    worker.counted[key] = sample.value
                    deltas.append((family.name, key[1], change))
    return deltas


def _ready() -> bool:
    return _worker is not None


def _decide(operation: str, body: bytes, options: dict[str, Any]) -> tuple[Answer, list[CounterDelta]]:
    """Run in a deciding process: ``DecisionService.submit`` or ``inquire`` on one request."""
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("the deciding process was not initialised")
    service = _worker.service
    call = service.submit if operation == "submit" else service.inquire
    answer = call(body, **options)
    return answer, _counter_deltas(_worker)


class DecisionPool:
    """A pool of deciding processes; :meth:`decide` awaits one request's answer."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings.model_dump(mode="json")
        self._processes = processes
        self._executor = self._new_executor()
        self._warming: set[asyncio.Task[None]] = set()

    def _new_executor(self) -> ProcessPoolExecutor:
        # "spawn": the HTTP process has threads (checkpoints, outbox, event loop); forking it is unsafe.
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._settings,),
        )

    async def start(self) -> None:
        """Start every deciding process now (each imports spaCy, ~1–2 s), not on the first requests."""
        await self._warm(self._executor)

    async def _warm(self, executor: ProcessPoolExecutor) -> None:
        # With "spawn" the executor starts a process per call while none is idle: calls beyond the
        # process count make it start them all.
        loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(loop.run_in_executor(executor, _ready) for _ in range(self._processes * 2)))
        except BrokenProcessPool:
            log.exception("a deciding process failed to start")

    async def decide(self, operation: str, body: bytes, metrics: Metrics, **options: Any) -> Answer | None:
        """The answer from a deciding process, or None when the pool broke (a process died): the
        pool is replaced and the caller decides this request itself.

        A process that died after committing a request leaves it stored once more than answered:
        nothing received is lost, and the answer sent is the second decision's.
        """
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            answer, deltas = await loop.run_in_executor(executor, _decide, operation, body, options)
        except BrokenProcessPool:
            log.exception("a deciding process died; starting a new pool, this request is decided in-process")
            if self._executor is executor:
                self._executor = self._new_executor()
                executor.shutdown(wait=False, cancel_futures=True)
                warming = loop.create_task(self._warm(self._executor))
                self._warming.add(warming)  # held until done: the loop keeps only a weak reference
                warming.add_done_callback(self._warming.discard)
            return None
        for name, labels, change in deltas:
            counter = metrics.requests if name == "priorauth_pas_requests" else metrics.items
            counter.labels(*labels).inc(change)
        return answer

    def close(self) -> None:
        """Stop the deciding processes (requests in progress finish first)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
