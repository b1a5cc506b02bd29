"""Every ITS option against statsmodels fitted directly on an independently built design.

Coefficients and standard errors agree to 1e-6 relative (the REML AR(p) fit against
statsmodels GLS at the same AR coefficients, whose REML optimality is checked with a
dense-matrix likelihood; the structural model to 1e-4, as two optimiser runs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.linalg import toeplitz
from statsmodels.stats.sandwich_covariance import cov_hac
from statsmodels.tsa.arima_process import arma_acovf

from preveval.inference.hac import (
    fixed_b_critical_values,
    hac_covariance,
    kiefer_vogelsang_cv,
    llsw_lag,
    simulate_variance_ratios,
)
from preveval.methods.its import build_its_series, fit_its
from preveval.methods.its.simulate import simulate_its
from preveval.spec.models import Indicator, ItsAnalysis

RTOL = 1e-6


def _fit(frame: pd.DataFrame, start: str, **kw):
    kw.setdefault("sensitivity", False)
    spec = ItsAnalysis(id="x", method="its", indicator="y", intervention=start, **kw)
    ind = Indicator(id="y", label="Events", column="y", kind="count")
    s = build_its_series(spec, frame, outcome="y", unit=None)
    t0 = int(frame.loc[frame["period"].astype(str) >= start, "t"].iloc[0]) if "period" in frame else None
    t0 = int(frame.loc[frame["period"] == pd.Period(start, frame["period"].iloc[0].freq), "t"].iloc[0])
    return fit_its(spec, s, outcome="y", interventions={"": t0}, indicator=ind)


def _seg(frame: pd.DataFrame, k0: int, shift: int = 0) -> np.ndarray:
    """Independent design: const, time 1..n, step and ramp from row k0 + shift."""
    n = len(frame)
    i = np.arange(n)
    s = k0 + shift
    return np.column_stack([np.ones(n), i + 1.0, (i >= s).astype(float), np.where(i >= s, i - s, 0.0)])


def _fourier_month(frame: pd.DataFrame, k: int = 2) -> np.ndarray:
    m = frame["period"].dt.month.to_numpy()
    cols = []
    for j in range(1, k + 1):
        cols += [np.sin(2 * np.pi * j * m / 12), np.cos(2 * np.pi * j * m / 12)]
    return np.column_stack(cols)


def _coefs(res, names):  # noqa: ANN001, ANN202
    est = {e.term: e for e in res.coefficients}
    return np.array([est[n].estimate for n in names]), np.array([est[n].std_error for n in names])


BASE = ["const", "time", "level_change", "slope_change"]
FOUR = ["sin1", "cos1", "sin2", "cos2"]


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return simulate_its(96, family="quasipoisson", beta=(np.log(40 / 1e5), 0.003, -0.2, -0.004), dispersion=2.0, exposure=1e5, season_amplitude=0.15, seed=11)


@pytest.fixture(scope="module")
def cont() -> pd.DataFrame:
    return simulate_its(96, family="gaussian", beta=(20.0, 0.05, -2.0, -0.03), rho=0.5, sigma=1.0, season_amplitude=1.0, seed=12)


@pytest.mark.parametrize("family", ["poisson", "quasipoisson"])
@pytest.mark.parametrize("errors", ["ols", "hac"])
def test_glm_matches_statsmodels(counts: pd.DataFrame, family: str, errors: str) -> None:
    X = np.column_stack([_seg(counts, 48), _fourier_month(counts)])
    res = _fit(counts, str(counts["period"].iloc[48]), family=family, offset="pop", errors=errors, hac_prewhite=False, seasonality={"type": "fourier", "period": 12, "harmonics": 2})
    glm = sm.GLM(counts["y"].to_numpy(), X, family=sm.families.Poisson(), offset=np.log(counts["pop"].to_numpy()))
    if errors == "ols":
        ref = glm.fit(scale="X2" if family == "quasipoisson" else 1.0, tol=1e-12)
    else:
        ref = glm.fit(tol=1e-12, cov_type="HAC", cov_kwds={"maxlags": llsw_lag(96), "use_correction": True})
    b, se = _coefs(res, BASE + FOUR)
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)
    assert res.scale == "log" and res.ratio is not None


def test_negative_binomial_matches_statsmodels(counts: pd.DataFrame) -> None:
    X = _seg(counts, 48)
    y, off = counts["y"].to_numpy(), np.log(counts["pop"].to_numpy())
    disc = sm.NegativeBinomial(y, X, loglike_method="nb2", offset=off).fit(method="newton", maxiter=200, disp=0, tol=1e-12)
    alpha = disc.params[-1]
    ref = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=off).fit(tol=1e-12)
    res = _fit(counts, str(counts["period"].iloc[48]), family="negative_binomial", offset="pop")
    assert res.nb_alpha == pytest.approx(alpha, rel=RTOL)
    b, se = _coefs(res, BASE)
    np.testing.assert_allclose(b, disc.params[:-1], rtol=RTOL)
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)


def test_gaussian_ols_and_hac(cont: pd.DataFrame) -> None:
    X = np.column_stack([_seg(cont, 48), _fourier_month(cont, 1)])
    y = cont["y"].to_numpy()
    start = str(cont["period"].iloc[48])
    season = {"type": "fourier", "period": 12, "harmonics": 1}
    res = _fit(cont, start, family="gaussian", seasonality=season)
    ref = sm.OLS(y, X).fit()
    b, se = _coefs(res, BASE + ["sin1", "cos1"])
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)
    assert res.effect.ci_low == pytest.approx(ref.conf_int()[2][0], rel=RTOL)  # t-based CI
    for lag in (None, 2):
        res = _fit(cont, start, family="gaussian", seasonality=season, errors="hac", hac_lag=lag, hac_prewhite=False)
        L = llsw_lag(96) if lag is None else lag
        ref = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True})
        np.testing.assert_allclose(_coefs(res, BASE + ["sin1", "cos1"])[1], ref.bse, rtol=RTOL)
        assert res.hac_lag == L


def test_gaussian_hac_prewhitened(cont: pd.DataFrame) -> None:
    """VAR(1)-prewhitened Newey-West computed by hand (Andrews & Monahan 1992)."""
    X = _seg(cont, 48)
    y = cont["y"].to_numpy()
    ols = sm.OLS(y, X).fit()
    g = X * ols.resid[:, None]
    A = np.linalg.solve(g[:-1].T @ g[:-1], g[:-1].T @ g[1:]).T
    v = g[1:] - g[:-1] @ A.T
    L = llsw_lag(96)
    S = v.T @ v
    for j in range(1, L + 1):
        G = sum((np.outer(v[t], v[t - j]) for t in range(j, len(v))), np.zeros((4, 4)))
        S = S + (1 - j / (L + 1)) * (G + G.T)
    D = np.linalg.inv(np.eye(4) - A)
    B = np.linalg.inv(X.T @ X)
    V = B @ D @ S @ D.T @ B * 96 / (96 - 4)
    res = _fit(cont, str(cont["period"].iloc[48]), family="gaussian", errors="hac")
    np.testing.assert_allclose(_coefs(res, BASE)[1], np.sqrt(np.diag(V)), rtol=RTOL)
    # the sandwich without prewhitening equals statsmodels' cov_hac
    np.testing.assert_allclose(
        cov_hac(ols, nlags=L, use_correction=True),
        np.asarray(sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True}).cov_params()),
        rtol=RTOL,
    )


def _reml_dense(phi: float, y: np.ndarray, X: np.ndarray) -> float:
    n, k = X.shape
    Om = toeplitz(arma_acovf(np.r_[1, -phi], np.array([1.0]), nobs=n))
    Oi = np.linalg.inv(Om)
    XtOX = X.T @ Oi @ X
    b = np.linalg.solve(XtOX, X.T @ Oi @ y)
    r = y - X @ b
    s2 = r @ Oi @ r / (n - k)
    return -0.5 * ((n - k) * np.log(s2) + np.linalg.slogdet(Om)[1] + np.linalg.slogdet(XtOX)[1])


@pytest.mark.parametrize("order", [1, 2])
def test_gaussian_ar_reml_gls(cont: pd.DataFrame, order: int) -> None:
    X = _seg(cont, 48)
    y = cont["y"].to_numpy()
    res = _fit(cont, str(cont["period"].iloc[48]), family="gaussian", errors="ar", ar_order=order)
    phi = np.asarray(res.ar_params)
    Om = toeplitz(arma_acovf(np.r_[1, -phi], np.array([1.0]), nobs=len(y)))
    ref = sm.GLS(y, X, sigma=Om).fit()
    b, se = _coefs(res, BASE)
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)
    if order == 1:
        best = _reml_dense(phi[0], y, X)
        for d in (-0.01, 0.01):
            assert _reml_dense(phi[0] + d, y, X) < best
        assert 0 < phi[0] < 1


def test_gaussian_log_transform_and_rate(counts: pd.DataFrame) -> None:
    X = _seg(counts, 48)
    rate = counts["y"].to_numpy() / counts["pop"].to_numpy() * 1e5
    start = str(counts["period"].iloc[48])
    res = _fit(counts, start, family="gaussian", offset="pop")
    ref = sm.OLS(rate, X).fit()
    np.testing.assert_allclose(_coefs(res, BASE)[0], ref.params, rtol=RTOL)
    assert res.scale == "difference" and res.rate_per == 1e5
    res = _fit(counts, start, family="gaussian", offset="pop", transform="log")
    ref = sm.OLS(np.log(rate), X).fit()
    b, se = _coefs(res, BASE)
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)
    assert res.scale == "log" and res.ratio.estimate == pytest.approx(np.exp(ref.params[2]))


@pytest.mark.parametrize("phase_in,lag", [(3, 0), (0, 2), (2, 1)])
def test_phase_in_and_lag(counts: pd.DataFrame, phase_in: int, lag: int) -> None:
    X = _seg(counts, 48, shift=lag + phase_in)
    keep = np.ones(len(counts), dtype=bool)
    keep[48 + lag : 48 + lag + phase_in] = False
    off = np.log(counts["pop"].to_numpy())
    ref = sm.GLM(counts["y"].to_numpy()[keep], X[keep], family=sm.families.Poisson(), offset=off[keep]).fit(scale="X2", tol=1e-12)
    res = _fit(counts, str(counts["period"].iloc[48]), offset="pop", phase_in=phase_in, lag=lag)
    b, se = _coefs(res, BASE)
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)
    assert res.n_obs == keep.sum() and res.n_excluded == phase_in
    assert res.series["in_fit"].sum() == keep.sum()


def test_impact_level_only_and_slope_only(counts: pd.DataFrame) -> None:
    start = str(counts["period"].iloc[48])
    X = _seg(counts, 48)
    off = np.log(counts["pop"].to_numpy())
    for impact, cols, head in (("level", [0, 1, 2], "level_change"), ("slope", [0, 1, 3], "slope_change")):
        res = _fit(counts, start, offset="pop", impact=impact)
        ref = sm.GLM(counts["y"].to_numpy(), X[:, cols], family=sm.families.Poisson(), offset=off).fit(scale="X2", tol=1e-12)
        assert res.effect.term == head
        assert [e.term for e in res.coefficients] == ["const", "time", head]
        np.testing.assert_allclose([e.estimate for e in res.coefficients], ref.params, rtol=RTOL)
        np.testing.assert_allclose([e.std_error for e in res.coefficients], ref.bse, rtol=RTOL)


def test_dummies_quarterly() -> None:
    d = simulate_its(40, family="poisson", beta=(3.0, 0.01, -0.3, 0.0), freq="Q", start="2010Q1", seed=3)
    res = _fit(d, str(d["period"].iloc[20]), family="poisson", seasonality={"type": "dummies", "period": 4})
    q = d["period"].dt.quarter.to_numpy()
    X = np.column_stack([_seg(d, 20), *[(q == k).astype(float) for k in (2, 3, 4)]])
    ref = sm.GLM(d["y"].to_numpy(), X, family=sm.families.Poisson()).fit(tol=1e-12)
    b, se = _coefs(res, BASE + ["season_2", "season_3", "season_4"])
    np.testing.assert_allclose(b, ref.params, rtol=RTOL)
    np.testing.assert_allclose(se, ref.bse, rtol=RTOL)
    assert res.periods_per_year == 4


def test_weekly_fourier_52_18_and_daily_dummies() -> None:
    w = simulate_its(156, family="poisson", beta=(3.0, 0.001, -0.2, 0.0), freq="W", start="2015-01-05", seed=4)
    res = _fit(w, str(w["period"].iloc[80]), family="poisson", seasonality={"type": "fourier", "period": 52.18, "harmonics": 1})
    x = w["t"].to_numpy() + 1.0
    X = np.column_stack([_seg(w, 80), np.sin(2 * np.pi * x / 52.18), np.cos(2 * np.pi * x / 52.18)])
    ref = sm.GLM(w["y"].to_numpy(), X, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(_coefs(res, BASE + ["sin1", "cos1"])[0], ref.params, rtol=RTOL)
    assert res.periods_per_year == pytest.approx(52.1775)

    d = simulate_its(140, family="poisson", beta=(2.0, 0.001, -0.2, 0.0), freq="D", start="2020-01-01", seed=5)
    res = _fit(d, str(d["period"].iloc[70]), family="poisson", seasonality={"type": "dummies", "period": 7})
    dow = d["period"].dt.day_of_week.to_numpy()  # t mod 7 is a fixed shift of the weekday
    cat = np.mod(d["t"].to_numpy(), 7)
    assert len(set(zip(dow, cat, strict=True))) == 7
    X = np.column_stack([_seg(d, 70), *[(cat == c).astype(float) for c in range(1, 7)]])
    ref = sm.GLM(d["y"].to_numpy(), X, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(_coefs(res, BASE + [f"season_{c + 1}" for c in range(1, 7)])[1], ref.bse, rtol=RTOL)


def test_several_interventions_terms() -> None:
    d = simulate_its(120, family="poisson", beta=(3.0, 0.002, -0.2, 0.0), seed=6)
    spec = ItsAnalysis(id="x", method="its", indicator="y", interventions={"a": "2013-01", "b": "2016-01"}, family="poisson", sensitivity=False)
    ind = Indicator(id="y", label="Events", column="y")
    s = build_its_series(spec, d, outcome="y", unit=None)
    iv = {"a": pd.Period("2013-01", "M").ordinal, "b": pd.Period("2016-01", "M").ordinal}
    res = fit_its(spec, s, outcome="y", interventions=iv, indicator=ind)
    assert [e.term for e in res.coefficients] == ["const", "time", "a.level_change", "a.slope_change", "b.level_change", "b.slope_change"]
    assert res.effect.term == "a.level_change"
    i = np.arange(120)
    X = np.column_stack([np.ones(120), i + 1.0] + [c for k in (36, 72) for c in ((i >= k) * 1.0, np.where(i >= k, i - k, 0.0))])
    ref = sm.GLM(d["y"].to_numpy(), X, family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose([e.std_error for e in res.coefficients], ref.bse, rtol=RTOL)


@pytest.mark.parametrize("errors", ["ols", "hac", "ar"])
def test_controlled_its_stacked(errors: str) -> None:
    a = simulate_its(80, family="gaussian", beta=(10.0, 0.05, -1.5, 0.0), rho=0.3, seed=7)
    b = simulate_its(80, family="gaussian", beta=(8.0, 0.04, 0.0, 0.0), rho=0.3, seed=8)
    frame = pd.concat([a.assign(area="A"), b.assign(area="B")], ignore_index=True)
    spec = ItsAnalysis(id="x", method="its", indicator="y", intervention=str(a["period"].iloc[40]), family="gaussian", units=("A",), comparison={"units": ["B"]}, errors=errors, hac_prewhite=False, sensitivity=False)
    s = build_its_series(spec, frame, outcome="y", unit="area")
    res = fit_its(spec, s, outcome="y", interventions={"": int(a["t"].iloc[40])}, indicator=Indicator(id="y", label="Y", column="y", kind="continuous"))
    seg = _seg(a, 40)
    Z = np.zeros_like(seg)
    X = np.vstack([np.column_stack([seg[:, :2], seg[:, 2:], seg[:, :2], seg[:, 2:]]), np.column_stack([seg[:, :2], seg[:, 2:], Z[:, :2], Z[:, 2:]])])
    y = np.concatenate([a["y"], b["y"]])
    names = ["const", "time", "comparison.level_change", "comparison.slope_change", "treated", "treated.time", "level_change", "slope_change"]
    assert [e.term for e in res.coefficients] == names
    if errors == "ols":
        ref = sm.OLS(y, X).fit()
        np.testing.assert_allclose(_coefs(res, names)[1], ref.bse, rtol=RTOL)
    elif errors == "hac":
        ols = sm.OLS(y, X).fit()
        g = (X * ols.resid[:, None]).reshape(2, 80, 8).sum(axis=0)  # scores summed per period
        V = cov_hac((g, np.linalg.inv(X.T @ X)), nlags=llsw_lag(80), use_correction=False) * 160 / 152
        np.testing.assert_allclose(_coefs(res, names)[1], np.sqrt(np.diag(V)), rtol=RTOL)
    else:
        phi = np.asarray(res.ar_params)
        Om1 = toeplitz(arma_acovf(np.r_[1, -phi], np.array([1.0]), nobs=80))
        Om = np.block([[Om1, np.zeros((80, 80))], [np.zeros((80, 80)), Om1]])
        ref = sm.GLS(y, X, sigma=Om).fit()
        np.testing.assert_allclose(_coefs(res, names)[0], ref.params, rtol=RTOL)
        np.testing.assert_allclose(_coefs(res, names)[1], ref.bse, rtol=RTOL)
    assert res.effect.term == "level_change"
    assert "comparison_observed" in res.series


def test_structural_matches_unobserved_components(cont: pd.DataFrame) -> None:
    res = _fit(cont, str(cont["period"].iloc[48]), family="gaussian", estimator="structural", impact="level")
    exog = pd.DataFrame({"level_change": (np.arange(96) >= 48).astype(float)})
    ref = sm.tsa.UnobservedComponents(cont["y"].to_numpy(), level="lldtrend", exog=exog).fit(disp=False, maxiter=2000)
    assert res.estimator == "structural"
    assert res.effect.estimate == pytest.approx(ref.params["beta.level_change"], rel=1e-4)
    assert res.effect.std_error == pytest.approx(ref.bse["beta.level_change"], rel=1e-3)
    assert res.log_likelihood >= ref.llf - 1e-6


def test_negative_binomial_hac_matches_statsmodels(counts: pd.DataFrame) -> None:
    X = _seg(counts, 48)
    y, off = counts["y"].to_numpy(), np.log(counts["pop"].to_numpy())
    res = _fit(counts, str(counts["period"].iloc[48]), family="negative_binomial", offset="pop", errors="hac", hac_prewhite=False, hac_lag=3)
    fam = sm.families.NegativeBinomial(alpha=res.nb_alpha)
    ref = sm.GLM(y, X, family=fam, offset=off).fit(tol=1e-12, cov_type="HAC", cov_kwds={"maxlags": 3, "use_correction": True})
    np.testing.assert_allclose(_coefs(res, BASE)[1], ref.bse, rtol=RTOL)


def test_yearly_series_without_seasonality() -> None:
    d = simulate_its(30, family="poisson", beta=(4.0, 0.01, -0.3, 0.0), freq="Y", start="1990", seed=13)
    res = _fit(d, str(d["period"].iloc[15]), family="poisson")
    ref = sm.GLM(d["y"].to_numpy(), _seg(d, 15), family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(_coefs(res, BASE)[1], ref.bse, rtol=RTOL)
    assert res.periods_per_year == 1 and res.trend_ratio_per_year == pytest.approx(np.exp(ref.params[1]))


# --- fixed-b reference distribution of errors: hac ------------------------------------------


@pytest.mark.parametrize(("prewhite", "blocks", "weighted"), [(False, 1, False), (True, 1, False), (True, 2, False), (True, 1, True)])
def test_fixed_b_draws_use_the_estimator_of_the_data(prewhite: bool, blocks: int, weighted: bool) -> None:
    """Each simulated variance ratio equals hac_covariance on that draw's scores, over Var(beta_j)."""

    n = 80
    seg = _seg(pd.DataFrame(index=range(n // blocks)), n // blocks // 2)
    X = seg if blocks == 1 else np.vstack([np.column_stack([seg, seg]), np.column_stack([seg, 0 * seg])])
    w = np.exp(np.linspace(2.0, 3.0, n)) if weighted else np.ones(n)
    ratios = simulate_variance_ratios(X, 6, weights=w if weighted else None, prewhite=prewhite, blocks=blocks, reps=3, seed=5, chunk=3)
    e = np.random.default_rng(5).standard_normal((3, n)) * np.sqrt(w)
    B = np.linalg.inv(X.T @ (X * w[:, None]))
    for r in range(3):
        ehat = e[r] - w * (X @ (B @ (X.T @ e[r])))
        g = X * ehat[:, None]
        if blocks > 1:
            g = g.reshape(blocks, n // blocks, -1).sum(axis=0)
        V = hac_covariance(g, B, 6, prewhite=prewhite, small_sample=True, nobs=n)
        np.testing.assert_allclose(ratios[r], np.diag(V) / np.diag(B), rtol=1e-9)


def test_fixed_b_mixture_matches_brute_force_quantile() -> None:
    """Z / sqrt(Q) with Z independent of Q: the conditional-Monte-Carlo critical value equals the
    empirical 95% quantile of |t*| from the same draws (to Monte Carlo accuracy)."""

    n, reps = 60, 40000
    X = _seg(pd.DataFrame(index=range(n)), 30)
    q = simulate_variance_ratios(X, 9, prewhite=False, reps=reps, seed=11)
    z = np.random.default_rng(12).standard_normal(q.shape)
    brute = np.quantile(np.abs(z) / np.sqrt(q), 0.95, axis=0)
    np.testing.assert_allclose(fixed_b_critical_values(q), brute, rtol=0.02)


@pytest.mark.parametrize("b", [0.05, 0.1, 0.2, 0.5])
def test_kiefer_vogelsang_polynomial_matches_simulated_limit(b: float) -> None:
    """KV (2005) Bartlett response surface against our own simulation of the location model."""

    T = 400
    q = simulate_variance_ratios(np.ones((T, 1)), int(b * T) - 1, small_sample=False, reps=4000, seed=20240101)
    assert fixed_b_critical_values(q)[0] == pytest.approx(kiefer_vogelsang_cv(b), rel=0.015)
