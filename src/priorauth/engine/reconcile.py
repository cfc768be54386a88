"""Combine what several sources say about one criterion (records, notes, the DTR answer).

Agreeing sources give their status with all their evidence; disagreeing sources give ``unknown`` with
every piece of evidence, so a reviewer sees both sides (policy-reading.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from priorauth.engine.evidence import Evidence
from priorauth.engine.facts import Answer
from priorauth.engine.truth import Truth


@dataclass(frozen=True, slots=True)
class Finding:
    """A status with its reason and evidence, before it becomes a trace node."""

    status: Truth
    reason: str
    evidence: tuple[Evidence, ...] = ()


def from_signals(
    met: Sequence[Evidence], not_met: Sequence[Evidence], met_reason: str, not_met_reason: str, silent_reason: str
) -> Finding:
    """Status from supporting and contradicting evidence; both present is a conflict (unknown)."""
    if met and not_met:
        return Finding(
            Truth.UNKNOWN,
            f"sources disagree: {met_reason}, but {not_met_reason}",
            tuple(met) + tuple(not_met),
        )
    if met:
        return Finding(Truth.MET, met_reason, tuple(met))
    if not_met:
        return Finding(Truth.NOT_MET, not_met_reason, tuple(not_met))
    return Finding(Truth.UNKNOWN, silent_reason)


def with_answer(record: Finding, answer: Answer | None) -> Finding:
    """Fold in the provider's DTR answer: it fills silence, agrees, or makes a contradiction unknown."""
    if answer is None or answer.value is None:
        return record
    attested = Truth.MET if answer.value else Truth.NOT_MET
    said = "yes" if answer.value else "no"
    if record.status is Truth.UNKNOWN:
        if record.evidence and "disagree" in record.reason:
            return Finding(
                Truth.UNKNOWN,
                f"{record.reason}; the questionnaire answers {said}",
                record.evidence + (answer.evidence,),
            )
        return Finding(
            attested,
            f"the provider attests {said} on the DTR questionnaire ({answer.link_id})"
            + (f"; records: {record.reason}" if record.evidence else ""),
            record.evidence + (answer.evidence,),
        )
    if record.status is attested:
        return Finding(
            record.status, f"{record.reason}; the questionnaire answer agrees", record.evidence + (answer.evidence,)
        )
    return Finding(
        Truth.UNKNOWN,
        f"the questionnaire answers {said}, but the records say otherwise: {record.reason}",
        record.evidence + (answer.evidence,),
    )
