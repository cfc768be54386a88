"""A small FastAPI app serving only the CRD and DTR routers (the main service mounts them itself)."""

from __future__ import annotations

from fastapi import FastAPI

from priorauth.crd.routes import router as crd_router
from priorauth.dtr.routes import router as dtr_router


def create_app() -> FastAPI:
    """CDS Hooks discovery and services, and ``$questionnaire-package``."""
    app = FastAPI(title="priorauth CRD/DTR (tests)")
    app.include_router(crd_router)
    app.include_router(dtr_router)
    return app
