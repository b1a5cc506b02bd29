r"""Sensitivity of event-study conclusions to violations of parallel trends (Rambachan & Roth 2023).

With event-study coefficients :math:`\hat\beta = (\hat\beta_{pre}', \hat\beta_{post}')'`
(reference period left out), :math:`\hat\beta \approx N(\beta, \Sigma)` and
:math:`\beta = \tau + \delta` (:math:`\tau_{pre} = 0`), the target is
:math:`\theta = l'\tau_{post}` and the violation of parallel trends :math:`\delta` lies in a
set :math:`\Delta`:

* relative magnitudes, :math:`\Delta^{RM}(\bar M)`: every post-period change of the trend
  is at most :math:`\bar M` times the largest pre-period one,
  :math:`|\delta_{t+1} - \delta_t| \le \bar M \max_{s<0} |\delta_{s+1} - \delta_s|`
  (their eq. 2.4); robust interval by the conditional-least-favourable hybrid test of
  Andrews, Roth & Pakes (2023) with nuisance parameters, inverted over a grid and taken
  over the union of the polyhedra in which the maximum sits at each pre-period with each
  sign (their Section 3.2; R ``HonestDiD::computeConditionalCS_DeltaRM``, ``C-LF``,
  :math:`\kappa = \alpha/10`, moments of the post-periods only);
* smoothness, :math:`\Delta^{SD}(M)`: the slope of the trend changes by at most :math:`M`,
  :math:`|(\delta_{t+1} - \delta_t) - (\delta_t - \delta_{t-1})| \le M` (eq. 2.3); robust
  interval by the optimal fixed-length confidence interval (FLCI) of Armstrong & Kolesár:
  the affine estimator :math:`a + v'\hat\beta` and half-length
  :math:`\chi_\alpha(\bar b/\sigma_v)\sigma_v` that minimise the worst-case length, with
  :math:`\chi_\alpha(t)` the :math:`1-\alpha` quantile of :math:`|N(t, 1)|` (their Section 3.1;
  R ``HonestDiD::findOptimalFLCI``).

The breakdown value is the largest :math:`\bar M` (or :math:`M`) whose robust interval
still excludes zero.

Differences from R HonestDiD 0.2.6, all of Monte Carlo or numerical size: the folded-normal
quantile is computed exactly (R simulates :math:`10^6` draws), the least-favourable
critical value uses 1,000 seeded numpy draws (R: 1,000 mvtnorm draws), the FLCI is
optimised over :math:`h` by bounded Brent search (R: bisection on a numerical derivative),
and the grid's accepted end points are located by a coarse scan and bisection (the
accepted set of each polyhedron taken to be an interval).

Reference: Rambachan A, Roth J (2023). A more credible approach to parallel trends.
*Review of Economic Studies* 90(5): 2555-2591.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special

from preveval.methods.did.honest_arp import dual_vertices, hybrid_reject, lf_critical_value
from preveval.results.staggered import HonestRow, HonestSensitivity

__all__ = ["honest_breakdown", "honest_flci", "honest_relative_magnitude", "honest_sensitivity", "rm_confidence_set"]

KAPPA_SHARE = 0.1


def _normalise(betahat: ArrayLike, sigma: np.ndarray, n_pre: int, l_vec: ArrayLike | None):
    b = np.asarray(betahat, dtype=float).ravel()
    S = np.asarray(sigma, dtype=float)
    n_post = b.size - n_pre
    if n_pre < 1 or n_post < 1 or S.shape != (b.size, b.size):
        raise ValueError("betahat needs at least one pre- and one post-period coefficient and sigma must match it")
    lv = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if lv.size != n_post:
        raise ValueError(f"l_vec must have {n_post} entries (one per post-period coefficient)")
    return b, S, n_post, lv


# ---------------------------------------------------------------------------------- FLCI


def _folded_normal_quantile(p: float, mu: float) -> float:
    """Quantile of :math:`|N(\\mu, 1)|`."""
    mu = abs(mu)

    def f(c: float) -> float:
        return float(special.ndtr(c - mu) - special.ndtr(-c - mu) - p)

    return float(optimize.brentq(f, 0.0, mu + 10.0, xtol=1e-14))


def _flci_pieces(S: np.ndarray, n_pre: int, lv: np.ndarray):
    """Variance of the affine estimator as a function of the pre-period weights ``w`` (R ``flci.R``)."""
    n_post = lv.size
    D = np.eye(n_pre) - np.eye(n_pre, k=-1)  # w -> l_pre
    Sp, Spp, Spo = S[:n_pre, :n_pre], S[:n_pre, n_pre:], S[n_pre:, n_pre:]
    Q = D.T @ Sp @ D
    q = 2 * D.T @ Spp @ lv
    c0 = float(lv @ Spo @ lv)
    target = float(np.arange(1, n_post + 1) @ lv)
    const = sum(abs(float(np.arange(1, s + 1) @ lv[n_post - s:])) for s in range(1, n_post + 1)) - target
    return D, Q, q, c0, target, const


def honest_flci(betahat: ArrayLike, sigma: np.ndarray, n_pre: int, M: float,
                l_vec: ArrayLike | None = None, alpha: float = 0.05,
                memo: dict[float, tuple[float, np.ndarray]] | None = None) -> tuple[float, float]:
    r"""Optimal FLCI for :math:`\theta = l'\tau_{post}` under :math:`\Delta^{SD}(M)` (R ``findOptimalFLCI``).

    Over pre-period weights :math:`w` (with :math:`\sum_k w_k = \sum_s s\,l_s`, so that the
    estimator is unbiased for linear trends), the worst-case bias at standard deviation
    :math:`h` is :math:`\bar b(h) = M\,\min\{c + \sum_k |\sum_{j\le k} w_j| : \sigma(w) \le h\}`
    and the interval's half-length :math:`\chi_\alpha(\bar b(h)/h)\,h` is minimised over
    :math:`h \in [h_{min}, h_0]`.

    ``memo``: the weights' optimisation at each :math:`h` does not depend on :math:`M` (only the
    bias is scaled by it), so calls for several :math:`M` on the same ``betahat``, ``sigma``,
    ``n_pre`` and ``l_vec`` may share one dict (keyed by :math:`h`) and solve each :math:`h` once;
    the results are the same as without it.
    """
    b, S, n_post, lv = _normalise(betahat, sigma, n_pre, l_vec)
    solved: dict[float, tuple[float, np.ndarray]] = {} if memo is None else memo
    D, Q, q, c0, target, const = _flci_pieces(S, n_pre, lv)

    def var(w: np.ndarray) -> float:
        return float(w @ Q @ w + q @ w + c0)

    # h_min: minimum variance subject to sum(w) = target (a KKT system)
    K = np.block([[2 * Q, np.ones((n_pre, 1))], [np.ones((1, n_pre)), np.zeros((1, 1))]])
    sol = np.linalg.lstsq(K, np.r_[-q, target], rcond=None)[0]
    w_min = sol[:n_pre]
    h_min = np.sqrt(max(var(w_min), 0.0))
    w0 = np.r_[np.zeros(n_pre - 1), target]
    h0 = np.sqrt(var(w0))
    L = np.tril(np.ones((n_pre, n_pre)))

    def worst_bias(h: float) -> tuple[float, np.ndarray]:
        key = float(h)
        if key not in solved:
            solved[key] = weights(key)
        total, w = solved[key]
        return M * total, w

    def weights(h: float) -> tuple[float, np.ndarray]:
        # variables x = (u, w): minimise sum(u) s.t. |L w| <= u, sum(w) = target, var(w) <= h^2
        cons = [
            {"type": "ineq", "fun": lambda x: x[:n_pre] - L @ x[n_pre:], "jac": lambda x: np.c_[np.eye(n_pre), -L]},
            {"type": "ineq", "fun": lambda x: x[:n_pre] + L @ x[n_pre:], "jac": lambda x: np.c_[np.eye(n_pre), L]},
            {"type": "eq", "fun": lambda x: np.sum(x[n_pre:]) - target,
             "jac": lambda x: np.r_[np.zeros(n_pre), np.ones(n_pre)][None, :]},
            {"type": "ineq", "fun": lambda x: (h**2 - var(x[n_pre:])) / max(h**2, 1e-300),
             "jac": lambda x: np.r_[np.zeros(n_pre), -(2 * Q @ x[n_pre:] + q)][None, :] / max(h**2, 1e-300)},
        ]
        frac = 0.0 if h0 <= h_min else min(1.0, max(0.0, (h - h_min) / (h0 - h_min)))
        w_start = (1 - frac) * w_min + frac * w0
        x0 = np.r_[np.abs(L @ w_start) + 1e-9, w_start]
        res = optimize.minimize(lambda x: np.sum(x[:n_pre]), x0, jac=lambda x: np.r_[np.ones(n_pre), np.zeros(n_pre)],
                                constraints=cons, method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
        w = res.x[n_pre:]
        return const + float(np.sum(np.abs(L @ w))), w

    def half_length(h: float) -> float:
        bias, _ = worst_bias(h)
        return _folded_normal_quantile(1 - alpha, bias / h) * h

    if h0 - h_min < 1e-12 * max(h0, 1e-300):
        h_star = h0
    else:
        res = optimize.minimize_scalar(half_length, bounds=(h_min * (1 + 1e-9), h0), method="bounded",
                                       options={"xatol": 1e-10 * h0})
        h_star = res.x if res.fun <= half_length(h0) else h0
    bias, w = worst_bias(h_star)
    hl = _folded_normal_quantile(1 - alpha, bias / h_star) * h_star
    centre = float((D @ w) @ b[:n_pre] + lv @ b[n_pre:])
    return centre - hl, centre + hl


def _rm_constraints(n_pre: int, n_post: int, Mbar: float, s: int, positive: bool) -> np.ndarray:
    """The polyhedron :math:`A\\delta \\le 0` of :math:`\\Delta^{RM}` with the maximum at ``s`` (R ``.create_A_RM``)."""
    T = n_pre + n_post
    At = np.zeros((T, T + 1))
    for r in range(T):
        At[r, r:r + 2] = (-1, 1)
    v = np.zeros(T + 1)
    v[n_pre + s - 1:n_pre + s + 1] = (-1, 1)
    if not positive:
        v = -v
    UB = np.vstack([np.tile(v, (n_pre, 1)), np.tile(Mbar * v, (n_post, 1))])
    A = np.vstack([At - UB, -At - UB])
    A = A[np.sum(A**2, axis=1) > 1e-10]
    return np.delete(A, n_pre, axis=1)


def _gamma(lv: np.ndarray) -> np.ndarray:
    """An invertible matrix with first row ``l`` and unit rows after it (R ``.construct_Gamma``)."""
    rows = [lv]
    for j in range(lv.size):
        e = np.eye(lv.size)[j]
        if np.linalg.matrix_rank(np.vstack([*rows, e])) > len(rows):
            rows.append(e)
        if len(rows) == lv.size:
            break
    return np.vstack(rows)


def rm_confidence_set(betahat: ArrayLike, sigma: np.ndarray, n_pre: int, Mbar: float,
                      l_vec: ArrayLike | None = None, alpha: float = 0.05, grid_points: int = 1000,
                      grid_lb: float | None = None, grid_ub: float | None = None, sims: int = 10_000,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The grid of :math:`\theta` and whether the C-LF test accepts each (R ``computeConditionalCS_DeltaRM``).

    The default grid is :math:`\pm 20\,\mathrm{sd}(l'\hat\beta_{post})` with 1,000 points, as R;
    the least-favourable critical value (the :math:`1-\kappa` quantile, :math:`\kappa = \alpha/10`)
    uses ``sims`` seeded draws (R: 1,000; more are used here because that extreme quantile
    of 1,000 draws moves the interval's ends by a grid step from seed to seed).
    """
    b, S, n_post, lv = _normalise(betahat, sigma, n_pre, l_vec)
    sd_theta = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    grid = np.linspace(-20 * sd_theta if grid_lb is None else grid_lb, 20 * sd_theta if grid_ub is None else grid_ub,
                       grid_points)
    accept = np.zeros(grid_points, dtype=bool)
    kappa = KAPPA_SHARE * alpha
    Ginv = np.linalg.inv(_gamma(lv))
    for s in range(-(n_pre - 1), 1):
        for positive in (True, False):
            A = _rm_constraints(n_pre, n_post, Mbar, s, positive)
            rows = np.flatnonzero(np.any(A[:, n_pre:] != 0, axis=1))
            AG = A[:, n_pre:] @ Ginv
            Y = A @ b
            SY = A @ S @ A.T
            a1, X = AG[rows, 0], AG[rows, 1:]
            Yr, Sr = Y[rows], SY[np.ix_(rows, rows)]
            V = dual_vertices(X, np.sqrt(np.diag(Sr))) if X.shape[1] >= 2 else None
            V = V if V is not None and V.shape[0] else None  # none: each test solves its LP
            cv = lf_critical_value(X, Sr, kappa, sims, seed, vertices=V)

            def acc(i: int, a1=a1, X=X, Yr=Yr, Sr=Sr, cv=cv, V=V) -> bool:
                return not hybrid_reject(Yr - a1 * grid[i], X, Sr, alpha, kappa, cv, vertices=V)

            accept |= _accepted_interval(acc, grid_points)
    return grid, accept


