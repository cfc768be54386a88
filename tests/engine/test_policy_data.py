"""The policy loader validates everything at load time and names the file and field on failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from priorauth.errors import PolicyDataError
from priorauth.policy.loader import load_policy
from priorauth.policy.registry import load_registry_from

POLICY = Path(__file__).resolve().parents[2] / "policies" / "CP.PHAR.685"


def test_every_version_loads_in_order_with_distinct_hashes() -> None:
    versions = load_policy(POLICY)
    assert [v.version for v in versions] == ["2024-09-01", "2024-11-07", "2025-05-06", "2025-12-02"]
    assert [v.effective_to for v in versions][:-1] == [v.effective_from for v in versions][1:]
    assert len({v.content_hash for v in versions}) == 4


def test_registry_resolves_the_version_by_request_date() -> None:
    registry = load_registry_from(POLICY.parent)
    from datetime import date

    assert registry.resolve("CP.PHAR.685", date(2024, 8, 31)) is None
    assert registry.resolve("CP.PHAR.685", date(2024, 9, 1)).version == "2024-09-01"  # type: ignore[union-attr]
    assert registry.resolve("CP.PHAR.685", date(2025, 12, 1)).version == "2025-05-06"  # type: ignore[union-attr]
    assert registry.resolve("CP.PHAR.685", date(2025, 12, 2)).version == "2025-12-02"  # type: ignore[union-attr]


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    target = tmp_path / "CP.PHAR.685"
    shutil.copytree(POLICY, target, ignore=shutil.ignore_patterns("cases"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_missing_line_of_business_names_the_file_and_field(policy_copy: Path) -> None:
    _edit(policy_copy / "versions" / "2025-12-02.yaml", "    marketplace: {months: 12}\n", "")
    with pytest.raises(PolicyDataError) as info:
        load_policy(policy_copy)
    assert "2025-12-02.yaml" in info.value.location
    assert "approval_duration.initial.marketplace" in info.value.location


def test_overlapping_versions_are_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "versions" / "2025-05-06.yaml", "effective_from: 2025-05-06", "effective_from: 2024-10-01")
    _edit(policy_copy / "versions" / "2025-05-06.yaml", 'version: "2025-05-06"', 'version: "2024-10-01"')
    with pytest.raises(PolicyDataError, match="may not overlap"):
        load_policy(policy_copy)


def test_a_revision_log_entry_without_a_version_is_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "policy.yaml", 'version: "2025-05-06"', 'version: "2025-05-07"')
    with pytest.raises(PolicyDataError, match=r"revision_log\[2\]\.version"):
        load_policy(policy_copy)


def test_an_unknown_criterion_kind_is_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "criteria.yaml", "kind: age", "kind: agee")
    with pytest.raises(PolicyDataError) as info:
        load_policy(policy_copy)
    assert "criteria.yaml" in info.value.location


def test_a_misnumbered_criterion_id_is_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "criteria.yaml", "id: I.A.3\n", "id: I.3.A\n")
    with pytest.raises(PolicyDataError, match="numbering"):
        load_policy(policy_copy)


def test_a_duplicate_criterion_id_is_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "criteria.yaml", "id: I.A.3\n", "id: I.A.2\n")
    with pytest.raises(PolicyDataError, match="appears twice"):
        load_policy(policy_copy)


def test_an_unknown_label_change_is_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "versions" / "2025-12-02.yaml", "2025-11-19]", "2025-11-20]")
    with pytest.raises(PolicyDataError, match="not a label change"):
        load_policy(policy_copy)


def test_a_typo_in_a_field_name_is_refused(policy_copy: Path) -> None:
    _edit(policy_copy / "dosing.yaml", "cycle_days: 28", "cycle_dayz: 28")
    with pytest.raises(PolicyDataError, match="dosing.yaml"):
        load_policy(policy_copy)
