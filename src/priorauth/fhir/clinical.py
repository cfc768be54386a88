"""Structured clinical resources → engine facts: diagnoses, therapies, disease assessments, consults.

Only codes and coded-element text are read here; free-text notes go through the note extractor.
Anything that cannot be read is skipped (it becomes ``unknown`` downstream), never taken as false.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from priorauth.engine.drug import normalize_ndc
from priorauth.engine.evidence import ResourceEvidence
from priorauth.engine.facts import DiagnosisFinding, DiseaseAssessment, Histology, Stage, TherapyExposure
from priorauth.fhir.bundle import ReceivedBundle, Resource
from priorauth.policy.model import Codes

_SKIP_VERIFICATION = {"refuted", "entered-in-error"}


def parse_date(value: Any) -> date | None:
    """The date part of a FHIR date or dateTime, or None when absent or malformed."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    return _parse_day(value[:10])


# A request repeats the same few dates (dose days, administrations, periods); dates are immutable,
# so a bounded cache of the parsed day is safe to share.
@lru_cache(maxsize=1024)
def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
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
    coding = concept.get("coding", [])
    if type(coding) is list and not coding:
        # Text only (e.g. a timing code "Cycle 1 Day 8"): no codings to join.
        return str(concept.get("text", "")).lower()
    parts = [str(concept.get("text", ""))] + [str(c.get("display", "")) for c in codings(concept)]
    return " ".join(parts).lower()


def _has_code(concept: Any, codes: set[tuple[str, str]] | frozenset[tuple[str, str]]) -> bool:
    return any((c.get("system"), c.get("code")) in codes for c in codings(concept))


@dataclass(frozen=True, slots=True)
class _CodeIndex:
    """Lookups derived from one loaded code set, built once instead of per resource read."""

    sclc: frozenset[tuple[str, str]]
    nsclc: frozenset[tuple[str, str]]
    other_cancer: frozenset[tuple[str, str]]
    staging: frozenset[tuple[str, str]]
    status_observations: frozenset[tuple[str, str]]
    status_values: dict[tuple[str, str], str]
    agents_by_code: dict[tuple[str, str], str]
    agent_names: dict[str, str]


# Built once per loaded code set (policy data is immutable once loaded); keyed by id with the code
# set kept alongside, so a recycled id never hands back another code set's index.
_CODE_INDEXES: dict[int, tuple[Codes, _CodeIndex]] = {}


def _index(codes: Codes) -> _CodeIndex:
    cached = _CODE_INDEXES.get(id(codes))
    if cached is not None and cached[0] is codes:
        return cached[1]
    index = _build_index(codes)
    _CODE_INDEXES[id(codes)] = (codes, index)
    return index


def _pairs(code_set: Any) -> frozenset[tuple[str, str]]:
    return frozenset((c.system, c.code) for c in code_set.codes)


def _build_index(codes: Codes) -> _CodeIndex:
    by_code, names = _build_agent_index(codes)
    return _CodeIndex(
        sclc=_pairs(codes.small_cell_lung_cancer),
        nsclc=_pairs(codes.non_small_cell_lung_cancer),
        other_cancer=_pairs(codes.other_cancer_not_sclc),
        staging=_pairs(codes.staging_observations),
        status_observations=_pairs(codes.disease_status_observations),
        status_values={
            (c.system, c.code): kind for kind, values in codes.disease_status_values.items() for c in values
        },
        agents_by_code=by_code,
        agent_names=names,
    )


def _stage_of(words: str, codes: Codes) -> Stage | None:
    for stage in ("limited", "extensive"):
        if any(term in words for term in codes.stage_terms[stage]):
            return stage
    return None


def _histology_of(concept: Any, index: _CodeIndex) -> Histology | None:
    if _has_code(concept, index.nsclc):
        return "non_small_cell"
    if _has_code(concept, index.sclc):
        return "small_cell"
    if _has_code(concept, index.other_cancer):
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
    index = _index(codes)
    for ref, res in bundle.of_type("Condition"):
        status = {c.get("code") for c in codings(res.get("verificationStatus"))}
        if status & _SKIP_VERIFICATION:
            continue
        histology = _histology_of(res.get("code"), index)
        if histology is not None:
            found.append(
                DiagnosisFinding(
                    evidence=ResourceEvidence(ref, "Condition.code", concept_words(res.get("code")).strip()),
                    histology=histology,
                )
            )
        for position, stage_entry in enumerate(res.get("stage", []) if isinstance(res.get("stage"), list) else []):
            stage = _stage_of(concept_words(stage_entry.get("summary")), codes)
            if stage is not None:
                found.append(
                    DiagnosisFinding(
                        evidence=ResourceEvidence(ref, f"Condition.stage[{position}].summary", f"{stage} stage"),
                        stage=stage,
                    )
                )
    for ref, res in bundle.of_type("Observation"):
        if res.get("status") in ("entered-in-error", "cancelled") or not _has_code(res.get("code"), index.staging):
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
    return _agent_of(concept, _index(codes), codes.ndc_system, tarlatamab_ndcs)


