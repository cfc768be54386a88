"""Turn a policy case's input into a real Da Vinci PAS request Bundle (FHIR R4), shaped like the
examples in ``shared/fixtures/examples``: the Claim first, every clinical resource reached from
``Claim.supportingInfo``. Resource ids are uuid5 of the case name, so a build is reproducible.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from dateutil.relativedelta import relativedelta

from priorauth.cases.model import Case, CaseInput, Dose

HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NDC = "http://hl7.org/fhir/sid/ndc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
NUCC = "http://nucc.org/provider-taxonomy"
UCUM = "http://unitsofmeasure.org"
LOB_SYSTEM = "https://priorauth.dev/fhir/CodeSystem/line-of-business"
DOCUMENT_TYPE_SYSTEM = "https://priorauth.dev/fhir/CodeSystem/document-type"
QUESTIONNAIRE = "https://priorauth.dev/fhir/Questionnaire/CP.PHAR.685"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition"
DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition"
INFORMATION_ORIGIN = f"{DTR}/information-origin"
X12_755 = "https://codesystem.x12.org/005010/755"
TZ = "-06:00"

NAMESPACE = uuid.UUID("6f1c2a7e-4b1e-5c3d-9a0e-85a1c0de6850")

TAXONOMY_NAMES = {
    "207RX0202X": "Internal Medicine, Medical Oncology",
    "207RH0003X": "Internal Medicine, Hematology & Oncology",
    "207VX0201X": "Obstetrics & Gynecology, Gynecologic Oncology",
    "2080P0207X": "Pediatrics, Pediatric Hematology-Oncology",
    "2085R0001X": "Radiology, Radiation Oncology",
    "2086X0206X": "Surgery, Surgical Oncology",
    "207Q00000X": "Family Medicine",
    "207R00000X": "Internal Medicine",
    "207RP1001X": "Internal Medicine, Pulmonary Disease",
}
HCPCS_NAMES = {
    "J9026": "Injection, tarlatamab-dlle, 1 mg",
    "J3590": "Unclassified biologics",
    "C9399": "Unclassified drugs or biologicals",
    "G0154": "Direct skilled nursing services of a licensed nurse (LPN or RN) in the home health or hospice setting",
}
PLATINUM: dict[str, dict[str, Any]] = {
    "carboplatin": {"rxnorm": "40048", "hcpcs": "J9045", "hcpcs_display": "Injection, carboplatin, 50 mg", "mg": 450},
    "cisplatin": {
        "rxnorm": "2555",
        "hcpcs": "J9060",
        "hcpcs_display": "Injection, cisplatin, powder or solution, 10 mg",
        "mg": 140,
    },
}
STATUS_VALUES = {
    "progression": ("271299001", "Patient's condition worsened (finding)", "Progressive disease"),
    "response": ("268910001", "Patient's condition improved (finding)", "Partial response"),
    "stable": ("359746009", "Patient's condition stable (finding)", "Stable disease"),
}
QUESTION_TEXT = {
    "I.A.1": "Does the member have a diagnosis of extensive-stage small cell lung cancer (ES-SCLC)?",
    "I.A.2": "Is the drug prescribed by or in consultation with an oncologist?",
    "I.A.4": "Has the disease progressed on or after platinum-based therapy?",
    "I.A.5": "Is the requested dose within the label limits (1 mg C1D1, 10 mg C1D8/C1D15, then 10 mg D1/D15)?",
    "II.A.1": "Is the member currently receiving tarlatamab via this plan, or for at least 30 days?",
    "II.A.2": "Is the member responding positively to therapy?",
}
CYCLE_DAYS = 28
CYCLE_1 = ((1, 1.0), (8, 10.0), (15, 10.0))
LATER_CYCLES = ((1, 10.0), (15, 10.0))
DEFAULT_SERVICE_DAYS = 6 * CYCLE_DAYS - 1


def _code(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": list(codings)}
    if text:
        concept["text"] = text
    return concept


def _mg(value: float) -> dict[str, Any]:
    return {"value": int(value) if float(value).is_integer() else value, "unit": "mg", "system": UCUM, "code": "mg"}


def service_period(case: Case) -> tuple[dt.date, dt.date]:
    """The requested service period: the case's, or six 28-day cycles from the request date."""
    period = case.input.service_period
    if period is not None:
        return period.start, period.end
    return case.request_date, case.request_date + dt.timedelta(days=DEFAULT_SERVICE_DAYS)


