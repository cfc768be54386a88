"""A request whose only clinical evidence is a note is decided end to end, with spans in the trace."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

from priorauth.engine.decide import decide
from priorauth.engine.determination import Outcome
from priorauth.engine.evidence import NoteSpanEvidence
from priorauth.fhir.extract import extract_request
from priorauth.policy.registry import load_registry

EX02 = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "fixtures"
    / "examples"
    / ("EX02_marketplace_questionnaire_prescriber_unanswered.json")
)

NOTE = """HEMATOLOGY/ONCOLOGY CONSULTATION
Date of service: 02/20/2026

HISTORY OF PRESENT ILLNESS:
68-year-old woman with extensive stage small cell lung cancer diagnosed 07/2025, treated with
carboplatin and etoposide plus atezolizumab starting 08/04/2025 for 4 cycles.
CT chest/abdomen/pelvis on 01/26/2026 showed progression with new liver lesions.

ASSESSMENT AND PLAN:
ES-SCLC with disease progression after platinum-based chemotherapy. Plan tarlatamab with step-up
dosing (1 mg C1D1, 10 mg C1D8 and C1D15) with inpatient monitoring for CRS and ICANS.
"""


def _bundle_with_note_only() -> dict:  # type: ignore[type-arg]
    data = json.loads(EX02.read_text())
    data["entry"] = [e for e in data["entry"] if e["resource"]["resourceType"] != "QuestionnaireResponse"]
    note = {
        "resourceType": "DocumentReference",
        "id": "consult-note-1",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}]},
        "subject": data["entry"][0]["resource"]["patient"],
        "date": "2026-02-20T10:00:00-06:00",
        "context": {"practiceSetting": {"text": "Hematology/Oncology"}},
        "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(NOTE.encode()).decode()}}],
    }
    data["entry"].append({"fullUrl": "urn:uuid:5d0b8f9e-7a4c-4f7e-9a51-0c1c2d3e4f50", "resource": note})
    claim = data["entry"][0]["resource"]
    claim["supportingInfo"] = [
        {
            "sequence": 1,
            "category": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes",
                        "code": "additionalInformation",
                    }
                ]
            },
            "valueReference": {"reference": "urn:uuid:5d0b8f9e-7a4c-4f7e-9a51-0c1c2d3e4f50"},
        }
    ]
    return data


def test_a_note_only_request_is_decided_with_quoted_spans() -> None:
    data = _bundle_with_note_only()
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
    request = extract_request(_bundle_with_note_only())
    det = decide(load_registry(), request.facts_for(request.items[0]), date(2026, 3, 2))
    assert det.outcome is Outcome.PENDED
    assert {"I.A.1", "I.A.4"} <= {m.criterion_id for m in det.missing}
