r"""Covariate-adjusted two-period DiD for one Callaway–Sant'Anna cell (conditional parallel trends).

Each group-time cell compares the change :math:`\Delta Y = Y_t - Y_b` of the cohort
(:math:`D = 1`) with that of its comparison units (:math:`D = 0`), covariates :math:`X`
(with an intercept) taken at the base period :math:`b`. Two estimators of Sant'Anna & Zhao
(2020), "Doubly robust difference-in-differences estimators", *Journal of Econometrics*
219(1): 101–122, panel case, as used by Callaway & Sant'Anna (2021) and R ``did``:

``reg`` (outcome regression, Heckman, Ichimura & Todd 1997): fit
:math:`\Delta Y = X^\top\gamma` by OLS on the comparison units, then

.. math:: \hat\tau^{reg} = \bar{\Delta Y}_{D=1} - \overline{X^\top\hat\gamma}_{D=1}.

``dr`` (doubly robust, their eq. 3.1): with a logit propensity score :math:`\hat p(X)` and the
same outcome regression,

.. math::

    \hat\tau^{dr} = \frac{\sum_i D_i (\Delta Y_i - X_i^\top\hat\gamma)}{\sum_i D_i}
    - \frac{\sum_i w_i (\Delta Y_i - X_i^\top\hat\gamma)}{\sum_i w_i},
    \qquad w_i = \frac{\hat p(X_i)(1 - D_i)}{1 - \hat p(X_i)},

consistent if either the outcome regression or the propensity score is correctly specified.
Comparison units with :math:`\hat p \ge 0.995` are trimmed (weight 0), as in R ``DRDID``.

Both return the estimate and its influence function on the cell's units (means over the
cell), including the estimation effect of :math:`\hat\gamma` (and of the propensity score
for ``dr``); the caller rescales it to the full sample.
"""

from __future__ import annotations

import numpy as np

from preveval.errors import EstimationError

__all__ = ["cell_att"]

TRIM = 0.995


def _ols_influence(dy: np.ndarray, X: np.ndarray, ctrl: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted :math:`X\\hat\\gamma` (weighted OLS on the comparison units) for every unit and
    the influence of :math:`\\hat\\gamma` (n x k)."""
    n = len(dy)
    wc = np.where(ctrl, w, 0.0)
    if X.shape[1] == 1:  # the constant alone (no covariates): a weighted mean, in vector operations
        share = wc.sum() / n  # (matrix products of one column pay BLAS's set-up on every cell)
        if not share > 0:
            raise EstimationError("the covariates are collinear among the comparison units of a cell")
        fit = np.full(n, (wc @ dy) / n / share)
        return fit, ((wc * (dy - fit)) / share)[:, None]
    xtx = (X * wc[:, None]).T @ X / n
    if np.linalg.matrix_rank(xtx) < X.shape[1]:
        raise EstimationError("the covariates are collinear among the comparison units of a cell")
    gamma = np.linalg.solve(xtx, (X * wc[:, None]).T @ dy / n)
    fit = X @ gamma
    return fit, ((wc * (dy - fit))[:, None] * X) @ np.linalg.inv(xtx)


def _reg(dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    treat = D == 1
    fit, lin_gamma = _ols_influence(dy, X, ~treat, w)
    wt = w * treat
    pt = wt.mean()
    eta_t = (wt * dy).mean() / pt
    eta_c = (wt * fit).mean() / pt
    inf_t = wt * (dy - eta_t) / pt
    moment = (wt[:, None] * X).mean(axis=0)
    inf_c = (wt * (fit - eta_c) + lin_gamma @ moment) / pt
    return float(eta_t - eta_c), inf_t - inf_c


def _dr(dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    n = len(dy)
    treat = D == 1
    import statsmodels.api as sm  # only doubly robust covariates need it (a second's import)

    logit = sm.GLM(D.astype(float), X, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-12, maxiter=200)
    ps = np.minimum(np.asarray(logit.predict(X), dtype=float), 1.0 - 1e-6)  # as R DRDID
    keep = np.where(treat, 1.0, (ps < TRIM).astype(float))
    fit, lin_gamma = _ols_influence(dy, X, ~treat, w)
    u = dy - fit
    w1 = keep * w * treat
    w0 = keep * w * ps * (~treat) / (1.0 - ps)
    if w1.sum() <= 0 or w0.sum() <= 0:
        raise EstimationError("no overlap between the cohort and its comparison units in a cell")
    eta1 = (w1 * u).mean() / w1.mean()
    eta0 = (w0 * u).mean() / w0.mean()
    # influence of the logit coefficients: score times the inverse information (times n)
    info = (X * (w * ps * (1.0 - ps))[:, None]).T @ X
    lin_ps = ((w * (D - ps))[:, None] * X) @ np.linalg.inv(info) * n
    inf1 = (w1 * u - w1 * eta1 - lin_gamma @ (w1[:, None] * X).mean(axis=0)) / w1.mean()
    m2 = (w0[:, None] * (u - eta0)[:, None] * X).mean(axis=0)
    m3 = (w0[:, None] * X).mean(axis=0)
    inf0 = (w0 * u - w0 * eta0 + lin_ps @ m2 - lin_gamma @ m3) / w0.mean()
    return float(eta1 - eta0), inf1 - inf0


def cell_att(dy: np.ndarray, D: np.ndarray, covariates: np.ndarray, method: str,
             weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """ATT of one cell and its influence function on the cell's units.

    ``method``: ``dr`` or ``reg``; ``covariates`` may have no columns (then both are the
    weighted difference of mean changes). ``weights`` (unit weights) are scaled to mean 1 in
    the cell, as R ``DRDID`` does.
    """
    X = np.column_stack([np.ones(len(dy)), covariates])
    w = np.ones(len(dy)) if weights is None else np.asarray(weights, dtype=float) / np.mean(weights)
    if X.shape[1] == 1 or method == "reg":
        return _reg(dy, D, X, w)
    return _dr(dy, D, X, w)
