"""Heteroskedasticity and autocorrelation consistent (HAC) covariance.

The Newey–West estimator with the Bartlett kernel for any M-estimator whose
observation-wise estimating functions (scores) and bread are known: OLS, GLMs (Poisson,
quasi-Poisson, negative binomial with fixed dispersion) and so on.

References
----------
Newey WK, West KD (1987). A simple, positive semi-definite, heteroskedasticity and
autocorrelation consistent covariance matrix. *Econometrica* 55(3):703–708.

Newey WK, West KD (1994). Automatic lag selection in covariance matrix estimation.
*Review of Economic Studies* 61(4):631–653.

Andrews DWK, Monahan JC (1992). An improved heteroskedasticity and autocorrelation
consistent covariance matrix estimator. *Econometrica* 60(4):953–966.

Zeileis A (2004). Econometric computing with HC and HAC covariance matrix estimators.
*Journal of Statistical Software* 11(10) — R package ``sandwich``, whose ``NeweyWest()``
default (VAR(1) prewhitening, Newey–West 1994 automatic lag) :func:`hac_covariance` follows.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "bartlett_weights",
    "hac_covariance",
    "hac_meat",
    "newey_west_bandwidth",
    "newey_west_lag",
    "prewhiten",
]


def newey_west_lag(n: int) -> int:
    r"""Default truncation lag of the Newey–West estimator.

    .. math:: L = \lfloor 4 (n / 100)^{2/9} \rfloor

    the rule of Newey & West (1994), also statsmodels' default (``cov_hac`` with
    ``nlags=None``). It gives 3 lags for 59 monthly points and 4 for 120.

    Parameters
    ----------
    n : int
        Number of time points.

    Returns
    -------
    int
        The lag, at least 0.
    """
    if n <= 0:
        return 0
    return int(math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0)))


def _as_2d(scores: np.ndarray) -> np.ndarray:
    g = np.asarray(scores, dtype=float)
    return g[:, None] if g.ndim == 1 else g


def bartlett_weights(lag: int) -> np.ndarray:
    r"""Bartlett kernel weights :math:`w_j = 1 - j / (L + 1)` for :math:`j = 0..L`."""
    if lag < 0:
        raise ValueError("lag must be >= 0")
    j = np.arange(lag + 1, dtype=float)
    return 1.0 - j / (lag + 1.0)


def hac_meat(scores: np.ndarray, lag: int) -> np.ndarray:
    r"""The long-run covariance of the scores (the "meat" of the sandwich).

    .. math:: S = \sum_{j=-L}^{L} w_{|j|} \sum_t g_t g_{t-j}^\top

    Parameters
    ----------
    scores : ndarray, shape (n, k)
        Observation-wise estimating functions :math:`g_t`, in time order.
    lag : int
        Truncation lag :math:`L`.

    Returns
    -------
    ndarray, shape (k, k)
    """
    g = _as_2d(scores)
    w = bartlett_weights(lag)
    s = g.T @ g
    for j in range(1, min(lag, g.shape[0] - 1) + 1):
        gamma = g[j:].T @ g[:-j]
        s += w[j] * (gamma + gamma.T)
    return s


def prewhiten(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""VAR(1) prewhitening of the scores (Andrews & Monahan 1992).

    Fits :math:`g_t = A g_{t-1} + v_t` by least squares without intercept (R's
    ``ar(..., order.max = 1, aic = FALSE, demean = FALSE, method = "ols")``) and returns the
    residuals :math:`v_t` (n−1 rows) and the recolouring matrix :math:`D = (I - A)^{-1}`.
    """
    g = _as_2d(scores)
    a_t, *_ = np.linalg.lstsq(g[:-1], g[1:], rcond=None)
    v = g[1:] - g[:-1] @ a_t
    d = np.linalg.inv(np.eye(g.shape[1]) - a_t.T)
    return v, d


