r"""Covariance estimators for (weighted) least squares and Wald tests.

All estimators share the sandwich form

.. math::

    \hat V = c \cdot (X' W X)^{-1} \, \hat\Omega \, (X' W X)^{-1},

with :math:`X` the regressors after any fixed effects were absorbed, :math:`W` the
observation weights and :math:`\hat u` the residuals. Scores are
:math:`s_i = w_i x_i \hat u_i`. For iteratively reweighted models (Poisson) pass the
working weights and working residuals.

=============  ======================================  =========================================
``kind``       :math:`\hat\Omega`                      :math:`c`
=============  ======================================  =========================================
classical      :math:`\hat\sigma^2 X'WX`               :math:`\hat\sigma^2 = \sum w_i\hat u_i^2/(N-K)`
HC1            :math:`\sum_i s_i s_i'`                 :math:`N/(N-K)`
CR1            :math:`\sum_g S_g S_g'`, :math:`S_g=\sum_{i\in g}s_i`   :math:`\frac{G}{G-1}\frac{N-1}{N-K}`
=============  ======================================  =========================================

:math:`K` counts every estimated parameter including absorbed fixed effects, except that
fixed effects nested within the clusters are left out of :math:`K` for CR1 (see
:func:`preveval.inference.fixed_effects.fixed_effects_dof`). These are the defaults of
Stata ``regress, vce(robust)`` / ``vce(cluster)``, ``reghdfe`` and R ``fixest``/``pyfixest``.

References
----------
White, H. (1980). A heteroskedasticity-consistent covariance matrix estimator and a
direct test for heteroskedasticity. Econometrica, 48(4), 817-838.

MacKinnon, J. G. & White, H. (1985). Some heteroskedasticity-consistent covariance matrix
estimators with improved finite sample properties. Journal of Econometrics, 29, 305-325.

Liang, K.-Y. & Zeger, S. L. (1986). Longitudinal data analysis using generalized linear
models. Biometrika, 73(1), 13-22.

Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust
inference. Journal of Human Resources, 50(2), 317-372.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from preveval.errors import EstimationError

__all__ = ["Covariance", "WaldTest", "bread", "covariance", "wald_test"]

Kind = Literal["classical", "HC1", "CR1"]


@dataclass(frozen=True)
class Covariance:
    """A covariance matrix with what is needed for inference.

    Attributes
    ----------
    vcov : numpy.ndarray
        ``(k, k)`` covariance matrix of the coefficients.
    kind : str
        ``classical``, ``HC1`` or ``CR1``.
    df_resid : float
        Degrees of freedom for t quantiles: :math:`N-K` (classical, HC1) or :math:`G-1`
        (CR1, the ``fixest``/Stata convention).
    factor : float
        The small-sample factor :math:`c` applied.
    n_clusters : int or None
        Number of clusters :math:`G` (CR1 only).
    """

    vcov: np.ndarray
    kind: str
    df_resid: float
    factor: float
    n_clusters: int | None = None

    @property
    def std_errors(self) -> np.ndarray:
        """Square roots of the diagonal."""
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))


def bread(X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """:math:`(X'WX)^{-1}`; raises :class:`EstimationError` when singular."""
    Xw = X if weights is None else X * weights[:, None]
    xtx = Xw.T @ X
    try:
        inv = np.linalg.inv(xtx)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("the design matrix is singular (collinear regressors)") from exc
    return inv


def covariance(
    X: np.ndarray,
    resid: np.ndarray,
    *,
    kind: Kind,
    weights: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    n_params: int | None = None,
    bread_matrix: np.ndarray | None = None,
) -> Covariance:
    r"""Classical, HC1 or CR1 covariance of (weighted) least-squares coefficients.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n, k)`` regressors (already demeaned when fixed effects were absorbed).
    resid : numpy.ndarray
        Residuals :math:`\hat u`, length ``n``.
    kind : {"classical", "HC1", "CR1"}
        Estimator (see the module table).
    weights : numpy.ndarray, optional
        Observation weights :math:`w_i` (WLS or IRLS working weights).
    clusters : numpy.ndarray, optional
        Integer cluster codes, required for ``CR1``.
    n_params : int, optional
        :math:`K` of the small-sample factor, default ``k``; pass ``k`` plus the absorbed
        fixed effects (for CR1: those not nested in the clusters).
    bread_matrix : numpy.ndarray, optional
        Precomputed :math:`(X'WX)^{-1}`.

    Returns
    -------
    Covariance
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    n, k = X.shape
    u = np.asarray(resid, dtype=np.float64).ravel()
    K = k if n_params is None else int(n_params)
    if n - K <= 0:
        raise EstimationError(f"no residual degrees of freedom: {n} observations for {K} parameters")
    B = bread(X, weights) if bread_matrix is None else bread_matrix
    wu = u if weights is None else weights * u
    if kind == "classical":
        sigma2 = float(np.sum(wu * u)) / (n - K)
        return Covariance(sigma2 * B, kind, float(n - K), sigma2)
    scores = X * wu[:, None]
    if kind == "HC1":
        factor = n / (n - K)
        meat = scores.T @ scores
        return Covariance(factor * (B @ meat @ B), kind, float(n - K), factor)
    if kind == "CR1":
        if clusters is None:
            raise ValueError("CR1 needs cluster codes")
        cl = np.asarray(clusters, dtype=np.intp)
        G = int(np.count_nonzero(np.bincount(cl)))
        if G < 2:
            raise EstimationError("cluster-robust standard errors need at least 2 clusters")
        ng = int(cl.max()) + 1
        S = np.empty((ng, k))
        for j in range(k):
            S[:, j] = np.bincount(cl, weights=scores[:, j], minlength=ng)
        meat = S.T @ S
        factor = G / (G - 1) * (n - 1) / (n - K)
        return Covariance(factor * (B @ meat @ B), kind, float(G - 1), factor, G)
    raise ValueError(f"unknown covariance kind {kind!r}")


