"""``uvicorn --factory app_for_tests:make_app``: the service with the review workbench mounted."""

from __future__ import annotations

from fastapi import FastAPI

from priorauth.review import mount
from priorauth.review.samples import enable_note_intake
from priorauth.service.app import create_app
from priorauth.service.settings import load_settings


def make_app() -> FastAPI:
    """The app exactly as ``create_app`` builds it, plus ``mount`` (idempotent once create_app calls it)."""
    enable_note_intake()  # the service's $submit does not read notes yet; the workbench shows their spans
    app = create_app(load_settings())
    mount(app)
    return app
