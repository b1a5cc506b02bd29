r"""Fitting back-ends of the segmented ITS regression: one design, four families, three error models.

========================  ===================================================================
family                    estimator
========================  ===================================================================
gaussian                  OLS; t-based CIs with the residual df
poisson                   GLM, log link, scale 1; normal-quantile Wald CIs
quasipoisson              Poisson GLM, scale :math:`\phi = X^2_{\mathrm{Pearson}} / (n-k)`
                          (R's ``quasipoisson``); SEs multiplied by :math:`\sqrt\phi`
negative_binomial         NB2, :math:`\mathrm{Var} = \mu + \alpha\mu^2`, :math:`\alpha` by ML
                          (profile likelihood, :mod:`~preveval.methods.its.negbin`);
                          coefficients and SEs from the GLM with :math:`\alpha` fixed at its
                          MLE, as R's ``MASS::glm.nb``
========================  ===================================================================

``errors: hac`` replaces the covariance by Newey–West (:mod:`preveval.inference.hac`) with
the sandwich of the family's estimating equations and the :math:`n/(n-k)` correction, a
lag from the Lazarus–Lewis–Stock–Watson (2018) rule :math:`S = 1.3\sqrt{n}` (or Newey–West
1994, or ``hac_lag``), VAR(1) prewhitening, and fixed-b critical values simulated for the
design (:func:`~preveval.inference.hac.simulate_variance_ratios`; Kiefer & Vogelsang 2005).
``errors: ar`` (gaussian) fits regression with AR(p) errors by REML and generalised least
squares, as R's ``nlme::gls(..., correlation = corARMA(p = p), method = "REML")``, the
method that performed best among those compared for short ITS series by Turner et al. (2021,
"Evaluation of statistical methods used in the analysis of interrupted time series
studies: a simulation study", *BMC Med Res Methodol* 21:181): REML reduces the downward
bias of the autocorrelation estimate that makes ML-based intervals too narrow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from preveval.errors import EstimationError
from preveval.inference.hac import (
    hac_covariance,
    llsw_lag,
    newey_west_lag,
)
from preveval.methods.its.corefit import CoreFit, HacBandwidth, HacCritical
from preveval.methods.its.glm import least_squares, log_glm
from preveval.methods.its.hac import Inference, hac_inference
from preveval.methods.its.negbin import nb_dispersion

__all__ = ["ar_whiten", "fit_core"]


def _check_rank(X: np.ndarray, terms: tuple[str, ...]) -> None:
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise EstimationError(
            "the ITS design is rank deficient (a term is a combination of others): "
            f"{', '.join(terms)}; check that every intervention has periods before and after it "
            "and that covariates are not constant or collinear"
        )
    if X.shape[0] <= X.shape[1]:
        raise EstimationError(f"too few periods ({X.shape[0]}) for {X.shape[1]} model terms")


@contextlib.contextmanager
def _count_model_guard(y: np.ndarray) -> Iterator[None]:
    """A count model that breaks down numerically (an outlier of many orders of magnitude, a
    series that is all zeros after the intervention) is an :class:`EstimationError` that says
    what to check, not statsmodels' ``ValueError`` about weights."""
    try:
        yield
    except (ValueError, FloatingPointError, OverflowError, np.linalg.LinAlgError) as exc:
        top, typical = float(np.max(y)), float(np.median(y))
        raise EstimationError(
            f"the count model could not be fitted ({str(exc).rstrip('.')}): the largest count is {top:,.0f} against a "
            f"median of {typical:,.0f} per period; check the data for a typing error or a value in other units, "
            "or use family: gaussian on rates"
        ) from None


