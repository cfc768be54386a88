"""Answer an order hook (CRD 2.2): a ``coverage-information`` systemAction per order, never a card for it.

A tarlatamab order is judged by the same engine as ``$submit``: the prefetched resources are put in a
minimal PAS-like collection Bundle (a Claim with a J9026 item pointing at the MedicationRequest) and
``extract_request`` / ``decide`` run on it. Mounted in the PAS service, that Bundle goes through the
service's own ``prepare`` (one engine run, with our earlier approvals for the member) and, when every
criterion is met, ``commit``: ``pa-needed = satisfied`` with the authorization number in
``satisfied-pa-id``, stored exactly like a ``$submit`` approval (same number, window and trace), so
``$inquire`` finds it. An order that is not approved opens no request.
Otherwise ``auth-needed`` with ``doc-needed = clinical``, ``doc-purpose = withpa`` and the DTR
Questionnaire canonical. Any other order gets ``indeterminate`` with the reason: this service only holds
CP.PHAR.685.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from anyio import to_thread

from priorauth.crd.discovery import NEEDED_FOR_TARLATAMAB, PREFETCH_TYPES, SERVICES
from priorauth.crd.fetch import fetch_missing, resolve_template
from priorauth.dtr.common import ORDER_TYPES, Json, request_date, tarlatamab_match
from priorauth.dtr.questionnaire import questionnaire_canonical
from priorauth.engine.decide import decide
from priorauth.engine.determination import Determination, Outcome
from priorauth.errors import BundleError
from priorauth.fhir.extract import extract_request
from priorauth.policy.model import PolicyVersion
from priorauth.policy.registry import load_registry

POLICY_ID = "CP.PHAR.685"
COVERAGE_INFO = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
REQUESTED_SERVICE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService"
CARD_TOPIC = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
SOURCE = {"label": "priorauth — Centene CP.PHAR.685 (tarlatamab)"}


class HookError(ValueError):
    """A hook request we cannot read (CDS Hooks: 400)."""


class UnknownServiceError(LookupError):
    """No CDS service with that id (404)."""


@dataclass
class HookCall:
    """A parsed hook request."""

    service_id: str
    hook: str
    context: Json
    prefetch: dict[str, Any]
    fhir_server: str | None
    authorization: Json | None
    missing: dict[str, str] = field(default_factory=dict)

    def resources(self, *types: str) -> list[Json]:
        """Every prefetched resource of the given types (Bundles flattened), de-duplicated by Type/id."""
        seen: set[str] = set()
        out: list[Json] = []
        for value in self.prefetch.values():
            for res in _flatten(value):
                if res.get("resourceType") in types:
                    key = f"{res.get('resourceType')}/{res.get('id')}" if res.get("id") else str(id(res))
                    if key not in seen:
                        seen.add(key)
                        out.append(res)
        return out


def _flatten(value: Any) -> list[Json]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [
            e["resource"]
            for e in value.get("entry", []) or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    return [value]


def parse_call(service_id: str, body: Any) -> HookCall:
    """Check the CDS Hooks request envelope; raise HookError saying what is wrong."""
    if service_id not in SERVICES:
        raise UnknownServiceError(service_id)
    if not isinstance(body, dict):
        raise HookError("the body is not a JSON object")
    for key in ("hook", "hookInstance", "context"):
        if key not in body:
            raise HookError(f"'{key}' is required")
    if not isinstance(body["context"], dict):
        raise HookError("'context' must be an object")
    if body["hook"] != SERVICES[service_id]["hook"]:
        raise HookError(f"service {service_id} answers the {SERVICES[service_id]['hook']} hook, not {body['hook']!r}")
    prefetch = body.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise HookError("'prefetch' must be an object")
    server = body.get("fhirServer")
    auth = body.get("fhirAuthorization")
    return HookCall(
        service_id=service_id,
        hook=str(body["hook"]),
        context=body["context"],
        prefetch=dict(prefetch),
        fhir_server=server if isinstance(server, str) and server else None,
        authorization=auth if isinstance(auth, dict) else None,
    )


def _ref_of(res: Json) -> str:
    return f"{res.get('resourceType')}/{res.get('id')}"


def _orders(call: HookCall) -> list[Json]:
    context = call.context
    if call.hook == "order-dispatch":
        wanted = str(context.get("order", ""))
        found = [r for r in call.resources(*ORDER_TYPES) if _ref_of(r) == wanted]
        return found[:1]
    drafts = context.get("draftOrders")
    orders = [r for r in _flatten(drafts) if r.get("resourceType") in ORDER_TYPES]
    selections = context.get("selections")
    if call.hook == "order-select" and isinstance(selections, list) and selections:
        orders = [o for o in orders if _ref_of(o) in selections]
    return orders


def _missing_keys(call: HookCall, keys: tuple[str, ...]) -> list[str]:
    present = {r.get("resourceType") for value in call.prefetch.values() for r in _flatten(value)}
    missing = []
    for key in keys:
        value = call.prefetch.get(key)
        if value is None and not (set(PREFETCH_TYPES[key]) & present):
            missing.append(key)
    return missing


async def complete_prefetch(call: HookCall, keys: list[str]) -> None:
    """Fetch the missing keys from the client's FHIR server when it gave one; note what stays missing."""
    templates = SERVICES[call.service_id]["prefetch"]
    queries: dict[str, str] = {}
    for key in keys:
        query = resolve_template(templates[key], call.context) if key in templates else None
        if query is None:
            call.missing[key] = f"{key}: no value for the template {templates.get(key)}"
        else:
            queries[key] = query
    if not queries:
        return
    if call.fhir_server is None or call.authorization is None:
        for key, query in queries.items():
            call.missing[key] = f"{key} ({query}): not prefetched and no fhirServer/fhirAuthorization to fetch it"
        return
    found, failed = await fetch_missing(call.fhir_server, call.authorization, queries)
    call.prefetch.update(found)
    call.missing.update(failed)


