"""Fixtures for the service tests: real SQLite files, real server processes, a real PostgreSQL cluster."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import Server, service_env

from priorauth.store.throwaway import create_database, postgres_bindir, throwaway_cluster


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'priorauth.db'}"


@pytest.fixture
def server(tmp_path: Path, sqlite_url: str) -> Iterator[Server]:
    srv = Server(service_env(sqlite_url), tmp_path / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port; yields a base URL without database."""
    if postgres_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are required in CI")
        pytest.skip("PostgreSQL server binaries not installed")
    with throwaway_cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_cluster: str) -> str:
    """A fresh database in the cluster for one test."""
    return create_database(pg_cluster, f"t{int(time.time() * 1000)}_{os.getpid()}")
