"""The error tree. Every error says what is wrong, where, and what to do.

PriorAuthError
 ├── PolicyDataError      policy YAML that fails validation (names the file and field); raised at load time
 ├── BundleError          a request that is not a usable FHIR/PAS Bundle (names the element as a FHIRPath
 │                        ``expression``, as an OperationOutcome ``issue.expression`` would)
 └── CaseError            a policy test case that cannot be built (names the file, case and field)
"""

from __future__ import annotations


class PriorAuthError(Exception):
    """Base of every error priorauth raises on purpose."""

    code = "priorauth"


class PolicyDataError(PriorAuthError):
    """Policy data failed validation: ``location`` is ``file: field``."""

    code = "policy-data"

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


class BundleError(PriorAuthError):
    """The request cannot be read: ``expression`` names the element (e.g. ``Bundle.entry[0].resource``)."""

    code = "invalid-bundle"

    def __init__(self, expression: str, message: str, *, issue_code: str = "invalid") -> None:
        self.expression = expression
        self.message = message
        self.issue_code = issue_code
        super().__init__(f"{expression}: {message}")


class CaseError(PriorAuthError):
    """A policy test case is malformed."""

    code = "policy-case"

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")