def fit_core(
    family: str,
    errors: str,
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None,
    terms: tuple[str, ...],
    *,
    hac_lag: int | None = None,
    hac_prewhite: bool = True,
    hac_bandwidth: HacBandwidth = "llsw",
    hac_critical: HacCritical = "fixed_b",
    hac_reps: int = 2000,
    hac_seed: int = 20240101,
    ar_order: int = 1,
    blocks: int = 1,
) -> CoreFit:
    r"""Fit one ITS regression (rows in time order; comparison rows after the treated).

    Parameters
    ----------
    family : {"gaussian", "poisson", "quasipoisson", "negative_binomial"}
    errors : {"ols", "hac", "ar"}
    y, X, offset : ndarray
        Response, design and log offset (or None) of the rows in the fit.
    terms : tuple of str
        Column names, for error messages.
    hac_lag : int, optional
        Newey–West lag; overrides ``hac_bandwidth``.
    hac_prewhite : bool
        VAR(1) prewhitening of the scores before the Newey–West estimator.
    hac_bandwidth : {"llsw", "newey_west_1994"}
        Lag rule: :func:`~preveval.inference.hac.llsw_lag` (:math:`S = 1.3\sqrt{n}`,
        lag S − 1) or :func:`~preveval.inference.hac.newey_west_lag`
        (:math:`\lfloor 4(n/100)^{2/9} \rfloor`); n counts periods.
    hac_critical : {"fixed_b", "kiefer_vogelsang", "standard"}
        Reference distribution of the HAC t-statistics: fixed-b simulated for this design
        and estimator (:func:`~preveval.inference.hac.simulate_variance_ratios`), the
        Kiefer–Vogelsang (2005) location-model polynomial at b = (lag + 1)/n, or the
        family's usual t(n − k) / normal quantiles.
    hac_reps, hac_seed : int
        Draws and seed of the fixed-b simulation.
    ar_order : int
        AR order for ``errors: ar``.
    blocks : int
        Number of stacked series with aligned periods (2 for a controlled ITS): HAC sums
        the scores of a period across series (Driscoll–Kraay) and AR errors run within each.

    Returns
    -------
    CoreFit
    """
    _check_rank(X, terms)
    n, k = X.shape
    if errors == "ar":
        if family != "gaussian":
            raise EstimationError("errors: ar is available for family: gaussian only")
        return _fit_ar(y, X, ar_order, blocks)
    alpha = None
    nb_llf = None
    notes: tuple[str, ...] = ()
    aic: float | None
    if family == "gaussian":
        ols = least_squares(y, X)
        mu = ols.fitted
        params = ols.params
        cov = ols.cov
        dispersion = ols.scale
        resid = y - mu
        pearson = float(resid @ resid)
        deviance, aic, llf = pearson, ols.aic, ols.llf
        scores, bread = X * resid[:, None], np.linalg.inv(X.T @ X)
        use_t = True
        se_type = "classical OLS"
    else:
        with _count_model_guard(y):
            start = log_glm(y, X, offset)
            if family == "negative_binomial":
                nb = nb_dispersion(y, X, offset, start.params)
                alpha, nb_llf = nb.alpha, nb.llf
                notes += ((nb.note,) if nb.note else ())
            res = log_glm(y, X, offset, alpha=alpha or 0.0, start=start.params,
                          scale="X2" if family == "quasipoisson" else 1.0)
            if not np.all(np.isfinite(res.params)):
                raise ValueError("non-finite coefficients")
        params = res.params
        mu = res.fitted
        cov = res.cov
        var = mu if alpha is None else mu + alpha * mu**2
        resid = (y - mu) / np.sqrt(var)
        pearson = float(resid @ resid)
        dispersion = res.scale
        deviance, llf = res.deviance, res.llf
        aic = float(-2 * llf + 2 * k) if family == "poisson" else None
        if family == "negative_binomial" and nb_llf is not None:
            llf = nb_llf
            aic = float(-2 * nb_llf + 2 * (k + 1))
        scores = X * ((y - mu) / (1.0 + (alpha or 0.0) * mu))[:, None]
        # bread: inverse observed information (= expected for the canonical Poisson link;
        # for NB2 with a log link the observed Hessian, as statsmodels' GLM HAC)
        bread = np.linalg.inv(res.observed_information(X, y, alpha or 0.0))
        use_t = False
        se_type = {
            "poisson": "model-based (Poisson, scale 1)",
            "quasipoisson": "model-based, scaled by the quasi-Poisson dispersion",
            "negative_binomial": "model-based (negative binomial, dispersion by ML)",
        }[family]
    lag = None
    hac_settings: dict[str, Any] | None = None
    inference = Inference(df_resid=float(n - k), use_t=use_t)
    if errors == "hac":
        periods = n // blocks
        if hac_lag is not None:
            lag, rule = int(hac_lag), "set by hac_lag"
        elif hac_bandwidth == "llsw":
            lag, rule = llsw_lag(periods), "LLSW rule S = 1.3 sqrt(n)"
        else:
            lag, rule = newey_west_lag(periods), "Newey-West 1994 rule 4(n/100)^(2/9)"
        if blocks > 1:
            scores = scores.reshape(blocks, periods, k).sum(axis=0)
        cov = hac_covariance(scores, bread, lag, prewhite=hac_prewhite, small_sample=True, nobs=n)
        se_type = (
            f"Newey-West HAC (Bartlett kernel, lag {lag}, {rule}"
            + (", VAR(1) prewhitening" if hac_prewhite else "")
            + ", n/(n-k) correction)"
        )
        weights = None if family == "gaussian" else mu / (1.0 + (alpha or 0.0) * mu)
        inference = hac_inference(
            hac_critical, X, weights, np.asarray(params, dtype=float), cov, terms, lag=lag, periods=periods,
            prewhite=hac_prewhite, blocks=blocks, reps=hac_reps, seed=hac_seed, use_t=use_t,
        )
        se_type += inference.note
        hac_settings = {"critical": hac_critical, "X": X, "weights": weights, "lag": int(lag),
                        "prewhite": bool(hac_prewhite), "blocks": int(blocks), "reps": int(hac_reps),
                        "seed": int(hac_seed)}
    return CoreFit(
        params=np.asarray(params, dtype=float),
        cov=np.asarray(cov, dtype=float),
        df_resid=inference.df_resid,
        use_t=inference.use_t,
        dispersion=dispersion,
        alpha=alpha,
        fitted=np.asarray(mu, dtype=float),
        resid=np.asarray(resid, dtype=float),
        pearson_chi2=pearson,
        deviance=deviance,
        aic=aic,
        llf=llf,
        se_type=se_type,
        hac_lag=lag,
        residual_df=float(n - k),
        hac_bandwidth=None if lag is None else rule,
        hac_b=None if lag is None else (lag + 1) / (n // blocks),
        crit_values=inference.crit_values,
        p_values=inference.p_values,
        ci_label=inference.label,
        hac_settings=hac_settings,
        notes=notes,
    )


def ar_whiten(phi: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, float]:
    r"""Whiten rows of ``M`` under stationary AR(p) errors with coefficients ``phi``.

    Returns :math:`C^{-1} M` with :math:`C C^\top = \Omega(\phi)` (the error correlation
    matrix scaled to unit innovation variance) and :math:`\log|\Omega|`: the first p rows
    by the Cholesky factor of the stationary p×p autocovariance, the rest by the filter
    :math:`m_t - \sum_j \phi_j m_{t-j}` (the exact Prais–Winsten transform for p = 1).
    """
    from scipy.linalg import cholesky, solve_triangular, toeplitz
    from statsmodels.tsa.arima_process import arma_acovf

    p = len(phi)
    M = np.asarray(M, dtype=float)
    if p == 1:
        a = float(phi[0])
        out = np.empty_like(M)
        out[0] = M[0] * np.sqrt(1.0 - a * a)
        out[1:] = M[1:] - a * M[:-1]
        return out, float(-np.log(1.0 - a * a))
    gamma = arma_acovf(np.r_[1.0, -phi], np.array([1.0]), nobs=p)
    c = cholesky(toeplitz(gamma[:p]), lower=True)
    top = solve_triangular(c, M[:p], lower=True)
    rest = M[p:].copy()
    for j in range(1, p + 1):
        rest -= phi[j - 1] * M[p - j : M.shape[0] - j]
    return np.concatenate([top, rest]), float(2 * np.sum(np.log(np.diag(c))))


def _whiten_blocks(phi: np.ndarray, M: np.ndarray, blocks: int) -> tuple[np.ndarray, float]:
    parts = [ar_whiten(phi, b) for b in np.split(M, blocks)]
    return np.concatenate([p[0] for p in parts]), float(sum(p[1] for p in parts))


def _reml_objective(phi: np.ndarray, y: np.ndarray, X: np.ndarray, blocks: int = 1) -> tuple[float, np.ndarray, float, np.ndarray]:
    n, k = X.shape
    w, logdet = _whiten_blocks(phi, np.column_stack([y, X]), blocks)
    yw, Xw = w[:, 0], w[:, 1:]
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    r = yw - Xw @ beta
    rss = float(r @ r)
    _, logdet_x = np.linalg.slogdet(Xw.T @ Xw)
    obj = (n - k) * np.log(rss / (n - k)) + logdet + logdet_x
    return float(obj), beta, rss, Xw


def _fit_ar(y: np.ndarray, X: np.ndarray, p: int, blocks: int = 1) -> CoreFit:
    r"""Regression with AR(p) errors by REML (generalised least squares).

    :math:`\phi` maximises the restricted likelihood
    :math:`-\tfrac12[(n-k)\log\hat\sigma^2 + \log|\Omega| + \log|X^\top\Omega^{-1}X|]`
    over the stationary region (partial-autocorrelation parametrisation); then
    :math:`\hat\beta` is GLS and :math:`\widehat{V} = \hat\sigma^2 (X^\top\Omega^{-1}X)^{-1}`
    with :math:`\hat\sigma^2 = \mathrm{RSS}_\Omega/(n-k)`, CIs with t on n−k−p df. This is R's
    ``nlme::gls(y ~ X, correlation = corARMA(p = p), method = "REML")``.
    """
    from scipy.optimize import minimize, minimize_scalar
    from statsmodels.tsa.statespace.tools import constrain_stationary_univariate

    n, k = X.shape
    if n - k - p < 3:
        raise EstimationError(f"too few periods ({n}) for {k} terms and AR({p}) errors")
    if p == 1:
        opt = minimize_scalar(lambda a: _reml_objective(np.array([a]), y, X, blocks)[0], bounds=(-0.995, 0.995), method="bounded", options={"xatol": 1e-10})
        phi = np.array([opt.x])
    else:
        start = np.zeros(p)

        def f(u: np.ndarray) -> float:
            return _reml_objective(constrain_stationary_univariate(u), y, X, blocks)[0]

        opt = minimize(f, start, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000})
        phi = constrain_stationary_univariate(opt.x)
    _, beta, rss, Xw = _reml_objective(phi, y, X, blocks)
    sigma2 = rss / (n - k)
    cov = sigma2 * np.linalg.inv(Xw.T @ Xw)
    wres, logdet = _whiten_blocks(phi, (y - X @ beta)[:, None], blocks)
    llf = -0.5 * (n * np.log(2 * np.pi * sigma2) + logdet + rss / sigma2)
    return CoreFit(
        params=beta,
        cov=cov,
        df_resid=float(n - k - p),
        use_t=True,
        dispersion=sigma2,
        alpha=None,
        fitted=X @ beta,
        resid=wres[:, 0],
        pearson_chi2=None,
        deviance=None,
        aic=float(-2 * llf + 2 * (k + p + 1)),
        llf=float(llf),
        se_type=f"GLS with AR({p}) errors estimated by REML (as R nlme::gls, corARMA)",
        ar_params=tuple(float(x) for x in phi),
    )
