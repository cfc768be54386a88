"""A tarlatamab PAS request whose only clinical evidence is an oncology consult note (shared by tests)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

EX02 = (
    Path(__file__).resolve().parents[2]
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


def bundle_with_note_only() -> dict[str, Any]:
    """EX02 without its questionnaire, plus the consult note as a base64 DocumentReference."""
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
