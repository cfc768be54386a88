"""Dose checks: the step-up schedule (I.A.5.a, II.A.3.a), units per service period (V), dose increase
(II.A.3) and literature support (I.A.5.b, II.A.3.b).

Requested doses are placed in 28-day cycles. The first dose of an initial request opens cycle 1; a
step-up-sized dose later on is a restart (label Table 4) and opens a new cycle 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, cast

from priorauth.engine.context import EvalContext
from priorauth.engine.evidence import Evidence
from priorauth.engine.facts import RequestedDose
from priorauth.engine.reconcile import Finding
from priorauth.engine.truth import Truth
from priorauth.policy.model import DoseScheduleCriterion, Dosing


class PlacedDose(NamedTuple):
    """A requested dose placed in a treatment segment (a restart opens a new one) and a cycle of it.

    A named tuple rather than a frozen dataclass: a request places every requested dose (25 in a
    typical step-up schedule) and a tuple is several times cheaper to build.
    """

    dose: RequestedDose
    segment: int
    cycle: int
    step_up_cycle: bool


def _sort_key(dose: RequestedDose) -> tuple[int, int, int]:
    if dose.on is not None:
        return (0, dose.on.toordinal(), 0)
    return (1, dose.cycle or 0, dose.day or 0)


def place_doses(doses: tuple[RequestedDose, ...], dosing: Dosing, initial: bool) -> list[PlacedDose]:
    """Place each requested dose in a 0-based cycle of its segment, by date or by its cycle label.

    An initial request's first segment starts with the step-up cycle; a step-up-sized dose after the
    first (or first in a continuation) is a restart that opens a new step-up segment.
    """
    placed: list[PlacedDose] = []
    segment = 0
    anchor: date | None = None
    anchor_cycle: int | None = None
    ordered = sorted(doses, key=_sort_key)
    # A request that starts at a labelled later cycle (e.g. "Cycle 2 Day 1") continues a step-up
    # already given: its first segment is not a step-up cycle.
    first_label = ordered[0].cycle if ordered else None
    base = first_label - 1 if first_label is not None and first_label > 1 else 0
    step_up = initial and base == 0
    # Read once: pydantic attribute access per dose showed in profiles.
    step_up_dose_mg = dosing.step_up_dose_mg
    restart_allowed = dosing.restart_step_up_allowed
    cycle_days = dosing.cycle_days
    for index, dose in enumerate(ordered):
        small = dose.dose_mg is not None and dose.dose_mg <= step_up_dose_mg
        if small and restart_allowed and (index > 0 or not step_up):
            if index > 0:
                segment += 1
            anchor, anchor_cycle, step_up, base = None, None, True, 0
        if dose.on is not None:
            anchor = anchor or dose.on
            cycle = base + (dose.on - anchor).days // cycle_days
        elif dose.cycle is not None:
            anchor_cycle = dose.cycle if anchor_cycle is None else anchor_cycle
            cycle = base + dose.cycle - anchor_cycle
        else:
            cycle = -1
        placed.append(PlacedDose(dose, segment, cycle, step_up and cycle == 0))
    return placed


def _cycle_groups(placed: list[PlacedDose]) -> list[list[PlacedDose]]:
    groups: dict[tuple[int, int], list[PlacedDose]] = {}
    for item in placed:
        groups.setdefault((item.segment, item.cycle), []).append(item)
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class _DoseReading:
    """What every schedule phase reads of the requested doses: their evidence, how many lack an
    amount, and (when all have one) their placement grouped by cycle."""

    evidence: tuple[Evidence, ...]
    unknown: int
    undated: bool = False
    groups: tuple[list[PlacedDose], ...] = ()


_READING = "dose.reading"


def _reading(ctx: EvalContext) -> _DoseReading:
    """The dose reading, once per evaluation: I.A.5.a.i and I.A.5.a.ii (or II.A.3.a) share it."""
    shared = ctx.shared.get(_READING)
    if shared is None:
        doses = ctx.facts.requested_doses
        evidence = tuple([d.evidence for d in doses])
        unknown = len([d for d in doses if d.dose_mg is None])
        if unknown:
            shared = _DoseReading(evidence, unknown)
        else:
            placed = place_doses(doses, ctx.version.dosing, initial=ctx.path == "initial")
            undated = any(p.cycle < 0 for p in placed)
            shared = _DoseReading(evidence, 0, undated, tuple(_cycle_groups(placed)))
        ctx.shared[_READING] = shared
    return cast(_DoseReading, shared)


def dose_schedule(spec: DoseScheduleCriterion, ctx: EvalContext) -> Finding:
    """Every requested dose of this phase within the schedule: size, count and total per cycle."""
    dosing = ctx.version.dosing
    if not ctx.facts.requested_doses:
        return Finding(Truth.UNKNOWN, "no requested dosing schedule (dose and day) in the request")
    reading = _reading(ctx)
    evidence = reading.evidence
    if reading.unknown:
        return Finding(Truth.UNKNOWN, f"{reading.unknown} requested dose(s) have no amount in mg", evidence)
    if reading.undated:
        return Finding(Truth.UNKNOWN, "requested doses have neither dates nor cycle days", evidence)
    groups = reading.groups
    want_step_up = spec.phase == "cycle_1"
    max_mg = dosing.max_single_dose_mg
    schedule = dosing.cycle_1 if want_step_up else dosing.later_cycles
    problems: list[str] = []
    considered = 0
    for group in groups:
        if group[0].step_up_cycle != want_step_up:
            continue
        considered += len(group)
        first = group[0]
        label = f"cycle {first.dose.cycle or first.cycle + 1}" + (" (step-up)" if want_step_up else "")
        if first.segment:
            label += f" after restart {first.segment}"
        if len(group) > len(schedule):
            problems.append(f"{label}: {len(group)} administrations, the schedule allows {len(schedule)}")
        for number, (slot, item) in enumerate(zip(schedule, group, strict=False), start=1):
            mg = item.dose.dose_mg or 0.0
            if mg > slot.mg:
                problems.append(f"{label} dose {number}: {mg:g} mg exceeds {slot.mg:g} mg (day {slot.day})")
        for item in group:
            mg = item.dose.dose_mg or 0.0
            if mg > max_mg:
                problems.append(f"{label}: {mg:g} mg exceeds the {max_mg:g} mg maximum dose")
    if problems:
        return Finding(Truth.NOT_MET, "; ".join(dict.fromkeys(problems)), evidence)
    if considered == 0:
        phase = "cycle 1 step-up" if want_step_up else "cycle 2 and later"
        return Finding(Truth.MET, f"no {phase} doses requested", evidence)
    return Finding(Truth.MET, f"{considered} requested dose(s) within the schedule", evidence)


def scheduled_units(dosing: Dosing, start: date, end: date, initial: bool) -> int:
    """Most J9026 units (1 mg each) the schedule allows from ``start`` through ``end`` inclusive."""
    total = 0.0
    span = (end - start).days
    cycle = 0
    while cycle * dosing.cycle_days <= span:
        steps = dosing.cycle_1 if (initial and cycle == 0) else dosing.later_cycles
        for step in steps:
            if cycle * dosing.cycle_days + step.day - 1 <= span:
                total += step.mg
        cycle += 1
    return int(total)


def units(ctx: EvalContext, window_end: date | None) -> tuple[Finding, int | None]:
    """Units requested vs. what the schedule allows over the service period; returns the approvable number."""
    item = ctx.facts.item
    start = item.service_start or ctx.as_of
    end = item.service_end or window_end
    if item.units is None:
        return Finding(Truth.UNKNOWN, "the item gives no quantity of units", (item.evidence,)), None
    if end is None:
        return Finding(Truth.UNKNOWN, "the item gives no service period end", (item.evidence,)), None
    if end < start:
        return Finding(
            Truth.UNKNOWN, f"the service period ends ({end}) before it starts ({start})", (item.evidence,)
        ), None
    allowed = scheduled_units(ctx.version.dosing, start, end, initial=ctx.path == "initial")
    schedule = "step-up then every 14 days" if ctx.path == "initial" else "10 mg every 14 days"
    if item.units <= allowed:
        return (
            Finding(
                Truth.MET,
                f"{item.units:g} units requested; the schedule ({schedule}) allows {allowed} from {start} to {end}",
                (item.evidence,),
            ),
            allowed,
        )
    return (
        Finding(
            Truth.NOT_MET,
            f"{item.units:g} units requested; the schedule ({schedule}) allows at most {allowed} from {start} to {end}",
            (item.evidence,),
        ),
        allowed,
    )


def dose_increase(ctx: EvalContext) -> Finding:
    """Whether the requested dose exceeds the current (latest administered) dose."""
    requested = [d.dose_mg for d in ctx.facts.requested_doses if d.dose_mg is not None]
    given = sorted(
        (t for t in ctx.facts.therapies if t.agent == "tarlatamab" and not t.negated and t.dose_mg is not None),
        key=lambda t: t.start or date.min,
    )
    if not requested:
        return Finding(Truth.UNKNOWN, "no requested dose in the request")
    if not given:
        return Finding(Truth.UNKNOWN, f"requested up to {max(requested):g} mg; the current dose is not documented")
    current = given[-1].dose_mg or 0.0
    evidence = (given[-1].evidence,) + tuple(d.evidence for d in ctx.facts.requested_doses)
    if max(requested) > current:
        return Finding(Truth.MET, f"requested {max(requested):g} mg is above the current {current:g} mg", evidence)
    return Finding(
        Truth.NOT_MET, f"requested {max(requested):g} mg does not exceed the current {current:g} mg", evidence
    )


def literature_support(ctx: EvalContext) -> Finding:
    """Supporting literature is always for a clinical reviewer to judge: unknown either way."""
    if ctx.facts.dose_support:
        return Finding(
            Truth.UNKNOWN,
            "supporting literature attached: a clinical reviewer must judge it",
            ctx.facts.dose_support,
        )
    return Finding(Truth.UNKNOWN, "no guideline or literature supporting the dose is attached")
