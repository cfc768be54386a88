"""OperationOutcome for a request we cannot accept: exactly one issue naming the failing element."""

from __future__ import annotations

from typing import Any


def operation_outcome(
    expression: str, message: str, *, code: str = "invalid", severity: str = "error"
) -> dict[str, Any]:
    """One-issue OperationOutcome; ``expression`` is a FHIRPath such as ``Bundle.entry[0].resource``."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": code,
                "details": {"text": message},
                "diagnostics": f"{expression}: {message}",
                "expression": [expression],
            }
        ],
    }
