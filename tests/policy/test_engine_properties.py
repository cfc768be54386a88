"""Properties of the engine itself, on generated :class:`Facts` (no FHIR):

1. information monotonicity: adding a documented fact never turns a criterion from met into not met
   (new evidence may contradict, making it unknown, but never flips it to a failure);
2. ``decide`` answers only with an :class:`Outcome`, has no denial, and never approves while a criterion
   of the path it judged is not met (or unknown), or while units are not met.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth.engine.decide import decide
from priorauth.engine.determination import Outcome
from priorauth.engine.evidence import AnswerEvidence, AuthorizationEvidence, ResourceEvidence
from priorauth.engine.facts import (
    Answer,
    DiagnosisFinding,
    DiseaseAssessment,
    Facts,
    OncologyInvolvement,
    PlanConfig,
    PriorAuthorization,
    RequestedDose,
    RequestedItem,
    TherapyExposure,
)
from priorauth.policy.registry import load_registry

REGISTRY = load_registry()
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
AS_OF = date(2026, 3, 2)
INITIAL_LEAVES = ("I.A.1", "I.A.2", "I.A.3", "I.A.4")
_counter = iter(range(10**9))


def ev() -> ResourceEvidence:
    return ResourceEvidence(f"Observation/{next(_counter)}", "Observation.value", "generated")


dates = st.dates(min_value=date(2024, 6, 1), max_value=date(2026, 6, 1))
optional_dates = st.none() | dates


@st.composite
def diagnosis(draw: st.DrawFn) -> DiagnosisFinding:
    return DiagnosisFinding(
        evidence=ev(),
        histology=draw(st.sampled_from([None, "small_cell", "non_small_cell", "other"])),
        stage=draw(st.sampled_from([None, "extensive", "limited"])),
        negated=draw(st.booleans()),
    )


@st.composite
def therapy(draw: st.DrawFn) -> TherapyExposure:
    return TherapyExposure(
        agent=draw(st.sampled_from(["carboplatin", "cisplatin", "etoposide", "tarlatamab"])),
        evidence=ev(),
        start=draw(optional_dates),
        dose_mg=draw(st.sampled_from([None, 1.0, 10.0, 450.0])),
        negated=draw(st.booleans()),
    )


@st.composite
def assessment(draw: st.DrawFn) -> DiseaseAssessment:
    return DiseaseAssessment(
        kind=draw(st.sampled_from(["progression", "response", "stable"])),
        evidence=ev(),
        on=draw(optional_dates),
        negated=draw(st.booleans()),
    )


@st.composite
def answer(draw: st.DrawFn, link_ids: tuple[str, ...]) -> Answer:
    link_id = draw(st.sampled_from(link_ids))
    value = draw(st.none() | st.booleans())
    return Answer(link_id, value, AnswerEvidence("QuestionnaireResponse/1", link_id, str(value), origin="manual"))


taxonomies = st.lists(
    st.sampled_from(["207RX0202X", "207RH0003X", "2085R0001X", "207Q00000X", "207RP1001X"]).map(lambda c: (c, ev())),
    max_size=2,
)


@st.composite
def requested_doses(draw: st.DrawFn) -> tuple[RequestedDose, ...]:
    start = draw(dates)
    count = draw(st.integers(min_value=0, max_value=8))
    doses = []
    for index in range(count):
        offset = draw(st.sampled_from([0, 7, 14, 28])) + 14 * index
        doses.append(
            RequestedDose(
                evidence=ev(),
                dose_mg=draw(st.sampled_from([None, 1.0, 10.0, 10.0, 20.0])),
                on=start + timedelta(days=offset),
            )
        )
    return tuple(doses)


def item(units: float | None, start: date | None, days: int) -> RequestedItem:
    end = None if start is None else start + timedelta(days=days)
    return RequestedItem(
        sequence=1,
        codes=((HCPCS, "J9026"),),
        evidence=ResourceEvidence("Claim/1", "Claim.item[0]", "J9026"),
        units=units,
        service_start=start,
        service_end=end,
    )


# --- 1. information monotonicity --------------------------------------------------------------------


@st.composite
def initial_evidence(draw: st.DrawFn) -> dict[str, list[object]]:
    """Additive evidence for the initial criteria (no tarlatamab, so the path stays initial)."""
    return {
        "diagnoses": draw(st.lists(diagnosis(), max_size=3)),
        "therapies": [t for t in draw(st.lists(therapy(), max_size=3)) if t.agent != "tarlatamab"],
        "assessments": draw(st.lists(assessment(), max_size=3)),
        "taxonomies": draw(taxonomies),
        "consultations": draw(st.lists(st.builds(ev), max_size=1)),
        "no_oncologist": draw(st.lists(st.builds(ev), max_size=1)),
        "answers": draw(st.lists(answer(("I.A.1", "I.A.2", "I.A.4", "I.A.5")), max_size=3)),
    }


def facts_from(parts: dict[str, list[object]], birth: date | None) -> Facts:
    return Facts(
        item=item(121, AS_OF, 167),
        line_of_business="medicaid",
        birth_date=birth,
        diagnoses=tuple(parts["diagnoses"]),  # type: ignore[arg-type]
        therapies=tuple(parts["therapies"]),  # type: ignore[arg-type]
        assessments=tuple(parts["assessments"]),  # type: ignore[arg-type]
        oncology=OncologyInvolvement(
            taxonomies=tuple(parts["taxonomies"]),  # type: ignore[arg-type]
            consultations=tuple(parts["consultations"]),  # type: ignore[arg-type]
            no_oncologist=tuple(parts["no_oncologist"]),  # type: ignore[arg-type]
        ),
        answers=tuple(parts["answers"]),  # type: ignore[arg-type]
    )


def merged(a: dict[str, list[object]], b: dict[str, list[object]]) -> dict[str, list[object]]:
    out = {key: [*a[key], *b[key]] for key in a}
    # A second answer to an item already answered is not "more information" but a different answer.
    answered = {x.link_id for x in a["answers"]}  # type: ignore[attr-defined]
    out["answers"] = [*a["answers"], *(x for x in b["answers"] if x.link_id not in answered)]  # type: ignore[attr-defined]
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=initial_evidence(),
    extra=initial_evidence(),
    birth=st.none() | st.dates(min_value=date(1930, 1, 1), max_value=date(2015, 1, 1)),
    add_birth=st.booleans(),
)
def test_adding_a_fact_never_turns_met_into_not_met(
    base: dict[str, list[object]], extra: dict[str, list[object]], birth: date | None, add_birth: bool
) -> None:
    before = decide(REGISTRY, facts_from(base, None if add_birth else birth), AS_OF)
    after = decide(REGISTRY, facts_from(merged(base, extra), birth), AS_OF)
    assert before.path == after.path == "initial"
    was, now = before.statuses(), after.statuses()
    for criterion in INITIAL_LEAVES:
        if was[criterion] == "met":
            assert now[criterion] != "not_met", (criterion, before.trace, after.trace)


@settings(max_examples=200, deadline=None)
@given(base=initial_evidence(), conflict=st.sampled_from(["limited", "nsclc", "no_oncologist", "naive"]))
def test_a_contradicting_record_makes_a_met_criterion_unknown_not_failed(
    base: dict[str, list[object]], conflict: str
) -> None:
    good = {
        "diagnoses": [DiagnosisFinding(ev(), histology="small_cell", stage="extensive")],
        "therapies": [TherapyExposure("carboplatin", ev(), start=date(2025, 8, 1))],
        "assessments": [DiseaseAssessment("progression", ev(), on=date(2026, 1, 20))],
        "taxonomies": [("207RX0202X", ev())],
        "consultations": [],
        "no_oncologist": [],
        "answers": [],
    }
    extra: dict[str, list[object]] = {key: [] for key in good}
    if conflict == "limited":
        extra["diagnoses"] = [DiagnosisFinding(ev(), stage="limited")]
    elif conflict == "nsclc":
        extra["diagnoses"] = [DiagnosisFinding(ev(), histology="non_small_cell")]
    elif conflict == "no_oncologist":
        extra["no_oncologist"] = [ev()]
    else:
        extra["therapies"] = [TherapyExposure("cisplatin", ev(), negated=True)]
    before = decide(REGISTRY, facts_from(good, date(1950, 1, 1)), AS_OF).statuses()
    after = decide(REGISTRY, facts_from(merged(good, extra), date(1950, 1, 1)), AS_OF).statuses()
    assert all(before[c] == "met" for c in INITIAL_LEAVES)
    assert all(after[c] in ("met", "unknown") for c in INITIAL_LEAVES)


# --- 2. decide's outcomes ---------------------------------------------------------------------------


@st.composite
def any_facts(draw: st.DrawFn) -> Facts:
    start = draw(st.none() | dates)
    return Facts(
        item=item(
            draw(st.none() | st.sampled_from([0.0, 21.0, 41.0, 121.0, 150.0, 271.0])), start, draw(st.integers(0, 400))
        ),
        line_of_business=draw(st.sampled_from([None, "commercial", "marketplace", "medicaid"])),
        renewal_date=draw(optional_dates),
        birth_date=draw(st.none() | st.dates(min_value=date(1930, 1, 1), max_value=date(2015, 1, 1))),
        diagnoses=tuple(draw(st.lists(diagnosis(), max_size=3))),
        therapies=tuple(draw(st.lists(therapy(), max_size=5))),
        assessments=tuple(draw(st.lists(assessment(), max_size=3))),
        oncology=OncologyInvolvement(
            taxonomies=tuple(draw(taxonomies)),
            consultations=tuple(draw(st.lists(st.builds(ev), max_size=1))),
            no_oncologist=tuple(draw(st.lists(st.builds(ev), max_size=1))),
        ),
        requested_doses=draw(requested_doses()),
        answers=tuple(draw(st.lists(answer(("I.A.1", "I.A.2", "I.A.4", "I.A.5", "II.A.1", "II.A.2")), max_size=4))),
        prior_authorizations=tuple(
            PriorAuthorization(f"PA-{i}", s, s + timedelta(days=180), AuthorizationEvidence(f"PA-{i}", str(s), str(s)))
            for i, s in enumerate(draw(st.lists(dates, max_size=1)))
        ),
        dose_support=tuple(draw(st.lists(st.builds(ev), max_size=1))),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=any_facts(),
    as_of=st.dates(min_value=date(2024, 7, 1), max_value=date(2026, 12, 31)),
    on_formulary=st.booleans(),
)
def test_decide_never_denies_and_never_approves_an_unmet_criterion(
    facts: Facts, as_of: date, on_formulary: bool
) -> None:
    plan = PlanConfig(on_formulary=("commercial", "marketplace", "medicaid") if on_formulary else ())
    result = decide(REGISTRY, facts, as_of, plan)
    assert isinstance(result.outcome, Outcome)
    assert result.outcome in set(Outcome)
    assert "den" not in result.outcome.value.replace("recommend_denial", "")
    if result.outcome is not Outcome.APPROVED:
        return
    statuses = result.statuses()
    tree = "I.A" if result.path == "initial" else "II.A"
    children = ("I.A.1", "I.A.2", "I.A.3", "I.A.4", "I.A.5") if tree == "I.A" else ("II.A.1", "II.A.2", "II.A.3")
    assert statuses[tree] == "met"
    for criterion in (*children, "V"):
        assert statuses[criterion] == "met", (criterion, statuses)
    assert not result.missing
    assert result.window is not None and result.line_of_business is not None


@settings(max_examples=200, deadline=None)
@given(facts=any_facts())
def test_decide_is_deterministic(facts: Facts) -> None:
    first = decide(REGISTRY, facts, AS_OF).to_dict()
    second = decide(REGISTRY, dataclasses.replace(facts), AS_OF).to_dict()
    assert first == second
