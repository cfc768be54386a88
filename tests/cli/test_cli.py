"""The command line, run as a real process: outputs, JSON, and bad input with exit code 2, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "examples"
EX01 = EXAMPLES / "EX01_medicaid_approval_structured.json"


def priorauth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "priorauth.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "220"},
    )


def test_evaluate_prints_the_determination_and_every_criterion() -> None:
    result = priorauth("evaluate", str(EX01), "--as-of", "2026-03-02")
    assert result.returncode == 0, result.stderr
    for text in ("approved", "2027-03-02", "I.A.1", "I.A.5.a.ii", "Diagnosis of ES-SCLC"):
        assert text in result.stdout


def test_evaluate_json_carries_policy_version_hash_and_trace() -> None:
    result = priorauth("evaluate", str(EX01), "--as-of", "2026-03-02", "--json")
    payload = json.loads(result.stdout)
    det = payload["items"][0]["determination"]
    assert det["outcome"] == "approved" and det["policy_version"] == "2025-12-02"
    assert det["policy_hash"].startswith("sha256:")
    assert det["trace"]["children"][1]["criterion_id"] == "I.A"


def test_evaluate_before_the_first_version_pends_with_no_version_in_force() -> None:
    result = priorauth("evaluate", str(EX01), "--as-of", "2024-08-31", "--json")
    det = json.loads(result.stdout)["items"][0]["determination"]
    assert det["outcome"] == "pended" and "no policy version in force" in det["findings"][0]


def test_a_non_drug_davinci_request_gets_no_policy_not_an_error() -> None:
    fixture = (
        EXAMPLES.parent / "davinci" / "pas" / "requests" / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json"
    )
    result = priorauth("evaluate", str(fixture), "--as-of", "2026-03-02")
    assert result.returncode == 0, result.stderr
    assert "no_policy" in result.stdout and "No automated policy" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (None, ["evaluate", "/nonexistent/bundle.json"], "file not found"),
        ("{not json", ["evaluate", "{path}"], "not valid JSON (line 1"),
        ('{"resourceType": "Patient"}', ["evaluate", "{path}"], "Bundle.resourceType"),
        ('{"resourceType": "Bundle", "type": "collection", "entry": []}', ["evaluate", "{path}"], "Bundle.entry"),
        ("{}", ["evaluate", "{path}", "--as-of", "yesterday"], "--as-of: 'yesterday' is not a date"),
        (None, ["policy", "show", "--as-of", "2020-01-01"], "no version of CP.PHAR.685 is in force"),
    ],
)
def test_bad_input_names_the_field_and_exits_2_without_traceback(
    tmp_path: Path, content: str | None, args: list[str], expected: str
) -> None:
    path = tmp_path / "bundle.json"
    if content is not None:
        path.write_text(content)
    result = priorauth(*[a.replace("{path}", str(path)) for a in args])
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_policy_show_renders_the_version_tree() -> None:
    result = priorauth("policy", "show", "--as-of", "2025-01-15")
    assert result.returncode == 0, result.stderr
    for text in ("2024-11-07", "I.A.5.a.i", "I.B.1.b", "J9026", "J3590", "(inferred)"):
        assert text in result.stdout
