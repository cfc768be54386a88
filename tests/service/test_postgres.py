"""Two server processes on one PostgreSQL database: shared state, one notification per decision."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from service_helpers import PAS_REQUESTS, Receiver, Server, cli, review_action, service_env, subscription

pytestmark = pytest.mark.postgres

HOMECARE = PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json"
UMO_NPI = "8189991234"


def test_fleet_of_two_on_postgres(tmp_path: Path, pg_url: str) -> None:
    env = service_env(pg_url)
    cli(env, "db", "upgrade")
    cli(env, "db", "upgrade")  # idempotent
    one = Server(env, tmp_path / "one.log").start()
    two = Server(env, tmp_path / "two.log").start()
    receiver = Receiver().start()
    try:
        sub = httpx.post(f"{one.url}/fhir/Subscription", json=subscription(UMO_NPI, receiver.url))
        assert sub.status_code == 201
        assert httpx.get(f"{two.url}/fhir/Subscription/{sub.json()['id']}").status_code == 200

        decisions = []
        for server in (one, two, one, two):
            answer = server.submit(HOMECARE.read_bytes())
            assert answer.status_code == 200, answer.text
            decisions.append(answer.headers["x-request-id"])
        # Submitted on one, inquired on the other: the latest request's answer.
        latest = httpx.get(f"{one.url}/fhir/Bundle/{decisions[-1]}")
        assert latest.content == HOMECARE.read_bytes()
        inquiry = two.submit(HOMECARE.read_bytes(), op="inquire")
        assert inquiry.status_code == 200
        assert review_action(inquiry.json()["entry"][0]["resource"], 1) == "A4"

        for request_id in decisions:
            cli(env, "decide", request_id, "--approve", "--reviewer-npi", "1234567893", "--reason", "ok")
        notes = receiver.wait_for(len(decisions))
        time.sleep(1.5)  # both workers keep polling; no duplicates may appear
        assert len(receiver.received) == len(decisions)
        focus = {n["entry"][1]["resource"]["entry"][0]["resource"]["id"] for n in notes}
        assert len(focus) == len(decisions)
        numbers = sorted(int(n["entry"][0]["resource"]["parameter"][5]["part"][0]["valueString"]) for n in notes)
        assert numbers == [1, 2, 3, 4]
    finally:
        one.stop()
        two.stop()
        receiver.stop()


def test_every_submit_fixture_on_postgres(tmp_path: Path, pg_url: str) -> None:
    env = service_env(pg_url)
    cli(env, "db", "upgrade")
    server = Server(env, tmp_path / "pg.log").start()
    try:
        paths = sorted(PAS_REQUESTS.glob("*.json"), key=lambda p: ("inquir" in p.name, p.name))
        for path in paths:  # submissions first, so that every inquiry has its request on file
            op = "inquire" if "inquir" in path.name else "submit"
            answer = server.submit(path.read_bytes(), op=op)
            assert answer.status_code in (200, 400), (path.name, answer.text)
            assert len(answer.json().get("issue", [None])) == 1
    finally:
        server.stop()
