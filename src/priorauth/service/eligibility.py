"""The eligibility plug-in (interface.md §3): off by default; when on and it fails, the item is pended.

A plan plugs in its own check with ``PRIORAUTH_ELIGIBILITY=package.module:function``; the function takes
an :class:`EligibilityQuery` and returns an :class:`EligibilityResult`. :func:`coverage_active` is a
ready one that trusts the request's own Coverage (status and period).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from priorauth.fhir.clinical import as_dict, parse_date


@dataclass(frozen=True)
class EligibilityQuery:
    """Who is asking for what, when: the member, the Coverage as sent, and the request date."""

    member_id: str | None
    coverage: dict[str, Any] | None
    as_of: date


@dataclass(frozen=True)
class EligibilityResult:
    """Whether the member is eligible on the request date, and why not."""

    eligible: bool
    reason: str = ""


EligibilityCheck = Callable[[EligibilityQuery], EligibilityResult]


class EligibilityConfigError(ValueError):
    """``PRIORAUTH_ELIGIBILITY`` does not name an importable ``module:function``."""


def load_eligibility(spec: str | None) -> EligibilityCheck | None:
    """The configured check, or None when eligibility checking is off."""
    if not spec or spec.lower() == "off":
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise EligibilityConfigError(f"PRIORAUTH_ELIGIBILITY={spec!r}: expected 'package.module:function'")
    try:
        check = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise EligibilityConfigError(f"PRIORAUTH_ELIGIBILITY={spec!r}: {exc}") from None
    if not callable(check):
        raise EligibilityConfigError(f"PRIORAUTH_ELIGIBILITY={spec!r} is not callable")
    result: EligibilityCheck = check
    return result


def coverage_active(query: EligibilityQuery) -> EligibilityResult:
    """Eligible when the request's Coverage is active and its period covers the request date."""
    coverage = query.coverage
    if coverage is None:
        return EligibilityResult(False, "the request carries no Coverage")
    if coverage.get("status") != "active":
        return EligibilityResult(False, f"Coverage.status is {coverage.get('status')!r}, not 'active'")
    period = as_dict(coverage.get("period"))
    start, end = parse_date(period.get("start")), parse_date(period.get("end"))
    if start is not None and query.as_of < start:
        return EligibilityResult(False, f"coverage starts {start}, after the request date {query.as_of}")
    if end is not None and query.as_of > end:
        return EligibilityResult(False, f"coverage ended {end}, before the request date {query.as_of}")
    return EligibilityResult(True)