def coverage_information(
    coverage_ref: str,
    covered: str,
    pa_needed: str,
    on: date,
    *,
    doc_needed: str | None = None,
    doc_purpose: str | None = None,
    info_needed: str | None = None,
    reason: str | None = None,
    questionnaire: str | None = None,
    satisfied_pa_id: str | None = None,
    expiry: date | None = None,
    assertion_id: str | None = None,
) -> Json:
    """One ``ext-coverage-information`` extension (CRD 2.2), sub-extensions in the profile's order."""
    subs: list[Json] = [
        {"url": "coverage", "valueReference": {"reference": coverage_ref}},
        {"url": "covered", "valueCode": covered},
        {"url": "pa-needed", "valueCode": pa_needed},
    ]
    if doc_needed:
        subs.append({"url": "doc-needed", "valueCode": doc_needed})
    if doc_purpose:
        subs.append({"url": "doc-purpose", "valueCode": doc_purpose})
    if info_needed:
        subs.append({"url": "info-needed", "valueCode": info_needed})
    if reason:
        subs.append({"url": "reason", "valueCodeableConcept": {"text": reason}})
    if questionnaire:
        subs.append({"url": "questionnaire", "valueCanonical": questionnaire})
    subs.append({"url": "date", "valueDate": on.isoformat()})
    subs.append({"url": "coverage-assertion-id", "valueString": assertion_id or uuid.uuid4().hex})
    if satisfied_pa_id:
        subs.append({"url": "satisfied-pa-id", "valueString": satisfied_pa_id})
    if expiry:
        subs.append({"url": "expiry-date", "valueDate": expiry.isoformat()})
    return {"url": COVERAGE_INFO, "extension": subs}


def _coverage_ref(order: Json, call: HookCall) -> str | None:
    for ins in order.get("insurance", []) or []:
        if isinstance(ins, dict) and isinstance(ins.get("reference"), str):
            return str(ins["reference"])
    covs = call.resources("Coverage")
    return _ref_of(covs[0]) if covs else None


def _system_action(order: Json, extension: Json, description: str) -> Json:
    updated = copy.deepcopy(order)
    kept = [
        e for e in updated.get("extension", []) or [] if not (isinstance(e, dict) and e.get("url") == COVERAGE_INFO)
    ]
    updated["extension"] = [*kept, extension]
    return {"type": "update", "description": description, "resource": updated}


def _doses(order: Json) -> tuple[float | None, date | None, date | None]:
    """Total requested mg (= J9026 units) and the first and last dose dates, from dosageInstruction."""
    total = 0.0
    dates: list[date] = []
    dosages = [d for d in order.get("dosageInstruction", []) or [] if isinstance(d, dict)]
    for dosage in dosages:
        mg = None
        for rate in dosage.get("doseAndRate", []) or []:
            q = rate.get("doseQuantity") if isinstance(rate, dict) else None
            if isinstance(q, dict) and str(q.get("code") or q.get("unit", "")).lower() == "mg":
                mg = q.get("value")
        if not isinstance(mg, int | float):
            return None, None, None
        total += float(mg)
        timing = dosage.get("timing")
        events = timing.get("event", []) if isinstance(timing, dict) else []
        for event in events or []:
            try:
                dates.append(date.fromisoformat(str(event)[:10]))
            except ValueError:
                continue
    if not dosages:
        return None, None, None
    return total, (min(dates) if dates else None), (max(dates) if dates else None)


