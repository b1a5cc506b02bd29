"""Poisson pseudo-maximum likelihood with absorbed fixed effects (PPML).

IRLS in which every step absorbs the fixed effects by weighted demeaning
(:func:`~preveval.inference.fixed_effects.demean`), as R ``fixest::fepois`` and
``pyfixest.fepois`` do (Santos Silva & Tenreyro 2006; Correia, Guimarães & Zylkin 2020,
*Stata Journal* 20(1): 95-115). Split from :mod:`preveval.inference.fixed_effects`, whose
within OLS, singletons, degrees of freedom and covariance helpers it shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from preveval.inference.covariance import Covariance, bread
from preveval.inference.fe_structure import compact_codes, fixed_effects_dof, singleton_mask
from preveval.inference.fixed_effects import FeFit, _cov_for, _independent, _subset, demean

__all__ = ["fit_fepois"]


def _poisson_deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray | None) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    return float(2.0 * np.sum(t if w is None else w * t))


def fit_fepois(
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
    tol: float = 1e-12,
    fixef_tol: float = 1e-12,
    maxiter: int = 100,
    offset: np.ndarray | None = None,
) -> FeFit:
    r"""Poisson pseudo-maximum likelihood (PPML) with absorbed fixed effects.

    .. math::

        E[y_i \mid x_i, \alpha] = \exp\Big(o_i + x_i'\beta + \sum_f \alpha_{f, g_f(i)}\Big),

    with an optional offset :math:`o_i` (the log of an exposure such as population; the
    working outcome net of the offset is demeaned, as ``fixest::fepois(offset=)``),

    fitted by iteratively reweighted least squares with the fixed effects absorbed inside
    each step (Guimarães 2014; Correia, Guimarães & Zylkin 2020, eq. 8-10): working outcome
    :math:`z = \eta + y/\mu - 1`, working weights :math:`w\mu`, weighted :func:`demean` of
    :math:`[z, X]`, WLS step; stop when the relative deviance change
    :math:`|D - D_{old}|/(0.1 + |D_{old}|) <` ``tol`` (the ``fixest`` criterion). Before
    fitting, singletons are dropped, then observations in fixed-effect levels whose
    outcomes are all zero (separated; ``pyfixest`` ``separation_check=["fe"]``). The
    covariance uses working weights and working residuals (sandwich of the PPML score).

    Returns
    -------
    FeFit
        ``coef`` on the log scale.

    References
    ----------
    Santos Silva, J. M. C. & Tenreyro, S. (2006). The log of gravity. Review of Economics
    and Statistics, 88(4), 641-658.

    Correia, S., Guimarães, P. & Zylkin, T. (2020). Fast Poisson estimation with
    high-dimensional fixed effects. Stata Journal, 20(1), 95-115.
    """
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
    n0 = len(y)
    keep = singleton_mask(fe) if (fe and drop_singletons) else np.ones(n0, dtype=bool)
    n_single = n0 - int(keep.sum())
    pos = (y > 0).astype(np.float64)
    for c in fe:
        npos = np.bincount(c, weights=pos * keep)
        keep &= npos[c] > 0
    n_sep = n0 - n_single - int(keep.sum())
    y, X = y[keep], X[keep]
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=np.float64)[keep]
    uw = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    fek = _subset(fe, keep)
    cl = None if clusters is None else compact_codes(np.asarray(clusters)[keep])
    mu = (y + np.mean(y)) / 2.0
    eta = np.log(mu)
    if offset is not None:  # start from the mean rate times the exposure
        mu = np.exp(off) * (y.sum() / np.exp(off).sum() + y / np.exp(off)) / 2.0
        eta = np.log(mu)
    last = _poisson_deviance(y, mu, uw)
    ok: np.ndarray | None = None
    converged = False
    it = 0
    D: np.ndarray | None = None
    z_last: np.ndarray | None = None
    while it < maxiter:
        it += 1
        z = eta + y / mu - 1.0
        cw = mu if uw is None else uw * mu
        ZX = np.empty((len(y), X.shape[1] + 1), order="F")
        ZX[:, 0] = z - off
        ZX[:, 1:] = X
        # warm start: the last step's demeaned columns, the working outcome moved by its change
        # (both stay in the column plus the span of the dummies, so the limit is the same)
        begin = None
        if D is not None and z_last is not None:
            begin = D.copy(order="F")
            begin[:, 0] += z - z_last
        D, _ = demean(ZX, fek, cw, tol=fixef_tol, start=begin)
        z_last = z
        zd, Xd = D[:, 0], D[:, 1:]
        if ok is None:
            ok = _independent(Xd, X, names, cw, protect)
        Xd = Xd[:, ok]
        B = bread(Xd, cw)
        coef = B @ ((Xd * cw[:, None]).T @ zd)
        resid = zd - Xd @ coef
        eta = z - resid
        mu = np.exp(eta)
        dev = _poisson_deviance(y, mu, uw)
        crit = abs(dev - last) / (0.1 + abs(last))
        last = dev
        if crit < tol:
            converged = True
            break
    assert ok is not None
    kept_names = tuple(n for n, o in zip(names, ok, strict=True) if o)
    dropped = tuple(n for n, o in zip(names, ok, strict=True) if not o)
    dof = fixed_effects_dof(fek, cl if vcov == "CR1" else None)
    if vcov == "classical":
        K = Xd.shape[1] + dof.absorbed
        factor = (len(y) - 1) / (len(y) - K)
        cov = Covariance(factor * B, "classical", float(len(y) - K), factor)
    else:
        cov = _cov_for(Xd, resid, cw, cl, vcov, dof, B)
    return FeFit(
        coef, kept_names, cov, len(y), keep, Xd, zd, resid, cw, cl, dof,
        n_singletons=n_single, n_separated=n_sep, dropped=dropped,
        iterations=it, converged=converged, family="poisson",
    )
