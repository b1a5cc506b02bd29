"""Absorbing fixed effects: alternating projections, singletons, degrees of freedom.

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

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from preveval.errors import EstimationError
from preveval.inference.covariance import Covariance, bread, covariance

__all__ = [
    "DemeanInfo",
    "FeFit",
    "FixedEffectsDof",
    "absorbed_dof",
    "compact_codes",
    "demean",
    "fe_codes",
    "fit_feols",
    "fixed_effects_dof",
    "is_nested",
    "n_levels",
    "singleton_mask",
]


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


def fe_codes(values: object) -> np.ndarray:
    """Integer codes ``0..L-1`` of a fixed-effect or cluster variable (``pandas.factorize``)."""
    codes, _ = pd.factorize(pd.Series(values), sort=True)  # type: ignore[call-overload]
    if (codes < 0).any():
        raise ValueError("fixed-effect variable has missing values")
    return codes.astype(np.intp, copy=False)


def n_levels(codes: np.ndarray) -> int:
    """Number of distinct non-negative integer codes (``O(n)``, no sort)."""
    codes = np.asarray(codes)
    return 0 if codes.size == 0 else int(np.count_nonzero(np.bincount(codes)))


def compact_codes(codes: np.ndarray) -> np.ndarray:
    """Renumber integer codes to ``0..L-1`` with no empty level (after subsetting rows)."""
    codes = np.asarray(codes)
    present = np.bincount(codes) > 0
    if present.all():
        return codes.astype(np.intp, copy=False)
    new = np.cumsum(present) - 1
    return new[codes].astype(np.intp, copy=False)


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
    for j in range(out.shape[1]):
        x = out[:, j].copy()
        if len(codes) == 1:
            out[:, j] = sweep(x)
            iterations = max(iterations, 1)
            continue
        scale = max(1.0, float(np.max(np.abs(x))) if n else 1.0)
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


def singleton_mask(fe: Sequence[np.ndarray]) -> np.ndarray:
    """Rows to keep after iteratively dropping singleton fixed-effect groups.

    A singleton is an observation alone in its level of some fixed effect; it is fitted
    perfectly, adds nothing to the estimates and, if kept, understates cluster-robust
    standard errors (Correia 2015). Dropping one can create another, so the pass repeats
    until none is left, as ``reghdfe`` and ``pyfixest`` (``fixef_rm="singleton"``) do.

    Returns
    -------
    numpy.ndarray
        Boolean mask of rows to keep.
    """
    if not fe:
        return np.ones(0, dtype=bool)
    n = len(fe[0])
    keep = np.ones(n, dtype=bool)
    changed = True
    while changed:
        changed = False
        for c in fe:
            counts = np.bincount(c, weights=keep.astype(np.float64))
            single = keep & (counts[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
    return keep


def absorbed_dof(fe: Sequence[np.ndarray]) -> int:
    r"""Number of fixed-effect parameters the within transformation absorbs.

    .. math::

        K_{FE} = \sum_f L_f - (F - 1) - (C_{12} - 1),

    where :math:`L_f` is the number of levels of dimension :math:`f`, :math:`F` the number of
    dimensions and :math:`C_{12}` the number of connected components of the bipartite
    graph of the first two dimensions (exact redundancy count for two-way fixed effects,
    Abowd, Creecy & Kramarz 2002). Higher dimensions are assumed to add one redundancy
    each, as ``reghdfe`` does by default. With a connected design (the usual panel) this
    equals ``pyfixest``'s ``sum(L_f) - (F - 1)``. The intercept is counted inside the fixed
    effects.
    """
    if not fe:
        return 0
    levels = [n_levels(c) for c in fe]
    total = sum(levels) - (len(fe) - 1)
    if len(fe) >= 2:
        a, b = compact_codes(fe[0]), compact_codes(fe[1])
        la, lb = levels[0], levels[1]
        graph = sparse.coo_matrix(
            (np.ones(a.shape[0]), (a, b + la)), shape=(la + lb, la + lb)
        ).tocsr()
        n_comp, _ = connected_components(graph, directed=False)
        total -= n_comp - 1
    return total


def is_nested(fe: np.ndarray, cluster: np.ndarray) -> bool:
    """Whether every level of ``fe`` lies inside a single cluster (FE nested in cluster)."""
    fe = np.asarray(fe, dtype=np.intp)
    cluster = np.asarray(cluster)
    rep = np.empty(int(fe.max()) + 1, dtype=cluster.dtype)
    rep[fe] = cluster  # one cluster of each level (the last row's)
    return bool(np.array_equal(rep[fe], cluster))


@dataclass(frozen=True)
class FixedEffectsDof:
    """Degrees of freedom used by fixed effects.

    Attributes
    ----------
    absorbed : int
        All absorbed parameters (:func:`absorbed_dof`).
    nested : tuple of bool
        For each dimension, whether it is nested within the cluster variable.
    for_cluster : int
        Absorbed parameters that count in :math:`K` of the CR1 factor: nested dimensions
        are left out, each contributing one parameter back (``fixest``/``reghdfe``;
        ``pyfixest`` ``k_fixef="nonnested"``).
    """

    absorbed: int
    nested: tuple[bool, ...]
    for_cluster: int


def fixed_effects_dof(fe: Sequence[np.ndarray], cluster: np.ndarray | None = None) -> FixedEffectsDof:
    r"""Degrees of freedom of the fixed effects, overall and for the CR1 correction.

    .. math::

        K_{FE}^{\mathrm{CR1}} = K_{FE} - \sum_{f\ \mathrm{nested}} L_f + \#\{f\ \mathrm{nested}\}

    Fixed effects nested within clusters do not reduce the cluster-robust degrees of
    freedom (Cameron & Miller 2015, sec. VI.B; Gormley & Matsa 2014), which is how
    ``reghdfe``, ``fixest`` and ``pyfixest`` count them.
    """
    absorbed = absorbed_dof(fe)
    if cluster is None or not fe:
        return FixedEffectsDof(absorbed, tuple(False for _ in fe), absorbed)
    nested = tuple(is_nested(c, cluster) for c in fe)
    k = absorbed
    if any(nested):
        for c, nst in zip(fe, nested, strict=True):
            if nst:
                k -= n_levels(c) - 1
    return FixedEffectsDof(absorbed, nested, k)


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
    keep = np.zeros(len(names), dtype=bool)
    for j in range(len(names)):
        gjj = G[j, j]
        ok = gjj > 1e-10 * max(raw[j], 1e-300)
        if ok and keep.any():
            idx = np.flatnonzero(keep)
            sol = np.linalg.lstsq(G[np.ix_(idx, idx)], G[idx, j], rcond=None)[0]
            ok = gjj - G[j, idx] @ sol > 1e-9 * gjj
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
