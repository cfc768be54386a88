"""SQLite under several writers: ``serve --workers 2`` on one file, and WAL checkpoints off the request path."""

from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service_helpers import EXAMPLES, Server, service_env
from sqlalchemy import text

from priorauth.store.db import open_database, upgrade


def _distinct(body: bytes, n: int) -> bytes:
    """The example as request ``n`` of its own member (claim and member identifiers renumbered)."""
    data = json.loads(body)
    claim = data["entry"][0]["resource"]
    claim["identifier"][0]["value"] = f"FLEET-{n:05d}"
    for entry in data["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in ("Coverage", "Patient"):
            for identifier in resource.get("identifier", []):
                identifier["value"] = f"M{n:05d}"
    return json.dumps(data).encode()


def test_two_worker_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    """Concurrent submissions spread over two processes: every one answered 200 and stored once, none
    lost to "database is locked" (writers of both processes queue on the file lock)."""
    db_file = tmp_path / "priorauth.db"
    server = Server(service_env(f"sqlite:///{db_file}", PRIORAUTH_WORKERS="2"), tmp_path / "server.log").start()
    body = (EXAMPLES / "EX01_medicaid_approval_structured.json").read_bytes()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda n: server.submit(_distinct(body, n)), range(48)))
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200] * 48, [a.text[:200] for a in answers if a.status_code != 200]
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT count(*) FROM pa_case").fetchone() == (48,)
        assert conn.execute("SELECT count(DISTINCT request_id) FROM determination").fetchone() == (48,)
    assert (tmp_path / "priorauth.db.write-lock").exists()
    assert "database is locked" not in (tmp_path / "server.log").read_text()


def test_the_wal_is_checkpointed_by_the_background_thread(tmp_path: Path) -> None:
    """Commits go to the WAL only (SQLite's own threshold is set high); the checkpoint thread copies them
    into the database file, so it grows without any writer paying for it."""
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    upgrade(url)
    db = open_database(url)
    try:
        with db.write() as session:
            session.execute(text("CREATE TABLE filler (payload BLOB)"))
        time.sleep(0.2)
        with db.write() as session:
            for _ in range(50):
                session.execute(text("INSERT INTO filler VALUES (randomblob(8000))"))
        before = (tmp_path / "wal.db").stat().st_size
        assert (tmp_path / "wal.db-wal").stat().st_size > 400_000  # the rows are in the WAL
        db.start_checkpoints(interval_seconds=0.05)
        deadline = time.monotonic() + 10
        while (tmp_path / "wal.db").stat().st_size < before + 400_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "wal.db").stat().st_size >= before + 400_000
    finally:
        db.dispose()
