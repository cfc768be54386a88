"""Notes are read at intake: stored with the extractor version and rule-set hash, cited as spans."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from note_samples import NOTE, bundle_with_note_only
from priorauth.notes import EXTRACTOR_VERSION, ruleset_hash
from priorauth.service.decisions import DecisionService
from priorauth.service.settings import load_settings
from priorauth.store.bodies import unpack_text
from priorauth.store.db import open_database, upgrade


def test_a_note_only_request_is_approved_and_its_extraction_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    upgrade(url)
    service = DecisionService(open_database(url), load_settings(database_url=url, today="2026-03-02"))
    answer = service.submit(json.dumps(bundle_with_note_only()).encode(), org=None)
    assert answer.status == 200
    response = json.loads(answer.body)
    claim_response = response["entry"][0]["resource"]
    actions = [
        ext["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        for item in claim_response["item"]
        for adj in item.get("adjudication", [])
        for ext in adj.get("extension", [])
        if ext["url"].endswith("extension-reviewAction")
    ]
    assert actions == ["A1"]
    with sqlite3.connect(tmp_path / "notes.db") as conn:
        rows = conn.execute(
            "SELECT document, extractor_version, ruleset_sha256, written, payload FROM note_extraction"
        ).fetchall()
        trace = unpack_text(conn.execute("SELECT trace_packed FROM determination").fetchone()[0])
    assert len(rows) == 1
    document, version, ruleset, written, payload = rows[0]
    assert (document, version, ruleset, written) == (
        "DocumentReference/consult-note-1",
        EXTRACTOR_VERSION,
        ruleset_hash(),
        "2026-02-20",
    )
    mentions = json.loads(payload)["mentions"]
    assert mentions and all(NOTE[m["start"] : m["end"]] == m["text"] for m in mentions)
    assert '"kind": "note"' in trace or '"kind":"note"' in trace
