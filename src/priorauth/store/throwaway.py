"""A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port.

For the tests and the benchmarks (and anyone trying the service on PostgreSQL without a server of
their own): ``initdb`` + ``pg_ctl`` from the machine's PostgreSQL server package, trust
authentication, stopped and left behind in the temp dir when the block ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl) are not installed."""


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, else the newest /usr/lib/postgresql/*/bin (Debian)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        return candidate.parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; CI containers often are root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def throwaway_cluster(settings: Sequence[str] = ("fsync=off",)) -> Iterator[str]:
    """Start a cluster; yields its base URL (``postgresql+psycopg://postgres@127.0.0.1:PORT``, no
    database). ``settings`` are extra ``-c name=value`` server settings."""
    bindir = postgres_bindir()
    if bindir is None:
        raise PostgresUnavailableError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package"
        )
    root = Path(tempfile.mkdtemp(prefix="priorauth-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        subprocess.run(["chown", "postgres", str(root)], check=True)
    port = _free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = " ".join(
        [f"-p {port}", f"-k {root}", "-c listen_addresses=127.0.0.1", "-c max_connections=200"]
        + [f"-c {setting}" for setting in settings]
    )
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "pg.log"), "-w", "-o", options, "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True)


def create_database(cluster_url: str, name: str) -> str:
    """Create database ``name`` in a cluster; returns its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(
        cluster_url.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{cluster_url}/{name}"