def requested_doses(case: Case) -> list[Dose]:
    """The requested administrations: an explicit list, or the label schedule over the service period."""
    doses = case.input.doses
    if doses is None:
        return []
    if not isinstance(doses, str):
        return list(doses)
    start, end = service_period(case)
    initial = doses == "label_initial"
    first_cycle = 1 if initial else 2
    out: list[Dose] = []
    cycle = 0
    while start + dt.timedelta(days=cycle * CYCLE_DAYS) <= end:
        steps = CYCLE_1 if initial and cycle == 0 else LATER_CYCLES
        for day, mg in steps:
            on = start + dt.timedelta(days=cycle * CYCLE_DAYS + day - 1)
            if on <= end:
                out.append(Dose(date=on, mg=mg, cycle=first_cycle + cycle, day=day))
        cycle += 1
    return out


def requested_units(case: Case) -> float | None:
    """The J9026 quantity: the case's, else the total mg of the requested doses (1 unit = 1 mg)."""
    if case.input.units is not None:
        return case.input.units
    doses = requested_doses(case)
    if not doses or any(d.mg is None for d in doses):
        return None
    return sum(d.mg or 0.0 for d in doses)


class _Ids:
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, key: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{self.name}\x1f{key}"))

    def ref(self, key: str) -> dict[str, str]:
        return {"reference": f"urn:uuid:{self(key)}"}


