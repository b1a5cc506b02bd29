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
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bartlett_weights", "hac_covariance", "hac_meat", "newey_west_lag"]


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
    g = np.asarray(scores, dtype=float)
    if g.ndim == 1:
        g = g[:, None]
    w = bartlett_weights(lag)
    s = g.T @ g
    for j in range(1, min(lag, g.shape[0] - 1) + 1):
        gamma = g[j:].T @ g[:-j]
        s += w[j] * (gamma + gamma.T)
    return s


def hac_covariance(
    scores: np.ndarray,
    bread: np.ndarray,
    lag: int | None = None,
    *,
    small_sample: bool = True,
) -> np.ndarray:
    r"""Newey–West sandwich covariance of an M-estimator.

    .. math:: \widehat V = \frac{n}{n-k}\, B\, S\, B, \qquad
              B = \Big(-\sum_t \partial g_t / \partial \beta^\top\Big)^{-1}

    Parameters
    ----------
    scores : ndarray, shape (n, k)
        Observation-wise estimating functions at the estimate, in time order (for OLS
        :math:`x_t e_t`; for a log-link GLM :math:`x_t (y_t - \mu_t) / (V(\mu_t) g'(\mu_t))`).
    bread : ndarray, shape (k, k)
        Inverse of the negative Hessian of the summed estimating functions (for OLS
        :math:`(X^\top X)^{-1}`; for a GLM :math:`(X^\top W X)^{-1}`, without the scale).
    lag : int, optional
        Truncation lag; default :func:`newey_west_lag` of ``n``.
    small_sample : bool
        Multiply by :math:`n/(n-k)` (statsmodels' ``use_correction=True``; Stata's
        ``newey`` applies the same factor).

    Returns
    -------
    ndarray, shape (k, k)
    """
    g = np.asarray(scores, dtype=float)
    n, k = g.shape
    lag = newey_west_lag(n) if lag is None else int(lag)
    b = np.asarray(bread, dtype=float)
    cov = b @ hac_meat(g, lag) @ b
    if small_sample and n > k:
        cov *= n / (n - k)
    return cov