@dataclass(frozen=True)
class WaldTest:
    r"""A joint Wald test of :math:`R\beta = 0`.

    Attributes
    ----------
    statistic : float
        :math:`F = W/q` when ``df_denom`` is given, else :math:`W` (chi-squared).
    p_value : float
    df_num : int
        Number of restrictions :math:`q`.
    df_denom : float or None
        Denominator degrees of freedom of the F form.
    distribution : str
        ``"F"`` or ``"chi2"``.
    """

    statistic: float
    p_value: float
    df_num: int
    df_denom: float | None
    distribution: str


def wald_test(
    beta: np.ndarray, vcov: np.ndarray, R: np.ndarray, *, df_denom: float | None = None
) -> WaldTest:
    r"""Wald test of :math:`R\beta = 0`.

    .. math::

        W = (R\hat\beta)' (R \hat V R')^{-1} (R\hat\beta), \qquad
        F = W / q \sim F(q, \nu) \ \text{or}\ W \sim \chi^2_q .

    With a cluster-robust :math:`\hat V` use :math:`\nu = G - 1` (R ``fixest::wald``,
    Stata ``test`` after ``vce(cluster)``).
    """
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    rb = R @ np.asarray(beta, dtype=np.float64)
    q = R.shape[0]
    M = R @ vcov @ R.T
    # A singular restriction covariance (e.g. more restrictions than clusters) is handled as
    # Stata's ``test`` does: a generalised inverse and the degrees of freedom cut to its rank.
    rank = int(np.linalg.matrix_rank(M, hermitian=True))
    if rank == q:
        W = float(rb @ np.linalg.solve(M, rb))
    else:
        W = float(rb @ np.linalg.pinv(M, hermitian=True) @ rb)
        q = max(rank, 1)
    if df_denom is None:
        return WaldTest(W, float(special.chdtrc(q, W)), q, None, "chi2")
    F = W / q
    return WaldTest(F, float(special.fdtrc(q, df_denom, F)), q, float(df_denom), "F")
