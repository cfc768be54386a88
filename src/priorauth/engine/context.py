"""What one evaluation sees: the facts, the request date, the policy version and the plan's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from priorauth.engine.facts import Facts, PlanConfig
from priorauth.policy.model import PolicyVersion

Path = Literal["initial", "continued"]


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Immutable inputs of one evaluation; ``path`` says which section (I or II) is being judged."""

    facts: Facts
    as_of: date
    version: PolicyVersion
    plan: PlanConfig
    path: Path = "initial"
    # Results several criteria of this one evaluation read (e.g. the dose placement both schedule
    # phases use), computed on first use. Per call, never global: the engine stays pure.
    shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
