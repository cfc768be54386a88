"""read_bundle's entry names and lookup keys (reference_of, fullUrl, fullUrl tail, Type/id)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from priorauth.fhir.bundle import read_bundle, reference_of

EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "examples"


def _bundle(*extra: dict[str, Any]) -> dict[str, Any]:
    # A Claim that passes the R4 check, so that only the indexing is under test.
    claim = json.loads((EXAMPLE / "EX01_medicaid_approval_structured.json").read_bytes())["entry"][0]["resource"]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": claim}, *extra]}


pytestmark = pytest.mark.skipif(not EXAMPLE.is_dir(), reason="shared fixtures not present")


@pytest.mark.parametrize(
    ("entry", "ref", "keys"),
    [
        (
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "p"}},
            "Patient/p",
            ["urn:uuid:1", "Patient/p"],
        ),
        ({"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient"}}, "urn:uuid:2", ["urn:uuid:2"]),
        ({"fullUrl": "", "resource": {"resourceType": "Patient"}}, "Patient", [""]),
        ({"fullUrl": 7, "resource": {"resourceType": "Patient", "id": ""}}, "Patient", []),
        ({"resource": {"resourceType": "Patient", "id": "q"}}, "Patient/q", ["Patient/q"]),
        (
            {"fullUrl": "http://x/fhir/Patient/r/", "resource": {"resourceType": "Patient", "id": "s"}},
            "Patient/s",
            ["http://x/fhir/Patient/r/", "Patient/r", "Patient/s"],
        ),
        ({"fullUrl": "Patient/t", "resource": {"resourceType": "Patient", "id": "t"}}, "Patient/t", ["Patient/t"]),
    ],
)
def test_entry_names_and_keys(entry: dict[str, Any], ref: str, keys: list[str]) -> None:
    bundle = read_bundle(_bundle(entry))
    assert bundle.entries[1][0] == ref
    full_url = entry.get("fullUrl")
    assert ref == reference_of(entry["resource"], full_url if isinstance(full_url, str) else None)
    assert sorted(k for k, v in bundle.by_url.items() if v is entry["resource"]) == sorted(keys)


def test_first_entry_keeps_a_shared_key() -> None:
    first = {"fullUrl": "http://a/Patient/1", "resource": {"resourceType": "Patient", "id": "9"}}
    second = {"fullUrl": "urn:uuid:z", "resource": {"resourceType": "Patient", "id": "1"}}
    bundle = read_bundle(_bundle(first, second))
    assert bundle.resolve("Patient/1") is first["resource"]
    assert bundle.resolve("Patient/9") is first["resource"]


def test_example_keys_match_a_plain_rebuild() -> None:
    data = json.loads((EXAMPLE / "EX01_medicaid_approval_structured.json").read_bytes())
    bundle = read_bundle(copy.deepcopy(data))
    expected: dict[str, Any] = {}
    for entry in data["entry"]:
        resource, url = entry["resource"], entry.get("fullUrl")
        if isinstance(url, str):
            expected[url] = resource
            expected.setdefault("/".join(url.rstrip("/").split("/")[-2:]), resource)
        if resource.get("id"):
            expected.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    assert bundle.by_url == expected
    assert [ref for ref, _ in bundle.entries] == [
        reference_of(e["resource"], e.get("fullUrl") if isinstance(e.get("fullUrl"), str) else None)
        for e in data["entry"]
    ]
