"""Helpers for the workbench tests: a real uvicorn process with /review mounted, accounts, sign-in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from service_helpers import Server, free_port, review_action, service_env, subscription

HERE = Path(__file__).resolve().parent
REVIEWER = ("dr-rivera", "Dr. Alex Rivera", "1234567893", "review-pass-1")
ADMIN = ("admin-sam", "Sam Admin", None, "admin-pass-12")

__all__ = ["ReviewServer", "free_port", "review_action", "service_env", "sign_in", "subscription"]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The workbench CLI as a user runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "priorauth.cli.review_commands", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"CLI {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class ReviewServer(Server):
    """The real ``priorauth serve`` (the workbench is mounted in the service) on a free loopback port."""

    def submit_json(self, bundle: dict[str, Any], op: str = "submit") -> httpx.Response:
        """POST a request Bundle (as a dict) to ``$submit`` or ``$inquire``."""
        return self.submit(json.dumps(bundle).encode(), op=op)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(server: ReviewServer, username: str, password: str) -> httpx.Client:
    """An HTTP client with a live workbench session."""
    client = httpx.Client(base_url=server.url, timeout=60)
    form = client.get("/review/login")
    answer = client.post(
        "/review/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text), "next": "/review"},
    )
    assert answer.status_code == 303, answer.text
    return client


def submitter_org(bundle: dict[str, Any]) -> str:
    """The requesting organization's identifier (what a subscription filters on)."""
    claim = bundle["entry"][0]["resource"]
    ref = claim["provider"]["reference"]
    for entry in bundle["entry"]:
        if entry.get("fullUrl") == ref or f"{entry['resource']['resourceType']}/{entry['resource'].get('id')}" == ref:
            return str(entry["resource"]["identifier"][0]["value"])
    raise AssertionError("no provider organization")
