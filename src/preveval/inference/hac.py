r"""Heteroskedasticity and autocorrelation consistent (HAC) covariance.

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

Kiefer NM, Vogelsang TJ (2005). A new asymptotic theory for heteroskedasticity-autocorrelation
robust tests. *Econometric Theory* 21(6):1130–1164 — fixed-b critical values
(:func:`kiefer_vogelsang_cv`, :func:`simulate_variance_ratios`).

Lazarus E, Lewis DJ, Stock JH, Watson MW (2018). HAR inference: recommendations for
practice. *Journal of Business & Economic Statistics* 36(4):541–559 — the truncation rule
:math:`S = 1.3\sqrt{T}` (:func:`llsw_lag`) with fixed-b critical values.

Bunzel H, Vogelsang TJ (2005). Powerful trend function tests that are robust to strong
serial correlation, with an application to the Prebisch–Singer hypothesis. *Journal of
Business & Economic Statistics* 23(4):381–394 — with deterministic trend regressors the
fixed-b limit depends on the regressors, hence :func:`simulate_variance_ratios` for a given design.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "bartlett_weights",
    "equivalent_t_df",
    "hac_covariance",
    "hac_meat",
    "kiefer_vogelsang_cv",
    "llsw_lag",
    "newey_west_bandwidth",
    "newey_west_lag",
    "fixed_b_critical_values",
    "fixed_b_pvalues",
    "prewhiten",
    "simulate_variance_ratios",
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


def llsw_lag(n: int) -> int:
    r"""Truncation lag of the Lazarus–Lewis–Stock–Watson (2018) rule.

    LLSW recommend, for Newey–West tests, the truncation parameter
    :math:`S = 1.3\,T^{1/2}` with Bartlett weights :math:`1 - |j|/S` for :math:`|j| < S`,
    i.e. a lag :math:`L = S - 1` in :func:`bartlett_weights`. :math:`S` is rounded to the
    nearest integer (at least 1), so the fixed-b bandwidth ratio is :math:`b = S/T = (L+1)/T`.
    It gives 12 lags for 96 monthly points, 13 for 120 and 19 for 240.

    Parameters
    ----------
    n : int
        Number of time points :math:`T`.

    Returns
    -------
    int
        The lag :math:`L`, at least 0.
    """
    if n <= 0:
        return 0
    s = max(1, int(math.floor(1.3 * math.sqrt(n) + 0.5)))
    return min(s - 1, n - 1)


def kiefer_vogelsang_cv(b: float) -> float:
    r"""Fixed-b two-sided 5% critical value of a Bartlett-kernel HAC t-test.

    .. math:: cv(b) = 1.9600 + 2.9694\,b + 0.4160\,b^2 - 0.5324\,b^3,
              \qquad b = M/T = (L + 1)/T

    the response surface of Kiefer & Vogelsang (2005, Bartlett kernel, 97.5% quantile of
    the fixed-b limit :math:`W(1)/\sqrt{Q(b)}`), valid for :math:`0 < b \le 1` (``b`` is
    clipped to that range). It assumes regressors whose partial sums of squares grow
    linearly, :math:`T^{-1}\sum_{t \le rT} x_t x_t^\top \to rQ` (KV 2005, Assumption 2);
    time trends and intervention steps violate it, and the critical values of such designs
    are larger (Bunzel & Vogelsang 2005) — see :func:`simulate_variance_ratios`.
    Checked against our own simulation of the limit (location model, T = 1000, 40,000
    draws, seed 20240101): within 1% for b = 0.02 … 1 (docs/its.md).
    """
    b = min(max(float(b), 0.0), 1.0)
    return 1.9600 + 2.9694 * b + 0.4160 * b**2 - 0.5324 * b**3


def equivalent_t_df(cv: float, level: float = 0.95) -> float:
    r"""Degrees of freedom :math:`\nu` with :math:`t_\nu^{-1}(1/2 + \text{level}/2) = cv`.

    Expresses a two-sided critical value as a Student-t reference distribution, so that a
    t-based interval with :math:`\nu` df equals the interval with ``cv``. Returns
    ``inf`` when ``cv`` is at most the normal quantile; ``cv`` beyond the t quantile at
    0.05 df is not representable and raises ``ValueError``.
    """
    # scipy.special, not scipy.stats: the same cephes values, 0.3 s less to import
    from scipy import optimize, special

    p = 0.5 + level / 2.0
    if cv <= float(special.ndtri(p)):
        return math.inf
    lo, hi = math.log(0.05), math.log(1e8)
    if cv >= float(special.stdtrit(math.exp(lo), p)):
        raise ValueError(f"critical value {cv:.3g} too large for a t reference distribution")
    if cv <= float(special.stdtrit(math.exp(hi), p)):
        return math.inf
    root = optimize.brentq(lambda u: float(special.stdtrit(math.exp(u), p)) - cv, lo, hi, xtol=1e-12)
    return float(math.exp(root))


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



def _bartlett_lrv(h: np.ndarray, lag: int) -> np.ndarray:
    """Bartlett long-run variance of every column of ``h`` (shape (n, m)), columns in time order down."""
    w = bartlett_weights(lag)
    v = np.einsum("ij,ij->j", h, h)
    for j in range(1, min(lag, h.shape[0] - 1) + 1):
        v += 2.0 * w[j] * np.einsum("ij,ij->j", h[j:], h[:-j])
    return v


def simulate_variance_ratios(
    X: np.ndarray,
    lag: int,
    *,
    weights: np.ndarray | None = None,
    prewhite: bool = False,
    small_sample: bool = True,
    blocks: int = 1,
    reps: int = 2000,
    seed: int = 20240101,
    chunk: int = 500,
    contrasts: np.ndarray | None = None,
) -> np.ndarray:
    r"""Draws of :math:`Q_j = \widehat V_{jj} / \operatorname{Var}(\hat\beta_j)`: the fixed-b law of a design.

    Each draw takes independent errors :math:`e_t \sim N(0, w_t)`, fits the linearised
    (weighted) regression :math:`\hat\beta^* - \beta = B X^\top e` with
    :math:`B = (X^\top W X)^{-1}` (so :math:`\operatorname{Var}(\hat\beta^*_j) = B_{jj}`),
    forms the scores :math:`x_t \hat e_t`, :math:`\hat e = e - W X(\hat\beta^* - \beta)`, and
    computes :math:`\widehat V^*` with exactly the estimator used on the data
    (:func:`hac_covariance`: lag, Bartlett kernel, prewhitening, blocks, small-sample factor).

    With Gaussian errors :math:`\hat\beta^*` and :math:`\hat e` are independent, so the HAC
    t-statistic is exactly a scale mixture of normals,

    .. math:: t^*_j = Z_j / \sqrt{Q_j}, \quad Z_j \sim N(0, 1) \perp Q_j, \qquad
              P(|t^*_j| > c) = E\,[\,2\,\bar\Phi(c\sqrt{Q_j})\,],

    which :func:`fixed_b_critical_values` and :func:`fixed_b_pvalues` evaluate by
    conditional Monte Carlo over the draws (far less noisy than counting exceedances).

    Why: under fixed-b asymptotics (lag proportional to n) a HAC t-statistic converges to
    :math:`W(1)/\sqrt{Q(b)}` — a functional of Brownian motion that does not depend on the
    serial correlation of the errors but does depend on the kernel, on
    :math:`b = (L+1)/n` and, with deterministic regressors such as a time trend, an
    intervention step or a ramp, on the regressors (Kiefer & Vogelsang 2005; Bunzel &
    Vogelsang 2005). Independent errors pushed through the same design and estimator give
    that reference distribution for the design at hand; for the location model (``X`` a
    column of ones) it is the simulation behind :func:`kiefer_vogelsang_cv`.

    Parameters
    ----------
    X : ndarray, shape (n, k)
        Design in time order (``blocks`` stacked series with aligned periods).
    lag : int
        Truncation lag.
    weights : ndarray, shape (n,), optional
        GLM working weights :math:`w_t` (:math:`\mu_t` for Poisson, :math:`\mu_t/(1+\alpha\mu_t)`
        for NB2); default 1 (OLS).
    prewhite, small_sample, blocks
        As :func:`hac_covariance` (the scores of a period summed over ``blocks``).
    reps : int
        Number of draws.
    seed : int
        Seed of ``numpy.random.default_rng``.
    chunk : int
        Draws per vectorised batch (memory about ``chunk * n * k`` doubles).
    contrasts : ndarray, shape (m, k), optional
        Linear combinations :math:`c^\top\beta` to return ratios for instead of the
        coefficients: :math:`Q_c = c^\top \widehat V c / c^\top B c` (the same draws, so the
        rows ``np.eye(k)`` reproduce the default output exactly).

    Returns
    -------
    ndarray, shape (reps, k) or (reps, m)
    """
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    B = np.linalg.inv(X.T @ (X * w[:, None]))
    XB = X @ B
    sw = np.sqrt(w)
    factor = n / (n - k) if small_sample and n > k else 1.0
    C = np.eye(k) if contrasts is None else np.atleast_2d(np.asarray(contrasts, dtype=float))
    denom = np.einsum("ij,jk,ik->i", C, B, C)
    mc = C.shape[0]
    # keep a batch's arrays (chunk x n x max(k, m) doubles) near 400 MB at most
    chunk = max(1, min(int(chunk), int(5e7 // (n * max(k, mc)))))
    rng = np.random.default_rng(seed)
    out = np.empty((reps, mc))
    eye = np.eye(k)
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        e = rng.standard_normal((r, n)) * sw
        ehat = e - ((e @ XB) @ X.T) * w
        g = ehat[:, :, None] * X[None, :, :]
        if blocks > 1:
            g = g.reshape(r, blocks, n // blocks, k).sum(axis=1)
        if prewhite:
            g0, g1 = g[:, :-1], g[:, 1:]
            g0t = g0.transpose(0, 2, 1)
            a_t = np.linalg.solve(np.matmul(g0t, g0), np.matmul(g0t, g1))
            v = g1 - np.matmul(g0, a_t)
            bd = np.matmul(B[None], np.linalg.inv(eye[None] - a_t.transpose(0, 2, 1)))
            h = np.matmul(v, bd.transpose(0, 2, 1))
        else:
            h = g @ B
        if contrasts is not None:
            h = h @ C.T
        m = h.shape[1]
        h2 = np.ascontiguousarray(h.transpose(1, 0, 2)).reshape(m, r * mc)
        var = _bartlett_lrv(h2, int(lag)).reshape(r, mc) * factor
        out[start : start + r] = var / denom
    return out


def fixed_b_pvalues(ratios: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    r"""Two-sided p-values :math:`E[2\bar\Phi(|t_j|\sqrt{Q_j})]` over the draws of :func:`simulate_variance_ratios`."""
    from scipy.special import ndtr

    q = np.sqrt(np.clip(np.asarray(ratios, dtype=float), 0.0, None))
    tt = np.abs(np.broadcast_to(np.asarray(t, dtype=float), q.shape[1:]))
    return np.asarray(np.mean(2.0 * ndtr(-tt[None, :] * q), axis=0))


def fixed_b_critical_values(ratios: np.ndarray, level: float = 0.95) -> np.ndarray:
    r"""Two-sided critical values :math:`c_j` with :math:`E[2\bar\Phi(c_j\sqrt{Q_j})] = 1 - \text{level}`."""
    from scipy import optimize

    q = np.asarray(ratios, dtype=float)
    alpha = 1.0 - level
    out = np.empty(q.shape[1])
    for j in range(q.shape[1]):
        col = q[:, j : j + 1]

        def f(c: float, col: np.ndarray = col) -> float:
            return float(fixed_b_pvalues(col, c)[0]) - alpha

        hi = 2.0
        while f(hi) > 0 and hi < 1e6:
            hi *= 2.0
        out[j] = optimize.brentq(f, 0.0, hi, xtol=1e-10)
    return out
