"""A request whose only clinical evidence is a note is decided end to end, with spans in the trace."""

from __future__ import annotations

from datetime import date

from note_samples import NOTE, bundle_with_note_only
from priorauth.engine.decide import decide
from priorauth.engine.determination import Outcome
from priorauth.engine.evidence import NoteSpanEvidence
from priorauth.fhir.extract import extract_request
from priorauth.policy.registry import load_registry


def test_a_note_only_request_is_decided_with_quoted_spans() -> None:
    data = bundle_with_note_only()
    request = extract_request(data, read_notes=True)
    det = decide(load_registry(), request.facts_for(request.items[0]), date(2026, 3, 2))
    assert det.trace is not None
    spans = [
        (node.criterion_id, ev) for node in det.trace.walk() for ev in node.evidence if isinstance(ev, NoteSpanEvidence)
    ]
    assert spans, "the trace cites note spans"
    for _, ev in spans:
        assert NOTE[ev.start : ev.end] == ev.text
    cited = {cid for cid, _ in spans}
    assert {"I.A.1", "I.A.4"} <= cited
    statuses = det.statuses()
    assert statuses["I.A.1"] == "met" and statuses["I.A.4"] == "met"
    assert statuses["I.A.2"] == "met", "an oncology consult note satisfies 'in consultation with an oncologist'"
    assert det.outcome is Outcome.APPROVED


def test_without_reading_notes_the_same_request_pends() -> None:
    request = extract_request(bundle_with_note_only())
    det = decide(load_registry(), request.facts_for(request.items[0]), date(2026, 3, 2))
    assert det.outcome is Outcome.PENDED
    assert {"I.A.1", "I.A.4"} <= {m.criterion_id for m in det.missing}