def pas_bundle(order: Json, call: HookCall, version: PolicyVersion, coverage_ref: str) -> Json:
    """A minimal PAS-like collection Bundle: a Claim with one J9026 item, then the order and the prefetch."""
    order = copy.deepcopy(order)
    order.setdefault("id", "draft-order")
    patient_id = call.context.get("patientId")
    patient_ref = f"Patient/{patient_id}" if patient_id else str((order.get("subject") or {}).get("reference", ""))
    requester_value = order.get("requester")
    requester = requester_value.get("reference") if isinstance(requester_value, dict) else None
    billing = next(b for b in version.billing_codes if not b.requires_ndc)
    item: Json = {
        "sequence": 1,
        "extension": [{"url": REQUESTED_SERVICE, "valueReference": {"reference": _ref_of(order)}}],
        "productOrService": {"coding": [{"system": version.codes.hcpcs_system, "code": billing.code}]},
    }
    units, first, last = _doses(order)
    if units is not None:
        item["quantity"] = {"value": units, "unit": "mg"}
    if first and last:
        item["servicedPeriod"] = {"start": first.isoformat(), "end": last.isoformat()}
    claim: Json = {
        "resourceType": "Claim",
        "id": "crd-" + str(order["id"]),
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": {"reference": patient_ref},
        "created": datetime.now(UTC).isoformat(),
        "provider": {"reference": requester or str(call.context.get("userId") or "Practitioner/unknown")},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": coverage_ref}}],
        "item": [item],
    }
    entries = [claim, order]
    seen = {_ref_of(order)}
    for value in call.prefetch.values():
        for res in _flatten(value):
            if res.get("id") and _ref_of(res) not in seen:
                seen.add(_ref_of(res))
                entries.append(res)
    for res in _flatten(call.context.get("draftOrders")):
        if res.get("id") and _ref_of(res) not in seen:
            seen.add(_ref_of(res))
            entries.append(res)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": _ref_of(r), "resource": r} for r in entries],
    }


def determine(order: Json, call: HookCall, version: PolicyVersion, coverage_ref: str, as_of: date) -> Determination:
    """The engine's determination for a tarlatamab order, from the hook's data."""
    request = extract_request(pas_bundle(order, call, version, coverage_ref), version)
    return decide(load_registry(), request.facts_for(request.items[0]), as_of)


def _authorization_number(as_of: date) -> str:
    return f"CRD-{as_of:%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"


@dataclass(frozen=True)
class OrderDecision:
    """The PAS service's decision on an order: its determination (None when the order could not be
    read or was not run through the engine, with ``problem`` saying why) and, when it approved and
    stored the order, the authorization number it issued."""

    determination: Determination | None
    authorization: str | None = None
    problem: str | None = None


# Decides an order in the PAS service, with our earlier approvals for the member (one engine run),
# and stores it as a PAS request only when approved. Without it (a bare CRD deployment) the order is
# decided here on its own data and the number is issued here and not stored.
Authorize = Callable[[Json], OrderDecision]
ASSERTION_SYSTEM = "https://priorauth.dev/fhir/NamingSystem/coverage-assertion-id"


def _decide_order(
    order: Json,
    call: HookCall,
    version: PolicyVersion,
    coverage_ref: str,
    as_of: date,
    assertion_id: str,
    authorize: Authorize | None,
) -> OrderDecision:
    try:
        if authorize is None:
            det = determine(order, call, version, coverage_ref, as_of)
            approved = det.outcome is Outcome.APPROVED
            return OrderDecision(det, _authorization_number(as_of) if approved else None)
        bundle = pas_bundle(order, call, version, coverage_ref)
        # The coverage-assertion-id becomes the stored request's identifier: $inquire finds it.
        bundle["entry"][0]["resource"]["identifier"] = [{"system": ASSERTION_SYSTEM, "value": assertion_id}]
        return authorize(bundle)
    except BundleError as error:
        return OrderDecision(None, problem=str(error))


def _tarlatamab_action(
    order: Json,
    call: HookCall,
    version: PolicyVersion,
    coverage_ref: str,
    as_of: date,
    authorize: Authorize | None = None,
) -> Json:
    missing = "; ".join(sorted(call.missing.values()))
    assertion_id = uuid.uuid4().hex
    decision = _decide_order(order, call, version, coverage_ref, as_of, assertion_id, authorize)
    det = decision.determination
    if det is not None and det.outcome is Outcome.APPROVED and decision.authorization is not None:
        ext = coverage_information(
            coverage_ref,
            "covered",
            "satisfied",
            as_of,
            satisfied_pa_id=decision.authorization,
            expiry=det.window.end if det.window else None,
            reason=det.summary,
            assertion_id=assertion_id,
        )
        return _system_action(
            order, ext, f"Coverage information: {POLICY_ID} criteria met, prior authorization issued."
        )
    if det is not None:
        wanted = ", ".join(f"{m.criterion_id} ({m.needed})" for m in det.missing)
        reason = f"{det.summary}" + (f" Documentation needed: {wanted}." if wanted else "")
    else:
        reason = f"The order could not be decided for {POLICY_ID}: {decision.problem}. Prior authorization is required."
    if missing:
        reason += f" Data not available to the payer: {missing}."
    ext = coverage_information(
        coverage_ref,
        "covered",
        "auth-needed",
        as_of,
        doc_needed="clinical",
        doc_purpose="withpa",
        reason=reason,
        questionnaire=questionnaire_canonical(version),
        assertion_id=assertion_id,
    )
    return _system_action(order, ext, f"Coverage information: prior authorization required under {POLICY_ID}.")


