"""The fast path (closures compiled from fhirpathpy's parse tree) against fhirpathpy's own evaluator.

Differential throughout: the same FHIRPath text is run by ``fastpath.compile_expression`` and by
``fhirpathpy.compile`` on the shared fixtures and on generated FHIR-like data, and the results must be
the same values of the same types in the same order (or both must fail).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import fhirpathpy
import pytest
from fhirpathpy.models import models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth.fhir import fastpath, paths

R4 = models["r4"]
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
REFERENCE = {name: fhirpathpy.compile(expr, R4) for name, expr in paths.EXPRESSIONS.items()}
FAST = {name: fastpath.compile_expression(expr, R4) for name, expr in paths.EXPRESSIONS.items()}

# More of the subset than the reader's expressions use: parentheses, first(), exists(criteria), !=, and,
# startsWith, unions of literals and of elements (which lose their type), %context, %constant arguments,
# equality on Quantity-typed elements (handed to fhirpathpy), navigation past a union.
EXTRA = {
    "first": "address.first().state",
    "exists": "identifier.exists(value = 'M1')",
    "not_equal_and": "address.where(use != 'home' and state.exists())",
    "starts": "extension.url.startsWith('http')",
    "context": "%context.birthDate | %context.subscriberId",
    "literals": "'a' | 'a' | subscriberId | %lob",
    "union_nodes": "identifier | identifier | extension.value",
    "after_union": "(extension | extension).value.coding.code",
    "constant_arg": "extension.where(url.endsWith(%suffix)).value",
    "empty_where": "type.coding.where(system = %lob).empty()",
    "quantity_equal": "extension.where(value = value).url",
    "nested_or": "extension.where(url = 'source' or (url.endsWith('origin') and extension.exists())).url",
    "ucum": "%ucum",
    "undefined": "address.where(use = %missing).state",
    "contained": "contained.value | contained.value.coding.code",
}
ENV = {**paths.ENV, "suffix": "extension-requestedService"}


def _typed(value: Any) -> Any:
    """A value with the type of every part spelled out, so 1 == 1.0 == True and Decimal == float do not pass."""
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


def _outcome(fn: Any, target: Any, env: dict[str, Any]) -> Any:
    try:
        return _typed(fn(target, env))
    except Exception:
        return "raised"


@functools.cache
def _compiled(expression: str) -> tuple[fastpath.Compiled, Any]:
    return fastpath.compile_expression(expression, R4), fhirpathpy.compile(expression, R4)


def _assert_same(expression: str, target: Any, env: dict[str, Any] | None = None) -> list[Any] | None:
    """Compare both evaluators on one target; the fast path's result (None when both raised)."""
    env = ENV if env is None else env
    fast, reference = _compiled(expression)
    before = json.dumps(target, sort_keys=True, default=str)
    expected = _outcome(reference, copy.deepcopy(target), env)
    assert _outcome(fast, target, env) == expected, (expression, target)
    assert json.dumps(target, sort_keys=True, default=str) == before, "the fast path changed its input"
    return None if expected == "raised" else fast(target, env)


def _json_files() -> list[Path]:
    files = sorted(SHARED.rglob("*.json"))
    assert len(files) > 50, f"fixtures not found under {SHARED}"
    return files


def _resources(value: Any) -> Iterator[dict[str, Any]]:
    """Every resource in a document, at any depth (Bundle entries, contained, CDS Hooks context/prefetch)."""
    if isinstance(value, dict):
        if "resourceType" in value:
            yield value
        for child in value.values():
            yield from _resources(child)
    elif isinstance(value, list):
        for child in value:
            yield from _resources(child)


def _answers(items: Any) -> Iterator[dict[str, Any]]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            for answer in item.get("answer") or []:
                if isinstance(answer, dict):
                    yield answer
                    yield from _answers(answer.get("item"))
            yield from _answers(item.get("item"))


def _targets() -> dict[str, list[Any]]:
    resources = [r for f in _json_files() for r in _resources(json.loads(f.read_text()))]
    claim_items = [i for r in resources if r["resourceType"] == "Claim" for i in r.get("item") or []]
    answers = [a for r in resources if r["resourceType"] == "QuestionnaireResponse" for a in _answers(r.get("item"))]
    assert claim_items and answers
    return {"resource": resources, "claim item": claim_items, "answer": answers}


TARGETS = _targets()


@pytest.mark.parametrize("name", sorted(paths.EXPRESSIONS))
def test_the_fast_path_equals_fhirpathpy_on_every_fixture(name: str) -> None:
    own = "claim item" if name.startswith("item.") else "answer" if name == "answer.origin" else "resource"
    found = 0
    for kind, targets in TARGETS.items():
        for target in targets:
            expected = REFERENCE[name](copy.deepcopy(target), paths.ENV)
            assert _typed(FAST[name](target, paths.ENV)) == _typed(expected), (name, kind, target.get("id"))
            found += bool(expected) and kind == own
    assert found, f"no fixture exercises {name} on a {own}"


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_the_rest_of_the_subset_equals_fhirpathpy_on_every_fixture_resource(name: str) -> None:
    for target in TARGETS["resource"][::3] + TARGETS["claim item"]:
        _assert_same(EXTRA[name], target)


