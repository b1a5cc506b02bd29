"""Properties of meta_regression(): WLS by hand, QM and QE, R^2, Knapp-Hartung F test, views."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from preveval.pooling import MetaRegressionResult, meta_regression, pool


@pytest.fixture
def data(simulate):
    rng = np.random.default_rng(11)
    k = 15
    x = rng.uniform(0, 10, size=k)
    y, se = simulate(rng, k, mu=0.0, tau2=0.05)
    return y + 0.08 * x, se, pd.DataFrame({"x": x, "z": rng.normal(size=k)})


@pytest.mark.parametrize("method", ["REML", "DL", "PM", "FE"])
def test_coefficients_are_weighted_least_squares_at_tau2(data, method):
    y, se, mods = data
    r = meta_regression(y, se, mods, method=method)
    X = np.column_stack([np.ones(len(y)), mods["x"], mods["z"]])
    w = 1 / (se**2 + r.tau2)
    vb = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = vb @ X.T @ (w * y)
    t = r.tidy()
    assert t["estimate"].to_numpy() == pytest.approx(beta, rel=1e-9)
    assert t["std_error"].to_numpy() == pytest.approx(np.sqrt(np.diag(vb)), rel=1e-9)
    qm = beta[1:] @ np.linalg.solve(vb[1:, 1:], beta[1:])
    assert r.qm == pytest.approx(qm, rel=1e-9) and r.qm_p_value == pytest.approx(stats.chi2.sf(qm, 2), rel=1e-9)
    w0 = 1 / se**2
    b0 = np.linalg.solve(X.T @ (w0[:, None] * X), X.T @ (w0 * y))
    assert r.qe == pytest.approx(np.sum(w0 * (y - X @ b0) ** 2), rel=1e-10) and r.qe_df == len(y) - 3


def test_knapp_hartung_uses_t_and_f(data):
    y, se, mods = data
    z = meta_regression(y, se, mods)
    kh = meta_regression(y, se, mods, knapp_hartung=True)
    k, p = len(y), 3
    assert kh.df == k - p and (kh.qm_df, kh.qm_df_resid) == (2, k - p)
    s = math.sqrt(kh.kh_scale)
    assert kh.tidy()["std_error"].to_numpy() == pytest.approx(s * z.tidy()["std_error"].to_numpy(), rel=1e-12)
    assert kh.qm == pytest.approx(z.qm / kh.kh_scale / 2, rel=1e-12)
    assert kh.qm_p_value == pytest.approx(stats.f.sf(kh.qm, 2, k - p), rel=1e-10)
    c = kh.coefficients[1]
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(c.statistic), k - p), rel=1e-10)
    assert c.ci_high - c.estimate == pytest.approx(stats.t.ppf(0.975, k - p) * c.std_error, rel=1e-12)


def test_pseudo_r2_compares_with_the_model_without_moderators(data):
    y, se, mods = data
    r = meta_regression(y, se, mods, columns=["x"])
    re = pool(y, se)
    assert r.r2 == pytest.approx(max(0.0, 100 * (re.tau2 - r.tau2) / re.tau2), rel=1e-9)
    assert 0 <= r.r2 <= 100
    # a moderator that explains nothing: R^2 truncated at 0
    noise = pd.DataFrame({"n": np.random.default_rng(5).normal(size=len(y))})
    assert meta_regression(y - 0.08 * mods["x"], se, noise).r2 >= 0


def test_no_intercept_model_tests_every_coefficient(data):
    y, se, mods = data
    r = meta_regression(y, se, mods, intercept=False)
    assert r.terms == ("x", "z") and r.qm_df == 2 and r.r2 is None


def test_views(data):
    y, se, mods = data
    r = meta_regression(y, se, mods, labels=[f"s{i}" for i in range(len(y))])
    assert isinstance(r, MetaRegressionResult)
    t = r.tidy()
    assert list(t.columns) == ["term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high"]
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert [c["term"] for c in d["coefficients"]] == ["intercept", "x", "z"] and "design" not in d
    s = r.summary()
    assert "Mixed-effects meta-regression (REML), k = 15" in s and "QM(2) =" in s and "QE(12) =" in s
    assert repr(r).startswith("MetaRegressionResult(method='REML', k=15, intercept=")
    kh = meta_regression(y, se, mods, knapp_hartung=True).summary()
    assert "F(2, 12) =" in kh


def test_order_of_studies_does_not_matter(data):
    y, se, mods = data
    perm = np.random.default_rng(2).permutation(len(y))
    a = meta_regression(y, se, mods)
    b = meta_regression(y[perm], se[perm], mods.iloc[perm])
    assert b.tidy()["estimate"].to_numpy() == pytest.approx(a.tidy()["estimate"].to_numpy(), rel=1e-9)
    assert (b.tau2, b.qm, b.qe) == pytest.approx((a.tau2, a.qm, a.qe), rel=1e-9)
