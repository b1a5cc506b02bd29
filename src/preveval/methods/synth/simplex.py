r"""Least squares over the unit simplex, solved exactly by an active-set method.

The synthetic-control weight problem of Abadie & Gardeazabal (2003) is

.. math::

    \min_{w \in \Delta^{J}} \lVert A w - b \rVert_2^2,
    \qquad \Delta^{J} = \{w \in \mathbb{R}^J : w_j \ge 0,\ \textstyle\sum_j w_j = 1\},

with :math:`A = V^{1/2} X_0` and :math:`b = V^{1/2} X_1`. Because :math:`\sum_j w_j = 1`,
:math:`A w - b = C w` with :math:`C = A - b\,\mathbf{1}^\top`: the problem is Wolfe's
minimum-norm point of the convex hull of the columns of :math:`C` (Wolfe 1976,
*Mathematical Programming* 11:128-149). It is turned into a non-negative least-squares
problem without any penalty constant: for :math:`\gamma > 0`,

.. math::

    \min_{u \ge 0} \lVert C u \rVert^2 + \gamma^2 (\mathbf{1}^\top u - 1)^2

is solved at :math:`u = t\,w^\ast` with :math:`t = \gamma^2 / (\gamma^2 + \lVert C
w^\ast\rVert^2)`; writing :math:`u = t w` with :math:`w \in \Delta^J`, the inner minimum over
:math:`t` is :math:`\gamma^2 \lVert C w\rVert^2 / (\gamma^2 + \lVert C w\rVert^2)`,
increasing in :math:`\lVert C w \rVert^2`, so :math:`w^\ast = u / \mathbf{1}^\top u` is the
simplex solution. The non-negative problem is solved by the Lawson-Hanson active-set
algorithm (Lawson & Hanson 1974, *Solving Least Squares Problems*, ch. 23, algorithm NNLS),
which terminates in finitely many steps and keeps the columns of its passive set linearly
independent, so rank-deficient problems (more donors than predictors) are handled. A final
polish re-solves the equality-constrained problem on the support.

Ties: when the minimiser is not unique (an affinely dependent set of donors fits equally
well), the method returns the vertex-sparse solution reached by always entering the
column with the largest dual value, the lowest index among exact ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import EstimationError

__all__ = [
    "SimplexSolution", "simplex_kkt_residual", "simplex_least_squares", "simplex_weights_fast",
]


@dataclass(frozen=True)
class SimplexSolution:
    """The minimiser of :math:`\\lVert A w - b\\rVert^2` over the simplex.

    Attributes
    ----------
    weights : numpy.ndarray
        ``(J,)`` non-negative weights summing to one.
    objective : float
        :math:`\\lVert A w - b \\rVert^2` at ``weights``.
    support : int
        Number of donors with positive weight.
    kkt_residual : float
        :func:`simplex_kkt_residual` at the solution (0 is exact optimality).
    """

    weights: np.ndarray
    objective: float
    support: int
    kkt_residual: float


def _nnls(
    E: np.ndarray, f: np.ndarray, max_iter: int, start: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Lawson-Hanson NNLS: ``argmin_{u >= 0} ||E u - f||``; returns ``(u, iterations)``.

    ``start`` (a boolean mask) is a guess of the passive set: when the unconstrained
    least squares on it is strictly positive, the iterations begin there (a warm start in
    the manner of Bro & De Jong 1997, *J. Chemometrics* 11:393-401); the result is the
    same optimum, reached in fewer steps.
    """
    m, n = E.shape
    u = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    if start is not None and start.any():
        cols = np.flatnonzero(start)
        sol, *_ = np.linalg.lstsq(E[:, cols], f, rcond=None)
        if np.all(sol > 0):
            u[cols] = sol
            passive[cols] = True
    scale = max(float(np.abs(E).sum(axis=0).max()), 1e-300)
    tol = 10.0 * np.finfo(float).eps * scale * max(m, n) * max(float(np.abs(f).max()), 1.0)
    blocked = np.zeros(n, dtype=bool)
    it = 0
    dual = E.T @ (f - E @ u)
    while it < max_iter:
        candidates = ~passive & ~blocked
        if not candidates.any():
            break
        masked = np.where(candidates, dual, -np.inf)
        j = int(np.argmax(masked))
        if masked[j] <= tol:
            break
        passive[j] = True
        entered = j
        while it < max_iter:
            it += 1
            z = np.zeros(n)
            cols = np.flatnonzero(passive)
            sol, *_ = np.linalg.lstsq(E[:, cols], f, rcond=None)
            z[cols] = sol
            if np.all(sol > 0):
                u = z
                blocked[:] = False
                break
            neg = passive & (z <= 0)
            denom = u[neg] - z[neg]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = np.where(denom > 0, u[neg] / denom, np.inf)
            alpha = float(np.min(ratios)) if ratios.size else 0.0
            if not np.isfinite(alpha):
                alpha = 0.0
            if alpha == 0.0 and neg[entered] and u[entered] == 0.0:
                # the entering column cannot move: numerically dependent; block it
                passive[entered] = False
                blocked[entered] = True
                break
            u = u + alpha * (z - u)
            drop = passive & (u <= tol * 1e-3)
            drop |= neg & (np.abs(u) <= np.finfo(float).eps * np.maximum(1.0, np.abs(z)))
            passive &= ~drop
            u[~passive] = 0.0
            if not passive.any():
                break
        dual = E.T @ (f - E @ u)
    return u, it


