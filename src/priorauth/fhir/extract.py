"""Read a PAS request Bundle into the engine's facts (interface.md §3).

``extract_request`` reads what is shared by every item (member, coverage, clinical record, DTR
answers); ``RequestFacts.facts_for`` adds one item's codes, units, period and requested doses, plus
our own earlier authorizations, which only the service knows.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from priorauth.engine.evidence import AnswerEvidence, Evidence, ResourceEvidence
from priorauth.engine.facts import (
    Answer,
    Facts,
    LineOfBusiness,
    OncologyInvolvement,
    PriorAuthorization,
    RequestedDose,
    RequestedItem,
)
from priorauth.fhir import clinical, paths
from priorauth.fhir.bundle import ReceivedBundle, Resource, read_bundle
from priorauth.fhir.clinical import as_dict, codings, concept_words, parse_date
from priorauth.policy.model import Codes, PolicyVersion
from priorauth.policy.registry import load_registry

QUESTIONNAIRE = "https://priorauth.dev/fhir/Questionnaire/CP.PHAR.685"
CONSULT_NOTE = ("http://loinc.org", "11488-4")
LINES: tuple[LineOfBusiness, ...] = ("commercial", "marketplace", "medicaid")
_CYCLE_DAY = re.compile(r"cycle\s*(\d+)\D{0,12}?day\s*(\d+)", re.IGNORECASE)
# Words that mark an attached document as literature or a guideline supporting an off-label dose.
LITERATURE_WORDS = ("literature", "guideline", "compendium", "peer-reviewed", "peer reviewed", "nccn")


@dataclass(frozen=True)
class RequestFacts:
    """What one PAS request documents, ready to be specialised per item."""

    bundle: ReceivedBundle
    claim_reference: str
    claim_identifiers: tuple[tuple[str, str], ...]
    member_id: str | None
    patient_reference: str | None
    submitter_identifiers: tuple[tuple[str, str], ...]
    items: tuple[RequestedItem, ...]
    shared: Facts
    doses_by_item: dict[int, tuple[RequestedDose, ...]] = field(default_factory=dict)

    def facts_for(self, item: RequestedItem, prior_authorizations: tuple[PriorAuthorization, ...] = ()) -> Facts:
        """The engine's facts for one item, with our earlier authorizations for the member."""
        return dataclasses.replace(
            self.shared,
            item=item,
            requested_doses=self.doses_by_item.get(item.sequence, ()),
            prior_authorizations=prior_authorizations,
        )


def _identifiers(resource: Resource | None) -> tuple[tuple[str, str], ...]:
    if not resource:
        return ()
    values = resource.get("identifier") or []
    if isinstance(values, dict):
        values = [values]
    return tuple((str(i.get("system", "")), str(i.get("value", ""))) for i in values if isinstance(i, dict))


def _ref(value: Any) -> str | None:
    return value.get("reference") if isinstance(value, dict) else None


def coverage_of(bundle: ReceivedBundle) -> tuple[str, Resource] | None:
    """The focal Coverage of the Claim (reference and resource), else the first Coverage in the Bundle."""
    insurance = bundle.claim.get("insurance") or []
    ordered = sorted(insurance, key=lambda i: not i.get("focal", False)) if isinstance(insurance, list) else []
    for entry in ordered:
        target = bundle.resolve(_ref(entry.get("coverage")))
        if target is not None and target.get("resourceType") == "Coverage":
            return bundle.reference_for(target), target
    covs = bundle.of_type("Coverage")
    return covs[0] if covs else None


def _line_of_business(ref: str, coverage: Resource) -> tuple[LineOfBusiness | None, Evidence | None]:
    for name in ("coverage.lob", "coverage.class_lob"):
        for code in paths.evaluate(name, coverage):
            if code in LINES:
                return code, ResourceEvidence(ref, paths.path_of(name), str(code))
    return None, None


