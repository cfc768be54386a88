"""The fast serialisers and helpers agree with the generic forms they replace."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta

from priorauth.engine.criteria.clinical import age_on
from priorauth.engine.durations import add_months
from priorauth.engine.evidence import (
    AnswerEvidence,
    AuthorizationEvidence,
    Evidence,
    NoteSpanEvidence,
    ResourceEvidence,
    evidence_to_dict,
)
from priorauth.engine.trace import TraceNode
from priorauth.engine.truth import Truth

SAMPLES: list[Evidence] = [
    ResourceEvidence("Condition/1", "Condition.code", "small cell"),
    AnswerEvidence("QuestionnaireResponse/1", "I.A.2", "true", origin="manual", author="Practitioner/1"),
    AnswerEvidence("QuestionnaireResponse/1", "I.A.1", "None"),
    NoteSpanEvidence("DocumentReference/1", 3, 9, "ES-SCLC", "stage", "R1", 1, "Assessment", ("negated",)),
    NoteSpanEvidence("DocumentReference/2", 0, 4, "SCLC", "histology", "R2"),
    AuthorizationEvidence("PA-1", "2025-01-01", "2025-07-01"),
]


def _generic(evidence: Evidence) -> dict[str, Any]:
    """The field-by-field form: every dataclass field, in order, tuples as lists."""
    return {
        f.name: list(value) if isinstance(value := getattr(evidence, f.name), tuple) else value
        for f in dataclasses.fields(evidence)
    }


@pytest.mark.parametrize("evidence", SAMPLES, ids=lambda e: type(e).__name__)
def test_evidence_writers_cover_every_field_in_order(evidence: Evidence) -> None:
    data = evidence_to_dict(evidence)
    assert list(data.items()) == list(_generic(evidence).items())
    assert data is not evidence_to_dict(evidence)  # a fresh dict per call: callers may change it


def test_trace_status_text_is_the_enum_value() -> None:
    for truth in Truth:
        node = TraceNode("I.A.1", truth, "text", "reason", evidence=tuple(SAMPLES))
        data = node.to_dict()
        assert data["status"] == truth.value
        assert data["evidence"] == [_generic(e) for e in SAMPLES]


def test_age_and_month_arithmetic_match_relativedelta() -> None:
    rng = random.Random(20260302)
    awkward = [date(2000, 2, 29), date(1999, 3, 31), date(2001, 1, 31), date(2000, 12, 31), date(2003, 2, 28)]
    for step in range(20000):
        birth = rng.choice(awkward) if step % 3 == 0 else date(1930, 1, 1) + timedelta(days=rng.randrange(40000))
        on = birth + timedelta(days=rng.randrange(-400, 40000))
        assert age_on(birth, on) == relativedelta(on, birth).years, (birth, on)
        months = rng.randrange(-30, 200)
        assert add_months(birth, months) == birth + relativedelta(months=months), (birth, months)