def _tarlatamab_concept(ndc: str | None, mg: float | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": "tarlatamab-dlle (IMDELLTRA) for injection"}
    if ndc:
        concept["coding"] = [_code(NDC, ndc, "IMDELLTRA (tarlatamab-dlle) for injection")]
    return concept


def _dose_text(dose: Dose) -> str:
    where = f"Cycle {dose.cycle} Day {dose.day}" if dose.cycle and dose.day else (str(dose.date) if dose.date else "")
    amount = f"{dose.mg:g} mg" if dose.mg is not None else "dose to be determined"
    return f"{where}: tarlatamab-dlle {amount} IV over 1 hour".strip(": ")


def _dosage_instruction(index: int, dose: Dose) -> dict[str, Any]:
    timing: dict[str, Any] = {}
    if dose.date is not None:
        timing["event"] = [dose.date.isoformat()]
    if dose.cycle is not None and dose.day is not None:
        timing["code"] = {"text": f"Cycle {dose.cycle} Day {dose.day}"}
    instruction: dict[str, Any] = {
        "sequence": index,
        "text": _dose_text(dose),
        "route": _concept(_code(SNOMED, "47625008", "Intravenous route (qualifier value)")),
    }
    if timing:
        instruction["timing"] = timing
    if dose.mg is not None:
        instruction["doseAndRate"] = [{"doseQuantity": _mg(dose.mg)}]
    return instruction


class _Builder:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.inp: CaseInput = case.input
        self.ids = _Ids(case.name)
        self.entries: list[dict[str, Any]] = []
        self.supporting: list[tuple[str, str]] = []  # (key, X12 755 report type)
        self.patient = self.ids.ref("Patient")
        self.created = f"{case.request_date.isoformat()}T09:00:00{TZ}"

    def add(self, key: str, resource: dict[str, Any], support: str | None = None) -> dict[str, Any]:
        resource["id"] = self.ids(key)
        ordered = {"resourceType": resource.pop("resourceType"), "id": resource.pop("id"), **resource}
        self.entries.append({"fullUrl": f"urn:uuid:{ordered['id']}", "resource": ordered})
        if support is not None:
            self.supporting.append((key, support))
        return ordered

    # --- administrative resources -------------------------------------------------------------

    def organizations(self) -> None:
        self.add(
            "Requestor",
            {
                "resourceType": "Organization",
                "meta": {"profile": [f"{PAS}/profile-requestor"]},
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1107851002"}],
                "active": True,
                "type": [_concept(_code("https://codesystem.x12.org/005010/98", "1P", "Provider"))],
                "name": "Lakeside Cancer Institute",
            },
        )
        self.add(
            "Insurer",
            {
                "resourceType": "Organization",
                "meta": {"profile": [f"{PAS}/profile-insurer"]},
                "identifier": [{"system": "http://priorauth.example.org/payer-id", "value": "68069"}],
                "active": True,
                "type": [_concept(_code("https://codesystem.x12.org/005010/98", "PR", "Payer"))],
                "name": "Example Health Plan (Centene affiliate)",
            },
        )

    def member_id(self) -> str:
        return "M" + self.ids("member")[:8].upper()

    def patient_resource(self) -> None:
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "meta": {"profile": [f"{PAS}/profile-beneficiary"]},
            "identifier": [
                {
                    "type": _concept(_code("http://terminology.hl7.org/CodeSystem/v2-0203", "MB", "Member Number")),
                    "system": "http://priorauth.example.org/member-id",
                    "value": self.member_id(),
                }
            ],
            "name": [{"family": "Case", "given": ["Policy"]}],
            "gender": "unknown",
        }
        if self.inp.birth_date is not None:
            patient["birthDate"] = self.inp.birth_date.isoformat()
        if self.inp.member_state is not None:
            patient["address"] = [{"use": "home", "state": self.inp.member_state, "country": "US"}]
        self.add("Patient", patient)

    def coverage(self) -> None:
        coverage: dict[str, Any] = {
            "resourceType": "Coverage",
            "meta": {"profile": [f"{PAS}/profile-coverage"]},
            "identifier": [
                {
                    "type": _concept(_code("http://terminology.hl7.org/CodeSystem/v2-0203", "MB", "Member Number")),
                    "system": "http://priorauth.example.org/member-id",
                    "value": self.member_id(),
                }
            ],
            "status": "active",
            "subscriber": self.patient,
            "subscriberId": self.member_id(),
            "beneficiary": self.patient,
            "relationship": _concept(_code("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self")),
            "payor": [self.ids.ref("Insurer")],
        }
        period: dict[str, str] = {}
        year_start = dt.date(self.case.request_date.year, 1, 1)
        if self.inp.renewal_date is None or year_start <= self.inp.renewal_date:
            period["start"] = year_start.isoformat()
        if self.inp.renewal_date is not None:
            period["end"] = self.inp.renewal_date.isoformat()
        coverage["period"] = period
        lob = self.inp.line_of_business
        if lob is not None:
            display = {
                "commercial": "Commercial",
                "marketplace": "Health Insurance Marketplace",
                "medicaid": "Medicaid",
            }
            coverage["type"] = _concept(_code(LOB_SYSTEM, lob, display[lob]), text=display[lob])
        self.add("Coverage", coverage)

    def prescriber(self) -> None:
        taxonomy = self.inp.prescriber_taxonomy
        practitioner: dict[str, Any] = {
            "resourceType": "Practitioner",
            "meta": {"profile": [f"{PAS}/profile-practitioner"]},
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1578760146"}],
            "name": [{"family": "Reyes", "given": ["Karen"], "suffix": ["MD"]}],
        }
        role: dict[str, Any] = {
            "resourceType": "PractitionerRole",
            "meta": {"profile": [f"{PAS}/profile-practitionerrole"]},
            "active": True,
            "practitioner": self.ids.ref("Practitioner"),
            "organization": self.ids.ref("Requestor"),
            "code": [_concept(_code("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor", "Doctor"))],
        }
        if taxonomy:
            coding = _code(NUCC, taxonomy, TAXONOMY_NAMES.get(taxonomy))
            practitioner["qualification"] = [{"code": _concept(coding)}]
            role["specialty"] = [_concept(coding)]
        self.add("Practitioner", practitioner)
        self.add("PractitionerRole", role)

    # --- clinical resources ----------------------------------------------------------------------

    def conditions(self) -> None:
        for index, diagnosis in enumerate(self.inp.diagnoses):
            key = f"Condition/{index}"
            if diagnosis.histology == "small_cell":
                code = _concept(
                    _code(SNOMED, "254632001", "Small cell carcinoma of lung (disorder)"),
                    _code(ICD10, "C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung"),
                    text="Small cell carcinoma of lung",
                )
            elif diagnosis.histology == "non_small_cell":
                code = _concept(
                    _code(SNOMED, "254637007", "Non-small cell lung cancer (disorder)"),
                    _code(ICD10, "C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung"),
                    text="Non-small cell lung cancer",
                )
            else:
                code = _concept(
                    _code(ICD10, "C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung"),
                    text="Malignant neoplasm of lung",
                )
            condition: dict[str, Any] = {
                "resourceType": "Condition",
                "clinicalStatus": _concept(
                    _code("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")
                ),
                "verificationStatus": _concept(
                    _code("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")
                ),
                "category": [
                    _concept(
                        _code(
                            "http://terminology.hl7.org/CodeSystem/condition-category",
                            "problem-list-item",
                            "Problem List Item",
                        )
                    )
                ],
                "code": code,
                "subject": self.patient,
                "recordedDate": (self.case.request_date - relativedelta(months=8)).isoformat(),
            }
            if diagnosis.stage is not None:
                words = "Extensive stage" if diagnosis.stage == "extensive" else "Limited stage"
                condition["stage"] = [
                    {
                        "summary": {"text": words},
                        "assessment": [self.ids.ref(f"StageObservation/{index}")],
                    }
                ]
                self.add(
                    f"StageObservation/{index}",
                    {
                        "resourceType": "Observation",
                        "status": "final",
                        "category": [
                            _concept(
                                _code("http://terminology.hl7.org/CodeSystem/observation-category", "exam", "Exam")
                            )
                        ],
                        "code": _concept(
                            _code(LOINC, "21914-7", "Stage group.other Cancer"),
                            text="Small cell lung cancer stage (VALG)",
                        ),
                        "subject": self.patient,
                        "focus": [self.ids.ref(key)],
                        "effectiveDateTime": (self.case.request_date - relativedelta(months=8)).isoformat(),
                        "valueCodeableConcept": {"text": words},
                    },
                    support="M1",
                )
            self.add(key, condition, support="M1")

    def platinum(self) -> None:
        for index, given in enumerate(self.inp.platinum):
            agent = PLATINUM[given.agent]
            self.add(
                f"Platinum/{index}",
                {
                    "resourceType": "MedicationAdministration",
                    "status": "completed",
                    "medicationCodeableConcept": _concept(
                        _code(RXNORM, str(agent["rxnorm"]), given.agent),
                        _code(HCPCS, str(agent["hcpcs"]), str(agent["hcpcs_display"])),
                        text=given.agent,
                    ),
                    "subject": self.patient,
                    "effectiveDateTime": given.date.isoformat(),
                    "dosage": {"text": f"{given.agent} IV on day 1", "dose": _mg(float(agent["mg"]))},
                },
                support="04",
            )
        if self.inp.platinum_naive:
            for agent_name, agent in PLATINUM.items():
                self.add(
                    f"PlatinumNotTaken/{agent_name}",
                    {
                        "resourceType": "MedicationStatement",
                        "status": "not-taken",
                        "statusReason": [{"text": "Platinum-naive: no prior platinum-based chemotherapy"}],
                        "medicationCodeableConcept": _concept(
                            _code(RXNORM, str(agent["rxnorm"]), agent_name), text=agent_name
                        ),
                        "subject": self.patient,
                        "dateAsserted": self.case.request_date.isoformat(),
                    },
                    support="04",
                )

    def disease_status(self, key: str, kind: str, on: dt.date) -> None:
        code, display, text = STATUS_VALUES[kind]
        self.add(
            key,
            {
                "resourceType": "Observation",
                "meta": {"profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status"]},
                "status": "final",
                "category": [
                    _concept(_code("http://terminology.hl7.org/CodeSystem/observation-category", "imaging", "Imaging"))
                ],
                "code": _concept(_code(LOINC, "97509-4", "Cancer disease progression")),
                "subject": self.patient,
                "effectiveDateTime": on.isoformat(),
                "valueCodeableConcept": _concept(_code(SNOMED, code, display), text=text),
            },
            support="M1",
        )

    def assessments(self) -> None:
        for index, on in enumerate(self.inp.progression):
            self.disease_status(f"Progression/{index}", "progression", on)
        for index, response in enumerate(self.inp.responses):
            self.disease_status(f"Response/{index}", response.kind, response.date)

    def tarlatamab_given(self) -> None:
        for index, given in enumerate(self.inp.tarlatamab_given):
            ndc = "55513-0059-01" if given.mg <= 1 else "55513-0077-01"
            self.add(
                f"Tarlatamab/{index}",
                {
                    "resourceType": "MedicationAdministration",
                    "status": "completed",
                    "medicationCodeableConcept": _concept(
                        _code(NDC, ndc, "IMDELLTRA (tarlatamab-dlle) for injection"),
                        _code(HCPCS, "J9026", HCPCS_NAMES["J9026"]),
                        text="tarlatamab-dlle",
                    ),
                    "subject": self.patient,
                    "effectiveDateTime": given.date.isoformat(),
                    "dosage": {"text": f"tarlatamab-dlle {given.mg:g} mg IV", "dose": _mg(given.mg)},
                },
                support="04",
            )

    def document(self, key: str, doc_type: dict[str, Any], text: str, extra: dict[str, Any], report: str) -> None:
        import base64

        self.add(
            key,
            {
                "resourceType": "DocumentReference",
                "status": "current",
                "type": doc_type,
                "subject": self.patient,
                "date": f"{(self.case.request_date - dt.timedelta(days=7)).isoformat()}T10:00:00{TZ}",
                **extra,
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain",
                            "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                        }
                    }
                ],
            },
            support=report,
        )

    def notes(self) -> None:
        if self.inp.oncology_consult:
            self.document(
                "OncologyConsult",
                _concept(_code(LOINC, "11488-4", "Consult note"), text="Medical oncology consult note"),
                "Medical oncology consultation.\n\nSeen in medical oncology consultation; treatment plan reviewed.\n",
                {
                    "category": [
                        _concept(
                            _code(
                                "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                "clinical-note",
                                "Clinical Note",
                            )
                        )
                    ],
                    "author": [{"display": "Medical Oncology consultant"}],
                    "description": "Oncology consultation note",
                    "context": {
                        "practiceSetting": _concept(
                            _code(SNOMED, "394593009", "Medical oncology (qualifier value)"), text="Medical oncology"
                        )
                    },
                },
                "M1",
            )
        if self.inp.literature:
            self.document(
                "Literature",
                _concept(
                    _code(DOCUMENT_TYPE_SYSTEM, "supporting-literature", "Supporting literature"),
                    text="Peer-reviewed literature supporting the requested dose",
                ),
                "Reference submitted in support of the requested dosing regimen.\n"
                "Peer-reviewed article and practice guideline excerpt attached by the prescriber.\n",
                {"description": "Supporting literature for the requested dose"},
                "OZ",
            )

    def questionnaire_response(self) -> None:
        if not self.inp.answers:
            return
        items: list[dict[str, Any]] = []
        for link_id, value in self.inp.answers.items():
            item: dict[str, Any] = {"linkId": link_id, "text": QUESTION_TEXT.get(link_id, link_id)}
            if value is not None:
                item["answer"] = [
                    {
                        "valueBoolean": value,
                        "extension": [
                            {
                                "url": INFORMATION_ORIGIN,
                                "extension": [
                                    {"url": "source", "valueCode": self.inp.answer_origin},
                                    {
                                        "url": "author",
                                        "extension": [
                                            {"url": "practitioner", "valueReference": self.ids.ref("Practitioner")}
                                        ],
                                    },
                                ],
                            }
                        ],
                    }
                ]
            items.append(item)
        extension: list[dict[str, Any]] = [
            {"url": f"{DTR}/qr-coverage", "valueReference": self.ids.ref("Coverage")},
            {
                "url": f"{DTR}/intendedUse",
                "valueCodeableConcept": _concept(
                    _code("http://hl7.org/fhir/us/davinci-crd/CodeSystem/coverage-information-codes", "withpa")
                ),
            },
        ]
        if self.has_medication_request():
            extension.insert(1, {"url": f"{DTR}/qr-context", "valueReference": self.ids.ref("MedicationRequest")})
        self.add(
            "QuestionnaireResponse",
            {
                "resourceType": "QuestionnaireResponse",
                "meta": {"profile": [f"{DTR}/dtr-questionnaireresponse"]},
                "extension": extension,
                "questionnaire": QUESTIONNAIRE,
                "status": "completed",
                "subject": self.patient,
                "authored": f"{(self.case.request_date - dt.timedelta(days=1)).isoformat()}T15:20:00{TZ}",
                "author": self.ids.ref("PractitionerRole"),
                "item": items,
            },
            support="M1",
        )

    def has_medication_request(self) -> bool:
        return self.inp.doses is not None or self.inp.ndc is not None

    def medication_request(self) -> None:
        if not self.has_medication_request():
            return
        doses = requested_doses(self.case)
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "meta": {"profile": [f"{PAS}/profile-medicationrequest"]},
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": _tarlatamab_concept(self.inp.ndc),
            "subject": self.patient,
            "authoredOn": (self.case.request_date - dt.timedelta(days=1)).isoformat(),
            "requester": self.ids.ref("PractitionerRole"),
            "reportedBoolean": False,
        }
        if doses:
            request["dosageInstruction"] = [_dosage_instruction(i, d) for i, d in enumerate(doses, start=1)]
        self.add("MedicationRequest", request)

    # --- the claim and the bundle ----------------------------------------------------------------

    def claim(self) -> dict[str, Any]:
        hcpcs = self.inp.hcpcs
        start, end = service_period(self.case)
        item_extension: list[dict[str, Any]] = [
            {
                "url": f"{PAS}/extension-itemTraceNumber",
                "valueIdentifier": {
                    "system": "http://lakeside-cancer.example.org/item-trace",
                    "value": self.ids("trace")[:8].upper() + "-1",
                },
            },
            {
                "url": f"{PAS}/extension-serviceItemRequestType",
                "valueCodeableConcept": _concept(
                    _code("https://codesystem.x12.org/005010/1525", "HS", "Health Services Review")
                ),
            },
            {
                "url": f"{PAS}/extension-certificationType",
                "valueCodeableConcept": _concept(_code("https://codesystem.x12.org/005010/1322", "I", "Initial")),
            },
        ]
        if self.has_medication_request():
            item_extension.append(
                {"url": f"{PAS}/extension-requestedService", "valueReference": self.ids.ref("MedicationRequest")}
            )
        item: dict[str, Any] = {
            "extension": item_extension,
            "sequence": 1,
            "careTeamSequence": [1],
            "category": _concept(_code("https://codesystem.x12.org/005010/1365", "1", "Medical Care")),
            "productOrService": _concept(_code(HCPCS, hcpcs, HCPCS_NAMES.get(hcpcs))),
            "servicedPeriod": {"start": start.isoformat(), "end": end.isoformat()},
            "locationCodeableConcept": _concept(
                _code(
                    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
                    "22",
                    "On Campus-Outpatient Hospital",
                )
            ),
        }
        units = requested_units(self.case)
        if units is not None:
            value: float | int = int(units) if float(units).is_integer() else units
            item["quantity"] = {
                "value": value,
                "unit": "Units",
                "system": "https://codesystem.x12.org/005010/673",
                "code": "UN",
            }
        supporting: list[dict[str, Any]] = []
        for sequence, (key, report) in enumerate(self.supporting, start=1):
            supporting.append(
                {
                    "extension": [
                        {
                            "url": f"{PAS}/extension-documentInformation",
                            "extension": [
                                {"url": "reportTypeCode", "valueCodeableConcept": _concept(_code(X12_755, report))}
                            ],
                        }
                    ],
                    "sequence": sequence,
                    "category": _concept(
                        _code(
                            "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes",
                            "additionalInformation",
                            "Additional Information",
                        )
                    ),
                    "valueReference": self.ids.ref(key),
                }
            )
        if supporting:
            item["informationSequence"] = [s["sequence"] for s in supporting]
        claim: dict[str, Any] = {
            "resourceType": "Claim",
            "id": self.ids("Claim"),
            "meta": {"profile": [f"{PAS}/profile-claim"]},
            "identifier": [
                {"system": "http://lakeside-cancer.example.org/pa-request-id", "value": "PA-" + self.ids("pa")[:13]}
            ],
            "status": "active",
            "type": _concept(_code("http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional")),
            "use": "preauthorization",
            "patient": self.patient,
            "created": self.created,
            "insurer": self.ids.ref("Insurer"),
            "provider": self.ids.ref("Requestor"),
            "priority": _concept(_code("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal")),
            "careTeam": [
                {
                    "sequence": 1,
                    "provider": self.ids.ref("PractitionerRole"),
                    "role": _concept(_code("https://codesystem.x12.org/005010/98", "DK", "Ordering Physician")),
                }
            ],
            "insurance": [{"sequence": 1, "focal": True, "coverage": self.ids.ref("Coverage")}],
            "item": [item],
        }
        if self.inp.prescriber_taxonomy:
            claim["careTeam"][0]["qualification"] = _concept(
                _code(NUCC, self.inp.prescriber_taxonomy, TAXONOMY_NAMES.get(self.inp.prescriber_taxonomy))
            )
        if supporting:
            claim["supportingInfo"] = supporting
        return claim

    def build(self) -> dict[str, Any]:
        self.organizations()
        self.patient_resource()
        self.coverage()
        self.prescriber()
        self.conditions()
        self.platinum()
        self.assessments()
        self.tarlatamab_given()
        self.notes()
        self.medication_request()
        self.questionnaire_response()
        claim = self.claim()
        entries = [{"fullUrl": f"urn:uuid:{claim['id']}", "resource": claim}, *self.entries]
        return {
            "resourceType": "Bundle",
            "id": self.ids("Bundle"),
            "meta": {"profile": [f"{PAS}/profile-pas-request-bundle"]},
            "identifier": {
                "system": "http://lakeside-cancer.example.org/pas-submission",
                "value": self.ids("submission"),
            },
            "type": "collection",
            "timestamp": self.created,
            "entry": entries,
        }


def build_bundle(case: Case) -> dict[str, Any]:
    """The PAS request Bundle (a JSON-ready dict) for one case; the same case always gives the same bundle."""
    return _Builder(case).build()
