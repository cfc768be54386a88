"""Load a policy folder (YAML) into validated, hashed :class:`PolicyVersion` snapshots.

Everything is checked at load time and every failure names the file and the field: unknown fields,
missing lines of business, overlapping or unordered versions, revision-log entries without a version,
duplicate criterion ids, label changes that do not exist.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from priorauth.errors import PolicyDataError
from priorauth.policy.model import (
    Codes,
    Criteria,
    Dosing,
    Group,
    PolicyFile,
    PolicyVersion,
    VersionFile,
)

M = TypeVar("M", bound=BaseModel)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyDataError(str(path), "file not found") from None
    except yaml.YAMLError as exc:
        raise PolicyDataError(str(path), f"not valid YAML: {exc}") from None


def _validate(model: type[M], data: Any, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PolicyDataError(f"{path}: {field}", f"{first['msg']}{more}") from None


def _criterion_ids(group: Group) -> list[str]:
    ids = [group.id]
    for child in group.children:
        if isinstance(child, Group):
            ids.extend(_criterion_ids(child))
        else:
            ids.append(child.id)
    return ids


def _check_criteria(criteria: Criteria, path: Path) -> None:
    ids = _criterion_ids(criteria.initial) + _criterion_ids(criteria.continued)
    ids += [criteria.units.id, criteria.other_diagnoses.id, criteria.not_covered.id]
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            raise PolicyDataError(f"{path}: {cid}", "criterion id appears twice")
        seen.add(cid)


def content_hash(payload: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a version snapshot (sorted keys, no whitespace)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_policy(folder: Path) -> tuple[PolicyVersion, ...]:
    """Load every version of the policy in ``folder``, oldest first, each with its content hash."""
    policy_path = folder / "policy.yaml"
    policy = _validate(PolicyFile, _read_yaml(policy_path), policy_path)
    codes = _validate(Codes, _read_yaml(folder / "codes.yaml"), folder / "codes.yaml")
    dosing = _validate(Dosing, _read_yaml(folder / "dosing.yaml"), folder / "dosing.yaml")

    files: list[tuple[Path, VersionFile]] = []
    for index, rel in enumerate(policy.versions):
        path = folder / rel
        version = _validate(VersionFile, _read_yaml(path), path)
        if version.version != version.effective_from.isoformat():
            raise PolicyDataError(
                f"{path}: version", f"{version.version!r} must equal effective_from {version.effective_from}"
            )
        if files and version.effective_from <= files[-1][1].effective_from:
            raise PolicyDataError(
                f"{policy_path}: versions[{index}]",
                f"{rel} starts {version.effective_from}, not after the previous version "
                f"({files[-1][1].effective_from}): versions must be in order and may not overlap",
            )
        known_changes = {c.date for c in policy.label_changes}
        for change in version.reflects_label_changes:
            if change not in known_changes:
                raise PolicyDataError(
                    f"{path}: reflects_label_changes", f"{change} is not a label change in policy.yaml"
                )
        files.append((path, version))

    version_ids = {v.version for _, v in files}
    for index, entry in enumerate(policy.revision_log):
        if entry.version not in version_ids:
            raise PolicyDataError(
                f"{policy_path}: revision_log[{index}].version",
                f"{entry.version!r} is not a version file listed under versions",
            )
    logged = {e.version for e in policy.revision_log}
    for path, version in files:
        if version.version not in logged:
            raise PolicyDataError(f"{path}: version", f"{version.version} has no revision_log entry")

    snapshots: list[PolicyVersion] = []
    for index, (path, version) in enumerate(files):
        criteria_path = (path.parent / version.criteria).resolve()
        criteria = _validate(Criteria, _read_yaml(criteria_path), criteria_path)
        _check_criteria(criteria, criteria_path)
        effective_to: date | None = files[index + 1][1].effective_from if index + 1 < len(files) else None
        payload: dict[str, Any] = {
            "policy_id": policy.policy_id,
            "title": policy.title,
            "version": version.version,
            "effective_from": version.effective_from,
            "effective_to": effective_to,
            "revision": version.revision,
            "drug": policy.drug.model_dump(),
            "label_changes": [c.model_dump() for c in policy.label_changes],
            "reflects_label_changes": version.reflects_label_changes,
            "billing_codes": [c.model_dump() for c in version.billing_codes],
            "approval_duration": version.approval_duration.model_dump(),
            "criteria": criteria.model_dump(),
            "dosing": dosing.model_dump(),
            "codes": codes.model_dump(),
        }
        payload["content_hash"] = content_hash(payload)
        snapshots.append(_validate(PolicyVersion, payload, path))
    return tuple(snapshots)
