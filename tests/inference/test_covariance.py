"""Classical, HC1 and CR1 covariances and Wald tests against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from preveval.errors import EstimationError
from preveval.inference.covariance import covariance, wald_test


@pytest.fixture
def ols():
    rng = np.random.default_rng(11)
    n, G = 300, 25
    cl = rng.integers(0, G, n)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = X @ [1.0, 0.5, -0.2] + rng.normal(size=G)[cl] + rng.normal(size=n) * (1 + np.abs(X[:, 1]))
    w = rng.uniform(0.5, 2, n)
    return X, y, cl, w


def _fit(X, y, w=None):
    sw = np.ones(len(y)) if w is None else np.sqrt(w)
    b = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
    return b, y - X @ b


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("kind", "cov_type"), [("classical", "nonrobust"), ("HC1", "HC1"), ("CR1", "cluster")]
)
def test_matches_statsmodels(ols, weighted, kind, cov_type):
    X, y, cl, w = ols
    w = w if weighted else None
    b, u = _fit(X, y, w)
    c = covariance(X, u, kind=kind, weights=w, clusters=cl)
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    kw = {"groups": cl} if kind == "CR1" else None
    ref = model.fit(cov_type=cov_type, cov_kwds=kw)
    np.testing.assert_allclose(c.vcov, ref.cov_params(), rtol=1e-10)
    assert c.df_resid == (24 if kind == "CR1" else 297)


def test_n_params_counts_absorbed_parameters(ols):
    X, y, cl, _ = ols
    _, u = _fit(X, y)
    a = covariance(X, u, kind="CR1", clusters=cl)
    b = covariance(X, u, kind="CR1", clusters=cl, n_params=13)
    assert b.factor / a.factor == pytest.approx((300 - 3) / (300 - 13))


def test_errors(ols):
    X, y, cl, _ = ols
    with pytest.raises(EstimationError, match="singular"):
        covariance(np.column_stack([X, X[:, 1]]), y, kind="HC1")
    with pytest.raises(EstimationError, match="2 clusters"):
        covariance(X, y, kind="CR1", clusters=np.zeros(len(y), int))


def test_wald_matches_statsmodels(ols):
    X, y, cl, _ = ols
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cl}, use_t=True)
    R = np.array([[0, 1.0, 0], [0, 0, 1.0]])
    ours = wald_test(ref.params, ref.cov_params(), R, df_denom=24)
    f = ref.f_test(R)
    assert ours.statistic == pytest.approx(float(np.squeeze(f.fvalue)), rel=1e-10)
    assert ours.p_value == pytest.approx(float(f.pvalue), rel=1e-8)
    chi = wald_test(ref.params, ref.cov_params(), R)
    assert chi.distribution == "chi2" and chi.statistic == pytest.approx(2 * ours.statistic)
