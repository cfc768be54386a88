"""Helpers for the workbench tests: a real uvicorn process with /review mounted, accounts, sign-in."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from service_helpers import free_port, review_action, service_env, subscription

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


@dataclass
class ReviewServer:
    """``uvicorn --factory app_for_tests:make_app`` on a free loopback port."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ReviewServer:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "--app-dir",
                str(HERE),
                "app_for_tests:make_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def submit(self, bundle: dict[str, Any], op: str = "submit") -> httpx.Response:
        return httpx.post(
            f"{self.url}/fhir/Claim/${op}",
            content=json.dumps(bundle).encode(),
            headers={"Content-Type": "application/fhir+json"},
            timeout=60,
        )


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