def _taxonomies(bundle: ReceivedBundle) -> list[tuple[str, Evidence]]:
    found: list[tuple[str, Evidence]] = []
    claim_ref = bundle.entries[0][0]
    for code in paths.evaluate("careteam.taxonomy", bundle.claim):
        found.append((code, ResourceEvidence(claim_ref, paths.path_of("careteam.taxonomy"), code)))
    for ref, res in bundle.of_type("PractitionerRole"):
        for code in paths.evaluate("taxonomy.specialty", res):
            found.append((code, ResourceEvidence(ref, paths.path_of("taxonomy.specialty"), code)))
    for ref, res in bundle.of_type("Practitioner"):
        for code in paths.evaluate("taxonomy.qualification", res):
            found.append((code, ResourceEvidence(ref, paths.path_of("taxonomy.qualification"), code)))
    return found


def _consultations(bundle: ReceivedBundle, oncology: set[str]) -> list[Evidence]:
    found: list[Evidence] = []
    for ref, res in bundle.of_type("DocumentReference"):
        is_consult = any((c.get("system"), c.get("code")) == CONSULT_NOTE for c in codings(res.get("type")))
        is_consult = is_consult or "consult" in concept_words(res.get("type"))
        context: dict[str, Any] = as_dict(res.get("context"))
        setting = context.get("practiceSetting")
        oncology_setting = "oncolog" in concept_words(setting) or any(
            c.get("code") in oncology for c in codings(setting)
        )
        author_oncology = False
        for author in res.get("author", []) or []:
            target = bundle.resolve(_ref(author))
            if target and set(paths.evaluate("taxonomy.specialty", target)) & oncology:
                author_oncology = True
        if is_consult and (oncology_setting or author_oncology) and res.get("status") != "entered-in-error":
            found.append(ResourceEvidence(ref, "DocumentReference.type", "oncology consultation note"))
    return found


def _literature(bundle: ReceivedBundle) -> list[Evidence]:
    found: list[Evidence] = []
    for ref, res in bundle.of_type("DocumentReference"):
        words = concept_words(res.get("type")) + " " + str(res.get("description", "")).lower()
        words += " " + " ".join(concept_words(c) for c in res.get("category", []) or [])
        if any(w in words for w in LITERATURE_WORDS) and res.get("status") != "entered-in-error":
            found.append(ResourceEvidence(ref, "DocumentReference.description", "supporting literature"))
    return found


def _answers(bundle: ReceivedBundle) -> list[Answer]:
    found: list[Answer] = []

    def walk(items: Any, ref: str) -> None:
        for item in items or []:
            if not isinstance(item, dict):
                continue
            for answer in item.get("answer", []) or []:
                value = answer.get("valueBoolean") if isinstance(answer, dict) else None
                origins = paths.evaluate("answer.origin", answer) if isinstance(answer, dict) else []
                author = None
                for ext in answer.get("extension", []) if isinstance(answer, dict) else []:
                    for sub in ext.get("extension", []) if isinstance(ext, dict) else []:
                        if sub.get("url") == "author":
                            inner = sub.get("extension") or [{}]
                            author = _ref(inner[0].get("valueReference")) if isinstance(inner[0], dict) else None
                evidence = AnswerEvidence(
                    questionnaire_response=ref,
                    link_id=str(item.get("linkId")),
                    value=str(value).lower() if isinstance(value, bool) else str(value),
                    origin=str(origins[0]) if origins else None,
                    author=author,
                )
                if isinstance(value, bool):
                    found.append(Answer(str(item.get("linkId")), value, evidence))
            walk(item.get("item"), ref)

    for ref, res in bundle.of_type("QuestionnaireResponse"):
        if str(res.get("questionnaire", "")).split("|")[0] == QUESTIONNAIRE:
            walk(res.get("item"), ref)
    return found


def _dose_mg(dose_and_rate: Any) -> float | None:
    """The mg amount of a dosage's doseAndRate: the last mg doseQuantity wins (as FHIR lists them)."""
    mg: float | None = None
    for rate in dose_and_rate:
        quantity = rate.get("doseQuantity") if isinstance(rate, dict) else None
        if isinstance(quantity, dict) and str(quantity.get("code") or quantity.get("unit", "")).lower() == "mg":
            value = quantity.get("value")
            mg = float(value) if isinstance(value, (int, float)) else None
    return mg


