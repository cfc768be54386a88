"""Rich renderings of a determination and of a policy version, for the terminal."""

from __future__ import annotations

from rich.console import Group as RichGroup
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from priorauth.engine.determination import Determination, Outcome
from priorauth.engine.evidence import describe
from priorauth.engine.trace import TraceNode
from priorauth.engine.truth import Truth
from priorauth.policy.model import Group, Node, PolicyVersion

STATUS_STYLE = {Truth.MET: "green", Truth.NOT_MET: "red", Truth.UNKNOWN: "yellow"}
STATUS_WORD = {Truth.MET: "met", Truth.NOT_MET: "not met", Truth.UNKNOWN: "unknown"}
OUTCOME_STYLE = {
    Outcome.APPROVED: "bold green",
    Outcome.PENDED: "bold yellow",
    Outcome.REFERRED: "bold cyan",
    Outcome.CLINICAL_REVIEW: "bold magenta",
    Outcome.RECOMMEND_DENIAL: "bold red",
    Outcome.NO_POLICY: "bold white",
}


def _depth(node: TraceNode, root: TraceNode) -> int:
    return max(0, node.criterion_id.count(".") - (0 if root.criterion_id in ("I", "II") else 1))


def criteria_table(trace: TraceNode) -> Table:
    """Every criterion: id, status, the policy's words, why, and the evidence."""
    table = Table(show_lines=True, expand=True)
    table.add_column("criterion", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("policy text", ratio=3)
    table.add_column("reason", ratio=3)
    table.add_column("evidence", ratio=3)
    for node in trace.walk()[1:]:
        indent = "  " * _depth(node, trace)
        evidence = "\n".join(describe(e) for e in node.evidence[:6])
        if len(node.evidence) > 6:
            evidence += f"\n… and {len(node.evidence) - 6} more"
        table.add_row(
            indent + node.criterion_id,
            Text(STATUS_WORD[node.status], style=STATUS_STYLE[node.status]),
            node.text,
            node.reason,
            evidence,
        )
    return table


def determination_panel(det: Determination, item: str) -> RichGroup:
    """The outcome, window, referral and missing items above the criteria table."""
    lines = [Text.assemble(("Outcome: ", "bold"), (det.outcome.value, OUTCOME_STYLE[det.outcome]))]
    lines.append(Text(det.summary))
    if det.policy_id:
        lines.append(
            Text(f"Policy {det.policy_id} version {det.policy_version or '-'} ({det.policy_hash or 'no hash'})")
        )
    lines.append(
        Text(f"Request date {det.as_of}; line of business {det.line_of_business or 'unknown'}; path {det.path or '-'}")
    )
    if det.window:
        lines.append(Text(f"Approval window {det.window.start} to {det.window.end} ({det.window.basis})"))
    if det.referral:
        lines.append(Text(f"Referred to {det.referral.policy_id} under {det.referral.criterion_id}"))
    if det.requested_units is not None:
        lines.append(Text(f"Units requested {det.requested_units:g}; the schedule allows {det.approvable_units}"))
    for missing in det.missing:
        lines.append(Text(f"Missing {missing.criterion_id}: {missing.needed}", style="yellow"))
    for finding in det.findings:
        lines.append(Text(f"· {finding}", style="dim"))
    parts: list[Panel | Table] = [Panel(RichGroup(*lines), title=f"Claim item {item}")]
    if det.trace is not None:
        parts.append(criteria_table(det.trace))
    return RichGroup(*parts)


def _add(tree: Tree, node: Node) -> None:
    if isinstance(node, Group):
        branch = tree.add(f"[bold]{node.id}[/bold] {node.text} [dim]({node.logic.replace('_', ' ')})[/dim]")
        for child in node.children:
            _add(branch, child)
    else:
        leaf = tree.add(f"[bold]{node.id}[/bold] {node.text} [dim]<{node.kind}>[/dim]")
        if node.documentation:
            leaf.add(f"[italic dim]reading: {node.documentation}[/italic dim]")


def policy_tree(version: PolicyVersion) -> Tree:
    """A policy version as a tree: sections, criteria with their logic and readings, durations, codes."""
    c = version.criteria
    root = Tree(
        f"[bold]{version.policy_id}[/bold] {version.title} — version {version.version} "
        f"(from {version.effective_from}{' to ' + str(version.effective_to) if version.effective_to else ''}) "
        f"[dim]{version.content_hash}[/dim]"
    )
    root.add(f"[dim]Revision: {version.revision}[/dim]")
    initial = root.add("[bold]I. Initial Approval Criteria[/bold]")
    _add(initial, c.initial)
    durations = version.approval_duration
    initial.add(
        f"Approval duration: {durations.initial.text}"
        + (" [red](inferred)[/red]" if durations.initial.inferred else "")
    )
    ib = initial.add(f"[bold]{c.other_diagnoses.id}[/bold] {c.other_diagnoses.text}")
    ib1 = ib.add(f"[bold]{c.other_diagnoses.label_change.id}[/bold] {c.other_diagnoses.label_change.text}")
    for row in (c.other_diagnoses.label_change.on_formulary, c.other_diagnoses.label_change.off_formulary):
        ib1.add(f"[bold]{row.id}[/bold] {row.policies.model_dump()}")
    ib.add(f"[bold]{c.other_diagnoses.off_label.id}[/bold] {c.other_diagnoses.off_label.policies.model_dump()}")
    continued = root.add("[bold]II. Continued Therapy[/bold]")
    _add(continued, c.continued)
    continued.add(
        f"Approval duration: {durations.continued.text}"
        + (" [red](inferred)[/red]" if durations.continued.inferred else "")
    )
    root.add(f"[bold]{c.not_covered.id}[/bold] {c.not_covered.text}")
    root.add(f"[bold]{c.units.id}[/bold] {c.units.text}")
    root.add(f"[bold]{c.medicaid_state_note.id}[/bold] {c.medicaid_state_note.text}")
    codes = root.add("[bold]Billing codes[/bold]")
    for code in version.billing_codes:
        extra = " (with a tarlatamab NDC" + (f", through {code.accepted_through})" if code.accepted_through else ")")
        codes.add(f"{code.code} {code.description}" + (extra if code.requires_ndc else ""))
    codes.add("NDC " + ", ".join(f"{n.code} ({n.vial_mg:g} mg vial)" for n in version.drug.ndc))
    return root
