"""PAS response Bundles: the ClaimResponse (first entry) and the resources it references, echoed.

The builder is format-only: it receives per-item results already mapped to X12 306 review actions
(see :mod:`priorauth.pas.mapping`) and never decides anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import orjson

from priorauth.pas import codes
from priorauth.pas.bundle import BundleIndex, Json


def _clone(value: Any) -> Any:
    """A deep copy of JSON data (what is echoed from the request must not alias it); an orjson round
    trip is several times faster than copy.deepcopy on resources."""
    return orjson.loads(orjson.dumps(value))


@dataclass(frozen=True)
class ItemResult:
    """One Claim item's answer: X12 306 review action, authorization data and process notes."""

    sequence: int
    review_action: str
    notes: tuple[str, ...] = ()
    auth_number: str | None = None
    window: tuple[date, date] | None = None
    tracking_number: str | None = None
    # X12 "Health Care Services Review Decision Reason Code" for a reviewer's denial or cut.
    reason_code: str | None = None
    # A6 (approved for less than asked): the units authorized, answered as an ``addItem`` with A1.
    authorized_units: float | None = None


@dataclass(frozen=True)
class ClaimError:
    """A business error for ``ClaimResponse.error`` (X12 901 reject reason)."""

    code: str
    text: str


@dataclass(frozen=True)
class ResponseContent:
    """Everything a response Bundle says beyond what it echoes from the request."""

    claim_response_id: str
    created: datetime
    items: tuple[ItemResult, ...]
    general_notes: tuple[str, ...] = ()
    errors: tuple[ClaimError, ...] = ()
    reviewer_npi: str | None = None
    human_reviewed: bool = False


def _coding(system: str, code: str, display: str | None = None) -> Json:
    coding: Json = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def review_action_extension(code: str, number: str | None = None, reason_code: str | None = None) -> Json:
    """The ``extension-reviewAction`` complex extension for an adjudication."""
    subs: list[Json] = [
        {
            "url": codes.EXT_REVIEW_ACTION_CODE,
            "valueCodeableConcept": {"coding": [_coding(codes.X12_306, code, codes.REVIEW_ACTION_DISPLAY.get(code))]},
        }
    ]
    if number:
        subs.append({"url": "number", "valueString": number})
    if reason_code:
        subs.append(
            {"url": "reasonCode", "valueCodeableConcept": {"coding": [_coding(codes.X12_REVIEW_REASON, reason_code)]}}
        )
    return {"url": codes.EXT_REVIEW_ACTION, "extension": subs}


def _period(window: tuple[date, date]) -> Json:
    return {"start": window[0].isoformat(), "end": window[1].isoformat()}