def _requested_doses(ref: str, request: Resource) -> tuple[RequestedDose, ...]:
    doses: list[RequestedDose] = []
    search = _CYCLE_DAY.search
    for index, dosage in enumerate(request.get("dosageInstruction", []) or []):
        if not isinstance(dosage, dict):
            continue
        mg = _dose_mg(dosage.get("doseAndRate", []) or [])
        timing = as_dict(dosage.get("timing"))
        events = timing.get("event") or []
        on = parse_date(events[0]) if events else None
        label = concept_words(timing.get("code")) + " " + str(dosage.get("text", "")).lower()
        match = search(label)
        cycle, day = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        evidence = ResourceEvidence(ref, f"MedicationRequest.dosageInstruction[{index}]", str(dosage.get("text", mg)))
        doses.append(RequestedDose(evidence, mg, on, cycle, day))
    return tuple(doses)


def _items(
    bundle: ReceivedBundle, codes: Codes
) -> tuple[list[RequestedItem], dict[int, tuple[RequestedDose, ...]], set[int]]:
    items: list[RequestedItem] = []
    doses: dict[int, tuple[RequestedDose, ...]] = {}
    requested_ids: set[int] = set()
    # Several items may name the same MedicationRequest: read its dosage instructions once.
    read_doses: dict[int, tuple[RequestedDose, ...]] = {}
    claim_ref = bundle.entries[0][0]
    ndc_system, rxnorm_system = codes.ndc_system, codes.rxnorm_system
    for index, item in enumerate(bundle.claim.get("item", [])):
        sequence = int(item.get("sequence", index + 1))
        product = item.get("productOrService")
        item_codes = tuple((str(c.get("system", "")), str(c.get("code", ""))) for c in codings(product))
        ndcs = [code for system, code in item_codes if system == ndc_system]
        rxnorm = [code for system, code in item_codes if system == rxnorm_system]
        for reference in paths.evaluate("item.requested_service", item):
            request = bundle.resolve(reference)
            if request is None:
                continue
            requested_ids.add(id(request))
            concept = request.get("medicationCodeableConcept") or request.get("code")
            medication = bundle.resolve(_ref(request.get("medicationReference")))
            if medication is not None:
                concept = medication.get("code")
            for coding in codings(concept):
                if coding.get("system") == ndc_system:
                    ndcs.append(str(coding.get("code")))
                if coding.get("system") == rxnorm_system:
                    rxnorm.append(str(coding.get("code")))
            if request.get("resourceType") == "MedicationRequest":
                read = read_doses.get(id(request))
                if read is None:
                    read = _requested_doses(bundle.reference_for(request), request)
                    read_doses[id(request)] = read
                doses[sequence] = read
        quantity = as_dict(item.get("quantity"))
        value = quantity.get("value")
        period = as_dict(item.get("servicedPeriod"))
        start = parse_date(period.get("start")) or parse_date(item.get("servicedDate"))
        end = parse_date(period.get("end")) or parse_date(item.get("servicedDate"))
        certification = paths.evaluate("item.certification", item)
        items.append(
            RequestedItem(
                sequence=sequence,
                codes=item_codes,
                evidence=ResourceEvidence(
                    claim_ref, f"Claim.item[{index}]", f"{'/'.join(c for _, c in item_codes)} x {value}"
                ),
                ndcs=tuple(ndcs),
                rxnorm=tuple(rxnorm),
                units=float(value) if isinstance(value, int | float) else None,
                service_start=start,
                service_end=end,
                certification_type=str(certification[0]) if certification else None,
            )
        )
    return items, doses, requested_ids


