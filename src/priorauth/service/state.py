"""What one application instance holds: settings, database, services. Built by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from anyio import CapacityLimiter

from priorauth.auth.tokens import TokenService
from priorauth.notify.worker import DeliveryWorker
from priorauth.service.decisions import DecisionService
from priorauth.service.metrics import Metrics
from priorauth.service.pool import DecisionPool
from priorauth.service.settings import Settings
from priorauth.store.db import Database


@dataclass
class AppState:
    """Per-app singletons, reached from routes through dependencies, never through globals."""

    settings: Settings
    db: Database
    decisions: DecisionService
    tokens: TokenService
    metrics: Metrics
    clock: Callable[[], datetime]
    worker: DeliveryWorker | None = None
    # Bounds the threads running DecisionService work (settings.decision_threads); made at start-up,
    # inside the event loop.
    decision_limiter: CapacityLimiter | None = None
    # Deciding processes (settings.decision_processes > 0), else decisions run in this process.
    pool: DecisionPool | None = None
