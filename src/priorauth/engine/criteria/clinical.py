"""I.A.1 diagnosis, I.A.2 oncologist, I.A.3 age, I.A.4 progression after platinum."""

from __future__ import annotations

from calendar import monthrange
from datetime import date

from dateutil.relativedelta import relativedelta

from priorauth.engine.context import EvalContext
from priorauth.engine.evidence import Evidence, NoteSpanEvidence
from priorauth.engine.reconcile import Finding, from_signals
from priorauth.engine.truth import Truth, all_of
from priorauth.policy.model import AgeCriterion, DiagnosisCriterion, OncologistCriterion

_HISTOLOGY_WORDS = {"small_cell": "small cell", "non_small_cell": "non-small cell", "other": "another cancer"}


def diagnosis(spec: DiagnosisCriterion, ctx: EvalContext) -> Finding:
    """Small-cell histology and extensive stage, each from every source; a different diagnosis is not met."""
    hist_met: list[Evidence] = []
    hist_other: list[Evidence] = []
    stage_met: list[Evidence] = []
    stage_other: list[Evidence] = []
    other_words: set[str] = set()
    for finding in ctx.facts.diagnoses:
        if finding.negated:
            continue
        if finding.histology == spec.histology:
            hist_met.append(finding.evidence)
        elif finding.histology is not None:
            hist_other.append(finding.evidence)
            other_words.add(_HISTOLOGY_WORDS[finding.histology])
        if finding.stage == spec.stage:
            stage_met.append(finding.evidence)
        elif finding.stage is not None:
            stage_other.append(finding.evidence)
            other_words.add(f"{finding.stage} stage")
    histology = from_signals(
        hist_met,
        hist_other,
        "small cell histology documented",
        f"a different histology is documented ({', '.join(sorted(w for w in other_words if 'stage' not in w))})",
        "histology not documented",
    )
    stage = from_signals(
        stage_met,
        stage_other,
        "extensive stage documented",
        "limited stage documented",
        "stage not documented",
    )
    status = all_of([histology.status, stage.status])
    if status is Truth.NOT_MET:
        failed = [f.reason for f in (histology, stage) if f.status is Truth.NOT_MET]
        reason = "different diagnosis: " + "; ".join(failed)
    elif status is Truth.MET:
        reason = "small cell histology and extensive stage documented"
    else:
        reason = f"{histology.reason}; {stage.reason}"
    return Finding(status, reason, histology.evidence + stage.evidence)


def oncologist(spec: OncologistCriterion, ctx: EvalContext) -> Finding:
    """An oncology taxonomy on the prescriber, or a documented oncology consultation."""
    oncology = {c.code for c in ctx.version.codes.oncology_taxonomies.codes}
    involvement = ctx.facts.oncology
    met = [ev for code, ev in involvement.taxonomies if code in oncology]
    met += list(involvement.consultations)
    # A note saying no oncologist was seen is only a recommendation: it cannot decide on its own.
    not_met = [ev for ev in involvement.no_oncologist if not isinstance(ev, NoteSpanEvidence)]
    other = sorted({code for code, _ in involvement.taxonomies if code not in oncology})
    if other and not met and not not_met:
        return Finding(
            Truth.UNKNOWN,
            f"prescriber's specialty ({', '.join(other)}) is not oncology and no oncology consultation is documented",
            tuple(ev for code, ev in involvement.taxonomies) + tuple(involvement.no_oncologist),
        )
    finding = from_signals(
        met,
        not_met,
        "prescriber is an oncologist or an oncology consultation is documented",
        "documentation says no oncologist was involved",
        "prescriber's specialty not given and no oncology consultation documented",
    )
    if involvement.no_oncologist and finding.status is Truth.UNKNOWN and not finding.evidence:
        return Finding(
            Truth.UNKNOWN,
            "a note says no oncologist was involved (for a reviewer to confirm)",
            tuple(involvement.no_oncologist),
        )
    return finding


def age_on(birth: date, on: date) -> int:
    """Whole years of age on a date."""
    if type(birth) is date and type(on) is date and on >= birth:
        # What relativedelta(on, birth).years gives, without building one: a birthday on a day the
        # month lacks (29 February) falls on the month's last day, as relativedelta clamps it.
        anniversary_day = min(birth.day, monthrange(on.year, birth.month)[1])
        return on.year - birth.year - ((on.month, on.day) < (birth.month, anniversary_day))
    return relativedelta(on, birth).years


def age(spec: AgeCriterion, ctx: EvalContext) -> Finding:
    """Age on the request date, from Patient.birthDate."""
    facts = ctx.facts
    if facts.birth_date is None:
        return Finding(Truth.UNKNOWN, "date of birth not given")
    years = age_on(facts.birth_date, ctx.as_of)
    evidence = (facts.birth_date_evidence,) if facts.birth_date_evidence else ()
    if years >= spec.min_years:
        return Finding(Truth.MET, f"age {years} on {ctx.as_of} (at least {spec.min_years})", evidence)
    return Finding(Truth.NOT_MET, f"age {years} on {ctx.as_of} is under {spec.min_years}: a different use", evidence)


def progression_after_platinum(ctx: EvalContext) -> Finding:
    """A platinum agent given and progression documented on or after its first administration."""
    # "platinum" is what a note says when it names the class, not the agent ("platinum-sensitive relapse").
    platinum = set(ctx.version.codes.platinum_agents.agents) | {"platinum"}
    given = [t for t in ctx.facts.therapies if t.agent in platinum and not t.negated]
    naive = [t for t in ctx.facts.therapies if t.agent in platinum and t.negated]
    progressions = [a for a in ctx.facts.assessments if a.kind == "progression" and not a.negated]
    if not given:
        structured_naive = [t.evidence for t in naive if not isinstance(t.evidence, NoteSpanEvidence)]
        if structured_naive:
            return Finding(
                Truth.NOT_MET,
                "documented platinum-naive: a different line of therapy",
                tuple(structured_naive),
            )
        if naive:
            return Finding(
                Truth.UNKNOWN,
                "a note says no platinum was given (for a reviewer to confirm); no platinum therapy documented",
                tuple(t.evidence for t in naive),
            )
        return Finding(
            Truth.UNKNOWN,
            "no platinum-based therapy documented" + ("" if progressions else " and no progression documented"),
            tuple(a.evidence for a in progressions),
        )
    agents = ", ".join(sorted({t.agent for t in given}))
    evidence = tuple(t.evidence for t in given)
    if not progressions:
        return Finding(Truth.UNKNOWN, f"platinum therapy documented ({agents}) but no progression documented", evidence)
    starts = [t.start for t in given if t.start is not None]
    first = min(starts) if starts else None
    dated = [a for a in progressions if a.on is not None]
    if first is None or not dated:
        return Finding(
            Truth.UNKNOWN,
            f"platinum therapy ({agents}) and progression documented, but their order cannot be told (dates missing)",
            evidence + tuple(a.evidence for a in progressions),
        )
    after = [a for a in dated if a.on is not None and a.on >= first]
    if after:
        latest = max(a.on for a in after if a.on is not None)
        return Finding(
            Truth.MET,
            f"{agents} first given {first}; progression documented {latest}, on or after it",
            evidence + tuple(a.evidence for a in after),
        )
    return Finding(
        Truth.UNKNOWN,
        f"progression documented only before platinum therapy began ({first}); none on or after it",
        evidence + tuple(a.evidence for a in dated),
    )
