"""The delivery worker: a thread per process that POSTs due outbox messages and records the result."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from priorauth.notify.outbox import Claimed, claim_due, mark_delivered, mark_failed
from priorauth.store.db import Database

log = logging.getLogger(__name__)


class DeliveryWorker:
    """Polls the outbox; several processes may run one each (claims never overlap)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        poll_seconds: float,
        batch: int,
        lease_seconds: float,
        timeout_seconds: float,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.poll = poll_seconds
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.timeout = timeout_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.on_result = on_result or (lambda _result: None)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background thread."""
        self._thread = threading.Thread(target=self._run, name="priorauth-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish its current message and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the outbox now (a decision was just written)."""
        self._wake.set()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                try:
                    worked = self.run_once(client)
                except Exception:
                    log.exception("outbox pass failed")
                    worked = 0
                if not worked:
                    self._wake.wait(self.poll)
                    self._wake.clear()

    def run_once(self, client: httpx.Client) -> int:
        """Deliver one batch of due messages; returns how many were attempted."""
        messages = claim_due(self.db, now=self.clock(), limit=self.batch, lease=self.lease)
        for message in messages:
            if self._stop.is_set():
                break
            self._deliver(client, message)
        return len(messages)

    def _deliver(self, client: httpx.Client, message: Claimed) -> None:
        headers = {"Content-Type": "application/fhir+json", "X-Priorauth-Event": message.event_id}
        for header in message.headers:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        try:
            response = client.post(message.endpoint, content=message.payload.encode(), headers=headers)
            ok = 200 <= response.status_code < 300
            error = "" if ok else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        now = self.clock()
        if ok:
            mark_delivered(self.db, message.id, now=now)
            self.on_result("delivered")
            return
        gave_up = mark_failed(
            self.db,
            message.id,
            now=now,
            error=error,
            max_attempts=self.max_attempts,
            base_seconds=self.backoff_base,
            max_seconds=self.backoff_max,
        )
        self.on_result("gave_up" if gave_up else "retry")
        log.warning(
            "notification %s to %s failed (%s)%s",
            message.event_id,
            message.endpoint,
            error,
            "; giving up" if gave_up else "; will retry",
        )
