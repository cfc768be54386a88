"""Fixtures for the workbench tests: one server with the demo requests and accounts, per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from review_helpers import ADMIN, REVIEWER, ReviewServer, cli, service_env

from priorauth.review.samples import samples


@dataclass
class Loaded:
    """A running server with the demo requests submitted over HTTP; case ids by sample name."""

    server: ReviewServer
    env: dict[str, str]
    cases: dict[str, str]
    bundles: dict[str, dict[str, Any]]


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[Loaded]:
    env = service_env(f"sqlite:///{tmp_path / 'review.db'}")
    server = ReviewServer(env, tmp_path / "server.log").start()
    try:
        cli(
            env,
            "reviewers",
            "add",
            REVIEWER[0],
            "--name",
            REVIEWER[1],
            "--npi",
            REVIEWER[2],
            "--specialty",
            "Medical Oncology",
            "--credentials",
            "MD",
            "--password",
            REVIEWER[3],
        )
        cli(env, "reviewers", "add", ADMIN[0], "--name", ADMIN[1], "--role", "admin", "--password", ADMIN[3])
        cases: dict[str, str] = {}
        bundles: dict[str, dict[str, Any]] = {}
        for sample in samples():
            answer = server.submit_json(sample.bundle)
            assert answer.status_code == 200, answer.text
            cases[sample.name] = answer.json()["entry"][0]["resource"]["id"]
            bundles[sample.name] = sample.bundle
        yield Loaded(server, env, cases, bundles)
    finally:
        server.stop()
