"""Absorbing fixed effects by alternating projections; the OLS core with absorbed fixed effects.

Codes, singletons and degrees of freedom are in :mod:`preveval.inference.fe_structure`.

The within transformation removes the fixed effects from every column of a design so
that the remaining coefficients can be estimated by OLS/WLS on the demeaned data
(Frisch–Waugh–Lovell). With several fixed-effect dimensions the projection has no closed
form and is computed by the method of alternating projections (Gauss–Seidel sweeps over
the dimensions, Guimarães & Portugal 2010; Gaure 2013), accelerated by the Irons–Tuck
extrapolation used in R ``fixest`` (Bergé 2018).

References
----------
Bergé, L. (2018). Efficient estimation of maximum likelihood models with multiple
fixed-effects: the R package FENmlm. CREA Discussion Paper 2018-13.

Correia, S. (2015). Singletons, cluster-robust standard errors and fixed effects: a bad
mix. Technical note.

Gaure, S. (2013). OLS with multiple high dimensional category variables. Computational
Statistics & Data Analysis, 66, 8-18.

Guimarães, P. & Portugal, P. (2010). A simple feasible procedure to fit models with
high-dimensional fixed effects. Stata Journal, 10(4), 628-649.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from preveval.errors import EstimationError
from preveval.inference.covariance import Covariance, bread, covariance
from preveval.inference.fe_structure import compact_codes, fixed_effects_dof, singleton_mask

if TYPE_CHECKING:
    from preveval.inference.fe_structure import FixedEffectsDof

__all__ = ["DemeanInfo", "FeFit", "demean", "fit_feols"]


@dataclass(frozen=True)
class DemeanInfo:
    """How the alternating projections went.

    Attributes
    ----------
    iterations : int
        Largest number of sweeps needed by any column.
    converged : bool
        Whether every column met the tolerance within ``maxiter`` sweeps.
    max_change : float
        Largest scaled change in the last sweep over all columns.
    n_fe : int
        Number of fixed-effect dimensions absorbed.
    """

    iterations: int
    converged: bool
    max_change: float
    n_fe: int


def _group_mean(x: np.ndarray, codes: np.ndarray, wsum_inv: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    s = np.bincount(codes, weights=x if w is None else w * x, minlength=wsum_inv.shape[0])
    s *= wsum_inv
    return s[codes]


def demean(
    X: np.ndarray,
    fe: Sequence[np.ndarray],
    weights: np.ndarray | None = None,
    tol: float = 1e-10,
    maxiter: int = 10_000,
    *,
    accelerate: bool = True,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, DemeanInfo]:
    r"""Remove fixed effects from each column of ``X`` (weighted within transformation).

    For fixed-effect dimensions :math:`D = [D_1, \dots, D_F]` (dummy matrices) and
    weights :math:`W`, returns :math:`\tilde X = M_D X` with
    :math:`M_D = I - D (D' W D)^{-} D' W`, the residual of the weighted projection of
    each column on all fixed effects jointly.

    .. math::

        x^{(s+1)} = P_F \cdots P_2 P_1 \, x^{(s)}, \qquad
        P_f x = x - D_f (D_f' W D_f)^{-1} D_f' W x,

    swept until :math:`\max_i |x^{(s+1)}_i - x^{(s)}_i| \le \mathrm{tol}\cdot
    \max(1, \max_i |x_i|)`. Each projection :math:`P_f` subtracts weighted group means
    computed with ``numpy.bincount``. With ``accelerate`` every second sweep is followed by
    an Irons–Tuck extrapolation (Bergé 2018, sec. 3), which keeps the iterate inside the
    residual space because the sweep map is affine. With one dimension a single pass is
    exact.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n, k)`` or ``(n,)`` array of floats.
    fe : sequence of numpy.ndarray
        One integer code array of length ``n`` per fixed-effect dimension, codes
        ``0..L-1`` (see :func:`fe_codes`). An empty sequence returns a copy of ``X``.
    weights : numpy.ndarray, optional
        Positive observation weights (WLS).
    tol : float
        Convergence tolerance, relative to the column's largest absolute value.
    maxiter : int
        Largest number of sweeps per column.
    accelerate : bool
        Use Irons–Tuck extrapolation.
    start : numpy.ndarray, optional
        Where the sweeps start, of the shape of ``X``: any point of ``X`` plus a combination of
        the fixed-effect dummies (such as an earlier demeaned ``X`` when only the weights
        changed), which the sweeps project to the same limit. A start near it needs fewer
        sweeps (PPML's iterations, Correia, Guimarães & Zylkin 2020). The tolerance stays
        relative to ``X``.

    Returns
    -------
    X_demeaned : numpy.ndarray
        Float64 array of the shape of ``X`` (Fortran order for 2-D input).
    info : DemeanInfo
        Iterations, convergence flag and the final change.

    References
    ----------
    Guimarães & Portugal (2010); Gaure (2013); Bergé (2018).
    """
    arr = np.asarray(X, dtype=np.float64)
    one_d = arr.ndim == 1
    out = np.array(arr.reshape(-1, 1) if one_d else arr, dtype=np.float64, order="F", copy=True)
    n = out.shape[0]
    codes = [np.ascontiguousarray(c, dtype=np.intp) for c in fe]
    if not codes:
        return (out[:, 0] if one_d else out), DemeanInfo(0, True, 0.0, 0)
    for c in codes:
        if c.shape[0] != n:
            raise ValueError("fixed-effect codes and X have different lengths")
    w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    inv = []
    for c in codes:
        ws = np.bincount(c, weights=w, minlength=int(c.max()) + 1).astype(np.float64)
        with np.errstate(divide="ignore"):
            inv.append(np.where(ws > 0, 1.0 / np.where(ws > 0, ws, 1.0), 0.0))

    def sweep(x: np.ndarray) -> np.ndarray:
        for c, wi in zip(codes, inv, strict=True):
            x = x - _group_mean(x, c, wi, w)
        return x

    iterations, converged, last_change = 0, True, 0.0
    begin = None if start is None else np.asarray(start, dtype=np.float64).reshape(out.shape)
    for j in range(out.shape[1]):
        x = out[:, j].copy()
        if len(codes) == 1:
            out[:, j] = sweep(x)
            iterations = max(iterations, 1)
            continue
        scale = max(1.0, float(np.max(np.abs(x))) if n else 1.0)
        if begin is not None:
            x = begin[:, j].copy()
        it, ok, change = 0, False, np.inf
        while it < maxiter:
            x1 = sweep(x)
            it += 1
            change = float(np.max(np.abs(x1 - x))) / scale
            if change <= tol:
                x, ok = x1, True
                break
            if not accelerate:
                x = x1
                continue
            x2 = sweep(x1)
            it += 1
            d21 = x2 - x1
            change = float(np.max(np.abs(d21))) / scale
            if change <= tol:
                x, ok = x2, True
                break
            dd = d21 - (x1 - x)
            denom = float(dd @ dd)
            x = x2 - (float(d21 @ dd) / denom) * d21 if denom > 0 else x2
        out[:, j] = x
        iterations = max(iterations, it)
        converged = converged and ok
        last_change = max(last_change, change)
    info = DemeanInfo(iterations, converged, last_change, len(codes))
    return (out[:, 0] if one_d else out), info


# ------------------------------------------------------------------ regression cores


@dataclass(frozen=True, eq=False)
class FeFit:
    """A least-squares or Poisson fit with absorbed fixed effects (arrays; no formatting).

    Attributes
    ----------
    coef : numpy.ndarray
        Estimated coefficients of the kept regressors, in the order of ``names``.
    names : tuple of str
        Regressor names kept (collinear covariates are dropped, see ``dropped``).
    cov : Covariance
        Covariance with its small-sample factor and t degrees of freedom.
    n_obs : int
        Observations used (after singletons and separated observations were dropped).
    keep : numpy.ndarray
        Boolean mask of the input rows used.
    X, y, resid, weights : numpy.ndarray
        Demeaned regressors and outcome (IRLS working quantities for Poisson), residuals
        and the (working) weights, rows as in ``keep``; what a wild bootstrap needs.
    clusters : numpy.ndarray or None
        Cluster codes of the kept rows.
    dof : FixedEffectsDof
        Degrees of freedom of the fixed effects.
    n_singletons, n_separated : int
        Rows dropped as singletons, and (Poisson) as separated by a fixed effect.
    dropped : tuple of str
        Covariates dropped as collinear.
    iterations : int
        Demeaning sweeps (OLS) or IRLS iterations (Poisson).
    converged : bool
    family : str
        ``gaussian`` or ``poisson``.
    """

    coef: np.ndarray
    names: tuple[str, ...]
    cov: Covariance
    n_obs: int
    keep: np.ndarray
    X: np.ndarray
    y: np.ndarray
    resid: np.ndarray
    weights: np.ndarray | None
    clusters: np.ndarray | None
    dof: FixedEffectsDof
    n_singletons: int = 0
    n_separated: int = 0
    dropped: tuple[str, ...] = ()
    iterations: int = 0
    converged: bool = True
    family: str = "gaussian"

    def index(self, name: str) -> int:
        """Position of a regressor in ``coef``."""
        return self.names.index(name)


def _subset(fe: Sequence[np.ndarray], keep: np.ndarray) -> list[np.ndarray]:
    return [compact_codes(np.asarray(c)[keep]) for c in fe]


def _independent(
    Xd: np.ndarray, X: np.ndarray, names: Sequence[str], w: np.ndarray | None, protect: Sequence[str]
) -> np.ndarray:
    """Mask of columns linearly independent of the fixed effects and of earlier columns."""
    Xw = Xd if w is None else Xd * w[:, None]
    G = Xw.T @ Xd
    raw = np.einsum("ij,ij->j", X if w is None else X * w[:, None], X)
    from scipy.linalg import solve_triangular

    keep = np.zeros(len(names), dtype=bool)
    # Cholesky factor of the Gram matrix of the columns kept so far, grown a row at a time: the
    # part of column j that earlier columns do not explain is gjj minus the squared length of
    # L^-1 G[kept, j] (the Schur complement), one triangular solve per column instead of a
    # least-squares solve (event studies and Sun-Abraham have hundreds of columns)
    L = np.zeros((len(names), len(names)))
    m = 0
    for j in range(len(names)):
        gjj = G[j, j]
        ok = gjj > 1e-10 * max(raw[j], 1e-300)
        y = None
        if ok and m:
            idx = np.flatnonzero(keep)
            y = solve_triangular(L[:m, :m], G[idx, j], lower=True, check_finite=False)
            ok = gjj - y @ y > 1e-9 * gjj
        if ok:
            if y is not None:
                L[m, :m] = y
            L[m, m] = np.sqrt(gjj - (0.0 if y is None else y @ y))
            m += 1
        if not ok and names[j] in protect:
            raise EstimationError(
                f"'{names[j]}' is collinear with the fixed effects or other regressors, so "
                "its effect cannot be estimated (check that treatment varies within units and "
                "periods and that there are untreated comparison observations)"
            )
        keep[j] = ok
    return keep


def _cov_for(
    Xd: np.ndarray,
    resid: np.ndarray,
    w: np.ndarray | None,
    clusters: np.ndarray | None,
    vcov: str,
    dof: FixedEffectsDof,
    B: np.ndarray,
) -> Covariance:
    k = Xd.shape[1]
    extra = dof.for_cluster if vcov == "CR1" else dof.absorbed
    return covariance(
        Xd, resid, kind=vcov, weights=w, clusters=clusters, n_params=k + extra, bread_matrix=B  # type: ignore[arg-type]
    )


def fit_feols(
    y: np.ndarray,
    X: np.ndarray,
    names: Sequence[str],
    fe: Sequence[np.ndarray],
    *,
    weights: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    vcov: str = "CR1",
    protect: Sequence[str] = (),
    drop_singletons: bool = True,
    tol: float = 1e-10,
) -> FeFit:
    r"""OLS/WLS with absorbed fixed effects (the within estimator).

    .. math::

        y_i = x_i'\beta + \sum_f \alpha_{f, g_f(i)} + \varepsilon_i, \qquad
        \hat\beta = (\tilde X' W \tilde X)^{-1} \tilde X' W \tilde y,

    where tildes denote :func:`demean` (Frisch–Waugh–Lovell). Singletons are dropped first
    when fixed effects are present (as ``pyfixest``/``reghdfe``). Without fixed effects,
    ``X`` must contain the intercept column.

    Parameters
    ----------
    y, X, names : array, array, sequence of str
        Outcome, ``(n, k)`` regressors and their names.
    fe : sequence of numpy.ndarray
        Integer codes of each fixed-effect dimension.
    weights, clusters : numpy.ndarray, optional
        WLS weights; integer cluster codes (needed for ``vcov="CR1"``).
    vcov : {"classical", "HC1", "CR1"}
        Covariance estimator (:func:`preveval.inference.covariance.covariance`).
    protect : sequence of str
        Regressors that must be estimable: collinearity raises :class:`EstimationError`
        instead of dropping them.
    drop_singletons : bool
        Drop singleton fixed-effect groups.
    tol : float
        Demeaning tolerance.

    Returns
    -------
    FeFit
    """
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    n0 = len(y)
    keep = singleton_mask(fe) if (fe and drop_singletons) else np.ones(n0, dtype=bool)
    all_kept = bool(keep.all())
    if not all_kept:
        y, X = y[keep], X[keep]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    fek = _subset(fe, keep) if not all_kept else [np.asarray(c, dtype=np.intp) for c in fe]
    cl = None if clusters is None else compact_codes(np.asarray(clusters)[keep])
    YX = np.empty((len(y), X.shape[1] + 1), order="F")
    YX[:, 0] = y
    YX[:, 1:] = X
    D, info = demean(YX, fek, w, tol=tol)
    del YX
    yd, Xd = D[:, 0], D[:, 1:]
    ok = _independent(Xd, X, names, w, protect)
    dropped = tuple(n for n, o in zip(names, ok, strict=True) if not o)
    if not ok.all():
        Xd = Xd[:, ok]
    kept_names = tuple(n for n, o in zip(names, ok, strict=True) if o)
    if not kept_names:
        raise EstimationError("no estimable regressor is left after absorbing the fixed effects")
    B = bread(Xd, w)
    coef = B @ ((Xd if w is None else Xd * w[:, None]).T @ yd)
    resid = yd - Xd @ coef
    dof = fixed_effects_dof(fek, cl if vcov == "CR1" else None)
    cov = _cov_for(Xd, resid, w, cl, vcov, dof, B)
    return FeFit(
        coef, kept_names, cov, len(y), keep, Xd, yd, resid, w, cl, dof,
        n_singletons=n0 - int(keep.sum()), dropped=dropped,
        iterations=info.iterations, converged=info.converged,
    )
