"""Which policy version is in force on a date, and which policy covers a requested item."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from priorauth.errors import PolicyDataError
from priorauth.policy.loader import load_policy
from priorauth.policy.model import PolicyVersion


def default_policy_root() -> Path:
    """``PRIORAUTH_POLICY_DIR``, else the repository's ``policies/``, else the copy packaged in the wheel."""
    configured = os.environ.get("PRIORAUTH_POLICY_DIR")
    if configured:
        return Path(configured)
    here = Path(__file__).resolve()
    repo = here.parents[3] / "policies"
    if repo.is_dir():
        return repo
    return here.parents[1] / "_policies"


@dataclass(frozen=True)
class PolicyRegistry:
    """Every loaded policy, each as its ordered versions."""

    policies: dict[str, tuple[PolicyVersion, ...]]

    def versions(self, policy_id: str) -> tuple[PolicyVersion, ...]:
        """All versions of one policy, oldest first."""
        return self.policies[policy_id]

    def resolve(self, policy_id: str, as_of: date) -> PolicyVersion | None:
        """The version in force on ``as_of``; None before the first version."""
        for version in self.policies[policy_id]:
            if version.in_force(as_of):
                return version
        return None

    def latest(self, policy_id: str) -> PolicyVersion:
        """The newest version of a policy."""
        return self.policies[policy_id][-1]


def load_registry_from(root: Path) -> PolicyRegistry:
    """Load every policy folder (one with a ``policy.yaml``) under ``root``."""
    if not root.is_dir():
        raise PolicyDataError(str(root), "policy folder not found; set PRIORAUTH_POLICY_DIR")
    policies: dict[str, tuple[PolicyVersion, ...]] = {}
    for folder in sorted(p.parent for p in root.glob("*/policy.yaml")):
        versions = load_policy(folder)
        policies[versions[0].policy_id] = versions
    if not policies:
        raise PolicyDataError(str(root), "no policy.yaml found under this folder")
    return PolicyRegistry(policies)


@lru_cache(maxsize=4)
def _cached(root: str) -> PolicyRegistry:
    return load_registry_from(Path(root))


@lru_cache(maxsize=1)
def _default_root() -> str:
    return str(default_policy_root().resolve())


def load_registry(root: Path | None = None) -> PolicyRegistry:
    """The registry for ``root`` (default: :func:`default_policy_root`), loaded once per process."""
    return _cached(str(root.resolve()) if root is not None else _default_root())
