r"""The conditional-least-favourable hybrid test of Andrews, Roth & Pakes for moment inequalities.

Tests :math:`H_0: \\exists\\,\\delta: E[y] - X\\delta \\le 0` from :math:`y \\sim N(\\mu, \\Sigma)` with the
statistic :math:`\\hat\\eta = \\min_\\delta \\max_j (y_j - X_j\\delta)/\\sigma_j`: first against the
least-favourable critical value at size :math:`\\kappa`, then conditionally on the binding
moments (a truncated normal) at size :math:`(\\alpha-\\kappa)/(1-\\kappa)` (ARP, Sections 3-5;
Rambachan & Roth 2023, Section 3.2). A translation of R ``HonestDiD``'s
``.lp_conditional_test_fn`` (``hybrid_flag = "LF"``), ``.compute_least_favorable_cv`` and
``.vlo_vup_dual_fn``, with the small linear programmes solved by enumerating the dual's
vertices when there is at most one nuisance parameter (HiGHS otherwise).

Reference: Andrews I, Roth J, Pakes A (2023). Inference for linear conditional moment
inequalities. *Review of Economic Studies* 90(6): 2763-2791.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["dual_vertices", "hybrid_reject", "lf_critical_value"]


def _eta_lp(y: np.ndarray, X: np.ndarray, sd: np.ndarray):
    """:math:`\\eta^* = \\min_\\delta \\max_j (y_j - X_j\\delta)/sd_j` with a basic dual solution :math:`\\lambda`.

    By duality :math:`\\eta^* = \\max\\{\\lambda'y : \\lambda \\ge 0, \\lambda'sd = 1, X'\\lambda = 0\\}`; with at most
    one nuisance parameter the dual's vertices are enumerated, otherwise HiGHS solves the primal.
    """
    k = X.shape[1]
    if k <= 1:
        W = np.column_stack([sd, X])
        opt, lam, _ = _max_program(y, np.ones(len(y)), np.eye(len(y)), W, 0.0, raw=True)
        return None if opt is None else (opt, lam)
    res = optimize.linprog(np.r_[1.0, np.zeros(k)], A_ub=-np.column_stack([sd, X]), b_ub=-y,
                           bounds=[(None, None)] * (k + 1), method="highs")
    if res.status != 0:
        return None
    return float(res.fun), -np.asarray(res.ineqlin.marginals)


#: Most candidate bases enumerated for the dual vertices (beyond it each draw solves its LP).
MAX_BASES = 300_000


def dual_vertices(X: np.ndarray, sd: np.ndarray, max_bases: int = MAX_BASES) -> np.ndarray | None:
    r"""Every vertex of the dual polytope :math:`\{\lambda \ge 0: \lambda'sd = 1, X'\lambda = 0\}` (rows).

    The polytope does not depend on :math:`y`, so :math:`\eta^*(y) = \max_v \lambda_v'y` over its
    vertices (a bounded LP attains its optimum at a vertex): one matrix product for all draws
    instead of an LP per draw. Vertices are the basic feasible solutions, enumerated over every
    choice of :math:`k+1` rows; ``None`` when there are more than ``max_bases`` choices, and an
    empty array when the polytope is empty (the primal is then unbounded below).
    """
    from itertools import combinations
    from math import comb

    m, k = X.shape
    r = k + 1
    if r > m or comb(m, r) > max_bases:
        return None
    A = np.vstack([sd, X.T])  # r x m: A @ lam = e1
    combs = np.array(list(combinations(range(m), r)), dtype=np.intp)
    M = np.moveaxis(A[:, combs], 1, 0)  # bases x r x r
    # non-singular bases: |det| against Hadamard's bound (product of the column norms)
    bound = np.prod(np.linalg.norm(M, axis=1), axis=1)
    ok = np.abs(np.linalg.det(M)) > 1e-10 * np.maximum(bound, 1e-300)
    if not ok.any():
        return np.zeros((0, m))
    e1 = np.zeros(r)
    e1[0] = 1.0
    lam = np.linalg.solve(M[ok], np.broadcast_to(e1, (int(ok.sum()), r))[..., None])[..., 0]
    feasible = np.all(lam >= -1e-10, axis=1)
    V = np.zeros((int(feasible.sum()), m))
    rows = np.arange(V.shape[0])[:, None]
    V[rows, combs[ok][feasible]] = np.clip(lam[feasible], 0.0, None)
    return np.unique(np.round(V, 12), axis=0) if V.size else V


def lf_critical_value(X: np.ndarray, Sig: np.ndarray, kappa: float, sims: int, seed: int,
                      vertices: np.ndarray | None = None) -> float:
    """The least-favourable critical value: the :math:`1-\\kappa` quantile of :math:`\\eta^*` under the null."""
    rng = np.random.default_rng(seed)
    sd = np.sqrt(np.diag(Sig))
    xi = rng.multivariate_normal(np.zeros(len(sd)), Sig, size=sims, method="eigh")
    if X.shape[1] == 0:
        eta = np.max(xi / sd, axis=1)
    elif X.shape[1] == 1:
        eta = _eta_one_nuisance(xi / sd, X[:, 0] / sd)
    else:
        V = vertices if vertices is not None else dual_vertices(X, sd)
        if V is not None and V.shape[0]:
            eta = np.max(xi @ V.T, axis=1)
        else:
            eta = np.array([r[0] for x in xi if (r := _eta_lp(x, X, sd)) is not None])
    return float(np.quantile(eta, 1 - kappa))


def _eta_one_nuisance(a: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """:math:`\\min_\\delta \\max_j (a_{rj} - b_j\\delta)` for every row ``r`` of ``a`` (one nuisance parameter).

    The minimum of a convex piecewise-linear function sits where two of its lines cross;
    rows where it is unbounded (all slopes of one sign) are dropped, as R drops failed LPs.
    """
    i, j = np.triu_indices(len(slope), k=1)
    ok = np.abs(slope[i] - slope[j]) > 1e-12
    i, j = i[ok], j[ok]
    if not (np.any(slope > 1e-12) and np.any(slope < -1e-12)):
        return np.zeros(0)
    d = (a[:, i] - a[:, j]) / (slope[i] - slope[j])  # draws x candidate points
    vals = np.max(a[:, :, None] - slope[None, :, None] * d[:, None, :], axis=1)
    return vals.min(axis=1)


def _max_program(s_T: np.ndarray, gam: np.ndarray, Sig: np.ndarray, W: np.ndarray, c: float, raw: bool = False):
    """:math:`\\max_\\lambda f'\\lambda` s.t. :math:`W'\\lambda = e_1, \\lambda \\ge 0`, :math:`f = s_T + \\Sigma\\gamma c/\\gamma'\\Sigma\\gamma`.

    Returns (optimum or None, maximiser, b). With at most two columns in :math:`W` (one
    nuisance parameter) the vertices are enumerated; otherwise HiGHS solves it.
    """
    b = Sig @ gam / float(gam @ Sig @ gam)
    f = s_T if raw else s_T + b * c
    m, k1 = W.shape
    if k1 <= 2:
        best, arg = None, None
        sd = W[:, 0]
        x = W[:, 1] if k1 == 2 else np.zeros(m)
        for z in np.flatnonzero(np.abs(x) <= 1e-14):
            lam = np.zeros(m)
            lam[z] = 1.0 / sd[z]
            v = float(f @ lam)
            if best is None or v > best:
                best, arg = v, lam
        if k1 == 2:
            i, j = np.triu_indices(m, k=1)
            det = sd[i] * x[j] - sd[j] * x[i]
            ok = np.abs(det) > 1e-14
            i, j, det = i[ok], j[ok], det[ok]
            li, lj = x[j] / det, -x[i] / det
            feas = (li >= -1e-14) & (lj >= -1e-14)
            if feas.any():
                vals = f[i] * li + f[j] * lj
                vals[~feas] = -np.inf
                t = int(np.argmax(vals))
                if best is None or vals[t] > best:
                    lam = np.zeros(m)
                    lam[i[t]], lam[j[t]] = li[t], lj[t]
                    best, arg = float(vals[t]), lam
        return best, arg, b
    beq = np.zeros(k1)
    beq[0] = 1.0
    res = optimize.linprog(-f, A_eq=W.T, b_eq=beq, bounds=[(0, None)] * m, method="highs")
    return (-float(res.fun), res.x, b) if res.status == 0 else (None, None, b)


def _is_solution(c: float, s_T, gam, Sig, W, tol: float = 1e-6):
    opt, lam, b = _max_program(s_T, gam, Sig, W, c)
    return opt is not None and abs(c - opt) <= tol, lam, b


def _vlo_vup_dual(eta: float, s_T, gam, Sig, W) -> tuple[float, float]:
    """Truncation points by the dual approach (R ``.vlo_vup_dual_fn``)."""
    tol_c = 1e-6
    sigma_b = float(np.sqrt(gam @ Sig @ gam))
    ok, _, _ = _is_solution(eta, s_T, gam, Sig, W)
    if not ok:
        return eta, np.inf
    out = []
    for side, start in ((1, max(100.0, eta + 20 * sigma_b)), (-1, min(-100.0, eta - 20 * sigma_b))):
        ok, lam, b = _is_solution(start, s_T, gam, Sig, W)
        if ok:
            out.append(side * np.inf)
            continue
        mid = float(lam @ s_T) / (1 - float(lam @ b))
        for _ in range(10):
            ok, lam, b = _is_solution(mid, s_T, gam, Sig, W)
            if ok:
                break
            mid = float(lam @ s_T) / (1 - float(lam @ b))
        lo, hi = (eta, mid) if side == 1 else (mid, eta)
        for _ in range(200):
            if hi - lo <= tol_c:
                break
            m = (lo + hi) / 2
            good = _is_solution(m, s_T, gam, Sig, W)[0]
            if side == 1:
                lo, hi = (m, hi) if good else (lo, m)
            else:
                lo, hi = (lo, m) if good else (m, hi)
        out.append((lo + hi) / 2)
    return out[1], out[0]


def _truncnorm_quantile(p: float, lo: float, hi: float) -> float:
    """The ``p`` quantile of the standard normal truncated to ``[lo, hi]`` (scipy's
    ``truncnorm.ppf`` to 4e-14, a few microseconds instead of a millisecond a call): through
    the upper tail's log survival above 0, the lower tail's log cdf below it."""
    from scipy import special

    if lo >= 0:
        la, lb = special.log_ndtr(-lo), special.log_ndtr(-hi)
        return float(-special.ndtri_exp(la + np.log1p(p * np.expm1(lb - la))))
    if hi <= 0:
        la, lb = special.log_ndtr(lo), special.log_ndtr(hi)
        return float(special.ndtri_exp(lb + np.log1p((1 - p) * np.expm1(la - lb))))
    fa, fb = special.ndtr(lo), special.ndtr(hi)
    return float(special.ndtri(fa + p * (fb - fa)))


def hybrid_reject(y: np.ndarray, X: np.ndarray, Sig: np.ndarray, alpha: float, kappa: float, lf_cv: float,
                  vertices: np.ndarray | None = None) -> bool:
    """The conditional-least-favourable hybrid test of ARP (R ``.lp_conditional_test_fn``, ``LF``).

    ``vertices``: the dual polytope's vertices (:func:`dual_vertices`) when known; then
    :math:`\\eta` and the dual solution are the best vertex instead of an LP (the same optimum).
    """
    sd = np.sqrt(np.diag(Sig))
    M_, k = X.shape
    if vertices is not None:
        if not vertices.shape[0]:
            return False
        values = vertices @ y
        best = int(np.argmax(values))
        eta, lam = float(values[best]), vertices[best]
    else:
        sol = _eta_lp(y, X, sd)
        if sol is None:
            return False
        eta, lam = sol
    if eta > lf_cv:
        return True
    size = (alpha - kappa) / (1 - kappa)
    B = lam > 1e-6
    XB = X[B]
    degenerate = B.sum() != k + 1
    full_rank = XB.size > 0 and np.linalg.matrix_rank(XB) == min(XB.shape) if k else True
    if degenerate or not full_rank:
        W = np.column_stack([sd, X])
        gs = float(lam @ Sig @ lam)
        if abs(gs) < np.finfo(float).eps:
            return eta > 0
        s_T = y - Sig @ lam * float(lam @ y) / gs
        vlo, vup = _vlo_vup_dual(eta, s_T, lam, Sig, W)
        sb = np.sqrt(gs)
        zlo, zup, stat = vlo / sb, min(vup, lf_cv) / sb, eta / sb
    else:
        WB = np.column_stack([sd[B], XB])
        Winv = np.linalg.inv(WB)
        SB, SBc = np.eye(M_)[B], np.eye(M_)[~B]
        Gam = np.column_stack([sd[~B], X[~B]]) @ Winv @ SB - SBc
        vB = (Winv[0] @ SB)
        s2 = float(vB @ Sig @ vB)
        sb = np.sqrt(s2)
        rho = Gam @ Sig @ vB / s2
        with np.errstate(divide="ignore", invalid="ignore"):
            mm = (-Gam @ y) / rho + float(vB @ y)
        vlo = float(np.max(mm[rho > 0])) if np.any(rho > 0) else -np.inf
        vup = float(np.min(mm[rho < 0])) if np.any(rho < 0) else np.inf
        zlo, zup, stat = vlo / sb, min(vup, lf_cv) / sb, eta / sb
    if not (zlo <= stat <= zup):
        return False
    return stat > max(0.0, _truncnorm_quantile(1 - size, zlo, zup))
