"""II.A.1 currently receiving the drug, II.A.2 responding positively."""

from __future__ import annotations

from datetime import date, timedelta

from priorauth.engine.context import EvalContext
from priorauth.engine.criteria import clinical
from priorauth.engine.evidence import AuthorizationEvidence, Evidence
from priorauth.engine.facts import DiseaseAssessment, TherapyExposure
from priorauth.engine.reconcile import Finding
from priorauth.engine.truth import Truth
from priorauth.policy.model import CurrentTherapyCriterion, DiagnosisCriterion

DRUG = "tarlatamab"
# An approval that ended within this many days still counts as "currently receiving via our benefit".
RECENT_AUTHORIZATION_DAYS = 90
# The latest documented administration must fall within this many days to count as "currently".
CURRENT_ADMINISTRATION_DAYS = 60


def administrations(ctx: EvalContext) -> list[TherapyExposure]:
    """Documented tarlatamab administrations with a date, oldest first."""
    found = [t for t in ctx.facts.therapies if t.agent == DRUG and not t.negated and t.start is not None]
    return sorted(found, key=lambda t: t.start or date.min)


def current_therapy(spec: CurrentTherapyCriterion, ctx: EvalContext) -> Finding:
    """An earlier approval of ours, or administrations for at least ``min_days`` that are current."""
    recent = [
        a
        for a in ctx.facts.prior_authorizations
        if a.start <= ctx.as_of and a.end >= ctx.as_of - timedelta(days=RECENT_AUTHORIZATION_DAYS)
    ]
    if recent:
        latest = max(recent, key=lambda a: a.end)
        ev: Evidence = AuthorizationEvidence(latest.number, latest.start.isoformat(), latest.end.isoformat())
        return Finding(
            Truth.MET,
            f"currently receiving via our benefit: authorization {latest.number} ({latest.start} to {latest.end})",
            (ev, latest.evidence),
        )
    given = administrations(ctx)
    if not given:
        return Finding(Truth.UNKNOWN, "no earlier approval of ours and no tarlatamab administrations documented")
    first, last = given[0].start, given[-1].start
    assert first is not None and last is not None
    evidence = tuple(t.evidence for t in given)
    days = (ctx.as_of - first).days
    indication = _covered_indication(ctx)
    if indication.status is Truth.NOT_MET:
        return Finding(
            Truth.NOT_MET,
            f"tarlatamab documented since {first}, but not for a covered indication ({indication.reason})",
            evidence + indication.evidence,
        )
    if days >= spec.min_days and (ctx.as_of - last).days <= CURRENT_ADMINISTRATION_DAYS:
        return Finding(
            Truth.MET,
            f"tarlatamab given since {first} ({days} days), latest {last}: currently receiving for at least {spec.min_days} days",
            evidence,
        )
    if days < spec.min_days:
        return Finding(
            Truth.UNKNOWN, f"tarlatamab documented only since {first} ({days} days, under {spec.min_days})", evidence
        )
    return Finding(
        Truth.UNKNOWN,
        f"latest documented tarlatamab administration ({last}) is more than {CURRENT_ADMINISTRATION_DAYS} days old",
        evidence,
    )


def _covered_indication(ctx: EvalContext) -> Finding:
    """The I.A.1 diagnosis check, for "currently receiving Imdelltra for a covered indication"."""
    for node in ctx.version.criteria.initial.children:
        if isinstance(node, DiagnosisCriterion):
            return clinical.diagnosis(node, ctx)
    return Finding(Truth.UNKNOWN, "the policy has no diagnosis criterion")  # pragma: no cover


def _latest(assessments: list[DiseaseAssessment]) -> list[DiseaseAssessment]:
    dated = [a for a in assessments if a.on is not None]
    if not dated:
        return assessments
    newest = max(a.on for a in dated if a.on is not None)
    return [a for a in dated if a.on == newest]


def response(ctx: EvalContext) -> Finding:
    """The latest assessment since tarlatamab began: response or stable is met, progression is not."""
    given = administrations(ctx)
    starts = [t.start for t in given if t.start is not None]
    starts += [a.start for a in ctx.facts.prior_authorizations]
    since = min(starts) if starts else None
    relevant = [a for a in ctx.facts.assessments if not a.negated and (since is None or a.on is None or a.on >= since)]
    if not relevant:
        where = f" since tarlatamab began ({since})" if since else ""
        return Finding(Truth.UNKNOWN, f"no response assessment documented{where}")
    latest = _latest(relevant)
    kinds = {a.kind for a in latest}
    evidence = tuple(a.evidence for a in latest)
    when = latest[0].on
    if kinds <= {"response", "stable"}:
        words = " and ".join(sorted("stable disease" if k == "stable" else "response" for k in kinds))
        return Finding(Truth.MET, f"{words} documented {when}", evidence)
    if kinds == {"progression"}:
        return Finding(Truth.NOT_MET, f"progression on tarlatamab documented {when}", evidence)
    return Finding(Truth.UNKNOWN, f"assessments of {when} disagree (progression and response)", evidence)
