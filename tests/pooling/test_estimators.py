"""The tau^2 estimators solve their defining equations (preveval/pooling/estimators.py)."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.pooling import pool
from preveval.pooling.estimators import estimate_tau2, q_profile_ci, typical_variance

# Ten studies on which metafor's REML Fisher scoring oscillates without converging (a seeded
# draw of tests/pooling/conftest.py::simulate_studies, k = 10, mu = 0.3, tau^2 = 0.1). With
# R 4.2.2 / metafor 3.8-1, `rma(y, sei=se, method="REML")` stops with "Fisher scoring
# algorithm did not converge", and
# `rma(y, sei=se, method="REML", control=list(stepadj=0.5, threshold=1e-12, maxiter=1000))`
# gives tau^2 = 0.0118072623121214.
OSC_Y = np.array([0.08214973439435846, 0.2549413346246661, 0.23240872594844425, 0.130054092690442,
                  0.7091908537559083, 0.03806887692653804, 0.4579917588025211, 0.5374149172395092,
                  -0.19051036471710356, 0.4742643706700609])
OSC_SE = np.array([0.36427458939937407, 0.352704381105419, 0.26613580432097494, 0.3407700813377055,
                   0.345432583460211, 0.2734245705879196, 0.3283440839066225, 0.1098036821012626,
                   0.47544898870747465, 0.3563817858097905])


def p_matrix(v, X, t):
    w = 1 / (v + t)
    W = np.diag(w)
    return W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W


@pytest.fixture(params=[(6, 0.05), (12, 0.3), (25, 0.02)], ids=lambda p: f"k{p[0]}")
def data(request, simulate):
    k, tau2 = request.param
    rng = np.random.default_rng(k)
    y, se = simulate(rng, k, mu=0.1, tau2=tau2)
    X = np.column_stack([np.ones(k), rng.normal(size=k)])
    return y, se**2, X


def test_reml_solves_the_reml_equation(data):
    y, v, X = data
    t = estimate_tau2("REML", y, v, X).value
    P = p_matrix(v, X, t)
    if t > 0:
        assert y @ P @ P @ y == pytest.approx(np.trace(P), rel=1e-8)
    else:
        assert y @ P @ P @ y <= np.trace(P)


def test_pm_solves_generalised_q_equals_k_minus_p(data):
    y, v, X = data
    t = estimate_tau2("PM", y, v, X).value
    k, p = X.shape
    if t > 0:
        assert y @ p_matrix(v, X, t) @ y == pytest.approx(k - p, rel=1e-10)


def test_dl_is_the_moment_estimator(data):
    y, v, X = data
    k, p = X.shape
    P0 = p_matrix(v, X, 0.0)
    expected = max(0.0, (y @ P0 @ y - (k - p)) / np.trace(P0))
    assert estimate_tau2("DL", y, v, X).value == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert estimate_tau2("FE", y, v, X).value == 0.0


def test_typical_variance_is_higgins_thompson_without_moderators(data):
    y, v, _ = data
    w = 1 / v
    k = len(v)
    ht = (k - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())  # Higgins & Thompson 2002, eq. 9
    assert typical_variance(v, np.ones((k, 1))) == pytest.approx(ht, rel=1e-12)


def test_q_profile_interval_contains_the_pm_estimate(data):
    y, v, X = data
    lo, hi = q_profile_ci(y, v, X, 0.95)
    t = estimate_tau2("PM", y, v, X).value
    assert lo <= t <= hi  # PM is the Q-profile's 50% point (metafor's confint docs)


def test_reml_converges_where_plain_fisher_scoring_oscillates():
    # see OSC_Y above: metafor's default fails; with stepadj=0.5 it gives 0.0118072623121214
    r = pool(OSC_Y, OSC_SE)
    assert r.tau2 == pytest.approx(0.0118072623121214, rel=1e-9)
    assert any("Brent" in n for n in r.notes)