# fhirpathpy's behaviour at the edges, each pinned by a target that shows it (the fast path copies it).
QUIRKS: list[tuple[str, Any, list[Any]]] = [
    ("extension.where(url).url", {"extension": [{"url": ""}, {"url": "x"}, {"valueString": "y"}]}, ["", "x"]),
    ("address.where(state).use", {"address": [{"use": "home", "state": False}, {"use": "work"}]}, ["home"]),
    (
        "identifier.value = identifier.system",
        {"identifier": [{"value": "a", "system": "a"}, {"value": "b", "system": "c"}]},
        [True],
    ),
    ("identifier.value != identifier.system", {"identifier": [{"value": "a", "system": "a"}, {"value": "b"}]}, [True]),
    (
        "extension.where(url = 'a').value = extension.where(url = 'b').value",
        {
            "extension": [
                {"url": "a", "valueQuantity": {"value": 1, "code": "mg"}},
                {"url": "b", "valueQuantity": {"value": 1, "code": "mg", "unit": "milligram"}},
            ]
        },
        [True],
    ),
    ("url.endsWith('')", {"url": ""}, [False]),
    ("url.startsWith('')", {"url": "x"}, [True]),
    (
        "contained.value",
        {"resourceType": "Patient", "contained": [{"resourceType": "Observation", "valueString": "x"}]},
        ["x"],
    ),
    ("use = 'home' or state.empty()", {"state": "WI"}, []),
    ("use = 'home' and state.exists()", {"state": "WI"}, []),
    ("use = 'home' and state.empty()", {"state": "WI"}, [False]),
    ("%list.first()", {}, []),
    ("%nested.where(exists())", {}, ["a", "b", "c"]),
    ("'a' | subscriberId", {"subscriberId": "a"}, ["a", "a"]),
    ("subscriberId | subscriberId", [{"subscriberId": "a"}, {"subscriberId": "a"}], ["a"]),
    (
        "identifier.value | identifier.value",
        {"identifier": [{"value": {"x": 1}}, {"value": {"x": 1.0}}]},
        [{"x": 1}, {"x": Decimal("1.0")}],
    ),
    (
        "birthDate",
        {"birthDate": "1954", "_birthDate": {"id": "b", "extension": []}},
        ["1954", {"id": "b", "extension": []}],
    ),
    ("given", {"given": ["a", "b"], "_given": [None, {"extension": [{"url": "u"}]}]}, ["a", "b", None]),
    ("(extension | extension).value", {"extension": [{"url": "u", "valueString": "s", "value": "plain"}]}, ["plain"]),
    ("extension.value", {"extension": [{"url": "u", "valueString": "s", "value": "plain"}]}, ["s"]),
    ("value", {"valueString": "s", "value": "plain"}, ["plain"]),
]


@pytest.mark.parametrize(("expression", "target", "expected"), QUIRKS, ids=[q[0] for q in QUIRKS])
def test_the_fast_path_keeps_fhirpathpys_quirks(expression: str, target: Any, expected: list[Any]) -> None:
    env = {**ENV, "list": [None, "a"], "nested": [["a", "b"], "c"]}
    assert _typed(_assert_same(expression, target, env)) == _typed(expected)


# Generated FHIR-like data: the shapes the reader's expressions walk, with the values they test for,
# plus now and then what real input gets wrong (a lone object for a list, a number for a string,
# null, a `_element` primitive extension, two value[x] at once).
LOB = paths.ENV["lob"]
NUCC = paths.ENV["nucc"]
_text = st.sampled_from(["", "home", "work", "MB", "plan", "medicaid", "WI", "207RX0202X", "I", "manual"])
_odd = st.one_of(st.none(), st.integers(-2, 2), st.floats(allow_nan=False, allow_infinity=False), st.booleans())
_scalar = st.one_of(_text, _text, _text, _odd)
_url = st.sampled_from(
    [
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-certificationType",
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-requestedService",
        "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/information-origin",
        "source",
        "author",
        "",
        "urn:other",
    ]
)
_primitive_extension = st.fixed_dictionaries(
    {"extension": st.just([{"url": "urn:x", "valueString": "x"}])}, optional={"id": st.just("p")}
)


def _maybe_list(element: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(element, max_size=3), st.lists(element, max_size=3), element)


