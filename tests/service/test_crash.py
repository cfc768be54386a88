"""kill -9 during a burst: every request answered with 2xx is in the database afterwards."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
from service_helpers import PAS_REQUESTS, Server, service_env

BODY = (PAS_REQUESTS / "inferno-pas221_submit_referral_approval-denial.json").read_bytes()


def test_kill_9_during_burst_loses_no_answered_request(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    env = service_env(f"sqlite:///{db_path}")
    server = Server(env, tmp_path / "server.log").start()
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post(
                        f"{server.url}/fhir/Claim/$submit",
                        content=BODY,
                        headers={"Content-Type": "application/fhir+json"},
                    )
                except httpx.HTTPError:
                    return  # the server died mid-request: not answered, nothing promised
                if response.status_code // 100 == 2:
                    with lock:
                        answered.append(response.headers["x-request-id"])

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(answered) >= 60:
                break
        time.sleep(0.02)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(15)
    assert len(answered) >= 20
    with sqlite3.connect(db_path) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM received_request WHERE http_status = 200")}
        responses = {row[0] for row in conn.execute("SELECT request_id FROM response_version")}
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} answered requests lost"
    assert set(answered) <= responses
    # And the service comes back on the same file.
    restarted = Server(env, tmp_path / "server2.log").start()
    try:
        assert restarted.submit(BODY).status_code == 200
    finally:
        restarted.stop()
