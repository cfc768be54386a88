"""Structured clinical resources → engine facts: diagnoses, therapies, disease assessments, consults.

Only codes and coded-element text are read here; free-text notes go through the note extractor.
Anything that cannot be read is skipped (it becomes ``unknown`` downstream), never taken as false.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from priorauth.engine.evidence import ResourceEvidence
from priorauth.engine.facts import DiagnosisFinding, DiseaseAssessment, Histology, Stage, TherapyExposure
from priorauth.fhir.bundle import ReceivedBundle, Resource
from priorauth.policy.model import Codes

_SKIP_VERIFICATION = {"refuted", "entered-in-error"}


def parse_date(value: Any) -> date | None:
    """The date part of a FHIR date or dateTime, or None when absent or malformed."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def as_dict(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty one (malformed elements read as absent)."""
    return value if isinstance(value, dict) else {}


def codings(concept: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (tolerating a missing or malformed one)."""
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def concept_words(concept: Any) -> str:
    """Lower-cased text and displays of a CodeableConcept."""
    if not isinstance(concept, dict):
        return ""
    parts = [str(concept.get("text", ""))] + [str(c.get("display", "")) for c in codings(concept)]
    return " ".join(parts).lower()


def _has_code(concept: Any, codes: set[tuple[str, str]]) -> bool:
    return any((c.get("system"), c.get("code")) in codes for c in codings(concept))


def _stage_of(words: str, codes: Codes) -> Stage | None:
    for stage in ("limited", "extensive"):
        if any(term in words for term in codes.stage_terms[stage]):
            return stage
    return None


def _histology_of(concept: Any, codes: Codes) -> Histology | None:
    sclc = {(c.system, c.code) for c in codes.small_cell_lung_cancer.codes}
    nsclc = {(c.system, c.code) for c in codes.non_small_cell_lung_cancer.codes}
    other = {(c.system, c.code) for c in codes.other_cancer_not_sclc.codes}
    if _has_code(concept, nsclc):
        return "non_small_cell"
    if _has_code(concept, sclc):
        return "small_cell"
    if _has_code(concept, other):
        return "other"
    words = concept_words(concept)
    if "non-small" in words or "non small" in words or "nsclc" in words:
        return "non_small_cell"
    if "small cell" in words or "sclc" in words:
        return "small_cell"
    return None


def diagnoses(bundle: ReceivedBundle, codes: Codes) -> list[DiagnosisFinding]:
    """Histology from Condition codes; stage from Condition.stage and staging Observations."""
    found: list[DiagnosisFinding] = []
    staging = {(c.system, c.code) for c in codes.staging_observations.codes}
    for ref, res in bundle.of_type("Condition"):
        status = {c.get("code") for c in codings(res.get("verificationStatus"))}
        if status & _SKIP_VERIFICATION:
            continue
        histology = _histology_of(res.get("code"), codes)
        if histology is not None:
            found.append(
                DiagnosisFinding(
                    evidence=ResourceEvidence(ref, "Condition.code", concept_words(res.get("code")).strip()),
                    histology=histology,
                )
            )
        for index, stage_entry in enumerate(res.get("stage", []) if isinstance(res.get("stage"), list) else []):
            stage = _stage_of(concept_words(stage_entry.get("summary")), codes)
            if stage is not None:
                found.append(
                    DiagnosisFinding(
                        evidence=ResourceEvidence(ref, f"Condition.stage[{index}].summary", f"{stage} stage"),
                        stage=stage,
                    )
                )
    for ref, res in bundle.of_type("Observation"):
        if res.get("status") in ("entered-in-error", "cancelled") or not _has_code(res.get("code"), staging):
            continue
        stage = _stage_of(
            concept_words(res.get("valueCodeableConcept")) + " " + str(res.get("valueString", "")).lower(), codes
        )
        if stage is not None:
            found.append(
                DiagnosisFinding(
                    evidence=ResourceEvidence(ref, "Observation.value", f"{stage} stage"),
                    stage=stage,
                )
            )
    return found


# Built once per loaded code set (policy data is immutable once loaded).
_AGENT_INDEXES: dict[int, tuple[Codes, dict[tuple[str, str], str], dict[str, str]]] = {}


def _agent_index(codes: Codes) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    cached = _AGENT_INDEXES.get(id(codes))
    if cached is not None and cached[0] is codes:
        return cached[1], cached[2]
    by_code, names = _build_agent_index(codes)
    _AGENT_INDEXES[id(codes)] = (codes, by_code, names)
    return by_code, names


def _build_agent_index(codes: Codes) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    by_code: dict[tuple[str, str], str] = {}
    names: dict[str, str] = {}
    for agent_set in (codes.platinum_agents, codes.partner_agents, codes.tarlatamab):
        for name, agent in agent_set.agents.items():
            names[name] = name
            for code in agent.hcpcs:
                by_code[(codes.hcpcs_system, code)] = name
            for code in agent.rxnorm:
                by_code[(codes.rxnorm_system, code)] = name
    names["imdelltra"] = "tarlatamab"
    names["paraplatin"] = "carboplatin"
    names["platinol"] = "cisplatin"
    return by_code, names


def agent_of(concept: Any, codes: Codes, tarlatamab_ndcs: set[str]) -> str | None:
    """The normalised agent name of a medication concept, by code, NDC or name."""
    from priorauth.engine.drug import normalize_ndc

    by_code, names = _agent_index(codes)
    for coding in codings(concept):
        name = by_code.get((str(coding.get("system")), str(coding.get("code"))))
        if name:
            return name
        if coding.get("system") == codes.ndc_system and normalize_ndc(str(coding.get("code", ""))) in tarlatamab_ndcs:
            return "tarlatamab"
    words = concept_words(concept)
    for word, name in names.items():
        if word in words:
            return name
    return None


def _medication_concept(res: Resource, bundle: ReceivedBundle) -> Any:
    if "medicationCodeableConcept" in res:
        return res["medicationCodeableConcept"]
    med_ref = res.get("medicationReference")
    target = bundle.resolve(med_ref.get("reference")) if isinstance(med_ref, dict) else None
    return target.get("code") if target else None


def _dose_mg(dosage: Any) -> float | None:
    if not isinstance(dosage, dict):
        return None
    dose = dosage.get("dose")
    if isinstance(dose, dict) and str(dose.get("code") or dose.get("unit", "")).lower() == "mg":
        value = dose.get("value")
        return float(value) if isinstance(value, int | float) else None
    return None


def therapies(
    bundle: ReceivedBundle, codes: Codes, exclude: set[int], tarlatamab_ndcs: set[str]
) -> list[TherapyExposure]:
    """Administrations and statements of anticancer agents; ``not-done`` / ``not-taken`` are negated."""
    found: list[TherapyExposure] = []
    for ref, res in bundle.of_type("MedicationAdministration", "MedicationStatement", "MedicationRequest"):
        if id(res) in exclude or res.get("status") == "entered-in-error":
            continue
        kind = res["resourceType"]
        if kind == "MedicationRequest" and res.get("status") not in ("completed", "stopped"):
            continue  # an order is not an administration; only a completed course counts
        agent = agent_of(_medication_concept(res, bundle), codes, tarlatamab_ndcs)
        if agent is None:
            continue
        period = as_dict(res.get("effectivePeriod"))
        start = parse_date(res.get("effectiveDateTime")) or parse_date(period.get("start"))
        if kind == "MedicationRequest":
            start = start or parse_date(res.get("authoredOn"))
        negated = res.get("status") in ("not-done", "not-taken")
        found.append(
            TherapyExposure(
                agent=agent,
                evidence=ResourceEvidence(ref, f"{kind}.medication", f"{agent} {start or ''}".strip()),
                start=start,
                end=parse_date(period.get("end")),
                dose_mg=_dose_mg(res.get("dosage")),
                negated=negated,
            )
        )
    return found


def assessments(bundle: ReceivedBundle, codes: Codes) -> list[DiseaseAssessment]:
    """Disease status from mCODE-style Observations and DiagnosticReport conclusion codes."""
    observation_codes = {(c.system, c.code) for c in codes.disease_status_observations.codes}
    value_codes = {(c.system, c.code): kind for kind, values in codes.disease_status_values.items() for c in values}

    def kind_of(concept: Any) -> str | None:
        for coding in codings(concept):
            kind = value_codes.get((str(coding.get("system")), str(coding.get("code"))))
            if kind:
                return kind
        words = concept_words(concept)
        for kind in ("progression", "stable", "response"):
            if any(term in words for term in codes.disease_status_terms[kind]):  # type: ignore[index]
                return kind
        return None

    found: list[DiseaseAssessment] = []
    for ref, res in bundle.of_type("Observation"):
        if res.get("status") in ("entered-in-error", "cancelled") or not _has_code(res.get("code"), observation_codes):
            continue
        kind = kind_of(res.get("valueCodeableConcept"))
        if kind:
            found.append(
                DiseaseAssessment(
                    kind=kind,  # type: ignore[arg-type]
                    evidence=ResourceEvidence(ref, "Observation.valueCodeableConcept", kind),
                    on=parse_date(res.get("effectiveDateTime")),
                )
            )
    for ref, res in bundle.of_type("DiagnosticReport"):
        for index, concept in enumerate(res.get("conclusionCode", []) or []):
            kind = kind_of(concept)
            if kind:
                found.append(
                    DiseaseAssessment(
                        kind=kind,  # type: ignore[arg-type]
                        evidence=ResourceEvidence(ref, f"DiagnosticReport.conclusionCode[{index}]", kind),
                        on=parse_date(res.get("effectiveDateTime")),
                    )
                )
    return found
