"""Decide one requested item: which policy, which version, which path, and what outcome.

Pure: the registry is loaded data, the request date is an input, nothing is read or written.
"""

from __future__ import annotations

from datetime import date

from priorauth.engine.context import EvalContext, Path
from priorauth.engine.criteria.dose import units
from priorauth.engine.determination import Determination, MissingItem, Outcome, Referral, Window
from priorauth.engine.drug import matches_drug
from priorauth.engine.durations import approval_window, window_start
from priorauth.engine.evaluate import evaluate_node
from priorauth.engine.facts import Facts, PlanConfig, RequestedItem
from priorauth.engine.referral import refer
from priorauth.engine.trace import TraceNode
from priorauth.engine.truth import Truth
from priorauth.policy.model import Group, Node, PolicyVersion
from priorauth.policy.registry import PolicyRegistry
from priorauth.version import ENGINE_VERSION

LOB_ITEM = MissingItem(
    criterion_id="LOB",
    text="Line of Business: Commercial, HIM, Medicaid",
    needed="Coverage.type coded with https://priorauth.dev/fhir/CodeSystem/line-of-business "
    "(commercial, marketplace or medicaid)",
)


def covering_policy(registry: PolicyRegistry, item: RequestedItem, as_of: date) -> str | None:
    """The id of the policy whose drug this item asks for, if any (lets callers look up prior approvals)."""
    for policy_id, versions in registry.policies.items():
        if matches_drug(versions, item, as_of) is not None:
            return policy_id
    return None


def decide(registry: PolicyRegistry, facts: Facts, as_of: date, plan: PlanConfig | None = None) -> Determination:
    """The determination for one item on the request date ``as_of``. Never a denial."""
    plan = plan or PlanConfig()
    for policy_id, versions in registry.policies.items():
        how = matches_drug(versions, facts.item, as_of)
        if how is None:
            continue
        version = registry.resolve(policy_id, as_of)
        if version is None:
            first = versions[0].effective_from
            return Determination(
                outcome=Outcome.PENDED,
                summary=f"No version of {policy_id} was in force on {as_of} (the first is effective {first}).",
                as_of=as_of,
                engine_version=ENGINE_VERSION,
                policy_id=policy_id,
                line_of_business=facts.line_of_business,
                findings=(f"no policy version in force on {as_of}", f"item matched by {how}"),
            )
        return evaluate_policy(version, facts, as_of, plan, how)
    codes = ", ".join(code for _, code in facts.item.codes) or "no code"
    return Determination(
        outcome=Outcome.NO_POLICY,
        summary=f"No automated policy of ours covers this item ({codes}); it is pended for manual review.",
        as_of=as_of,
        engine_version=ENGINE_VERSION,
        line_of_business=facts.line_of_business,
        findings=("no policy of ours covers this item",),
    )


def _uses(node: Node, out: dict[str, str]) -> dict[str, str]:
    if isinstance(node, Group):
        for child in node.children:
            _uses(child, out)
    else:
        # The model's field values live in its __dict__; getattr(node, "use", None) on a model
        # without the field raised inside pydantic's __getattr__, the slowest part of this walk.
        use = vars(node).get("use")
        if use:
            out[node.id] = use
    return out


def not_met_leaves(node: TraceNode) -> list[TraceNode]:
    """The leaves that make a not-met node not met."""
    if node.status is not Truth.NOT_MET:
        return []
    if not node.children:
        return [node]
    if node.logic == "implies":
        return not_met_leaves(node.children[1])
    return [leaf for child in node.children for leaf in not_met_leaves(child)]


def unknown_leaves(node: TraceNode) -> list[TraceNode]:
    """The leaves that, once documented, would settle an unknown node (the first option of an any-of)."""
    if node.status is not Truth.UNKNOWN:
        return []
    if not node.children:
        return [node]
    if node.logic == "any_of":
        unknown = [c for c in node.children if c.status is Truth.UNKNOWN]
        # Literature review (I.A.5.b, II.A.3.b) only once the label schedule (a) is shown not met.
        failed = any(c.status is Truth.NOT_MET for c in node.children)
        review = [c for c in unknown if failed and any(n.clinical_review for n in c.walk())]
        return unknown_leaves((review or unknown)[0])
    if node.logic == "implies":
        then = node.children[1]
        return unknown_leaves(then) if then.status is Truth.UNKNOWN else unknown_leaves(node.children[0])
    return [leaf for child in node.children for leaf in unknown_leaves(child)]


def _missing(leaves: list[TraceNode]) -> tuple[MissingItem, ...]:
    return tuple(
        MissingItem(leaf.criterion_id, leaf.text, leaf.needed or f"documentation settling {leaf.criterion_id}")
        for leaf in leaves
    )


