"""Deciding processes behind one HTTP process (``PRIORAUTH_DECISION_PROCESSES``), over real HTTP.

Every answer must be the one in-process deciding gives, every request stored before its answer,
the metrics kept by the HTTP process, and a deciding process that dies must not lose a request.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from service_helpers import EXAMPLES, PAS_REQUESTS, Server, review_action, service_env
from test_sqlite_fleet import _distinct

EX01 = EXAMPLES / "EX01_medicaid_approval_structured.json"


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _deciding_processes(server: Server) -> list[int]:
    assert server.proc is not None
    return [
        child
        for child in _children(server.proc.pid)
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def _notes(claim_response: dict[str, object]) -> list[str]:
    """Process notes with the random parts (authorization number, request id) masked."""
    notes = claim_response.get("processNote") or []
    assert isinstance(notes, list)
    masked = (re.sub(r"PA\d{6}-[0-9A-F]{8}", "PA-number", n["text"]) for n in notes)
    return [re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "uuid", n) for n in masked]


def _metric(server: Server, name: str, **labels: str) -> float:
    """A sample's value from /metrics (labels in any order), 0 when absent."""
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        head, _, value = line.rpartition(" ")
        if head.startswith(name + "{") and set(head[len(name) + 1 : -1].split(",")) == wanted:
            return float(value)
    return 0.0


def test_pooled_answers_equal_in_process_answers(tmp_path: Path) -> None:
    pooled = Server(
        service_env(f"sqlite:///{tmp_path / 'pooled.db'}", PRIORAUTH_DECISION_PROCESSES="2"), tmp_path / "p.log"
    ).start()
    local = Server(service_env(f"sqlite:///{tmp_path / 'local.db'}"), tmp_path / "l.log").start()
    try:
        assert len(_deciding_processes(pooled)) == 2
        assert _deciding_processes(local) == []
        bodies = [EX01.read_bytes(), *(p.read_bytes() for p in sorted(PAS_REQUESTS.glob("*.json"))[:4])]
        for body in bodies:
            one, two = pooled.submit(body), local.submit(body)
            assert one.status_code == two.status_code == 200, one.text
            a, b = one.json()["entry"][0]["resource"], two.json()["entry"][0]["resource"]
            assert [i["itemSequence"] for i in a.get("item", [])] == [i["itemSequence"] for i in b.get("item", [])]
            for item in a.get("item", []):
                assert review_action(a, item["itemSequence"]) == review_action(b, item["itemSequence"])
            assert _notes(a) == _notes(b)
        # A rejected body is answered (and stored) the same way.
        bad = pooled.submit(b'{"resourceType": "Bundle", "type": "collection", "entry": []}')
        assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
        # $inquire goes through the pool as well.
        inquiry = pooled.submit(EX01.read_bytes(), op="inquire")
        assert inquiry.status_code == 200
        # The HTTP process keeps the counters the deciding processes incremented.
        assert _metric(pooled, "priorauth_pas_items_total", review_action="A1", decided_by="engine") >= 1
        assert _metric(pooled, "priorauth_pas_requests_total", operation="submit", status="200") == len(bodies)
        assert _metric(pooled, "priorauth_pas_requests_total", operation="inquire", status="200") == 1
        # SIGTERM stops the HTTP process and its deciding processes, promptly and cleanly.
        assert pooled.proc is not None
        deciders = _deciding_processes(pooled)
        started = time.monotonic()
        pooled.proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert pooled.proc.wait(8) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 8
        assert not [pid for pid in deciders if Path(f"/proc/{pid}").exists()]
    finally:
        pooled.stop()
        local.stop()


def test_a_burst_is_stored_once_and_a_dead_deciding_process_loses_nothing(tmp_path: Path) -> None:
    db_file = tmp_path / "pooled.db"
    server = Server(service_env(f"sqlite:///{db_file}", PRIORAUTH_DECISION_PROCESSES="2"), tmp_path / "s.log").start()
    body = EX01.read_bytes()
    try:
        with ThreadPoolExecutor(max_workers=8) as workers:
            answers = list(workers.map(lambda n: server.submit(_distinct(body, n)), range(32)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
        # Kill one deciding process while requests are in flight: each is still answered (decided in
        # the HTTP process while a new pool starts) and stored.
        victims = _deciding_processes(server)
        with ThreadPoolExecutor(max_workers=4) as workers:
            pending = [workers.submit(server.submit, _distinct(body, 100 + n)) for n in range(8)]
            time.sleep(0.05)
            os.kill(victims[0], signal.SIGKILL)
            late = [p.result() for p in pending]
        assert all(a.status_code == 200 for a in late), [a.text for a in late if a.status_code != 200]
        after = server.submit(_distinct(body, 999))
        assert after.status_code == 200
        # The new pool starts both its processes without waiting for requests to ask for them.
        deadline = time.monotonic() + 30
        while len(_deciding_processes(server)) != 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_deciding_processes(server)) == 2
        assert victims[0] not in _deciding_processes(server)
        assert "a deciding process died" in (tmp_path / "s.log").read_text()
    finally:
        server.stop()
    with sqlite3.connect(db_file) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM received_request WHERE operation = 'submit'")}
        claims = [r[0] for r in conn.execute("SELECT claim_value FROM received_request WHERE http_status = 200")]
    answered = {a.headers["x-request-id"] for a in (*answers, *late, after)}
    assert answered <= ids
    assert len(set(claims)) == 32 + 8 + 1
    assert all(json.loads(a.text)["resourceType"] == "Bundle" for a in (*answers, *late, after))
