"""The database handle: engines, sessions and migrations, for SQLite (WAL) and PostgreSQL alike."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=16,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's implicit BEGIN is too late).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9); only an OS crash may lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY without waiting, which busy_timeout does not cover.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """Two session factories: ``write()`` (serialised on SQLite) and ``read()`` (concurrent)."""

    url: str
    write_engine: Engine
    read_engine: Engine
    # SQLite has one writer: queue this process's writers on a lock instead of letting them spin in
    # SQLite's busy handler, whose growing sleeps (up to 100 ms) made the latency tail.
    serialize_writes: bool = False
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.write_engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without error."""
        if not self.serialize_writes:
            with sessionmaker(self.write_engine, expire_on_commit=False)() as session, session.begin():
                yield session
            return
        with (
            self._write_lock,
            sessionmaker(self.write_engine, expire_on_commit=False)() as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only (rolled back at the end)."""
        with sessionmaker(self.read_engine, expire_on_commit=False)() as session:
            yield session

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.exception("database ping failed")
            return False

    def dispose(self) -> None:
        """Close pooled connections."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def open_database(url: str) -> Database:
    """Open a database by SQLAlchemy URL (``sqlite:///file.db`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return Database(
            url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False), serialize_writes=True
        )
    engine = create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)
    return Database(url, engine, engine)


def migrations_dir() -> Path:
    """Where the Alembic scripts are: packaged as ``priorauth/_migrations`` or in the source checkout."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "_migrations", here.parents[3] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("Alembic migrations not found (expected priorauth/_migrations or ./migrations)")


def upgrade(url: str, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (serialised across processes on PostgreSQL)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["url"] = url
    command.upgrade(config, revision)