def evaluate_policy(
    version: PolicyVersion, facts: Facts, as_of: date, plan: PlanConfig, how: str = "HCPCS"
) -> Determination:
    """Evaluate one version: continued therapy (II) when II.A.1 holds, else initial (I)."""
    criteria = version.criteria
    screen_spec = criteria.continued.children[0]
    screen = evaluate_node(screen_spec, EvalContext(facts, as_of, version, plan, "continued"))
    path: Path = "continued" if screen.status is Truth.MET else "initial"
    ctx = EvalContext(facts, as_of, version, plan, path)
    group = criteria.continued if path == "continued" else criteria.initial
    tree = evaluate_node(group, ctx)
    lob = facts.line_of_business
    findings: list[str] = [f"item matched by {how}", *facts.problems]
    if path == "initial":
        findings.append(f"II.A.1 {screen.status.value}: judged under the initial criteria (I)")
    window: Window | None = None
    if lob is not None:
        start = window_start(as_of, facts.item.service_start)
        window, note = approval_window(version, path, lob, start, facts.renewal_date)
        if note:
            findings.append(note)
    unit_finding, approvable = units(ctx, window.end if window else None)
    units_node = TraceNode(
        criterion_id=criteria.units.id,
        status=unit_finding.status,
        text=criteria.units.text,
        reason=unit_finding.reason,
        logic="units",
        evidence=unit_finding.evidence,
        needed=criteria.units.needed,
        documentation=criteria.units.documentation,
    )
    children: list[TraceNode] = [tree, units_node]
    if path == "initial":
        children.insert(0, screen)
    uses = _uses(group, {})
    outcome: Outcome
    missing: list[MissingItem] = []
    referral: Referral | None = None
    summary: str
    blocking = not_met_leaves(tree)
    if tree.status is Truth.NOT_MET and any(leaf.criterion_id in uses for leaf in blocking):
        use_leaves = [leaf for leaf in blocking if leaf.criterion_id in uses]
        why = "; ".join(f"{leaf.criterion_id} not met ({leaf.reason})" for leaf in use_leaves)
        if lob is None:
            outcome = Outcome.PENDED
            missing.append(LOB_ITEM)
            summary = f"Referral under I.B needs the line of business: {why}."
        else:
            differing = {uses[leaf.criterion_id] for leaf in use_leaves}
            referral, referral_node = refer(version, as_of, lob, plan, why, differing)
            children.append(referral_node)
            outcome = Outcome.REFERRED
            summary = f"Referred to {referral.policy_id} ({referral.criterion_id}): {why}."
    elif tree.status is Truth.NOT_MET:
        outcome = Outcome.RECOMMEND_DENIAL
        cited = "; ".join(f"{leaf.criterion_id}: {leaf.reason}" for leaf in blocking)
        summary = f"Pended for clinical review; the engine recommends denial ({cited})."
    elif tree.status is Truth.UNKNOWN:
        leaves = unknown_leaves(tree)
        if any(leaf.clinical_review for leaf in leaves):
            outcome = Outcome.CLINICAL_REVIEW
            summary = (
                "Pended for clinical review of the supporting literature ("
                + ", ".join(leaf.criterion_id for leaf in leaves if leaf.clinical_review)
                + ")."
            )
        else:
            outcome = Outcome.PENDED
            missing.extend(_missing(leaves))
            summary = "Pended for information: " + ", ".join(m.criterion_id for m in missing) + "."
    else:
        outcome = Outcome.APPROVED
        summary = "Approved: every criterion is met."
    if outcome is not Outcome.REFERRED:
        if lob is None and LOB_ITEM not in missing:
            missing.append(LOB_ITEM)
        if units_node.status is Truth.UNKNOWN:
            missing.extend(_missing([units_node]))
    if outcome is Outcome.APPROVED:
        if lob is None or units_node.status is Truth.UNKNOWN:
            outcome = Outcome.PENDED
            summary = "Pended for information: " + ", ".join(m.criterion_id for m in missing) + "."
        elif units_node.status is Truth.NOT_MET:
            outcome = Outcome.PENDED
            summary = (
                f"Criteria met, but {facts.item.units:g} units exceed the schedule: up to {approvable} units "
                f"could be approved; only a reviewer may approve fewer units than asked."
            )
        elif window is not None and facts.item.service_end is not None and facts.item.service_end > window.end:
            outcome = Outcome.PENDED
            findings.append(
                f"the requested service period ends {facts.item.service_end}, after the window end {window.end}"
            )
            summary = (
                f"Criteria met, but the requested service period runs past the approval window ({window.start} "
                f"to {window.end}); only a reviewer may approve a shorter period."
            )
        else:
            summary = f"Approved {window.start} to {window.end}: every criterion is met." if window else summary
    override = plan.state_override(facts.member_state) if lob == "medicaid" else None
    if override is not None:
        provision = criteria.medicaid_state_note
        why = f"the member's state ({facts.member_state}) has Medicaid coverage provisions that take precedence"
        children.append(
            TraceNode(
                criterion_id=provision.id,
                status=Truth.MET,
                text=provision.text,
                reason=f"{why}: {override}",
                logic="provision",
                documentation=provision.documentation,
            )
        )
        referral = Referral(policy_id=override, criterion_id=provision.id, reason=why)
        outcome = Outcome.REFERRED
        missing = []
        summary = f"Referred to the state Medicaid provisions {override}: {why} (policy Note)."
    root = TraceNode(
        criterion_id="I" if path == "initial" else "II",
        status=tree.status,
        text=f"{version.policy_id} {'Initial Approval Criteria' if path == 'initial' else 'Continued Therapy'}",
        reason=summary,
        logic="policy",
        children=tuple(children),
    )
    return Determination(
        outcome=outcome,
        summary=summary,
        as_of=as_of,
        engine_version=ENGINE_VERSION,
        policy_id=version.policy_id,
        policy_version=version.version,
        policy_hash=version.content_hash,
        line_of_business=lob,
        path=path,
        window=window if outcome is not Outcome.REFERRED else None,
        requested_units=facts.item.units,
        approvable_units=approvable,
        referral=referral,
        missing=tuple(missing),
        findings=tuple(findings),
        trace=root,
    )