def build_claim_response(claim: Json, content: ResponseContent, *, profile: str = codes.PROFILE_CLAIM_RESPONSE) -> Json:
    """The PAS ClaimResponse for ``claim``; references are copied verbatim so they resolve in the Bundle."""
    notes: list[Json] = []
    resp_items: list[Json] = []

    def add_note(text: str) -> int:
        notes.append({"number": len(notes) + 1, "type": "display", "text": text})
        return len(notes)

    for text in content.general_notes:
        add_note(text)
    added: list[Json] = []
    for item in content.items:
        if item.review_action == "A6" and item.window is not None and item.auth_number:
            added.append(_authorized_part(claim, item, content, add_note))
        extensions: list[Json] = []
        if item.window is not None and item.review_action != "A6":
            extensions.append({"url": codes.EXT_ITEM_PREAUTH_PERIOD, "valuePeriod": _period(item.window)})
            extensions.append(
                {"url": codes.EXT_ITEM_PREAUTH_ISSUE_DATE, "valueDate": content.created.date().isoformat()}
            )
        if item.auth_number and item.review_action != "A6":
            extensions.append({"url": codes.EXT_AUTHORIZATION_NUMBER, "valueString": item.auth_number})
        if item.tracking_number:
            extensions.append({"url": codes.EXT_ADMIN_REFERENCE_NUMBER, "valueString": item.tracking_number})
        entry: Json = {}
        if extensions:
            entry["extension"] = extensions
        entry["itemSequence"] = item.sequence
        numbers = [add_note(text) for text in item.notes]
        if numbers:
            entry["noteNumber"] = numbers
        entry["adjudication"] = [
            {
                "extension": [review_action_extension(item.review_action, item.auth_number, item.reason_code)],
                "category": {"coding": [_coding(codes.ADJUDICATION, "submitted")]},
            }
        ]
        resp_items.append(entry)

    response: Json = {
        "resourceType": "ClaimResponse",
        "id": content.claim_response_id,
        "meta": {"profile": [profile]},
    }
    if content.human_reviewed:
        reviewer: list[Json] = [{"url": "wasHumanReviewedFlag", "valueBoolean": True}]
        if content.reviewer_npi:
            reviewer.append(
                {"url": "reviewerNPI", "valueIdentifier": {"system": codes.NPI, "value": content.reviewer_npi}}
            )
        response["extension"] = [{"url": codes.EXT_REVIEWER, "extension": reviewer}]
    identifiers: list[Json] = [{"system": codes.IDENT_CLAIM_RESPONSE, "value": content.claim_response_id}]
    identifiers.extend(_clone([i for i in claim.get("identifier") or [] if isinstance(i, dict)]))
    response["identifier"] = identifiers
    response["status"] = "active"
    if isinstance(claim.get("type"), dict):
        response["type"] = _clone(claim["type"])
    else:
        response["type"] = {"coding": [_coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional")]}
    response["use"] = "preauthorization"
    response["patient"] = _reference(claim.get("patient"))
    response["created"] = content.created.isoformat(timespec="seconds")
    if isinstance(claim.get("insurer"), dict):
        response["insurer"] = _reference(claim["insurer"])
    if isinstance(claim.get("provider"), dict):
        response["requestor"] = _reference(claim["provider"])
    response["request"] = _claim_reference(claim)
    # PAS 2.2.1 answers "complete" for a pended item too (its examples do): processing is complete,
    # the item's A4 says a decision is pending.
    outcome: Literal["complete", "error"] = "error" if content.errors else "complete"
    response["outcome"] = outcome
    approved = [i for i in content.items if i.review_action in ("A1", "A6") and i.window is not None]
    if approved:
        response["preAuthRef"] = approved[0].auth_number
        starts = [i.window[0] for i in approved if i.window]
        ends = [i.window[1] for i in approved if i.window]
        response["preAuthPeriod"] = _period((min(starts), max(ends)))
    if resp_items:
        response["item"] = resp_items
    if added:
        response["addItem"] = added
    if notes:
        response["processNote"] = notes
    if content.errors:
        response["error"] = [
            {"code": {"coding": [_coding(codes.X12_901, e.code)], "text": e.text}} for e in content.errors
        ]
    return response


def _authorized_part(claim: Json, item: ItemResult, content: ResponseContent, add_note: Any) -> Json:
    """The ``addItem`` (A1) answering an A6 item: what a reviewer authorized instead of what was asked."""
    assert item.window is not None
    claim_item = next(
        (i for i in claim.get("item") or [] if isinstance(i, dict) and i.get("sequence") == item.sequence), {}
    )
    part: Json = {
        "extension": [
            {"url": codes.EXT_ITEM_PREAUTH_PERIOD, "valuePeriod": _period(item.window)},
            {"url": codes.EXT_ITEM_PREAUTH_ISSUE_DATE, "valueDate": content.created.date().isoformat()},
            {"url": codes.EXT_AUTHORIZATION_NUMBER, "valueString": item.auth_number},
        ],
        "itemSequence": [item.sequence],
        "productOrService": _clone(claim_item.get("productOrService") or {"text": "requested service"}),
        "servicedPeriod": _period(item.window),
    }
    if item.authorized_units is not None:
        part["quantity"] = {"value": item.authorized_units, "unit": "units"}
    part["noteNumber"] = [
        add_note(f"Item {item.sequence}: authorized as modified ({item.auth_number}); see the item's notes.")
    ]
    part["adjudication"] = [
        {
            "extension": [review_action_extension("A1", item.auth_number)],
            "category": {"coding": [_coding(codes.ADJUDICATION, "submitted")]},
        }
    ]
    return part


def _reference(value: Any) -> Json:
    if isinstance(value, dict):
        reference: Json = _clone({k: v for k, v in value.items() if k in ("reference", "identifier", "display")})
        return reference
    return {}


def _claim_reference(claim: Json) -> Json:
    ref: Json = {}
    identifiers = [i for i in claim.get("identifier") or [] if isinstance(i, dict)]
    if identifiers:
        ident = {k: v for k, v in identifiers[0].items() if k in ("system", "value")}
        ref["identifier"] = ident
    if isinstance(claim.get("id"), str):
        ref["reference"] = f"Claim/{claim['id']}"
    if not ref:
        ref["display"] = "the submitted Claim"
    return ref


def echo_entries(claim_response: Json, index: BundleIndex) -> list[Json]:
    """Request entries the ClaimResponse references (patient, insurer, requestor), with their fullUrls."""
    positions: list[int] = []
    for key in ("patient", "insurer", "requestor"):
        ref = (claim_response.get(key) or {}).get("reference")
        if not isinstance(ref, str):
            continue
        position = index.position(ref)
        if position is not None and position not in positions:
            positions.append(position)
    entries = [index.entries[position] for position in positions]
    # One copy of all echoed resources: each orjson round trip has a fixed cost.
    resources = _clone([entry["resource"] for entry in entries])
    return [
        {"fullUrl": entry["fullUrl"], "resource": resource} if "fullUrl" in entry else {"resource": resource}
        for entry, resource in zip(entries, resources, strict=True)
    ]


def build_response_bundle(
    request_bundle: Json,
    claim: Json,
    content: ResponseContent,
    *,
    base_url: str,
    inquiry: bool = False,
    index: BundleIndex | None = None,
) -> Json:
    """A PAS response Bundle (or inquiry response Bundle): ClaimResponse first, then what it references.

    ``index`` is the request Bundle's index when the caller has it (``PasRequest.index``); without it
    the Bundle is indexed again.
    """
    profile_cr = codes.PROFILE_INQUIRY_RESPONSE if inquiry else codes.PROFILE_CLAIM_RESPONSE
    profile_bundle = codes.PROFILE_INQUIRY_RESPONSE_BUNDLE if inquiry else codes.PROFILE_RESPONSE_BUNDLE
    claim_response = build_claim_response(claim, content, profile=profile_cr)
    return wrap_claim_response(
        request_bundle,
        claim_response,
        base_url=base_url,
        profile=profile_bundle,
        timestamp=content.created,
        index=index,
    )


def wrap_claim_response(
    request_bundle: Json,
    claim_response: Json,
    *,
    base_url: str,
    profile: str,
    timestamp: datetime,
    index: BundleIndex | None = None,
) -> Json:
    """Wrap an existing ClaimResponse in a response Bundle echoing the request's referenced entries
    (``index``: the request Bundle's index, when the caller has it)."""
    if index is None:
        index = BundleIndex.of(request_bundle)
    bundle: Json = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profile]},
    }
    if isinstance(request_bundle.get("identifier"), dict):
        bundle["identifier"] = _clone(request_bundle["identifier"])
    bundle["type"] = "collection"
    bundle["timestamp"] = timestamp.isoformat(timespec="seconds")
    bundle["entry"] = [
        {"fullUrl": f"{base_url.rstrip('/')}/ClaimResponse/{claim_response['id']}", "resource": claim_response},
        *echo_entries(claim_response, index),
    ]
    return bundle
