"""The ITS back-end's own OLS and log-link GLMs (preveval.methods.its.glm) against statsmodels'
``OLS`` and ``GLM`` fitted directly on the same data: Sicily's acute coronary events (Lopez
Bernal et al. 2017) and seeded overdispersed series with offsets, zeros and seasonality."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from preveval.methods.its.glm import least_squares, log_glm

DATA = Path(__file__).resolve().parents[3] / "shared/reference/sicily.csv"
REL = 1e-9


def _sicily() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pd.read_csv(DATA)
    n = len(d)
    t = np.arange(1.0, n + 1)
    post = (np.arange(n) >= 36).astype(float)
    X = np.column_stack([np.ones(n), t, post, post * (t - 36)])
    return d["aces"].to_numpy(float), X, np.log(d["stdpop"].to_numpy(float))


def _synthetic(seed: int, n: int = 96, zeros: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    post = (t >= n // 2).astype(float)
    X = np.column_stack([np.ones(n), t / n, post, np.sin(2 * np.pi * t / 12), np.cos(2 * np.pi * t / 12)])
    offset = np.log(rng.uniform(5e4, 6e4, n))
    base = 0.3 if zeros else 30.0
    mu = base * np.exp(0.4 * t / n - 0.25 * post + 0.2 * np.sin(2 * np.pi * t / 12))
    y = rng.negative_binomial(4, 4 / (4 + mu)).astype(float)
    return y, X, offset - offset.mean()


CASES = {"sicily": _sicily(), "overdispersed": _synthetic(1), "many zeros": _synthetic(2, zeros=True)}


def close(a: object, b: object) -> None:
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=REL, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("scaled", [False, True])
def test_poisson_and_quasipoisson_equal_statsmodels_glm(name: str, scaled: bool) -> None:
    y, X, off = CASES[name]
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(scale="X2" if scaled else 1.0, tol=1e-13)
    got = log_glm(y, X, off, scale="X2" if scaled else 1.0)
    close(got.params, ref.params)
    close(got.cov, ref.cov_params())
    close(got.fitted, ref.fittedvalues)
    close(got.scale, ref.scale)
    close(got.deviance, ref.deviance)
    close(got.llf, ref.llf)
    close(got.observed_information(X, y), -ref.model.hessian(ref.params, scale=1.0, observed=True))


@pytest.mark.parametrize("name", list(CASES))
def test_negative_binomial_with_alpha_fixed_equals_statsmodels_glm(name: str) -> None:
    y, X, off = CASES[name]
    alpha = 0.15
    start = log_glm(y, X, off).params
    ref = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=off).fit(start_params=start, tol=1e-30, maxiter=300)
    got = log_glm(y, X, off, alpha=alpha, start=start)
    close(got.params, ref.params)
    close(got.cov, ref.cov_params())
    close(got.deviance, ref.deviance)
    close(got.observed_information(X, y, alpha), -ref.model.hessian(ref.params, scale=1.0, observed=True))


@pytest.mark.parametrize("name", list(CASES))
def test_least_squares_equals_statsmodels_ols(name: str) -> None:
    y, X, _ = CASES[name]
    ref = sm.OLS(y, X).fit()
    got = least_squares(y, X)
    close(got.params, ref.params)
    close(got.cov, ref.cov_params())
    close(got.scale, ref.scale)
    close(got.llf, ref.llf)
    close(got.aic, ref.aic)


def test_a_fit_that_breaks_down_is_a_value_error_not_a_numpy_warning() -> None:
    y, X, off = _synthetic(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="divide by zero"):
            log_glm(np.zeros_like(y), X, off)
    with pytest.raises(ValueError, match="did not converge"):
        log_glm(y, X, off, maxiter=1)
