"""Alembic environment: online migrations only; a PostgreSQL advisory lock serialises a fleet's starts."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

from priorauth.review.models import ReviewBase
from priorauth.store.models import Base

_LOCK_KEY = 7_243_911  # arbitrary, constant: all priorauth processes contend for the same lock

config = context.config
# priorauth.store.db.upgrade passes the URL in attributes; a bare `alembic` run reads the environment.
url = (
    config.attributes.get("url") or os.environ.get("PRIORAUTH_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
)
if not url:
    raise RuntimeError("no database URL: set PRIORAUTH_DATABASE_URL")

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        connection.commit()
    try:
        context.configure(
            connection=connection, target_metadata=[Base.metadata, ReviewBase.metadata], render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            connection.commit()
engine.dispose()
