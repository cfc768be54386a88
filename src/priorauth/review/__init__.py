"""The clinical reviewer's workbench: queue, case checklist, decisions, letters and audit (``/review``).

Mount it on the service with :func:`mount` (``create_app`` calls it); the CLI commands are
``priorauth.cli.review_commands.review_cli``.
"""

from __future__ import annotations

import importlib
import threading

from fastapi import FastAPI

from priorauth.review.settings import ReviewSettings

__all__ = ["ReviewSettings", "mount"]


def mount(app: FastAPI, settings: ReviewSettings | None = None) -> None:
    """Add the ``/review`` pages to an app built by ``create_app`` (its lifespan provides the database)."""
    from priorauth.review.routes import make_environment, router

    if getattr(app.state, "review_mounted", False):
        return
    app.state.review_mounted = True
    app.state.review_settings = settings or ReviewSettings()
    app.state.review_templates = make_environment()
    app.include_router(router)
    # WeasyPrint takes about a second to import; do it now, off the request path of the first letter.
    threading.Thread(target=importlib.import_module, args=("weasyprint",), daemon=True).start()