def extract_request(data: Any, version: PolicyVersion | None = None, *, read_notes: bool = False) -> RequestFacts:
    """Read a PAS request Bundle (parsed JSON) into facts; raise BundleError naming a bad element.

    With ``read_notes`` the clinical notes are run through the note extractor first (the intake step).
    """
    bundle = read_bundle(data)
    notes: tuple[Any, ...] = ()
    if read_notes:
        from priorauth.fhir.notes import read_notes as run_extractor

        notes = run_extractor(bundle)
    return extract_from(bundle, version, notes)


def extract_from(
    bundle: ReceivedBundle, version: PolicyVersion | None = None, notes: tuple[Any, ...] = ()
) -> RequestFacts:
    """Facts from an already checked Bundle plus pre-extracted ``NoteFacts``; ``version`` gives the code sets."""
    if version is None:
        registry = load_registry()
        version = registry.latest(next(iter(registry.policies)))
    codes = version.codes
    problems: list[str] = []
    items, doses, requested_ids = _items(bundle, codes)
    if not items:
        # Legacy (pre-PAS) bundles carry no Claim.item; they are answered with an error, not rejected.
        problems.append("the Claim has no item to authorize (Claim.item)")
    coverage = coverage_of(bundle)
    lob: LineOfBusiness | None = None
    lob_evidence: Evidence | None = None
    renewal = None
    member_id: str | None = None
    if coverage is None:
        problems.append("no Coverage in the request")
    else:
        cov_ref, cov = coverage
        lob, lob_evidence = _line_of_business(cov_ref, cov)
        renewal = parse_date(next(iter(paths.evaluate("coverage.renewal", cov)), None))
        ids = paths.evaluate("coverage.member_id", cov)
        member_id = str(ids[0]) if ids else None
    patient = bundle.resolve(_ref(bundle.claim.get("patient")))
    patient_ref = _ref(bundle.claim.get("patient"))
    birth = None
    birth_evidence: Evidence | None = None
    member_state: str | None = None
    if patient is not None:
        born = paths.evaluate("patient.birth_date", patient)
        birth = parse_date(born[0]) if born else None
        if birth:
            pref = bundle.reference_for(patient)
            birth_evidence = ResourceEvidence(pref, "Patient.birthDate", birth.isoformat())
        if member_id is None:
            ids = paths.evaluate("patient.member_id", patient)
            member_id = str(ids[0]) if ids else None
        states = paths.evaluate("patient.state", patient)
        member_state = str(states[0]) if states else None
    oncology = {c.code for c in codes.oncology_taxonomies.codes}
    tarlatamab_ndcs = {n.code for n in version.drug.ndc}
    placeholder = items[0] if items else RequestedItem(0, (), ResourceEvidence("Claim", "Claim.item", ""))
    shared = Facts(
        item=placeholder,
        line_of_business=lob,
        line_of_business_evidence=lob_evidence,
        renewal_date=renewal,
        member_state=member_state,
        birth_date=birth,
        birth_date_evidence=birth_evidence,
        diagnoses=tuple(clinical.diagnoses(bundle, codes)) + tuple(d for n in notes for d in n.diagnoses),
        therapies=tuple(clinical.therapies(bundle, codes, requested_ids, tarlatamab_ndcs))
        + tuple(t for n in notes for t in n.therapies),
        assessments=tuple(clinical.assessments(bundle, codes)) + tuple(a for n in notes for a in n.assessments),
        oncology=OncologyInvolvement(
            taxonomies=tuple(_taxonomies(bundle)),
            consultations=tuple(_consultations(bundle, oncology)) + tuple(c for n in notes for c in n.consultations),
            no_oncologist=tuple(c for n in notes for c in n.no_oncologist),
        ),
        answers=tuple(_answers(bundle)),
        dose_support=tuple(_literature(bundle)),
        problems=tuple(problems),
    )
    provider = bundle.resolve(_ref(bundle.claim.get("provider")))
    return RequestFacts(
        bundle=bundle,
        claim_reference=bundle.entries[0][0],
        claim_identifiers=_identifiers(bundle.claim),
        member_id=member_id,
        patient_reference=patient_ref,
        submitter_identifiers=_identifiers(provider),
        items=tuple(items),
        shared=shared,
        doses_by_item=doses,
    )
