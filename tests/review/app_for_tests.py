"""``uvicorn --factory app_for_tests:make_app``: the service with the review workbench mounted."""

from __future__ import annotations

from fastapi import FastAPI

from priorauth.review import mount
from priorauth.service.app import create_app
from priorauth.service.settings import load_settings


def make_app() -> FastAPI:
    """The app exactly as ``create_app`` builds it, plus ``mount`` (idempotent once create_app calls it)."""
    app = create_app(load_settings())
    mount(app)
    return app
