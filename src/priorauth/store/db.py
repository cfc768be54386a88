"""The database handle: engines, sessions and migrations, for SQLite (WAL) and PostgreSQL alike."""

from __future__ import annotations

import logging
import os
import threading

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone queues other processes
    fcntl = None  # type: ignore[assignment]
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
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
        # Checkpoints copy the WAL into the database file; run at commit they cost a writer ~0.6 ms a
        # request. The service checkpoints from a background thread (Database.start_checkpoints); this
        # high threshold only bounds the WAL for processes that do not (the CLI).
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY without waiting, which busy_timeout does not cover.
        # Straight on the driver's connection: through exec_driver_sql this statement cost ~40 µs of
        # SQLAlchemy execution machinery per transaction, two transactions per $submit.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def _file_lock(handle: IO[str] | None) -> Iterator[None]:
    """An exclusive ``flock`` on an open file for the block (no-op without one or where flock is missing)."""
    if handle is None or fcntl is None:
        yield
        return
    fcntl.flock(handle, fcntl.LOCK_EX)  # released with the descriptor, even if the process dies
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Database:
    """Two session factories: ``write()`` (serialised on SQLite) and ``read()`` (concurrent)."""

    url: str
    write_engine: Engine
    read_engine: Engine
    # SQLite has one writer: queue this process's writers on a lock instead of letting them spin in
    # SQLite's busy handler, whose growing sleeps (up to 100 ms) made the latency tail.
    serialize_writes: bool = False
    # ... and queue the writers of other processes on the same file (``serve --workers N``) on an OS
    # file lock beside the database, which wakes the next writer at once.
    lock_path: Path | None = None
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _write_sessions: sessionmaker[Session] = field(init=False, repr=False)
    _read_sessions: sessionmaker[Session] = field(init=False, repr=False)
    _checkpointer: tuple[threading.Thread, threading.Event] | None = field(default=None, init=False, repr=False)
    # (pid, handle) of the open lock file: opening it was ~30 µs a write. A forked child shares the
    # parent's open file, and flock would not keep the two apart, so a new pid opens its own.
    _lock_file: tuple[int, IO[str]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    def _lock_handle(self) -> IO[str] | None:
        # Called under _write_lock: one thread at a time uses the handle.
        if self.lock_path is None:
            return None
        held = self._lock_file
        if held is None or held[0] != os.getpid():
            held = (os.getpid(), self.lock_path.open("a"))
            self._lock_file = held
        return held[1]

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.write_engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without error."""
        if not self.serialize_writes:
            with self._write_sessions() as session, session.begin():
                yield session
            return
        # (Context managers enter left to right: the handle is taken under _write_lock.)
        with self._write_lock, _file_lock(self._lock_handle()), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only (rolled back at the end)."""
        with self._read_sessions() as session:
            yield session

    # The Core connections below serve the $submit path: an ORM Session costs about 0.1 ms a
    # transaction before any statement runs (Repository.on makes one only when a query needs it).
    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, committed when the block ends without error."""
        if not self.serialize_writes:
            with self.write_engine.begin() as connection:
                yield connection
            return
        with self._write_lock, _file_lock(self._lock_handle()), self.write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection in a read transaction (one snapshot for every query in the block)."""
        with self.read_engine.begin() as connection:
            yield connection

    def start_checkpoints(self, interval_seconds: float = 0.1) -> None:
        """SQLite only: checkpoint the WAL from a daemon thread, off the request path (PASSIVE: never
        waits for readers or writers). A no-op on PostgreSQL or when already running.

        Often and small: a checkpoint ends with an fsync that the writers of that moment wait behind;
        measured at concurrency 8, p99 was ~88 ms checkpointing every 0.1 s, ~100 ms every 0.5 s and
        ~150–200 ms every 2 s or at commit (SQLite's own threshold).
        """
        if self.dialect != "sqlite" or self._checkpointer is not None:
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval_seconds):
                try:
                    raw = self.read_engine.raw_connection()
                    try:
                        raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
                    finally:
                        raw.close()
                except Exception:
                    log.exception("WAL checkpoint failed; SQLite's own threshold still bounds the WAL")

        thread = threading.Thread(target=loop, name="priorauth-wal-checkpoint", daemon=True)
        self._checkpointer = (thread, stop)
        thread.start()

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
        """Stop the checkpoint thread and close pooled connections."""
        if self._checkpointer is not None:
            thread, stop = self._checkpointer
            stop.set()
            thread.join(5)
            self._checkpointer = None
        if self._lock_file is not None and self._lock_file[0] == os.getpid():
            self._lock_file[1].close()
        self._lock_file = None
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def open_database(url: str) -> Database:
    """Open a database by SQLAlchemy URL (``sqlite:///file.db`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        lock_path = None
        if parsed.database and parsed.database != ":memory:":
            lock_path = Path(parsed.database).with_name(Path(parsed.database).name + ".write-lock")
        return Database(
            url,
            _sqlite_engine(url, immediate=True),
            _sqlite_engine(url, immediate=False),
            serialize_writes=True,
            lock_path=lock_path,
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
