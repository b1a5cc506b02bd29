r"""Fitting back-ends of the segmented ITS regression: one design, four families, three error models.

========================  ===================================================================
family                    estimator
========================  ===================================================================
gaussian                  OLS; t-based CIs with the residual df
poisson                   GLM, log link, scale 1; normal-quantile Wald CIs
quasipoisson              Poisson GLM, scale :math:`\phi = X^2_{\mathrm{Pearson}} / (n-k)`
                          (R's ``quasipoisson``); SEs multiplied by :math:`\sqrt\phi`
negative_binomial         NB2, :math:`\mathrm{Var} = \mu + \alpha\mu^2`, :math:`\alpha` by ML
                          (statsmodels ``NegativeBinomial``); coefficients and SEs from the
                          GLM with :math:`\alpha` fixed at its MLE, as R's ``MASS::glm.nb``
========================  ===================================================================

``errors: hac`` replaces the covariance by Newey–West (:mod:`preveval.inference.hac`) with
the sandwich of the family's estimating equations and the :math:`n/(n-k)` correction.
``errors: ar`` (gaussian) fits regression with AR(p) errors by exact Gaussian maximum
likelihood (statsmodels ``SARIMAX`` with the design as ``exog``, no differencing, the
intercept in ``exog``; Kalman filter; covariance from the numerical Hessian), the
Python counterpart of R's ``arima(y, order = c(p, 0, 0), xreg = X)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from preveval.errors import EstimationError
from preveval.inference.hac import hac_covariance, newey_west_lag

__all__ = ["CoreFit", "fit_core"]


@dataclass(frozen=True)
class CoreFit:
    """What a back-end returns: estimates, covariance and fit statistics."""

    params: np.ndarray
    cov: np.ndarray
    df_resid: float
    use_t: bool
    dispersion: float
    alpha: float | None
    fitted: np.ndarray
    resid: np.ndarray
    pearson_chi2: float | None
    deviance: float | None
    aic: float | None
    llf: float | None
    se_type: str
    hac_lag: int | None = None
    ar_params: tuple[float, ...] = ()


def _glm_family(family: str, alpha: float | None) -> sm.families.Family:
    if family == "negative_binomial":
        return sm.families.NegativeBinomial(alpha=alpha)
    if family == "gaussian":
        return sm.families.Gaussian()
    return sm.families.Poisson()


def _nb_alpha(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None, start: np.ndarray) -> tuple[float, float]:
    """ML estimate of the NB2 dispersion and the log-likelihood (statsmodels discrete NB)."""
    mod = sm.NegativeBinomial(y, X, loglike_method="nb2", offset=offset)
    sp = np.append(start, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = mod.fit(start_params=sp, method="bfgs", maxiter=2000, disp=0, gtol=1e-10)
        res = mod.fit(start_params=res.params, method="newton", maxiter=200, disp=0)
    alpha = float(res.params[-1])
    if not np.isfinite(alpha) or alpha <= 1e-8:
        alpha = 1e-8
    return alpha, float(res.llf)


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


def fit_core(
    family: str,
    errors: str,
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None,
    terms: tuple[str, ...],
    *,
    hac_lag: int | None = None,
    ar_order: int = 1,
) -> CoreFit:
    """Fit one ITS regression (rows in time order; comparison rows after the treated).

    Parameters
    ----------
    family : {"gaussian", "poisson", "quasipoisson", "negative_binomial"}
    errors : {"ols", "hac", "ar"}
    y, X, offset : ndarray
        Response, design and log offset (or None) of the rows in the fit.
    terms : tuple of str
        Column names, for error messages.
    hac_lag : int, optional
        Newey–West lag; default :func:`~preveval.inference.hac.newey_west_lag`.
    ar_order : int
        AR order for ``errors: ar``.

    Returns
    -------
    CoreFit
    """
    _check_rank(X, terms)
    n, k = X.shape
    if errors == "ar":
        if family != "gaussian":
            raise EstimationError("errors: ar is available for family: gaussian only")
        return _fit_ar(y, X, ar_order)
    alpha = None
    nb_llf = None
    if family == "gaussian":
        res = sm.OLS(y, X).fit()
        mu = res.fittedvalues
        params = res.params
        cov = res.cov_params()
        dispersion = float(res.scale)
        resid = y - mu
        pearson = float(resid @ resid)
        deviance, aic, llf = pearson, float(res.aic), float(res.llf)
        scores, bread = X * resid[:, None], np.linalg.inv(X.T @ X)
        use_t = True
        se_type = "classical OLS"
    else:
        start = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
        if family == "negative_binomial":
            alpha, nb_llf = _nb_alpha(y, X, offset, start.params)
        fam = _glm_family(family, alpha)
        res = sm.GLM(y, X, family=fam, offset=offset).fit(
            start_params=start.params, scale="X2" if family == "quasipoisson" else 1.0, tol=1e-12, maxiter=200
        )
        params = res.params
        mu = res.fittedvalues
        cov = res.cov_params()
        var = mu if alpha is None else mu + alpha * mu**2
        resid = (y - mu) / np.sqrt(var)
        pearson = float(resid @ resid)
        dispersion = float(res.scale)
        deviance, llf = float(res.deviance), float(res.llf)
        aic = float(res.aic) if family == "poisson" else None
        if family == "negative_binomial" and nb_llf is not None:
            llf = nb_llf
            aic = float(-2 * nb_llf + 2 * (k + 1))
        w = mu / (1.0 + (alpha or 0.0) * mu)
        scores = X * ((y - mu) / (1.0 + (alpha or 0.0) * mu))[:, None]
        bread = np.linalg.inv(X.T @ (X * w[:, None]))
        use_t = False
        se_type = {
            "poisson": "model-based (Poisson, scale 1)",
            "quasipoisson": "model-based, scaled by the quasi-Poisson dispersion",
            "negative_binomial": "model-based (negative binomial, dispersion by ML)",
        }[family]
    lag = None
    if errors == "hac":
        lag = newey_west_lag(n) if hac_lag is None else int(hac_lag)
        cov = hac_covariance(scores, bread, lag, small_sample=True)
        se_type = f"Newey-West HAC (Bartlett kernel, lag {lag}, n/(n-k) correction)"
    return CoreFit(
        params=np.asarray(params, dtype=float),
        cov=np.asarray(cov, dtype=float),
        df_resid=float(n - k),
        use_t=use_t,
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
    )


def _fit_ar(y: np.ndarray, X: np.ndarray, p: int) -> CoreFit:
    """Regression with AR(p) errors by exact ML (SARIMAX, exog = design, no trend term)."""
    n, k = X.shape
    ols = sm.OLS(y, X).fit()
    mod = sm.tsa.SARIMAX(y, exog=X, order=(p, 0, 0), trend="n", enforce_stationarity=True)
    start = np.concatenate([ols.params, np.zeros(p), [ols.scale]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mod.fit(start_params=start, disp=False, maxiter=500, cov_type="approx")
    params = np.asarray(res.params)
    cov = np.asarray(res.cov_params())
    beta, phi, sigma2 = params[:k], params[k : k + p], float(params[-1])
    mu = X @ beta
    innov = np.asarray(res.resid)  # one-step-ahead prediction errors
    return CoreFit(
        params=beta,
        cov=cov[:k, :k],
        df_resid=float(n - k - p),
        use_t=False,
        dispersion=sigma2,
        alpha=None,
        fitted=mu,
        resid=innov,
        pearson_chi2=None,
        deviance=None,
        aic=float(res.aic),
        llf=float(res.llf),
        se_type=f"exact ML with AR({p}) errors (SARIMAX), observed-information SEs",
        ar_params=tuple(float(x) for x in phi),
    )
