"""Test helpers: real server processes, a real webhook receiver, a throwaway PostgreSQL cluster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
if not FIXTURES.exists():  # the repository may carry its own copy
    FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAS_REQUESTS = FIXTURES / "davinci" / "pas" / "requests"
PAS_RESPONSES = FIXTURES / "davinci" / "pas" / "responses"
EXAMPLES = FIXTURES / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIORAUTH_")}
    env.update(
        {
            "PRIORAUTH_DATABASE_URL": database_url,
            "PRIORAUTH_AUTH": "off",
            "PRIORAUTH_TODAY": "2026-03-02",
            "PRIORAUTH_OUTBOX_POLL_SECONDS": "0.1",
            "PRIORAUTH_OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
            "PRIORAUTH_OUTBOX_BACKOFF_MAX_SECONDS": "1",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the service CLI as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "priorauth.cli.service_commands", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"CLI {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Server:
    """A real ``serve`` process on a free loopback port."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "priorauth.cli.service_commands",
                "serve",
                "--host",
                self.host,
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

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def submit(self, body: bytes, *, token: str | None = None, op: str = "submit") -> httpx.Response:
        headers = {"Content-Type": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(f"{self.url}/fhir/Claim/${op}", content=body, headers=headers, timeout=60)


class Receiver:
    """A rest-hook endpoint that records notifications; can answer errors or be shut down and restarted."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_with: int | None = None
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if outer.fail_with:
                    self.send_response(outer.fail_with)
                    self.end_headers()
                    return
                with outer._lock:
                    outer.received.append(json.loads(body))
                    outer.headers.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} notifications, got {len(self.received)}")


def subscription(org: str, endpoint: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (PAS_REQUESTS / "inferno-pas-spec_PAS_Subscription_example_v221_good.json").read_text()
    )
    data["_criteria"]["extension"][0]["valueString"] = f"org-identifier={org}"
    data["channel"]["endpoint"] = endpoint
    data.pop("id", None)
    return data


def review_action(claim_response: dict[str, Any], sequence: int) -> str:
    for item in claim_response.get("item", []):
        if item["itemSequence"] == sequence:
            ext = item["adjudication"][0]["extension"][0]["extension"][0]
            return str(ext["valueCodeableConcept"]["coding"][0]["code"])
    raise KeyError(sequence)
