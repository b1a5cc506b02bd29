r"""Least squares and log-link count GLMs in numpy, for the ITS back-end.

The segmented regressions of an ITS are small (tens to a few hundred periods, a handful of
terms), so what a cold run pays for them is importing a modelling library, not fitting:
statsmodels' GLM pulls in :mod:`scipy.stats`, together about half a second, more than the
rest of a single-series pack's fitting. These are the two estimators the ITS families need,
written out (tested against statsmodels' ``OLS`` and ``GLM`` on the same data to 1e-9
relative, tests/methods/test_its_glm.py):

* :func:`least_squares`: OLS through the SVD pseudo-inverse,
  :math:`\hat\beta = X^+ y`, :math:`\widehat V = \hat\sigma^2 X^+ X^{+\top}` with
  :math:`\hat\sigma^2 = \mathrm{RSS}/(n-k)`; the Gaussian log-likelihood at
  :math:`\mathrm{RSS}/n` and AIC :math:`-2\ell + 2k`.
* :func:`log_glm`: Poisson (:math:`\alpha = 0`) or NB2 with :math:`\alpha` fixed
  (:math:`\mathrm{Var} = \mu + \alpha\mu^2`), log link, by iteratively reweighted least
  squares (Fisher scoring: working response :math:`z = \eta - o + (y-\mu)/\mu`, weights
  :math:`w = \mu/(1+\alpha\mu)`), started at :math:`\mu = (y + \bar y)/2` (statsmodels' and
  R's start) or at given coefficients, until the coefficients change by less than ``tol``
  relative (or the deviance stops changing beyond rounding). The unscaled covariance is
  :math:`(X^\top W X)^{-1}` at the estimate; the quasi-Poisson scale is
  :math:`X^2_{\mathrm{Pearson}}/(n-k)`.

A fit that breaks down (fitted means that overflow or vanish, no convergence) raises
:class:`ValueError`, which the back-end turns into a message naming the data to check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["LeastSquares", "LogGLM", "least_squares", "log_glm"]


def _pinv(X: np.ndarray) -> np.ndarray:
    """Moore-Penrose pseudo-inverse by the SVD, singular values below 1e-15 of the largest dropped."""
    u, s, vt = np.linalg.svd(X, full_matrices=False)
    keep = s > 1e-15 * s.max()
    inv = np.zeros_like(s)
    inv[keep] = 1.0 / s[keep]
    return (vt.T * inv) @ u.T


@dataclass(frozen=True)
class LeastSquares:
    params: np.ndarray
    cov: np.ndarray
    fitted: np.ndarray
    scale: float
    llf: float
    aic: float


def least_squares(y: np.ndarray, X: np.ndarray) -> LeastSquares:
    """OLS of ``y`` on the full-rank design ``X`` (see the module docstring)."""
    n, k = X.shape
    pinv = _pinv(X)
    params = pinv @ y
    fitted = X @ params
    resid = y - fitted
    ssr = float(resid @ resid)
    scale = ssr / (n - k)
    llf = -0.5 * n * (np.log(2 * np.pi * ssr / n) + 1.0)
    return LeastSquares(params=params, cov=scale * (pinv @ pinv.T), fitted=fitted, scale=scale,
                        llf=float(llf), aic=float(-2 * llf + 2 * k))


@dataclass(frozen=True)
class LogGLM:
    """A log-link count GLM at its estimate. ``cov`` includes ``scale``; ``llf`` is the
    Poisson log-likelihood divided by the scale (statsmodels' convention for a scaled
    Poisson GLM) and is not meaningful for NB2 (the caller has the profile likelihood)."""

    params: np.ndarray
    fitted: np.ndarray
    cov: np.ndarray
    scale: float
    deviance: float
    llf: float

    def observed_information(self, X: np.ndarray, y: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        r"""Minus the Hessian of the log-likelihood (scale 1):
        :math:`X^\top \mathrm{diag}\{\mu(1+\alpha y)/(1+\alpha\mu)^2\} X` (for Poisson,
        :math:`X^\top \mathrm{diag}(\mu) X`, the expected information too)."""
        mu = self.fitted
        w = mu if not alpha else mu * (1.0 + alpha * y) / (1.0 + alpha * mu) ** 2
        return (X * w[:, None]).T @ X


def _deviance(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """Poisson (alpha 0) or NB2 deviance; a zero count adds 2 mu (Poisson) or
    (2/alpha) log(1 + alpha mu) (NB2)."""
    pos = y > 0
    ylog = np.zeros_like(mu)
    ylog[pos] = y[pos] * np.log(y[pos] / mu[pos])
    if not alpha:
        return float(2.0 * np.sum(ylog - (y - mu)))
    inv = 1.0 / alpha
    return float(2.0 * np.sum(ylog - (y + inv) * np.log((y + inv) / (mu + inv))))


def log_glm(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None, *, alpha: float = 0.0,
            start: np.ndarray | None = None, scale: str | float = 1.0, tol: float = 1e-12,
            maxiter: int = 200) -> LogGLM:
    """Fit a Poisson (``alpha`` 0) or fixed-alpha NB2 GLM with log link by IRLS.

    ``scale``: ``"X2"`` for the Pearson chi-square over n - k (quasi-Poisson), or a number.
    """
    n, k = X.shape
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return _irls(y, X, off, alpha, start, scale, tol, maxiter)
    except FloatingPointError as exc:
        raise ValueError(str(exc)) from None


def _irls(y: np.ndarray, X: np.ndarray, off: np.ndarray, alpha: float, start: np.ndarray | None,
          scale: str | float, tol: float, maxiter: int) -> LogGLM:
    n, k = X.shape
    if start is None:
        mu = (y + y.mean()) / 2.0
        eta = np.log(mu)
        params = np.full(k, np.inf)
    else:
        params = np.asarray(start, dtype=float)
        eta = X @ params + off
        mu = np.exp(eta)
    dev = _deviance(y, mu, alpha)
    step = np.inf
    for _ in range(maxiter):
        w = mu / (1.0 + alpha * mu)
        z = eta - off + (y - mu) / mu
        sw = np.sqrt(w)
        old, params = params, np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)[0]
        eta = X @ params + off
        mu = np.exp(eta)
        if not np.all(np.isfinite(mu)) or not np.all(mu > 0):
            raise ValueError("the fitted means overflowed or vanished")
        new = _deviance(y, mu, alpha)
        # the coefficients have settled (Fisher scoring converges linearly for NB2, so a rule
        # on the deviance, which is flat at the optimum, stops with coefficients off in the
        # 8th digit), or rounding stops them settling further: the deviance is at its floor
        # and the step no longer shrinks
        last, step = step, float(np.max(np.abs(params - old)))
        settled = step <= tol * (1.0 + float(np.max(np.abs(params))))
        stuck = abs(new - dev) <= 8 * np.finfo(float).eps * abs(new) and step >= last
        dev = new
        if settled or stuck:
            break
    else:
        raise ValueError(f"the iterations did not converge in {maxiter} steps")
    w = mu / (1.0 + alpha * mu)
    root = _pinv(X * np.sqrt(w)[:, None])
    unscaled = root @ root.T
    var = mu if not alpha else mu + alpha * mu**2
    phi = float(np.sum((y - mu) ** 2 / var) / (n - k)) if scale == "X2" else float(scale)
    llf = float(np.sum(y * np.log(mu) - mu - special.gammaln(y + 1.0)) / phi)
    return LogGLM(params=params, fitted=mu, cov=phi * unscaled, scale=phi, deviance=dev, llf=llf)