def _polish(C: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Re-solve ``min ||C_S w_S||`` s.t. ``sum w_S = 1`` on the support ``S`` (KKT system)."""
    support = np.flatnonzero(w > 0)
    if support.size <= 1:
        out = np.zeros_like(w)
        out[support] = 1.0
        return out
    Cs = C[:, support]
    k = support.size
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = Cs.T @ Cs
    kkt[:k, k] = 1.0
    kkt[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    sol, *_ = np.linalg.lstsq(kkt, rhs, rcond=None)
    ws = sol[:k]
    if not np.all(ws > 0):
        return w
    out = np.zeros_like(w)
    out[support] = ws / ws.sum()
    # keep the polish only if it does not worsen the fit
    if np.sum((C @ out) ** 2) <= np.sum((C @ w) ** 2):
        return out
    return w


def fast_nnls(E: np.ndarray, f: np.ndarray, max_iter: int) -> np.ndarray | None:
    """SciPy's compiled Lawson-Hanson NNLS (the same algorithm, about 30 times faster); None if it fails."""
    from scipy.optimize import nnls

    try:
        u, _ = nnls(E, f, maxiter=max(max_iter, 3 * E.shape[1]))
    except (RuntimeError, ValueError):
        return None
    return u if np.all(np.isfinite(u)) else None


def _weights(C: np.ndarray, max_iter: int, warm_start) -> np.ndarray:
    """Simplex weights minimising ``||C w||`` through the NNLS reduction (no polish)."""
    J = C.shape[1]
    gamma = float(np.sqrt(np.sum(C**2) / J))
    if gamma == 0.0:
        return np.full(J, 1.0 / J)
    E = np.vstack([C, np.full((1, J), gamma)])
    f = np.zeros(C.shape[0] + 1)
    f[-1] = gamma
    u = fast_nnls(E, f, max_iter)
    if u is None:
        start = None if warm_start is None else np.asarray(warm_start, dtype=float) > 0
        u, _ = _nnls(E, f, max_iter, start)
    total = float(u.sum())
    if not np.isfinite(total) or total <= 0:
        raise EstimationError("simplex_least_squares: the active-set solver found no solution")
    return u / total


def simplex_weights_fast(A: np.ndarray, b: np.ndarray, warm_start=None) -> np.ndarray:
    """The weights of :func:`simplex_least_squares` without polish or checks (inner loops)."""
    if A.shape[1] == 1:
        return np.ones(1)
    return _weights(A - b[:, None], 30 * (A.shape[1] + 1), warm_start)


def simplex_kkt_residual(A: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    r"""Largest violation of the optimality conditions of the simplex least squares.

    With gradient :math:`g = 2 A^\top (A w - b)` and :math:`\nu = \min_j g_j`, optimality
    requires :math:`g_j = \nu` where :math:`w_j > 0` and :math:`g_j \ge \nu` elsewhere, plus
    feasibility. Returned: ``max(max_{w_j>0}(g_j - nu), -min(w), |sum(w) - 1|)``, scaled by
    ``max(1, ||g||_inf)``.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    w = np.asarray(w, dtype=float)
    g = 2.0 * A.T @ (A @ w - b)
    nu = float(g.min())
    on = w > 0
    stationarity = float(np.max(g[on] - nu)) if on.any() else 0.0
    feas = max(float(-w.min()), abs(float(w.sum()) - 1.0))
    return max(stationarity / max(1.0, float(np.abs(g).max())), feas)


def simplex_least_squares(
    A, b, *, max_iter: int | None = None, warm_start: np.ndarray | None = None
) -> SimplexSolution:
    r"""Minimise :math:`\lVert A w - b\rVert^2` over the unit simplex.

    Parameters
    ----------
    A : array_like
        ``(k, J)`` design (for synthetic control: :math:`V^{1/2} X_0`).
    b : array_like
        ``(k,)`` target (:math:`V^{1/2} X_1`).
    max_iter : int, optional
        Cap on active-set iterations; default ``30 * (J + 1)``.
    warm_start : array_like, optional
        Previous weights; their support seeds the active set (same optimum, fewer steps).

    Returns
    -------
    SimplexSolution

    Notes
    -----
    Exact up to floating point: see the module docstring for the reduction to NNLS.
    Deterministic: no randomness, and ties are broken by the lowest column index.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float).ravel()
    if A.ndim != 2 or A.shape[0] != b.shape[0]:
        raise EstimationError(f"simplex_least_squares: A is {A.shape}, b is {b.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
        raise EstimationError("simplex_least_squares: A and b must be finite")
    J = A.shape[1]
    if J == 0:
        raise EstimationError("simplex_least_squares: no columns (donors)")
    if J == 1:
        w = np.ones(1)
        return SimplexSolution(w, float(np.sum((A @ w - b) ** 2)), 1, 0.0)
    C = A - b[:, None]
    w = _weights(C, max_iter or 30 * (J + 1), warm_start)
    w = _polish(C, w)
    objective = float(np.sum((A @ w - b) ** 2))
    return SimplexSolution(w, objective, int(np.count_nonzero(w)), simplex_kkt_residual(A, b, w))
