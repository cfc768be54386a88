"""Pended → reviewer decision (CLI) → one rest-hook notification, retried until the receiver is back."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
from service_helpers import PAS_REQUESTS, Receiver, Server, cli, free_port, review_action, service_env, subscription

HOMECARE = PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json"


def _submitter_org(path: Path) -> str:
    data = json.loads(path.read_text())
    claim = data["entry"][0]["resource"]
    provider_id = claim["provider"]["reference"].split("/")[-1]
    for entry in data["entry"]:
        if entry["resource"].get("id") == provider_id:
            return str(entry["resource"]["identifier"][0]["value"])
    raise AssertionError("no provider")


def _subscribe(server: Server, org: str, receiver: Receiver) -> str:
    answer = httpx.post(f"{server.url}/fhir/Subscription", json=subscription(org, receiver.url))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_reviewer_denial_is_notified_once(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'n.db'}")
    server = Server(env, tmp_path / "server.log").start()
    receiver = Receiver().start()
    try:
        org = _submitter_org(HOMECARE)
        _subscribe(server, org, receiver)
        answer = server.submit(HOMECARE.read_bytes())
        response = answer.json()["entry"][0]["resource"]
        assert review_action(response, 1) == "A4"
        result = cli(
            env,
            "decide",
            answer.headers["x-request-id"],
            "--deny",
            "--reviewer-npi",
            "1234567893",
            "--reason",
            "Home health skilled nursing is not supported by the documentation.",
            "--criterion",
            "HH.1",
        )
        assert "A3" in result.stdout
        notes = receiver.wait_for(1)
        time.sleep(1.0)  # no second copy arrives
        assert len(receiver.received) == 1
        notification = notes[0]
        assert notification["type"] == "history"
        status, pas = notification["entry"][0]["resource"], notification["entry"][1]["resource"]
        assert status["resourceType"] == "Parameters"
        assert pas["resourceType"] == "Bundle" and pas["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
        final = pas["entry"][0]["resource"]
        assert review_action(final, 1) == "A3" and review_action(final, 2) == "A3"
        reviewer = final["extension"][0]
        assert reviewer["url"].endswith("extension-claimResponseReviewer")
        assert {"url": "wasHumanReviewedFlag", "valueBoolean": True} in reviewer["extension"]
        assert any(e.get("valueIdentifier", {}).get("value") == "1234567893" for e in reviewer["extension"])
        assert any("appeal" in n["text"] for n in final["processNote"])
        # $inquire and the read both show the final answer now.
        inquiry = server.submit(HOMECARE.read_bytes(), op="inquire").json()
        assert review_action(inquiry["entry"][0]["resource"], 1) == "A3"
        current = httpx.get(f"{server.url}/fhir/ClaimResponse/{response['id']}").json()
        assert review_action(current, 1) == "A3"
        with sqlite3.connect(tmp_path / "n.db") as conn:
            chain = conn.execute(
                "SELECT decided_by, review_action, previous_id IS NOT NULL FROM determination "
                "WHERE case_id = ? AND item_sequence = 1 ORDER BY id",
                (response["id"],),
            ).fetchall()
        assert chain == [("engine", "A4", 0), ("reviewer", "A3", 1)]
        # A decided request cannot be decided again.
        again = cli(
            env, "decide", response["id"], "--approve", "--reviewer-npi", "1234567893", "--reason", "x", check=False
        )
        assert again.returncode == 1
    finally:
        server.stop()
        receiver.stop()


def test_receiver_down_then_back_gets_every_notification_even_across_a_restart(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'r.db'}")
    server = Server(env, tmp_path / "server.log").start()
    port = free_port()
    receiver = Receiver(port)  # not started: connection refused
    org = _submitter_org(HOMECARE)
    _subscribe(server, org, receiver)
    request_ids = [server.submit(HOMECARE.read_bytes()).headers["x-request-id"] for _ in range(3)]
    for request_id in request_ids:
        cli(env, "decide", request_id, "--approve", "--reviewer-npi", "1234567893", "--reason", "Documented.")
    # Let a few attempts fail, then crash the server while messages are pending.
    time.sleep(1.0)
    with sqlite3.connect(tmp_path / "r.db") as conn:
        pending = conn.execute("SELECT count(*), max(attempts) FROM outbox WHERE status = 'pending'").fetchone()
    assert pending[0] == 3 and pending[1] >= 1
    server.kill()
    receiver.start()
    restarted = Server(env, tmp_path / "server2.log").start()
    try:
        notes = receiver.wait_for(3)
        time.sleep(1.0)
        assert len(receiver.received) == 3
        events = {h.get("X-Priorauth-Event") or h.get("x-priorauth-event") for h in receiver.headers}
        assert len(events) == 3
        for note in notes:
            final = note["entry"][1]["resource"]["entry"][0]["resource"]
            assert review_action(final, 1) == "A1"
            assert final["preAuthRef"] and final["preAuthPeriod"]
    finally:
        restarted.stop()
        receiver.stop()


def test_receiver_errors_are_retried(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'e.db'}")
    server = Server(env, tmp_path / "server.log").start()
    receiver = Receiver().start()
    receiver.fail_with = 503
    try:
        _subscribe(server, _submitter_org(HOMECARE), receiver)
        request_id = server.submit(HOMECARE.read_bytes()).headers["x-request-id"]
        cli(env, "decide", request_id, "--approve", "--reviewer-npi", "1234567893", "--reason", "ok", "--item", "1")
        time.sleep(0.8)
        assert receiver.received == []
        receiver.fail_with = None
        note = receiver.wait_for(1)[0]
        final = note["entry"][1]["resource"]["entry"][0]["resource"]
        # Only item 1 was decided; item 2 stays pended, so the answer is A1 + A4.
        assert review_action(final, 1) == "A1" and review_action(final, 2) == "A4"
    finally:
        server.stop()
        receiver.stop()
