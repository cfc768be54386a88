"""Demo requests built from the shared tarlatamab examples with small edits (used by ``priorauth demo``)."""

from __future__ import annotations

import base64
import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]

NOTE_URL = "urn:uuid:5d0b8f9e-7a4c-4f7e-9a51-0c1c2d3e4f50"

#: A pulmonary clinic note: progression after platinum is documented, no oncology involvement is.
PULMONARY_NOTE = """PULMONARY CLINIC NOTE
Date of service: 02/20/2026

HISTORY OF PRESENT ILLNESS:
68-year-old woman with extensive stage small cell lung cancer diagnosed 07/2025, treated with
carboplatin and etoposide plus atezolizumab starting 08/04/2025 for 4 cycles.
Restaging CT chest/abdomen/pelvis on 01/26/2026 showed progression with new liver lesions.

ASSESSMENT AND PLAN:
ES-SCLC with disease progression after platinum-based chemotherapy. Plan tarlatamab with step-up
dosing (1 mg C1D1, 10 mg C1D8 and C1D15) with inpatient monitoring for CRS and ICANS.
"""

#: An oncology consultation that documents platinum therapy but says nothing about progression.
CONSULT_NOTE = """HEMATOLOGY/ONCOLOGY CONSULTATION
Date of service: 02/20/2026

HISTORY OF PRESENT ILLNESS:
68-year-old woman with extensive stage small cell lung cancer diagnosed 07/2025, treated with
carboplatin and etoposide plus atezolizumab starting 08/04/2025 for 4 cycles.
Restaging imaging is scheduled.

ASSESSMENT AND PLAN:
ES-SCLC after platinum-based chemotherapy. Plan tarlatamab with step-up dosing (1 mg C1D1,
10 mg C1D8 and C1D15) with inpatient monitoring for CRS and ICANS.
"""


@dataclass(frozen=True)
class Sample:
    """One demo request and what the engine should answer."""

    name: str
    expected: str
    bundle: Json


def examples_dir() -> Path:
    """Where the shared examples are: ``PRIORAUTH_EXAMPLES_DIR``, the shared folder, or the checkout."""
    candidates = [
        os.environ.get("PRIORAUTH_EXAMPLES_DIR"),
        "/work/shared/fixtures/examples",
        str(Path(__file__).resolve().parents[3] / "fixtures" / "examples"),
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "EX01_medicaid_approval_structured.json").is_file():
            return Path(candidate)
    raise FileNotFoundError("the example requests were not found; set PRIORAUTH_EXAMPLES_DIR")


def _load(name: str) -> Json:
    data: Json = json.loads((examples_dir() / name).read_text(encoding="utf-8"))
    return data


def _claim(bundle: Json) -> Json:
    claim: Json = bundle["entry"][0]["resource"]
    return claim


def _reidentify(bundle: Json, value: str) -> None:
    claim = _claim(bundle)
    claim["identifier"][0]["value"] = value
    if isinstance(bundle.get("identifier"), dict):
        bundle["identifier"]["value"] = value


def _add_note(bundle: Json, text: str, doc_id: str) -> None:
    claim = _claim(bundle)
    note = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}]},
        "subject": copy.deepcopy(claim["patient"]),
        "date": "2026-02-20T10:00:00-06:00",
        "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}}],
    }
    bundle["entry"].append({"fullUrl": NOTE_URL, "resource": note})
    infos = claim.setdefault("supportingInfo", [])
    infos.append(
        {
            "sequence": len(infos) + 1,
            "category": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes",
                        "code": "additionalInformation",
                    }
                ]
            },
            "valueReference": {"reference": NOTE_URL},
        }
    )


def _rename(bundle: Json, given: str, family: str) -> None:
    for entry in bundle["entry"]:
        if entry["resource"].get("resourceType") == "Patient":
            entry["resource"]["name"] = [{"family": family, "given": [given]}]


def recommend_denial() -> Json:
    """EX02 with I.A.2 answered "no" and a pulmonary note; expedited (Claim.priority stat)."""
    bundle = _load("EX02_marketplace_questionnaire_prescriber_unanswered.json")
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res.get("resourceType") == "QuestionnaireResponse":
            answer = copy.deepcopy(res["item"][0])
            answer["linkId"] = "I.A.2"
            answer["text"] = "Is the medication prescribed by or in consultation with an oncologist?"
            answer["answer"][0]["valueBoolean"] = False
            res["item"].insert(1, answer)
    _add_note(bundle, PULMONARY_NOTE, "pulmonary-note-1")
    _claim(bundle)["priority"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "stat"}]
    }
    _reidentify(bundle, "PA-DEMO-DENY-0001")
    _rename(bundle, "Margaret", "Okafor")
    return bundle


def pended_with_note() -> Json:
    """EX02 without the questionnaire, with an oncology consult that does not document progression."""
    bundle = _load("EX02_marketplace_questionnaire_prescriber_unanswered.json")
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("resourceType") != "QuestionnaireResponse"]
    _claim(bundle)["supportingInfo"] = []
    _add_note(bundle, CONSULT_NOTE, "consult-note-1")
    _reidentify(bundle, "PA-DEMO-NOTE-0002")
    _rename(bundle, "Helen", "Park")
    return bundle


def samples() -> list[Sample]:
    """The demo set: approved, pended for information (two), referred, recommended for denial."""
    return [
        Sample("EX01 approved", "A1 approved", _load("EX01_medicaid_approval_structured.json")),
        Sample(
            "EX02 pended for information",
            "A4 pended (I.A.2 unanswered)",
            _load("EX02_marketplace_questionnaire_prescriber_unanswered.json"),
        ),
        Sample("EX03 referred", "A4 referred to CP.PMN.53", _load("EX03_limited_stage_medicaid_referral.json")),
        Sample("Note, no progression documented", "A4 pended (I.A.4 unknown)", pended_with_note()),
        Sample("Recommended for denial (expedited)", "A4 clinical review (I.A.2 not met)", recommend_denial()),
    ]
