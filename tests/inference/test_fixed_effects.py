"""Fixed-effect absorption: alternating projections against dummy-variable least squares."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.inference.fe_structure import (
    absorbed_dof,
    fixed_effects_dof,
    is_nested,
    singleton_mask,
)
from preveval.inference.fixed_effects import demean


def dummies(codes: np.ndarray) -> np.ndarray:
    return (codes[:, None] == np.arange(codes.max() + 1)[None, :]).astype(float)


def lsq_residual(X: np.ndarray, fe: list[np.ndarray], w: np.ndarray | None) -> np.ndarray:
    D = np.column_stack([dummies(c) for c in fe])
    sw = np.ones(len(X)) if w is None else np.sqrt(w)
    coef = np.linalg.lstsq(D * sw[:, None], X * sw[:, None], rcond=None)[0]
    return X - D @ coef


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    n = 400
    fe = [rng.integers(0, 30, n), rng.integers(0, 12, n), rng.integers(0, 4, n)]
    X = rng.normal(size=(n, 3)) + fe[0][:, None] * 0.1
    return X, fe, rng.uniform(0.2, 3.0, n)


def test_one_fe_is_group_demeaning(data):
    X, fe, _ = data
    Xd, info = demean(X, fe[:1])
    expected = X - np.array([X[fe[0] == g].mean(axis=0) for g in range(30)])[fe[0]]
    np.testing.assert_allclose(Xd, expected, atol=1e-12)
    assert info.iterations == 1 and info.converged


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("accelerate", [False, True])
@pytest.mark.parametrize("k", [2, 3])
def test_several_fe_match_dummy_regression(data, weighted, accelerate, k):
    X, fe, w = data
    w = w if weighted else None
    Xd, info = demean(X, fe[:k], w, tol=1e-13, accelerate=accelerate)
    assert info.converged and info.n_fe == k
    np.testing.assert_allclose(Xd, lsq_residual(X, fe[:k], w), atol=1e-9)


def test_one_dimensional_input_and_no_fe(data):
    X, fe, _ = data
    assert demean(X[:, 0], fe[:2])[0].shape == (400,)
    np.testing.assert_array_equal(demean(X, [])[0], X)


def test_absorbed_dof_counts_connected_components():
    a = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    b = np.array([0, 1, 0, 1, 2, 3, 2, 3])  # units {0,1} and {2,3} never share a period
    assert absorbed_dof([a]) == 4
    assert absorbed_dof([a, b]) == 4 + 4 - 1 - 1
    dense = np.linalg.matrix_rank(np.column_stack([dummies(a), dummies(b)]))
    assert absorbed_dof([a, b]) == dense


def test_nesting_and_cluster_dof():
    unit = np.repeat(np.arange(6), 3)
    time = np.tile(np.arange(3), 6)
    state = unit // 2
    assert is_nested(unit, state)
    assert not is_nested(time, state)
    dof = fixed_effects_dof([unit, time], state)
    assert dof.absorbed == 6 + 3 - 1
    assert dof.nested == (True, False)
    assert dof.for_cluster == dof.absorbed - (6 - 1)  # pyfixest k_fixef="nonnested"


def test_singletons_are_dropped_iteratively():
    unit = np.array([0, 0, 1, 1, 2])  # unit 2 is a singleton
    time = np.array([0, 1, 0, 2, 1])  # after dropping it, time 2 holds one row -> unit 1 too
    keep = singleton_mask([unit, time])
    # unit 2 out -> time 2 (row 3) is a singleton -> out -> unit 1 (row 2) a singleton -> out
    # -> time 0 has row 0 only -> out -> unit 0 (row 1) ... everything unravels
    assert not keep.any()
    unit = np.array([0, 0, 1, 1, 2, 2, 3])
    time = np.array([0, 1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(singleton_mask([unit, time]), [1, 1, 1, 1, 1, 1, 0])


def test_independent_columns_are_the_greedy_basis_by_rank() -> None:
    """``_independent`` keeps column j exactly when it raises the rank of the columns kept before
    it (numpy's SVD rank as the independent check), on designs with exact collinearities."""
    from preveval.inference.fixed_effects import _independent

    rng = np.random.default_rng(5)
    for trial in range(12):
        n, k = 200, int(rng.integers(4, 40))
        X = rng.normal(size=(n, k))
        for c in rng.choice(k, size=k // 3, replace=False):
            a, b = rng.choice(k, 2, replace=False)
            X[:, c] = 2.0 * X[:, a] - 0.5 * X[:, b]
        if trial % 4 == 0:
            X[:, int(rng.integers(k))] = 0.0
        w = rng.random(n) + 0.2 if trial % 2 else None
        keep = _independent(X, X, [f"x{i}" for i in range(k)], w, ())
        kept: list[int] = []
        for j in range(k):
            rises = np.linalg.matrix_rank(X[:, [*kept, j]]) > len(kept)
            assert bool(keep[j]) == bool(rises), (trial, j)
            if rises:
                kept.append(j)
