"""Small helpers shared by the CRD and DTR routes: the request date and tarlatamab order matching."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from priorauth.engine.drug import normalize_ndc
from priorauth.policy.model import PolicyVersion

Json = dict[str, Any]
DRUG_WORDS = ("tarlatamab", "imdelltra")
ORDER_TYPES = (
    "MedicationRequest",
    "ServiceRequest",
    "DeviceRequest",
    "NutritionOrder",
    "VisionPrescription",
    "CommunicationRequest",
    "Appointment",
    "Encounter",
    "SupplyRequest",
)


def request_date() -> date:
    """``PRIORAUTH_TODAY`` when set (tests, replays), else today."""
    fixed = os.environ.get("PRIORAUTH_TODAY")
    return date.fromisoformat(fixed) if fixed else date.today()


def _codings(concept: Any) -> list[Json]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) or [] if isinstance(c, dict)]


def order_concepts(order: Json) -> list[Json]:
    """The CodeableConcepts that say what an order asks for (medication, code, contained Medication)."""
    concepts: list[Json] = []
    for key in ("medicationCodeableConcept", "code", "codeCodeableConcept"):
        value = order.get(key)
        if isinstance(value, dict):
            concepts.append(value)
    med_ref = order.get("medicationReference")
    if isinstance(med_ref, dict) and str(med_ref.get("reference", "")).startswith("#"):
        wanted = str(med_ref["reference"])[1:]
        for contained in order.get("contained", []) or []:
            if (
                isinstance(contained, dict)
                and contained.get("id") == wanted
                and isinstance(contained.get("code"), dict)
            ):
                concepts.append(contained["code"])
    return concepts


def tarlatamab_match(order: Json, version: PolicyVersion, as_of: date) -> str | None:
    """How an order asks for tarlatamab (HCPCS J9026, an NDC, RxNorm or the drug's name), or None."""
    if order.get("resourceType") not in ("MedicationRequest", "ServiceRequest"):
        return None
    ndcs = {n.code for n in version.drug.ndc}
    found_ndc = False
    hcpcs: set[str] = set()
    words: list[str] = []
    for concept in order_concepts(order):
        words.append(str(concept.get("text", "")))
        for coding in _codings(concept):
            system = str(coding.get("system", ""))
            code = str(coding.get("code", ""))
            words.append(str(coding.get("display", "")))
            if system.lower().endswith("hcpcs") or system.endswith("HCPCSReleaseCodeSets"):
                hcpcs.add(code.upper())
            elif system == version.codes.ndc_system and normalize_ndc(code) in ndcs:
                found_ndc = True
            elif system == version.codes.rxnorm_system and code in version.drug.rxnorm:
                return f"RxNorm {code}"
    for billing in version.billing_codes:
        in_use = billing.accepted_through is None or as_of <= billing.accepted_through
        if billing.code in hcpcs and (not billing.requires_ndc or found_ndc) and in_use:
            return f"HCPCS {billing.code}"
    if found_ndc:
        return "tarlatamab NDC"
    text = " ".join(words).lower()
    if any(w in text for w in DRUG_WORDS):
        return "drug name"
    return None