def _accepted_interval(acc, n: int) -> np.ndarray:
    """Grid points accepted, found by a coarse scan and bisection of the two end points."""
    out = np.zeros(n, dtype=bool)
    step = max(1, n // 40)
    coarse = sorted(set(range(0, n, step)) | {n - 1})
    hits = [i for i in coarse if acc(i)]
    if not hits:
        return out

    def edge(inside: int, outside: int) -> int:
        while abs(outside - inside) > 1:
            mid = (inside + outside) // 2
            if acc(mid):
                inside = mid
            else:
                outside = mid
        return inside

    first, last = hits[0], hits[-1]
    before = [i for i in coarse if i < first]
    after = [i for i in coarse if i > last]
    lo = edge(first, before[-1]) if before else first
    hi = edge(last, after[0]) if after else last
    out[lo:hi + 1] = True
    return out


def honest_relative_magnitude(betahat: ArrayLike, sigma: np.ndarray, n_pre: int, Mbar: float,
                              l_vec: ArrayLike | None = None, alpha: float = 0.05, **kw) -> tuple[float, float]:
    """Robust C-LF interval under :math:`\\Delta^{RM}(\\bar M)` (the accepted grid's end points; NaN if none)."""
    grid, accept = rm_confidence_set(betahat, sigma, n_pre, Mbar, l_vec, alpha, **kw)
    if not accept.any():
        return float("nan"), float("nan")
    return float(grid[accept].min()), float(grid[accept].max())


def honest_sensitivity(betahat: ArrayLike, sigma: np.ndarray, n_pre: int, grid: Sequence[float], *,
                       restriction: str = "relative_magnitude", l_vec: ArrayLike | None = None,
                       alpha: float = 0.05, **kw) -> HonestSensitivity:
    r"""Robust intervals over a grid of :math:`\bar M` (``relative_magnitude``) or :math:`M` (``smoothness``).

    Returns the original interval (:math:`l'\hat\beta_{post} \pm z_{1-\alpha/2}\sqrt{l'\Sigma_{post}l}`),
    the robust interval at each grid value and the breakdown value: the largest grid value
    whose robust interval excludes zero, when every smaller value's does too.
    """
    b, S, n_post, lv = _normalise(betahat, sigma, n_pre, l_vec)
    est = float(lv @ b[n_pre:])
    se = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    z = float(special.ndtri(1 - alpha / 2))
    rows = []
    memo: dict[float, tuple[float, np.ndarray]] = {}  # the FLCI's optimisations, shared over M
    for m in grid:
        if restriction == "relative_magnitude":
            lo, hi = honest_relative_magnitude(b, S, n_pre, float(m), lv, alpha, **kw)
            method = "C-LF"
        elif restriction == "smoothness":
            lo, hi = honest_flci(b, S, n_pre, float(m), lv, alpha, memo)
            method = "FLCI"
        else:
            raise ValueError("restriction must be 'relative_magnitude' or 'smoothness'")
        rows.append(HonestRow(float(m), lo, hi, method))
    breakdown = None
    for r in sorted(rows, key=lambda r: r.m):
        if not r.excludes_zero:
            break
        breakdown = r.m
    name = "Mbar" if restriction == "relative_magnitude" else "M"
    if breakdown is None:
        note = f"the robust interval includes zero already at the smallest {name} tried ({min(grid):g})"
    elif breakdown == max(grid):
        note = f"the robust interval excludes zero at every {name} tried (up to {breakdown:g}): the breakdown value is larger"
    else:
        note = f"the robust interval excludes zero for {name} up to {breakdown:g} on the grid"
    return HonestSensitivity(restriction, tuple(float(x) for x in lv), est, (est - z * se, est + z * se),  # type: ignore[arg-type]
                             tuple(rows), breakdown, note, 1 - alpha)


def honest_breakdown(betahat: ArrayLike, sigma: np.ndarray, n_pre: int, *,
                     restriction: str = "relative_magnitude", l_vec: ArrayLike | None = None,
                     alpha: float = 0.05, upper: float | None = None, tol: float | None = None, **kw) -> float | None:
    r"""The breakdown value: the largest :math:`\bar M` (or :math:`M`) whose robust interval excludes zero.

    Found by bisection on :math:`[0, \text{upper}]` (default upper 10 for :math:`\bar M`, and
    20 standard errors of the target for :math:`M`), taking the intervals to widen with the
    parameter (they are nested: :math:`\Delta(M) \subset \Delta(M')` for :math:`M < M'`).
    ``None`` when even the parallel-trends interval (parameter 0) includes zero; ``upper``
    when the interval still excludes zero there.
    """
    b, S, n_post, lv = _normalise(betahat, sigma, n_pre, l_vec)
    se = float(np.sqrt(lv @ S[n_pre:, n_pre:] @ lv))
    if restriction == "relative_magnitude":
        hi = 10.0 if upper is None else upper
        step = 1e-3 if tol is None else tol

        def ci(m: float) -> tuple[float, float]:
            return honest_relative_magnitude(b, S, n_pre, m, lv, alpha, **kw)
    elif restriction == "smoothness":
        hi = 20 * se if upper is None else upper
        step = 1e-3 * se if tol is None else tol
        memo: dict[float, tuple[float, np.ndarray]] = {}

        def ci(m: float) -> tuple[float, float]:
            return honest_flci(b, S, n_pre, m, lv, alpha, memo)
    else:
        raise ValueError("restriction must be 'relative_magnitude' or 'smoothness'")

    def excludes(m: float) -> bool:
        lo_, hi_ = ci(m)
        return bool(np.isfinite(lo_) and (lo_ > 0 or hi_ < 0))

    if not excludes(0.0):
        return None
    if excludes(hi):
        return hi
    lo = 0.0
    while hi - lo > step:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes(mid) else (lo, mid)
    return lo
