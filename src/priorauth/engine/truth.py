"""Kleene strong three-valued logic (as in CQL): met, not met, unknown.

Composites take already-evaluated children so that every child is evaluated and explained;
nothing short-circuits.

>>> all_of([Truth.MET, Truth.UNKNOWN])
<Truth.UNKNOWN: 'unknown'>
>>> any_of([Truth.NOT_MET, Truth.MET])
<Truth.MET: 'met'>
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Truth(StrEnum):
    """The status of a criterion."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: bool | None) -> Truth:
        """Map a Python optional boolean: None is unknown, never false."""
        if value is None:
            return cls.UNKNOWN
        return cls.MET if value else cls.NOT_MET


def all_of(values: Iterable[Truth]) -> Truth:
    """Kleene AND: not met dominates, then unknown; the empty conjunction is met."""
    seen_unknown = False
    for value in values:
        if value is Truth.NOT_MET:
            return Truth.NOT_MET
        if value is Truth.UNKNOWN:
            seen_unknown = True
    return Truth.UNKNOWN if seen_unknown else Truth.MET


def any_of(values: Iterable[Truth]) -> Truth:
    """Kleene OR: met dominates, then unknown; the empty disjunction is not met."""
    seen_unknown = False
    for value in values:
        if value is Truth.MET:
            return Truth.MET
        if value is Truth.UNKNOWN:
            seen_unknown = True
    return Truth.UNKNOWN if seen_unknown else Truth.NOT_MET


def negate(value: Truth) -> Truth:
    """Kleene NOT: unknown stays unknown."""
    if value is Truth.MET:
        return Truth.NOT_MET
    if value is Truth.NOT_MET:
        return Truth.MET
    return Truth.UNKNOWN


def implies(antecedent: Truth, consequent: Truth) -> Truth:
    """Kleene implication, ``not a or b``: "if the request is for a dose increase, ..."."""
    return any_of([negate(antecedent), consequent])
