"""Does a requested item ask for this policy's drug? HCPCS, NDC (any common format) or RxNorm."""

from __future__ import annotations

import re
from datetime import date

from priorauth.engine.facts import RequestedItem
from priorauth.policy.model import PolicyVersion

_DIGITS = re.compile(r"\D")


def normalize_ndc(raw: str) -> str | None:
    """An NDC in 11-digit 5-4-2 form, from 5-4-2, 5-3-2, 4-4-2, 5-4-1 hyphenated or bare 11 digits.

    >>> normalize_ndc("55513-059-01")
    '55513-0059-01'
    >>> normalize_ndc("55513005901")
    '55513-0059-01'
    """
    text = raw.strip()
    if "-" in text:
        parts = text.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            return None
        labeler, product, package = parts
        labeler, product, package = labeler.zfill(5), product.zfill(4), package.zfill(2)
        if (len(labeler), len(product), len(package)) != (5, 4, 2):
            return None
        return f"{labeler}-{product}-{package}"
    digits = _DIGITS.sub("", text)
    if len(digits) == 11:
        return f"{digits[:5]}-{digits[5:9]}-{digits[9:]}"
    if len(digits) == 10:
        # Bare 10-digit NDCs are ambiguous; the labelled tarlatamab form is 5-3-2.
        return f"{digits[:5]}-0{digits[5:8]}-{digits[8:]}"
    return None


def matches_drug(versions: tuple[PolicyVersion, ...], item: RequestedItem, as_of: date) -> str | None:
    """How the item matches the policy's drug (a short description), or None when it does not."""
    latest = versions[-1]
    ndcs = {c.code for c in latest.drug.ndc}
    item_ndcs = {n for n in (normalize_ndc(x) for x in item.ndcs) if n}
    has_ndc = bool(ndcs & item_ndcs)
    hcpcs = latest.codes.hcpcs_system
    codes = {code for system, code in item.codes if system == hcpcs or system.endswith("HCPCSReleaseCodeSets")}
    for version in versions:
        for billing in version.billing_codes:
            if billing.code not in codes:
                continue
            if billing.requires_ndc:
                if has_ndc and (billing.accepted_through is None or as_of <= billing.accepted_through):
                    return f"HCPCS {billing.code} with a tarlatamab NDC"
                continue
            return f"HCPCS {billing.code}"
    if has_ndc:
        return "tarlatamab NDC " + ", ".join(sorted(ndcs & item_ndcs))
    rx = set(latest.drug.rxnorm)
    if rx & set(item.rxnorm):
        return "tarlatamab RxNorm"
    return None