def _other_action(order: Json, coverage_ref: str, as_of: date) -> Json:
    what = _ref_of(order)
    ext = coverage_information(
        coverage_ref,
        "indeterminate",
        "indeterminate",
        as_of,
        reason=f"{what} is not tarlatamab: this service only holds the {POLICY_ID} (tarlatamab) rules.",
    )
    return _system_action(order, ext, f"Coverage information for {what}: no rule of this service applies.")


def information_card(version: PolicyVersion) -> Json:
    """An Instructions card: the step-up schedule and the boxed-warning monitoring."""
    dosing = version.dosing
    cycle1 = ", ".join(f"Day {s.day}: {s.mg:g} mg" for s in dosing.cycle_1)
    later = ", ".join(f"Day {s.day}: {s.mg:g} mg" for s in dosing.later_cycles)
    detail = (
        f"**Step-up dosing ({dosing.cycle_days}-day cycles).** Cycle 1: {cycle1}. Cycle 2 and beyond: {later}. "
        f"Maximum single dose {dosing.max_single_dose_mg:g} mg.\n\n"
        f"**Boxed warning:** {version.drug.boxed_warning} (CRS, ICANS). Per the label, monitor for CRS and "
        "neurologic toxicity including ICANS after the step-up doses (Cycle 1 Day 1 and Day 8 administrations "
        "are followed by monitoring in an appropriate healthcare setting); withhold or discontinue per severity."
    )
    return {
        "uuid": str(uuid.uuid4()),
        "summary": f"{version.drug.brand} ({version.drug.name}): step-up dosing and CRS/ICANS monitoring",
        "detail": detail,
        "indicator": "info",
        "source": {**SOURCE, "topic": {"system": CARD_TOPIC, "code": "guideline", "display": "Guideline"}},
    }


def _missing_card(orders: list[str], missing: dict[str, str]) -> Json:
    why = "; ".join(sorted(missing.values())) or "no Coverage for the member"
    return {
        "uuid": str(uuid.uuid4()),
        "summary": "Coverage requirements could not be determined: data missing",
        "detail": f"No Coverage could be found for {', '.join(orders)}. Missing: {why}.",
        "indicator": "warning",
        "source": {**SOURCE, "topic": {"system": CARD_TOPIC, "code": "guideline", "display": "Guideline"}},
    }


async def answer(service_id: str, body: Any, as_of: date | None = None, authorize: Authorize | None = None) -> Json:
    """The CDS Hooks response for one call: systemActions (coverage information) and cards."""
    call = parse_call(service_id, body)
    as_of = as_of or request_date()
    registry = load_registry()
    version = registry.resolve(POLICY_ID, as_of) or registry.latest(POLICY_ID)
    if call.hook == "order-dispatch" and not _orders(call):
        await complete_prefetch(call, ["order"])
    orders = _orders(call)
    matched = [o for o in orders if tarlatamab_match(o, version, as_of)]
    if matched:
        await complete_prefetch(call, _missing_keys(call, NEEDED_FOR_TARLATAMAB))
    elif any(_coverage_ref(o, call) is None for o in orders):
        await complete_prefetch(call, _missing_keys(call, ("coverage",)))
    actions: list[Json] = []
    cards: list[Json] = []
    uncovered: list[str] = []
    for order in orders:
        coverage_ref = _coverage_ref(order, call)
        if coverage_ref is None:
            uncovered.append(_ref_of(order))
            continue
        if any(order is m for m in matched):
            # Off the event loop: the decision reads facts and the notes, runs the engine and, mounted
            # in the PAS service, reads and writes the database (about 10 ms of blocking otherwise).
            action = await to_thread.run_sync(_tarlatamab_action, order, call, version, coverage_ref, as_of, authorize)
            actions.append(action)
        else:
            actions.append(_other_action(order, coverage_ref, as_of))
    if matched:
        cards.append(information_card(version))
    if uncovered:
        cards.append(_missing_card(uncovered, call.missing))
    if call.hook == "order-dispatch" and not orders:
        cards.append(_missing_card([str(call.context.get("order"))], call.missing))
    return {"cards": cards, "systemActions": actions}
