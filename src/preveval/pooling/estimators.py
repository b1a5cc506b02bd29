r"""Between-study variance :math:`\tau^2`: estimators, standard errors and the Q-profile
confidence interval, for the random-effects model and its meta-regression form.

Model (Viechtbauer 2010, eqs. 2 and 6): study :math:`i = 1, \dots, k` reports an estimate
:math:`y_i` with known sampling variance :math:`v_i` (its squared standard error) and

.. math:: y_i = x_i^\top \beta + u_i + e_i, \quad u_i \sim N(0, \tau^2), \quad e_i \sim N(0, v_i),

with :math:`x_i = 1` (one column, :math:`p = 1`) when there are no moderators. For a given
:math:`\tau^2` the weights are :math:`w_i = 1 / (v_i + \tau^2)`, :math:`W = \mathrm{diag}(w)`,
and

.. math::

    \hat\beta(\tau^2) = (X^\top W X)^{-1} X^\top W y, \qquad
    P = W - W X (X^\top W X)^{-1} X^\top W, \qquad
    Q(\tau^2) = y^\top P y = \textstyle\sum_i w_i (y_i - x_i^\top \hat\beta)^2 ,

the generalised Q statistic; Cochran's Q (the test of heterogeneity) is :math:`Q(0)`.

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. *Controlled Clinical
Trials* 7(3):177-188.
Paule RC, Mandel J (1982). Consensus values and weighting factors. *J Res Natl Bur Stand*
87(5):377-385.
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *J Educ Behav Stat* 30(3):261-293.
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in
meta-analysis. *Stat Med* 26(1):37-52.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. *J Stat
Softw* 36(3):1-48.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. *Stat Med*
21(11):1539-1558.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from preveval.errors import EstimationError
from preveval.pooling._dist import chi2_isf

__all__ = [
    "Tau2",
    "Wls",
    "estimate_tau2",
    "heterogeneity_shares",
    "q_profile_ci",
    "typical_variance",
    "wls",
]

REML_TOL = 1e-10  # stop Fisher scoring when tau^2 changes by less
REML_MAX_ITER = 100  # as metafor's maxiter; then Brent's method on the REML equation
LL_TOL = 1e-12  # relative: a restricted log-likelihood this much lower counts as lower


@dataclass(frozen=True)
class Wls:
    """Weighted least squares at a given :math:`\\tau^2`: the coefficients, their
    (unscaled) covariance :math:`(X^\\top W X)^{-1}`, the weights and :math:`Q(\\tau^2)`."""

    beta: np.ndarray
    vb: np.ndarray
    w: np.ndarray
    q: float


@dataclass(frozen=True)
class Tau2:
    """An estimate of :math:`\\tau^2` with its standard error (None for ``FE``) and notes."""

    value: float
    std_error: float | None
    notes: tuple[str, ...] = ()


def wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> Wls:
    """Fit the weighted least squares of the model at a fixed :math:`\\tau^2`."""
    w = 1.0 / (v + tau2)
    xtw = X.T * w
    vb = np.linalg.inv(xtw @ X)
    beta = vb @ (xtw @ y)
    resid = y - X @ beta
    return Wls(beta=beta, vb=vb, w=w, q=float(np.sum(w * resid**2)))


def _p_matrix(v: np.ndarray, X: np.ndarray, tau2: float) -> np.ndarray:
    w = 1.0 / (v + tau2)
    wx = X * w[:, None]
    vb = np.linalg.inv(X.T @ wx)
    return np.diag(w) - wx @ vb @ wx.T


def q_gen(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """The generalised Q statistic :math:`Q(\\tau^2)`; decreasing in :math:`\\tau^2`."""
    return wls(y, v, X, tau2).q


def typical_variance(v: np.ndarray, X: np.ndarray) -> float:
    r"""The 'typical' sampling variance :math:`\tilde v = (k - p) / \mathrm{tr}(P_0)`, with
    :math:`P_0` at :math:`\tau^2 = 0`; without moderators it is Higgins and Thompson's (2002,
    eq. 9) :math:`(k - 1) \sum w_i / ((\sum w_i)^2 - \sum w_i^2)` (metafor's ``vt``)."""
    k, p = X.shape
    return (k - p) / float(np.trace(_p_matrix(v, X, 0.0)))


def heterogeneity_shares(tau2: float, q: float, v: np.ndarray, X: np.ndarray,
                         method: str) -> tuple[float, float]:
    r""":math:`I^2` (percent) and :math:`H^2`.

    For the random-effects estimators :math:`I^2 = 100\,\hat\tau^2 / (\tilde v + \hat\tau^2)`
    and :math:`H^2 = \hat\tau^2 / \tilde v + 1` (Higgins & Thompson 2002, with
    :math:`\tilde v` from :func:`typical_variance`); for ``FE`` (no :math:`\tau^2`) the
    Q-based forms :math:`I^2 = 100 \max(0, (Q - df) / Q)` and :math:`H^2 = Q / df`, as metafor.
    """
    k, p = X.shape
    df = k - p
    if method == "FE":
        i2 = 100 * max(0.0, (q - df) / q) if q > 0 else 0.0
        return i2, q / df
    vt = typical_variance(v, X)
    return 100 * tau2 / (vt + tau2), tau2 / vt + 1


def _tau2_dl(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2:
    r"""DerSimonian-Laird (1986, eq. 3.4; general form with moderators, Raudenbush 2009):
    :math:`\hat\tau^2 = \max\{0, (Q(0) - (k - p)) / \mathrm{tr}(P_0)\}`. Its standard error
    is the method-of-moments one metafor reports."""
    k, p = X.shape
    P = _p_matrix(v, X, 0.0)
    tr = float(np.trace(P))
    t = max(0.0, (q_gen(y, v, X, 0.0) - (k - p)) / tr)
    se = math.sqrt((2 * (k - p) + 4 * t * tr + 2 * t**2 * float(np.sum(P * P))) / tr**2)
    return Tau2(t, se)


def _root_of_q(y: np.ndarray, v: np.ndarray, X: np.ndarray, target: float) -> float:
    """The :math:`\\tau^2 \\ge 0` at which :math:`Q(\\tau^2)` equals ``target`` (0 when
    :math:`Q(0)` is already below it); Q decreases to 0, so a bracket always exists."""
    if q_gen(y, v, X, 0.0) <= target:
        return 0.0
    hi = max(1.0, 10 * float(np.max(v)))
    while q_gen(y, v, X, hi) > target:
        hi *= 10
        if hi > 1e300:  # pragma: no cover - Q tends to 0, so this is never reached
            raise EstimationError("no upper bound found for tau^2")
    return float(optimize.brentq(lambda t: q_gen(y, v, X, t) - target, 0.0, hi,
                                 xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))


def _tau2_pm(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2:
    r"""Paule-Mandel (1982): the root of :math:`Q(\tau^2) = k - p`, 0 when :math:`Q(0) < k - p`
    (Viechtbauer et al. 2015 show it equals the empirical Bayes estimator). Standard error
    :math:`\sqrt{2 k^2 / (k - p)} / \sum_i w_i` as metafor."""
    k, p = X.shape
    t = _root_of_q(y, v, X, float(k - p))
    sw = float(np.sum(1.0 / (v + t)))
    return Tau2(t, math.sqrt(2 * k**2 / (k - p)) / sw)


def _reml_loglik(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    f = wls(y, v, X, tau2)
    _, logdet = np.linalg.slogdet(X.T @ (X * f.w[:, None]))
    return -0.5 * (float(np.sum(np.log(v + tau2))) + logdet + f.q)


def _tau2_he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Hedges' (Hedges & Olkin 1985) unweighted method-of-moments estimate: the start of
    the REML iterations, as metafor."""
    k, p = X.shape
    H = X @ np.linalg.pinv(X)
    resid = y - H @ y
    return (float(resid @ resid) - float(np.sum((1 - np.diag(H)) * v))) / (k - p)


def _reml_score(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> tuple[float, np.ndarray]:
    r"""Twice the derivative of the restricted log-likelihood, :math:`y^\top PPy - \mathrm{tr}(P)`,
    and :math:`P`."""
    P = _p_matrix(v, X, tau2)
    py = P @ y
    return float(py @ py) - float(np.trace(P)), P


def _fisher_scoring(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float | None:
    """metafor's REML iterations; None when they do not settle within REML_MAX_ITER."""
    t = max(0.0, _tau2_he(y, v, X))
    for _ in range(REML_MAX_ITER):
        score, P = _reml_score(y, v, X, t)
        if t == 0.0 and score <= 0:
            return t
        adj = score / float(np.sum(P * P))
        while t + adj < 0:
            adj /= 2
        t_new = t + adj
        if abs(t_new - t) < REML_TOL:
            return t_new
        t = t_new
    return None


def _score_root(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    r"""The root of the REML score on :math:`[0, \infty)` by Brent's method (0 when the score
    is not positive at 0)."""
    if _reml_score(y, v, X, 0.0)[0] <= 0:
        return 0.0
    hi = max(1.0, 10 * float(np.max(v)))
    while _reml_score(y, v, X, hi)[0] > 0:
        hi *= 10
    return float(optimize.brentq(lambda t: _reml_score(y, v, X, t)[0], 0.0, hi, xtol=1e-14,
                                 rtol=4 * np.finfo(float).eps, maxiter=500))


def _tau2_reml(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2:
    r"""Restricted maximum likelihood by Fisher scoring (Viechtbauer 2005, eq. 19):

    .. math:: \tau^2_{(m+1)} = \tau^2_{(m)} + \frac{y^\top P P y - \mathrm{tr}(P)}{\mathrm{tr}(P P)},

    from the Hedges estimate (truncated at 0), halving a step that would leave
    :math:`[0, \infty)`, until the change is below 1e-10 (metafor's iterations; metafor
    stops at 1e-5). Plain Fisher scoring can oscillate without settling when the expected
    information is far below the observed curvature (metafor then stops with "did not
    converge" and suggests a step adjustment); after REML_MAX_ITER steps the REML
    equation :math:`y^\top PPy = \mathrm{tr}(P)` is instead solved by Brent's method, with
    a note. Then, as metafor, 0 is taken when the restricted likelihood is higher there.
    Standard error :math:`\sqrt{2 / \mathrm{tr}(P P)}` (inverse Fisher information).
    """
    notes: list[str] = []
    t = _fisher_scoring(y, v, X)
    if t is None:
        t = _score_root(y, v, X)
        notes.append(f"REML Fisher scoring did not settle in {REML_MAX_ITER} steps; tau^2 solves the "
                     "REML equation by Brent's method instead")
    if t > 0 and _reml_loglik(y, v, X, 0.0) - _reml_loglik(y, v, X, t) > LL_TOL * (1 + abs(_reml_loglik(y, v, X, t))):
        notes.append("Fisher scoring stopped at a local maximum of the restricted likelihood; "
                     "tau^2 = 0 has a higher likelihood and is used")
        t = 0.0
    P = _p_matrix(v, X, t)
    return Tau2(t, math.sqrt(2 / float(np.sum(P * P))), tuple(notes))


def estimate_tau2(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> Tau2:
    """Estimate :math:`\\tau^2` by ``"REML"``, ``"DL"``, ``"PM"`` or ``"FE"`` (fixed at 0)."""
    if method == "FE":
        return Tau2(0.0, None)
    if method == "DL":
        return _tau2_dl(y, v, X)
    if method == "PM":
        return _tau2_pm(y, v, X)
    if method == "REML":
        return _tau2_reml(y, v, X)
    raise ValueError(f"unknown tau^2 estimator {method!r}")


def q_profile_ci(y: np.ndarray, v: np.ndarray, X: np.ndarray, level: float) -> tuple[float, float]:
    r"""Q-profile confidence interval for :math:`\tau^2` (Viechtbauer 2007, eq. 6).

    The bounds solve

    .. math:: Q(\tau^2_{lo}) = \chi^2_{k-p;\,(1+\text{level})/2}, \qquad
              Q(\tau^2_{hi}) = \chi^2_{k-p;\,(1-\text{level})/2},

    (upper and lower chi-square quantiles). A bound is 0 when :math:`Q(0)` is already below
    its quantile; both are 0 when the interval would lie wholly below zero (metafor then
    says the interval is the null set).
    """
    k, p = X.shape
    alpha = 1 - level
    lo = _root_of_q(y, v, X, chi2_isf(alpha / 2, k - p))
    hi = _root_of_q(y, v, X, chi2_isf(1 - alpha / 2, k - p))
    return lo, hi
