"""The application factory: ``create_app(settings)`` builds one independent service instance."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from anyio import CapacityLimiter
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from priorauth.auth.tokens import TokenService
from priorauth.crd import routes as crd_routes
from priorauth.dtr import routes as dtr_routes
from priorauth.notify.worker import DeliveryWorker
from priorauth.policy.registry import PolicyRegistry, load_registry
from priorauth.review import mount as mount_review
from priorauth.service.decisions import DecisionService, utcnow
from priorauth.service.deps import outcome_response
from priorauth.service.metrics import Metrics
from priorauth.service.pool import DecisionPool
from priorauth.service.routes import ops, pas, reads, subscriptions
from priorauth.service.settings import Settings, is_loopback
from priorauth.service.state import AppState
from priorauth.store.db import open_database, upgrade

log = logging.getLogger("priorauth.service")


class InsecureConfigurationError(RuntimeError):
    """Authentication is off on an address other machines can reach."""


def check_auth_binding(settings: Settings) -> None:
    """Refuse ``PRIORAUTH_AUTH=off`` unless bound to loopback; warn when it is allowed."""
    if settings.auth == "off":
        if not is_loopback(settings.host):
            raise InsecureConfigurationError(
                f"PRIORAUTH_AUTH=off is only allowed on a loopback address, not {settings.host!r}"
            )
        log.warning("AUTHENTICATION IS OFF (PRIORAUTH_AUTH=off): for local work and tests only")


def _warm_up() -> None:
    """Build the note pipeline, then freeze what start-up allocated out of the garbage collector's sight.

    spaCy, SQLAlchemy and the policy data leave about 260,000 long-lived objects; every full
    collection walked them all, which made the latency tail (p99 of even the parse-only endpoint was
    ~160 ms at concurrency 8, ~10 ms frozen) and cost ~1.5 ms of CPU a request.
    """
    try:
        from priorauth.notes.pipeline import build_pipeline

        build_pipeline()
    except Exception:
        log.exception("the note pipeline failed to build; notes will be retried on first use")
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    registry_loader: Callable[[], PolicyRegistry] = load_registry,
) -> FastAPI:
    """Build the FastAPI app; the database is opened (and, on SQLite, migrated) at start-up."""
    check_auth_binding(settings)
    if settings.decision_processes and (clock is not utcnow or registry_loader is not load_registry):
        # Deciding processes are built from the settings alone: they would not use these.
        raise ValueError("a custom clock or policy registry needs PRIORAUTH_DECISION_PROCESSES=0")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.should_migrate:
            upgrade(settings.database_url)
        db = open_database(settings.database_url)
        db.start_checkpoints()
        metrics = Metrics()
        decisions = DecisionService(db, settings, registry_loader=registry_loader, clock=clock, metrics=metrics)
        tokens = TokenService(
            db, ttl_seconds=settings.token_ttl_seconds, max_assertion_seconds=settings.assertion_max_lifetime_seconds
        )
        state = AppState(settings, db, decisions, tokens, metrics, clock)
        state.decision_limiter = CapacityLimiter(settings.decision_threads)
        if settings.today is not None:
            log.warning("request date fixed by PRIORAUTH_TODAY=%s", settings.today.isoformat())
        try:
            registry_loader()
        except Exception:
            log.exception("policy registry failed to load; every item will be pended for manual review")
        # The note pipeline (spaCy + medspaCy rules) takes about a second to build: build it now, beside
        # start-up, so the first request with a note does not wait for it.
        threading.Thread(target=_warm_up, name="priorauth-warm-up", daemon=True).start()
        if settings.outbox_enabled:
            state.worker = DeliveryWorker(
                db,
                clock=clock,
                poll_seconds=settings.outbox_poll_seconds,
                batch=settings.outbox_batch,
                lease_seconds=settings.outbox_lease_seconds,
                timeout_seconds=settings.delivery_timeout_seconds,
                max_attempts=settings.outbox_max_attempts,
                backoff_base=settings.outbox_backoff_base_seconds,
                backoff_max=settings.outbox_backoff_max_seconds,
                on_result=lambda result: metrics.notifications.labels(result).inc(),
            )
            state.worker.start()
        if settings.decision_processes:
            state.pool = DecisionPool(settings, settings.decision_processes)
            await state.pool.start()
        app.state.priorauth = state
        log.info("priorauth serving on %s (database %s)", settings.base_url, db.dialect)
        try:
            yield
        finally:
            if state.pool is not None:
                await state.pool.close()
            if state.worker is not None:
                state.worker.stop()
            db.dispose()

    app = FastAPI(title="priorauth", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    for router in (pas.router, reads.router, subscriptions.router, ops.router, crd_routes.router, dtr_routes.router):
        app.include_router(router)
    mount_review(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported"}.get(
            exc.status_code, "processing"
        )
        response = outcome_response(exc.status_code, "Bundle", str(exc.detail), code)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="priorauth"'
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return outcome_response(400, "Bundle", str(exc.errors()[:1]), "invalid")

    return app


def app_from_environment() -> FastAPI:
    """App factory for ``uvicorn --factory`` and multi-worker serving: settings from ``PRIORAUTH_*``."""
    from priorauth.service.settings import load_settings

    return create_app(load_settings())