def _agent_of(concept: Any, index: _CodeIndex, ndc_system: str, tarlatamab_ndcs: set[str]) -> str | None:
    by_code = index.agents_by_code
    for coding in codings(concept):
        name = by_code.get((str(coding.get("system")), str(coding.get("code"))))
        if name:
            return name
        if coding.get("system") == ndc_system and normalize_ndc(str(coding.get("code", ""))) in tarlatamab_ndcs:
            return "tarlatamab"
    words = concept_words(concept)
    for word, name in index.agent_names.items():
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


_MEDICATION_TYPES = frozenset({"MedicationAdministration", "MedicationStatement", "MedicationRequest"})


def therapies(
    bundle: ReceivedBundle, codes: Codes, exclude: set[int], tarlatamab_ndcs: set[str]
) -> list[TherapyExposure]:
    """Administrations and statements of anticancer agents; ``not-done`` / ``not-taken`` are negated."""
    found: list[TherapyExposure] = []
    # Looked up once per request rather than once per medication resource.
    index, ndc_system = _index(codes), codes.ndc_system
    for ref, res in bundle.entries:
        kind = res.get("resourceType")
        if kind not in _MEDICATION_TYPES:
            continue
        status = res.get("status")
        if id(res) in exclude or status == "entered-in-error":
            continue
        if kind == "MedicationRequest" and status not in ("completed", "stopped"):
            continue  # an order is not an administration; only a completed course counts
        agent = _agent_of(_medication_concept(res, bundle), index, ndc_system, tarlatamab_ndcs)
        if agent is None:
            continue
        period = as_dict(res.get("effectivePeriod"))
        start = parse_date(res.get("effectiveDateTime")) or parse_date(period.get("start"))
        if kind == "MedicationRequest":
            start = start or parse_date(res.get("authoredOn"))
        found.append(
            TherapyExposure(
                agent,
                ResourceEvidence(ref, f"{kind}.medication", f"{agent} {start or ''}".strip()),
                start,
                parse_date(period.get("end")),
                _dose_mg(res.get("dosage")),
                status in ("not-done", "not-taken"),
            )
        )
    return found


_STATUS_KINDS = ("progression", "stable", "response")


def _status_kind(concept: Any, index: _CodeIndex, codes: Codes) -> str | None:
    for coding in codings(concept):
        kind = index.status_values.get((str(coding.get("system")), str(coding.get("code"))))
        if kind:
            return kind
    words = concept_words(concept)
    for kind in _STATUS_KINDS:
        if any(term in words for term in codes.disease_status_terms[kind]):  # type: ignore[index]
            return kind
    return None


def assessments(bundle: ReceivedBundle, codes: Codes) -> list[DiseaseAssessment]:
    """Disease status from mCODE-style Observations and DiagnosticReport conclusion codes."""
    index = _index(codes)
    found: list[DiseaseAssessment] = []
    for ref, res in bundle.of_type("Observation"):
        if res.get("status") in ("entered-in-error", "cancelled") or not _has_code(
            res.get("code"), index.status_observations
        ):
            continue
        kind = _status_kind(res.get("valueCodeableConcept"), index, codes)
        if kind:
            found.append(
                DiseaseAssessment(
                    kind=kind,  # type: ignore[arg-type]
                    evidence=ResourceEvidence(ref, "Observation.valueCodeableConcept", kind),
                    on=parse_date(res.get("effectiveDateTime")),
                )
            )
    for ref, res in bundle.of_type("DiagnosticReport"):
        for position, concept in enumerate(res.get("conclusionCode", []) or []):
            kind = _status_kind(concept, index, codes)
            if kind:
                found.append(
                    DiseaseAssessment(
                        kind=kind,  # type: ignore[arg-type]
                        evidence=ResourceEvidence(ref, f"DiagnosticReport.conclusionCode[{position}]", kind),
                        on=parse_date(res.get("effectiveDateTime")),
                    )
                )
    return found
