"""``Questionnaire/$questionnaire-package`` (DTR 2.2): read the input Parameters, answer the output ones.

In: ``coverage`` 1..1, ``order`` 0..*, ``questionnaire`` 0..* canonical. The policy version is the one
in force on the request date, unless a ``questionnaire`` canonical names one of our versions
(``...|2025-05-06``, as CRD handed out). Out: one ``PackageBundle`` (Questionnaire first, then the
ValueSets), or, when no order asks for tarlatamab and no questionnaire of ours is named, no bundle and
an ``outcome`` saying so (DTR oper-8).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from priorauth.dtr.common import ORDER_TYPES, Json, request_date, tarlatamab_match
from priorauth.dtr.questionnaire import BASE, QUESTIONNAIRE_URL, package_resources
from priorauth.errors import BundleError
from priorauth.pas.outcome import operation_outcome
from priorauth.policy.model import PolicyVersion
from priorauth.policy.registry import PolicyRegistry, load_registry

POLICY_ID = "CP.PHAR.685"
OUTPUT_PROFILE = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-qpackage-output-parameters"
BUNDLE_PROFILE = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/DTR-QPackageBundle"


def _check_resource(resource: Any, where: str, allowed: tuple[str, ...]) -> Json:
    if not isinstance(resource, dict) or resource.get("resourceType") not in allowed:
        kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise BundleError(where, f"expected one of {', '.join(allowed)}, got {kind}")
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise BundleError(f"{where}{loc}", first["msg"]) from None
    return resource


def read_input(data: Any) -> tuple[Json, list[Json], list[str]]:
    """(coverage, orders, questionnaire canonicals); raise BundleError naming the bad element."""
    if not isinstance(data, dict):
        raise BundleError("Parameters", "the body is not a JSON object")
    if data.get("resourceType") != "Parameters":
        raise BundleError("Parameters.resourceType", f"expected 'Parameters', got {data.get('resourceType')!r}")
    params = data.get("parameter")
    if not isinstance(params, list):
        raise BundleError("Parameters.parameter", "no parameters", issue_code="required")
    coverage: Json | None = None
    orders: list[Json] = []
    canonicals: list[str] = []
    for index, param in enumerate(params):
        where = f"Parameters.parameter[{index}]"
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise BundleError(f"{where}.name", "a parameter needs a name")
        name = param["name"]
        if name == "coverage":
            if coverage is not None:
                raise BundleError(where, "coverage is 1..1: a second coverage parameter", issue_code="structure")
            coverage = _check_resource(param.get("resource"), f"{where}.resource", ("Coverage",))
        elif name == "order":
            orders.append(_check_resource(param.get("resource"), f"{where}.resource", ORDER_TYPES))
        elif name == "questionnaire":
            value = param.get("valueCanonical")
            if not isinstance(value, str) or not value:
                raise BundleError(f"{where}.valueCanonical", "questionnaire needs a canonical value")
            canonicals.append(value)
    if coverage is None:
        raise BundleError("Parameters.parameter", "the coverage parameter is required (1..1)", issue_code="required")
    return coverage, orders, canonicals


def _version_for(registry: PolicyRegistry, canonicals: list[str], as_of: date) -> tuple[PolicyVersion | None, bool]:
    """(version, named): the version a canonical of ours names, else the one in force on ``as_of``."""
    for canonical in canonicals:
        url, _, wanted = canonical.partition("|")
        if url != QUESTIONNAIRE_URL:
            continue
        for version in registry.versions(POLICY_ID):
            if version.version == wanted:
                return version, True
        return registry.resolve(POLICY_ID, as_of) or registry.latest(POLICY_ID), True
    return registry.resolve(POLICY_ID, as_of), False


def questionnaire_package(data: Any, as_of: date | None = None) -> Json:
    """The output Parameters for one input Parameters; raise BundleError on bad input."""
    _coverage, orders, canonicals = read_input(data)
    as_of = as_of or request_date()
    registry = load_registry()
    version, named = _version_for(registry, canonicals, as_of)
    matched = version is not None and any(tarlatamab_match(o, version, as_of) for o in orders)
    if version is None or not (matched or named):
        what = ", ".join(str(o.get("resourceType")) + "/" + str(o.get("id", "?")) for o in orders) or "no order"
        outcome = operation_outcome(
            "Parameters.parameter",
            f"No documentation template applies: {what} is not a tarlatamab (CP.PHAR.685) order"
            if version is not None
            else f"No version of {POLICY_ID} is in force on {as_of}",
            code="not-found",
            severity="information",
        )
        return {
            "resourceType": "Parameters",
            "meta": {"profile": [OUTPUT_PROFILE]},
            "parameter": [{"name": "outcome", "resource": outcome}],
        }
    questionnaire, value_sets = package_resources(version.policy_id, version.version)
    entries = [questionnaire, *value_sets]
    bundle = {
        "resourceType": "Bundle",
        "meta": {"profile": [BUNDLE_PROFILE]},
        "type": "collection",
        "entry": [{"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r} for r in entries],
    }
    return {
        "resourceType": "Parameters",
        "meta": {"profile": [OUTPUT_PROFILE]},
        "parameter": [{"name": "PackageBundle", "resource": bundle}],
    }
