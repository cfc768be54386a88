"""The explanation tree: one node per criterion, built by the engine per call (never global)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from priorauth.engine.evidence import Evidence, evidence_to_dict
from priorauth.engine.truth import Truth

# Truth.value through the enum's property costs more than a dict lookup, once per node.
_STATUS_TEXT: dict[Truth, str] = {truth: truth.value for truth in Truth}


@dataclass(frozen=True, slots=True)
class TraceNode:
    """A criterion's evaluation: its id, status, the policy's words, why, on what evidence, and children.

    ``needed`` names the document that would settle an unknown criterion (shown to the provider).
    """

    criterion_id: str
    status: Truth
    text: str
    reason: str
    logic: str = "leaf"
    evidence: tuple[Evidence, ...] = ()
    children: tuple[TraceNode, ...] = ()
    needed: str | None = None
    documentation: str | None = None
    clinical_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form of the subtree."""
        data: dict[str, Any] = {
            "criterion_id": self.criterion_id,
            "status": _STATUS_TEXT[self.status],
            "text": self.text,
            "reason": self.reason,
            "logic": self.logic,
            "evidence": [evidence_to_dict(e) for e in self.evidence],
            "children": [c.to_dict() for c in self.children],
        }
        if self.needed:
            data["needed"] = self.needed
        if self.documentation:
            data["documentation"] = self.documentation
        if self.clinical_review:
            data["clinical_review"] = True
        return data

    def walk(self) -> list[TraceNode]:
        """This node and every descendant, depth first, in document order."""
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes

    def find(self, criterion_id: str) -> TraceNode | None:
        """The node with this criterion id, if the subtree has one."""
        for node in self.walk():
            if node.criterion_id == criterion_id:
                return node
        return None

    def statuses(self) -> dict[str, Truth]:
        """Criterion id to status for the whole subtree."""
        return {n.criterion_id: n.status for n in self.walk()}
