"""Kleene three-valued logic: the exhaustive truth tables (as in CQL)."""

from __future__ import annotations

import itertools

import pytest

from priorauth.engine.truth import Truth, all_of, any_of, implies, negate

M, N, U = Truth.MET, Truth.NOT_MET, Truth.UNKNOWN

AND = {(M, M): M, (M, N): N, (M, U): U, (N, M): N, (N, N): N, (N, U): N, (U, M): U, (U, N): N, (U, U): U}
OR = {(M, M): M, (M, N): M, (M, U): M, (N, M): M, (N, N): N, (N, U): U, (U, M): M, (U, N): U, (U, U): U}
IMPLIES = {(M, M): M, (M, N): N, (M, U): U, (N, M): M, (N, N): M, (N, U): M, (U, M): M, (U, N): U, (U, U): U}


@pytest.mark.parametrize(("a", "b"), list(itertools.product(Truth, Truth)))
def test_binary_truth_tables(a: Truth, b: Truth) -> None:
    assert all_of([a, b]) is AND[(a, b)]
    assert any_of([a, b]) is OR[(a, b)]
    assert implies(a, b) is IMPLIES[(a, b)]


def test_negation() -> None:
    assert (negate(M), negate(N), negate(U)) == (N, M, U)


def test_empty_composites_are_identities() -> None:
    assert all_of([]) is M
    assert any_of([]) is N


@pytest.mark.parametrize("values", list(itertools.product(Truth, repeat=3)))
def test_n_ary_composites_fold_the_binary_tables(values: tuple[Truth, Truth, Truth]) -> None:
    a, b, c = values
    assert all_of(values) is AND[(AND[(a, b)], c)]
    assert any_of(values) is OR[(OR[(a, b)], c)]


def test_optional_boolean_maps_none_to_unknown_never_false() -> None:
    assert (Truth.of(True), Truth.of(False), Truth.of(None)) == (M, N, U)
