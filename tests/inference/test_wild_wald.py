"""Wild cluster restricted bootstrap of a joint Wald test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from preveval.errors import EstimationError
from preveval.inference.wild_bootstrap import wild_cluster_bootstrap
from preveval.inference.wild_wald import wild_cluster_wald_test


def data(G: int, per: int, seed: int):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), per)
    X = np.column_stack([np.ones(g.size), rng.normal(size=(g.size, 3))])
    y = X @ [1.0, 0.3, 0.0, -0.2] + rng.normal(size=G)[g] + rng.normal(size=g.size)
    return X, y, g


def cr1_wald(X, y, g, R, beta_fixed=None):
    """CR1 Wald statistic of R beta = 0 computed directly."""
    n, k = X.shape
    G = len(np.unique(g))
    A = np.linalg.inv(X.T @ X)
    b = A @ X.T @ y if beta_fixed is None else beta_fixed
    u = y - X @ b
    meat = sum(np.outer(X[g == h].T @ u[g == h], X[g == h].T @ u[g == h]) for h in np.unique(g))
    V = G / (G - 1) * (n - 1) / (n - k) * A @ meat @ A
    rb = R @ (A @ X.T @ y)
    return float(rb @ np.linalg.solve(R @ V @ R.T, rb))


@pytest.mark.parametrize(("G", "reps", "kind"), [(20, 999, "rademacher"), (8, 999, "auto"), (30, 1999, "webb"), (10, 9999, "rademacher")])
def test_one_restriction_equals_the_coefficient_test(G, reps, kind):
    """q = 1: W = t^2 and the same p-value as the single-coefficient WCR test (itself checked
    against wildboottest), on the same draws, enumerated or not."""
    X, y, g = data(G, 12, seed=G)
    a = wild_cluster_wald_test(X, y, g, np.array([[0.0, 1.0, 0.0, 0.0]]), reps=reps, weights_type=kind, seed=7)
    b = wild_cluster_bootstrap(X, y, g, 1, reps=reps, weights_type=kind, seed=7)
    assert a.p_value == b.p_value and a.reps == b.reps and a.enumerated == b.enumerated
    assert a.statistic == pytest.approx(b.t_stat**2, rel=1e-10)


def test_joint_test_by_brute_force_enumeration():
    """G = 6 clusters, all 64 Rademacher sign vectors: re-estimate y* = X b_r + v u_r for each
    and count CR1 Wald statistics at least as large as the sample's."""
    X, y, g = data(6, 10, seed=3)
    R = np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    res = wild_cluster_wald_test(X, y, g, R, reps=999, weights_type="rademacher", seed=1)
    assert res.enumerated and res.reps == 64 and res.q == 2
    W = cr1_wald(X, y, g, R)
    assert res.statistic == pytest.approx(W, rel=1e-10)
    A = np.linalg.inv(X.T @ X)
    b = A @ X.T @ y
    b_r = b - A @ R.T @ np.linalg.solve(R @ A @ R.T, R @ b)
    u_r = y - X @ b_r
    count = 0
    for signs in itertools.product([-1.0, 1.0], repeat=6):
        ys = X @ b_r + np.asarray(signs)[g] * u_r
        count += cr1_wald(X, ys, g, R) >= W * (1 - 1e-12)
    assert res.p_value == count / 64


def test_weights_and_guards():
    X, y, g = data(12, 8, seed=5)
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=y.size)
    R = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    a = wild_cluster_wald_test(X, y, g, R, reps=499, seed=3, weights=w)
    root = np.sqrt(w)
    b = wild_cluster_wald_test(X * root[:, None], y * root, g, R, reps=499, seed=3)
    assert a.p_value == b.p_value and a.statistic == pytest.approx(b.statistic)
    with pytest.raises(EstimationError, match="clusters"):
        wild_cluster_wald_test(X[:24], y[:24], g[:24], np.eye(4)[:3], reps=99)
