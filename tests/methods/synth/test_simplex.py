"""The simplex least-squares solver: optimality (KKT), agreement with scipy, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, nnls

from preveval.errors import EstimationError
from preveval.methods.synth import simplex_kkt_residual, simplex_least_squares


def random_problem(rng, k, J, inside=False):
    A = rng.normal(size=(k, J))
    if inside:  # target near the convex hull: a sparse, nearly exact fit
        b = A @ rng.dirichlet(np.ones(J)) + rng.normal(0, 0.01, k)
    else:
        b = rng.normal(size=k) * rng.uniform(0.1, 3.0)
    return A, b


def slsqp(A, b):
    J = A.shape[1]
    res = minimize(
        lambda w: np.sum((A @ w - b) ** 2), np.full(J, 1.0 / J),
        jac=lambda w: 2 * A.T @ (A @ w - b), method="SLSQP", bounds=[(0, 1)] * J,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(J)}],
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    w = np.clip(res.x, 0, None)
    return w / w.sum()  # projected back onto the simplex, so that objectives compare fairly


@pytest.mark.parametrize("seed", range(6))
def test_kkt_conditions_hold_on_random_problems(seed):
    rng = np.random.default_rng(seed)
    for trial in range(25):
        k, J = int(rng.integers(2, 16)), int(rng.integers(2, 30))  # many with J > k (rank deficient)
        A, b = random_problem(rng, k, J, inside=trial % 2 == 0)
        sol = simplex_least_squares(A, b)
        w = sol.weights
        assert w.min() >= 0 and abs(w.sum() - 1) < 1e-14
        g = 2 * A.T @ (A @ w - b)
        nu = g.min()
        scale = max(1.0, np.abs(g).max())
        # stationarity on the support, dual feasibility off it
        assert np.all(np.abs(g[w > 0] - nu) <= 1e-9 * scale)
        assert np.all(g - nu >= -1e-9 * scale)
        assert sol.kkt_residual == pytest.approx(simplex_kkt_residual(A, b, w))
        assert sol.kkt_residual < 1e-9


def test_never_worse_than_slsqp():
    rng = np.random.default_rng(11)
    for trial in range(15):
        k, J = int(rng.integers(2, 14)), int(rng.integers(2, 25))
        A, b = random_problem(rng, k, J, inside=trial % 3 == 0)
        ours = simplex_least_squares(A, b).objective
        theirs = float(np.sum((A @ slsqp(A, b) - b) ** 2))
        assert ours <= theirs + 1e-12 * max(1.0, theirs)


def test_matches_an_independent_nnls_reduction():
    # min ||Aw - b|| on the simplex equals NNLS with a heavily weighted sum row (big-M);
    # k > J so that A has full column rank and the minimiser is unique
    rng = np.random.default_rng(5)
    for _ in range(30):
        A, b = random_problem(rng, 15, 8, inside=True)
        big = 1e4 * max(1.0, np.abs(A).max())
        u, _ = nnls(np.vstack([A, np.full((1, 8), big)]), np.append(b, big))
        w = simplex_least_squares(A, b).weights
        assert np.abs(w - u / u.sum()).max() < 1e-5


def test_exact_solutions():
    A = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 0.0]])
    # b is the second column: all weight on it
    np.testing.assert_allclose(simplex_least_squares(A, A[:, 1]).weights, [0, 1, 0], atol=1e-15)
    # b is the midpoint of columns 0 and 2
    np.testing.assert_allclose(simplex_least_squares(A, np.array([1.0, 0.0])).weights, [0.5, 0, 0.5], atol=1e-14)
    # b far outside, nearest vertex is column 2
    np.testing.assert_allclose(simplex_least_squares(A, np.array([10.0, -1.0])).weights, [0, 0, 1], atol=1e-15)
    # a single column
    assert simplex_least_squares(A[:, :1], np.array([3.0, 3.0])).weights.tolist() == [1.0]


def test_identical_bits_on_repeat():
    rng = np.random.default_rng(3)
    A, b = random_problem(rng, 10, 20, inside=True)
    first = simplex_least_squares(A, b).weights
    for _ in range(3):
        assert simplex_least_squares(A, b).weights.tobytes() == first.tobytes()


def test_bad_input_raises():
    with pytest.raises(EstimationError):
        simplex_least_squares(np.ones((2, 3)), np.ones(3))
    with pytest.raises(EstimationError):
        simplex_least_squares(np.array([[1.0, np.nan]]), np.ones(1))
