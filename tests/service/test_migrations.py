"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

A column added to a model without a migration (or the reverse) would only show on an upgraded
production database; this compares the two after ``upgrade head``, types and server defaults included.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from priorauth.review.models import ReviewBase
from priorauth.store.db import upgrade
from priorauth.store.models import Base


def _drift(url: str) -> list[object]:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, [Base.metadata, ReviewBase.metadata]))
    finally:
        engine.dispose()


def test_migrations_match_the_models_on_sqlite(sqlite_url: str) -> None:
    assert _drift(sqlite_url) == []


def test_migrations_match_the_models_on_postgres(pg_url: str) -> None:
    assert _drift(pg_url) == []