def newey_west_bandwidth(scores: np.ndarray, *, prewhite: bool = True, intercept: int | None = 0) -> int:
    r"""Newey–West (1994) automatic lag for the Bartlett kernel (R ``sandwich::bwNeweyWest``).

    With :math:`h_t = \sum_{i \ne \text{intercept}} g_{ti}` (the prewhitened scores when
    ``prewhite``), :math:`\hat\sigma_j = \frac1n \sum_t h_t h_{t-j}` for :math:`j \le m`,
    :math:`m = \lfloor c (n/100)^{2/9} \rfloor` (c = 3 with prewhitening, else 4),
    :math:`s_0 = \hat\sigma_0 + 2\sum_{j\ge1}\hat\sigma_j`,
    :math:`s_1 = 2 \sum_{j \ge 1} j \hat\sigma_j`; the bandwidth is
    :math:`1.1447\,[(s_1/s_0)^2 n]^{1/3}` and the lag its integer part.
    """
    g = _as_2d(scores)
    if prewhite:
        g, _ = prewhiten(g)
    n, k = g.shape
    w = np.ones(k)
    if intercept is not None and k > 1:
        w[intercept] = 0.0
    h = g @ w
    m = int(math.floor((3.0 if prewhite else 4.0) * (n / 100.0) ** (2.0 / 9.0)))
    sig = np.array([h[: n - j] @ h[j:] for j in range(m + 1)]) / n
    s0 = sig[0] + 2 * sig[1:].sum()
    s1 = 2 * np.sum(np.arange(1, m + 1) * sig[1:])
    if s0 <= 0 or not np.isfinite(s0):
        return 0
    bw = 1.1447 * ((s1 / s0) ** 2 * n) ** (1.0 / 3.0)
    return int(math.floor(min(bw, n - 1)))


def hac_covariance(
    scores: np.ndarray,
    bread: np.ndarray,
    lag: int | None = None,
    *,
    prewhite: bool = False,
    small_sample: bool = True,
    intercept: int | None = 0,
    nobs: int | None = None,
) -> np.ndarray:
    r"""Newey–West sandwich covariance of an M-estimator.

    .. math:: \widehat V = \frac{n}{n-k}\, B\, D\, S\, D^\top B, \qquad
              B = \Big(-\sum_t \partial g_t / \partial \beta^\top\Big)^{-1}

    with :math:`S` the Bartlett-weighted long-run covariance (:func:`hac_meat`) of the
    scores, or of their VAR(1) residuals when ``prewhite`` (then :math:`D = (I-A)^{-1}`
    recolours it; else :math:`D = I`).

    Parameters
    ----------
    scores : ndarray, shape (n, k)
        Observation-wise estimating functions at the estimate, in time order (for OLS
        :math:`x_t e_t`; for a log-link GLM :math:`x_t (y_t - \mu_t) / (V(\mu_t) g'(\mu_t))`).
    bread : ndarray, shape (k, k)
        Inverse of the negative Hessian of the summed estimating functions (for OLS
        :math:`(X^\top X)^{-1}`; for a GLM :math:`(X^\top W X)^{-1}`, without the scale).
    lag : int, optional
        Truncation lag; default :func:`newey_west_bandwidth` (automatic, data-dependent).
    prewhite : bool
        VAR(1) prewhitening (Andrews & Monahan 1992; R ``sandwich::NeweyWest`` default).
        Without it and with the same lag the result equals statsmodels'
        ``cov_type="HAC"`` with ``use_correction=small_sample``.
    small_sample : bool
        Multiply by :math:`n/(n-k)` (statsmodels ``use_correction=True``, R ``sandwich``
        ``adjust = TRUE``, Stata ``newey``).
    intercept : int or None
        Column of the intercept, left out of the automatic bandwidth.
    nobs : int, optional
        Number of observations for the small-sample factor when the scores were summed
        over series per period (default: the rows of ``scores``).

    Returns
    -------
    ndarray, shape (k, k)
    """
    g = _as_2d(scores)
    n, k = g.shape
    if lag is None:
        lag = newey_west_bandwidth(g, prewhite=prewhite, intercept=intercept)
    b = np.asarray(bread, dtype=float)
    if prewhite:
        v, d = prewhiten(g)
        meat = d @ hac_meat(v, int(lag)) @ d.T
    else:
        meat = hac_meat(g, int(lag))
    cov = b @ meat @ b
    n = n if nobs is None else int(nobs)
    if small_sample and n > k:
        cov *= n / (n - k)
    return cov