_coding = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(st.sampled_from([LOB, NUCC, "urn:other"]), _odd),
        "code": _scalar,
        "_code": _primitive_extension,
    },
)
_concept = st.fixed_dictionaries({}, optional={"coding": _maybe_list(_coding), "text": _text})
_quantity = st.fixed_dictionaries(
    {"value": st.integers(0, 3)}, optional={"code": st.just("mg"), "system": st.just("http://unitsofmeasure.org")}
)
_values = {
    "valueCoding": _coding,
    "valueCodeableConcept": _concept,
    "valueReference": st.fixed_dictionaries({}, optional={"reference": _scalar}),
    "valueCode": _scalar,
    "valueString": _scalar,
    "valueBoolean": st.booleans(),
    "valueQuantity": _quantity,
    "_valueCode": _primitive_extension,
}
_leaf_extension = st.fixed_dictionaries(
    {}, optional={"url": st.one_of(_url, _url, _url, _odd), "_url": _primitive_extension, **_values}
)
_extension = st.recursive(
    _leaf_extension,
    lambda inner: st.builds(lambda e, sub: {**e, "extension": sub}, _leaf_extension, _maybe_list(inner)),
    max_leaves=6,
)
_identifier = st.fixed_dictionaries(
    {}, optional={"type": _concept, "value": _scalar, "_value": _primitive_extension, "system": _text}
)
_address = st.fixed_dictionaries({}, optional={"use": _scalar, "_use": _primitive_extension, "state": _scalar})
_resource = st.fixed_dictionaries(
    {},
    optional={
        "resourceType": st.sampled_from(["Coverage", "Patient", "PractitionerRole", "Practitioner", "Claim"]),
        "type": _concept,
        "class": _maybe_list(st.fixed_dictionaries({}, optional={"type": _concept, "value": _scalar})),
        "period": st.fixed_dictionaries(
            {}, optional={"end": st.sampled_from(["2026-12-31", "2027"]), "_end": _primitive_extension}
        ),
        "identifier": _maybe_list(_identifier),
        "subscriberId": _scalar,
        "birthDate": st.sampled_from(["1954-09-17", "1990", "bad"]),
        "_birthDate": _primitive_extension,
        "address": _maybe_list(_address),
        "specialty": _maybe_list(_concept),
        "qualification": _maybe_list(st.fixed_dictionaries({}, optional={"code": _concept})),
        "careTeam": _maybe_list(st.fixed_dictionaries({}, optional={"qualification": _concept})),
        "extension": _maybe_list(_extension),
        "valueBoolean": st.booleans(),
        "contained": _maybe_list(
            st.builds(
                lambda e, kind: {**e, "resourceType": kind}, _leaf_extension, st.sampled_from(["Observation", "Basic"])
            )
        ),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.one_of(_resource, _resource, _resource, st.lists(_resource, max_size=2)))
def test_the_fast_path_equals_fhirpathpy_on_generated_data(target: Any) -> None:
    for expression in [*paths.EXPRESSIONS.values(), *EXTRA.values()]:
        _assert_same(expression, target)


def test_every_reader_expression_is_served_by_the_fast_path() -> None:
    fell_back = sorted(set(paths.EXPRESSIONS) - paths.FAST)
    assert not fell_back, f"served by fhirpathpy's evaluator: {fell_back}"
    for name, expression in paths.EXPRESSIONS.items():
        fn, fast = paths.compile_path(expression)
        assert fast and fn is not None, name


@pytest.mark.parametrize(
    "expression",
    [
        "extension.where(url = 'x').value.resolve()",
        "extension.value.ofType(Coding).code",
        "Patient.birthDate",
        "identifier[0].value",
        "identifier.where($this.value = 'MB')",
        "identifier.count()",
        "url.endsWith(value)",
        "address.where(use ~ 'home')",
        "birthDate > @2000-01-01",
        "identifier.value.length",
        "address.where(use = 'home' xor state.exists())",
    ],
)
def test_anything_outside_the_subset_is_refused_at_compile_time_and_falls_back(expression: str) -> None:
    with pytest.raises(fastpath.Unsupported):
        fastpath.compile_expression(expression, R4)
    fn, fast = paths.compile_path(expression)
    assert not fast
    resource = {
        "resourceType": "Patient",
        "birthDate": "1954-09-17",
        "identifier": [{"value": "MB"}],
        "address": [{"use": "home", "state": "WI"}],
    }
    assert _outcome(fn, resource, ENV) == _outcome(fhirpathpy.compile(expression, R4), resource, ENV)


def test_results_are_plain_python_values_as_fhirpathpy_gives_them() -> None:
    patient = {"resourceType": "Patient", "birthDate": "1954-09-17", "_birthDate": {"extension": [{"url": "u"}]}}
    assert paths.evaluate("patient.birth_date", patient) == ["1954-09-17"]
    coverage = {"resourceType": "Coverage", "period": {"end": "2026-12-31"}, "subscriberId": "S1"}
    assert paths.evaluate("coverage.renewal", coverage) == ["2026-12-31"]
    assert paths.evaluate("coverage.member_id", coverage) == ["S1"]
    extension = {"extension": [{"url": "a-certificationType", "valueString": "x", "valueDecimal": 1.5}]}
    (value,) = fastpath.compile_expression("extension.value", R4)(extension, {})
    assert value == Decimal("1.5") and isinstance(value, Decimal)  # model order: valueDecimal before valueString


def test_an_undefined_constant_fails_as_in_fhirpathpy() -> None:
    with pytest.raises(ValueError, match="undefined environment variable: lob"):
        fastpath.compile_expression("type.coding.where(system = %lob).code", R4)({"type": {"coding": [{}]}}, {})
