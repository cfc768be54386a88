"""Structural checks on a PAS request Bundle; each failure names the element as a FHIRPath expression.

Only what we need to answer safely is enforced (Claim first, Coverage present, references resolvable);
non-must-support elements we do not process are ignored, as PAS requires of receivers (spec-25).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from priorauth.errors import BundleError
from priorauth.pas.bundle import BundleIndex, Json, references


@dataclass(frozen=True)
class PasRequest:
    """A Bundle that passed validation, with its index and first-entry Claim."""

    bundle: Json
    index: BundleIndex
    claim: Json


def parse_json(body: bytes) -> Json:
    """Decode a JSON object or raise :class:`BundleError` naming ``Bundle``."""
    try:
        data: Any = orjson.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError("Bundle", f"the body is not JSON ({exc})", issue_code="structure") from None
    if not isinstance(data, dict):
        raise BundleError("Bundle", "the body is not a JSON object", issue_code="structure")
    return data


def validate_request(data: Json, *, operation: str) -> PasRequest:
    """Check a ``$submit`` or ``$inquire`` Bundle; raises :class:`BundleError` on the first problem."""
    if data.get("resourceType") != "Bundle":
        found = data.get("resourceType")
        raise BundleError("Bundle.resourceType", f"expected a Bundle, got {found!r}", issue_code="structure")
    if data.get("type") != "collection":
        raise BundleError("Bundle.type", f"a PAS request Bundle has type 'collection', not {data.get('type')!r}")
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleError("Bundle.entry", "the Bundle has no entries", issue_code="required")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            raise BundleError(f"Bundle.entry[{position}].resource", "entry without a resource", issue_code="required")
        if not isinstance(entry["resource"].get("resourceType"), str):
            raise BundleError(f"Bundle.entry[{position}].resource.resourceType", "resource without a resourceType")
    claim: Json = entries[0]["resource"]
    if claim.get("resourceType") != "Claim":
        raise BundleError(
            "Bundle.entry[0].resource",
            f"the first entry must be the Claim, found {claim.get('resourceType')}",
        )
    index = BundleIndex.of(data)
    base = "Bundle.entry[0].resource"
    if claim.get("use") != "preauthorization":
        raise BundleError(f"{base}.use", f"Claim.use must be 'preauthorization', not {claim.get('use')!r}")
    if not isinstance(claim.get("status"), str):
        raise BundleError(f"{base}.status", "Claim.status is missing", issue_code="required")
    _check_patient(claim, index, base)
    if operation == "submit":
        _check_coverage(claim, index, base)
    _check_items(claim, base)
    _check_references(claim, index, base)
    return PasRequest(data, index, claim)


def _check_patient(claim: Json, index: BundleIndex, base: str) -> None:
    patient = claim.get("patient")
    if not isinstance(patient, dict) or not isinstance(patient.get("reference"), str):
        raise BundleError(f"{base}.patient", "Claim.patient is missing", issue_code="required")


def _check_coverage(claim: Json, index: BundleIndex, base: str) -> None:
    insurance = claim.get("insurance")
    if not isinstance(insurance, list) or not insurance:
        raise BundleError(
            f"{base}.insurance", "Claim.insurance (the member's Coverage) is missing", issue_code="required"
        )
    focal = next((i for i, ins in enumerate(insurance) if isinstance(ins, dict) and ins.get("focal")), 0)
    path = f"{base}.insurance[{focal}].coverage"
    ins = insurance[focal]
    ref = ins.get("coverage", {}).get("reference") if isinstance(ins, dict) else None
    if not isinstance(ref, str):
        raise BundleError(path, "the focal insurance has no Coverage reference", issue_code="required")
    coverage = index.resolve(ref)
    if coverage is None:
        raise BundleError(path, f"Coverage {ref!r} is not in the Bundle", issue_code="not-found")
    if coverage.get("resourceType") != "Coverage":
        raise BundleError(path, f"{ref!r} is a {coverage.get('resourceType')}, not a Coverage")


def _check_items(claim: Json, base: str) -> None:
    items = claim.get("item", [])
    if not isinstance(items, list):
        raise BundleError(f"{base}.item", "Claim.item must be a list")
    seen: set[int] = set()
    for position, item in enumerate(items):
        sequence = item.get("sequence") if isinstance(item, dict) else None
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise BundleError(f"{base}.item[{position}].sequence", "item.sequence must be a positive integer")
        if sequence in seen:
            raise BundleError(f"{base}.item[{position}].sequence", f"item.sequence {sequence} is repeated")
        seen.add(sequence)


def _check_references(claim: Json, index: BundleIndex, base: str) -> None:
    if _every_reference_resolves(claim, index):
        return
    # Something may dangle: the walk decides, and names the element of the first that does.
    for path, ref in references(claim, base):
        if ref.startswith("#"):
            continue
        # Claim.related.claim names an earlier request that may live only on our side.
        if ".related[" in path:
            continue
        if index.position(ref) is None:
            raise BundleError(
                path, f"reference {ref!r} does not resolve to an entry of the Bundle", issue_code="not-found"
            )


# A string-valued "reference" member in orjson's compact output, and the body of a JSON string
# (escapes included) up to its closing quote. Inside a JSON string every quote is escaped, so the
# member text is only ever found at a real member.
_REFERENCE_MEMBER = b'"reference":"'
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*')


def _every_reference_resolves(claim: Json, index: BundleIndex) -> bool:
    """Whether every string ``reference`` member anywhere in the Claim is local (``#``) or resolves.

    A fast pre-check for :func:`_check_references`: serialising the Claim with orjson and searching
    the text is several times cheaper than walking it in Python. It sees a superset of the references
    the walk checks (it does not skip ``contained``, ``text`` or ``Claim.related``), so True means
    the walk would find nothing; False (or a Claim orjson cannot write) leaves the verdict to the walk.
    """
    try:
        text = orjson.dumps(claim)
    except orjson.JSONEncodeError:
        return False
    position = text.find(_REFERENCE_MEMBER)
    while position != -1:
        start = position + len(_REFERENCE_MEMBER)
        end = text.find(b'"', start)
        ref: str
        if text.find(b"\\", start, end) == -1:
            ref = text[start:end].decode()
        else:  # escapes: the first quote may be one of them, and the text needs decoding
            body = _STRING_BODY.match(text, start)
            end = body.end() if body else start
            ref = orjson.loads(text[start - 1 : end + 1])
        if not ref.startswith("#") and index.position(ref) is None:
            return False
        position = text.find(_REFERENCE_MEMBER, end)
    return True
