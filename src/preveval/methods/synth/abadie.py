r"""Synthetic control of Abadie & Gardeazabal (2003) and Abadie, Diamond & Hainmueller (2010).

Estimand: the effect on the single treated unit in each post-period,
:math:`\alpha_{1t} = Y_{1t}(1) - Y_{1t}(0)`, estimated by the gap
:math:`\hat\alpha_{1t} = Y_{1t} - \sum_{j} w_j Y_{jt}` between the treated unit and a
weighted average of donors (ADH 2010, eq. 1-3).

Weights, as the R package ``Synth`` (``synth()``, version 1.1-8) computes them:

.. math::

    W^\ast(V) = \arg\min_{W \in \Delta^J} (X_1 - X_0 W)^\top V (X_1 - X_0 W),

with :math:`X_1` (:math:`k \times 1`) and :math:`X_0` (:math:`k \times J`) the predictors of
the treated unit and the donors, each predictor divided by its sample standard deviation
(denominator :math:`n - 1`) across the :math:`J + 1` units (treated and donors together,
as in ``synth.R``), and :math:`V` diagonal, non-negative, trace one. :math:`V` is chosen to
minimise the mean squared prediction error of the outcome over the fit periods,

.. math::

    V^\ast = \arg\min_{V} \tfrac{1}{T_f}\,(Z_1 - Z_0 W^\ast(V))^\top (Z_1 - Z_0 W^\ast(V))

(ADH 2010, sec. 2.3; Abadie & Gardeazabal 2003, appendix B). This is ``loss.v`` of
``synth()``; ``loss.w`` is the inner objective at the solution.

Optimiser (deterministic; documented because the outer problem is not convex):

* Inner problem: exact active-set least squares on the simplex
  (:func:`~preveval.methods.synth.simplex.simplex_least_squares`); ``Synth`` uses the
  interior-point ``ipop`` of ``kernlab`` with tolerance 5e-4, so its weights carry that
  much noise; ours are exact.
* Outer problem: :math:`V = |p| / \sum |p|` for unconstrained :math:`p \in \mathbb{R}^k`
  (the parametrisation of ``fn.V.R``), minimised by Nelder-Mead (scipy, adaptive
  coefficients, ``fatol`` 1e-12 on the loss, ``xatol`` 1e-6 on :math:`p` normalised to
  sum one) restarted from its own solution until a restart improves
  the loss by less than 1e-10 relative (at most ``max_restarts`` restarts).
* Starting values, the two of ``synth()``: equal weights :math:`1/k`, and the
  regression-based start, the diagonal of :math:`B B^\top` normalised to sum one, where
  :math:`B` is the coefficient matrix (intercept dropped) of the regression of every
  fit-period outcome on the scaled predictors across the :math:`J + 1` units; skipped when
  that regression is rank deficient. Then, as a third start, the best of the two after
  each coordinate of :math:`p` is set to zero in turn (a cheap escape from the common
  local optimum that gives weight to an irrelevant predictor).
* The lowest loss wins; losses within 1e-12 relative are ties, broken by the
  lexicographically smaller weight vector, then by the order of the starts.

The final weights are recomputed from the chosen :math:`V` without warm start, so they do
not depend on the optimisation path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...errors import EstimationError
from .simplex import fast_nnls, simplex_least_squares, simplex_weights_fast

__all__ = ["AbadieFit", "OptimStart", "PredictorBalance", "fit_abadie", "fit_outcome_path", "standardise_predictors"]

VOption = Literal["optimize", "identity"]
XATOL = 1e-6  # Nelder-Mead simplex size on p (normalised to sum one at every restart)


@dataclass(frozen=True)
class PredictorBalance:
    """Predictor means of the treated unit, its synthetic control and the donor average.

    The ``synth.tab()`` ``tab.pred`` table of ``Synth``, on the unscaled predictors.
    """

    names: tuple[str, ...]
    treated: np.ndarray
    synthetic: np.ndarray
    donor_mean: np.ndarray


@dataclass(frozen=True)
class OptimStart:
    """One start of the outer (V) optimisation and where it ended."""

    name: str
    v_start: np.ndarray
    v: np.ndarray
    loss_v: float
    evaluations: int
    converged: bool
    message: str


@dataclass(frozen=True)
class AbadieFit:
    """A fitted synthetic control of one treated unit.

    Attributes
    ----------
    weights : numpy.ndarray
        ``(J,)`` donor weights :math:`W`, non-negative, summing to one.
    v : numpy.ndarray
        ``(k,)`` diagonal of :math:`V` (predictor importance, on the standardised
        predictors), summing to one.
    donor_names, predictor_names : tuple of str
    balance : PredictorBalance
    loss_v : float
        Mean squared prediction error of the outcome over the fit periods (``loss.v``).
    loss_w : float
        :math:`(X_1 - X_0 W)^\\top V (X_1 - X_0 W)` on standardised predictors (``loss.w``).
    rmspe_pre : float
        :math:`\\sqrt{\\text{loss\\_v}}`, the pre-period root mean squared prediction error.
    v_method : {"optimized", "identity", "custom", "single_predictor"}
    converged : bool
        Whether the winning start's optimiser reported convergence (always true when
        :math:`V` is given).
    starts : tuple of OptimStart
        Every start tried (empty when :math:`V` is given).
    scale : numpy.ndarray
        ``(k,)`` standard deviations the predictors were divided by.
    """

    weights: np.ndarray
    v: np.ndarray
    donor_names: tuple[str, ...]
    predictor_names: tuple[str, ...]
    balance: PredictorBalance
    loss_v: float
    loss_w: float
    rmspe_pre: float
    v_method: str
    converged: bool
    starts: tuple[OptimStart, ...]
    scale: np.ndarray

    def synthetic(self, y_donors) -> np.ndarray:
        """The synthetic control path ``y_donors @ weights`` for a ``(T, J)`` donor matrix."""
        return np.asarray(y_donors, dtype=float) @ self.weights


def standardise_predictors(x_treated, x_donors) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Divide each predictor by its standard deviation across treated and donors.

    As ``synth.R``: ``sqrt(apply(cbind(X0, X1), 1, var))``, the sample standard deviation
    (denominator :math:`J`) over the :math:`J + 1` units. Returns
    ``(x_treated_scaled, x_donors_scaled, sd)``.
    """
    x1 = np.asarray(x_treated, dtype=float).ravel()
    x0 = np.asarray(x_donors, dtype=float)
    both = np.column_stack([x0, x1])
    sd = both.std(axis=1, ddof=1)
    return x1 / sd, x0 / sd[:, None], sd


def _check(x1, x0, z1, z0, names, donors):
    problems = []
    if x0.ndim != 2 or x1.shape[0] != x0.shape[0]:
        problems.append(f"predictors: treated has {x1.shape[0]}, donors have shape {x0.shape}")
    if z0.ndim != 2 or z1.shape[0] != z0.shape[0]:
        problems.append(f"fit outcomes: treated has {z1.shape[0]}, donors have shape {z0.shape}")
    if x0.ndim == 2 and z0.ndim == 2 and x0.shape[1] != z0.shape[1]:
        problems.append(f"{x0.shape[1]} donors in the predictors but {z0.shape[1]} in the outcomes")
    if x0.ndim == 2 and x0.shape[1] < 2:
        problems.append("at least two donors are needed")
    if z1.shape[0] == 0:
        problems.append("no fit periods")
    if problems:
        raise EstimationError("synthetic control: " + "; ".join(problems))
    for label, arr in (("treated predictors", x1), ("donor predictors", x0),
                       ("treated outcomes", z1), ("donor outcomes", z0)):
        if not np.all(np.isfinite(arr)):
            raise EstimationError(
                f"synthetic control: {label} contain missing or infinite values "
                "(fill or drop those predictors, periods or donors)"
            )
    flat = np.ptp(x0, axis=1) == 0
    if flat.any():
        bad = ", ".join(names[i] for i in np.flatnonzero(flat))
        raise EstimationError(
            f"synthetic control: predictor(s) {bad} do not vary across the donors; remove them"
        )


class _Problem:
    """The nested problem on standardised predictors, with a warm-started inner solver."""

    def __init__(self, x1s, x0s, z1, z0):
        self.x1s, self.x0s, self.z1, self.z0 = x1s, x0s, z1, z0
        self.last: np.ndarray | None = None
        self.evaluations = 0
        # A w - b = C w on the simplex, C = V^(1/2) (X0 - X1 1'): kept, and the NNLS system
        # [C; gamma 1'] u = [0; gamma] of simplex.py filled in place at each evaluation.
        self.c0 = x0s - x1s[:, None]
        k, J = self.c0.shape
        self._e = np.empty((k + 1, J))
        self._f = np.zeros(k + 1)

    def weights(self, v: np.ndarray, warm: bool = True) -> np.ndarray:
        root = np.sqrt(v)
        if not warm:
            return simplex_least_squares(root[:, None] * self.x0s, root * self.x1s).weights
        k, J = self.c0.shape
        c = self._e[:k]
        np.multiply(root[:, None], self.c0, out=c)
        gamma = float(np.sqrt(np.einsum("ij,ij->", c, c) / J))
        w: np.ndarray | None = None
        if J > 1 and gamma > 0:
            self._e[k] = gamma
            self._f[k] = gamma
            u = fast_nnls(self._e, self._f, 30 * (J + 1))
            total = float(u.sum()) if u is not None else 0.0
            if u is not None and total > 0 and np.isfinite(total):
                w = np.asarray(u / total)
        if w is None:
            w = simplex_weights_fast(root[:, None] * self.x0s, root * self.x1s, self.last)
        self.last = w
        return w

    def loss_v(self, w: np.ndarray) -> float:
        r = self.z1 - self.z0 @ w
        return float(r @ r) / self.z1.shape[0]

    def objective(self, p: np.ndarray) -> float:
        self.evaluations += 1
        a = np.abs(p)
        s = a.sum()
        if not np.isfinite(s) or s <= 0:
            return np.inf
        return self.loss_v(self.weights(a / s))


def _regression_start(x1s, x0s, z1, z0) -> np.ndarray | None:
    """Synth's second start: diag(B B') / trace, B from regressing outcomes on predictors."""
    xall = np.column_stack([x1s, x0s]).T  # (J+1, k)
    xall = np.column_stack([np.ones(xall.shape[0]), xall])
    if np.linalg.matrix_rank(xall) < xall.shape[1]:
        return None
    zall = np.column_stack([z1, z0]).T  # (J+1, T)
    beta, *_ = np.linalg.lstsq(xall, zall, rcond=None)
    beta = beta[1:, :]
    d = np.einsum("ij,ij->i", beta, beta)
    if not np.all(np.isfinite(d)) or d.sum() <= 0:
        return None
    return d / d.sum()


def _minimise(problem: _Problem, start: np.ndarray, max_restarts: int, maxiter: int):
    from scipy.optimize import minimize

    p = np.asarray(start, dtype=float)
    best = problem.objective(p)
    converged = False
    message = ""
    for _ in range(max_restarts + 1):
        res = minimize(
            problem.objective, p, method="Nelder-Mead",
            options={"xatol": XATOL, "fatol": 1e-12, "maxiter": maxiter,
                     "maxfev": maxiter * 2, "adaptive": True},
        )
        converged = bool(res.success)
        message = str(res.message)
        improved = best - float(res.fun)
        if float(res.fun) <= best:
            p, best = np.abs(res.x) / np.abs(res.x).sum(), float(res.fun)
        if improved <= 1e-10 * max(abs(best), 1e-300):
            break
    return p, best, converged, message


def _better(loss_a, w_a, loss_b, w_b) -> bool:
    """Whether candidate a beats b: lower loss, ties (1e-12 relative) to lexicographic w."""
    scale = max(abs(loss_a), abs(loss_b), 1e-300)
    if loss_a < loss_b - 1e-12 * scale:
        return True
    if loss_b < loss_a - 1e-12 * scale:
        return False
    for a, b in zip(w_a, w_b, strict=True):
        if a != b:
            return bool(a < b)
    return False


def fit_abadie(
    x_treated,
    x_donors,
    z_treated,
    z_donors,
    *,
    v: VOption | np.ndarray | list[float] = "optimize",
    predictor_names: tuple[str, ...] | list[str] | None = None,
    donor_names: tuple[str, ...] | list[str] | None = None,
    max_restarts: int = 2,
    maxiter: int | None = None,
) -> AbadieFit:
    r"""Fit the synthetic control of one treated unit (``Synth::synth`` semantics).

    Parameters
    ----------
    x_treated : array_like
        ``(k,)`` predictors of the treated unit (``X1``).
    x_donors : array_like
        ``(k, J)`` predictors of the donors, one column per donor (``X0``).
    z_treated : array_like
        ``(T_f,)`` outcomes of the treated unit in the fit periods (``Z1``).
    z_donors : array_like
        ``(T_f, J)`` outcomes of the donors in the fit periods (``Z0``).
    v : {"optimize", "identity"} or array_like, default "optimize"
        ``"optimize"``: nested optimisation of :math:`V` (module docstring).
        ``"identity"``: :math:`V = I_k / k` on the standardised predictors. An array:
        a custom :math:`V` diagonal, normalised as ``abs(v) / sum(v)`` (``custom.v``).
        With one predictor :math:`V = 1` whatever is asked.
    predictor_names, donor_names : sequence of str, optional
    max_restarts : int, default 2
        Nelder-Mead restarts per start.
    maxiter : int, optional
        Nelder-Mead iterations per run; default ``400 * k``.

    Returns
    -------
    AbadieFit

    Raises
    ------
    EstimationError
        Shapes disagree, values are missing, fewer than two donors, or a predictor does
        not vary across the donors (the checks of ``synth()``).

    References
    ----------
    Abadie, A. & Gardeazabal, J. (2003). The economic costs of conflict: a case study of
    the Basque Country. *American Economic Review* 93(1), 113-132.
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for
    comparative case studies. *JASA* 105(490), 493-505, sec. 2.3.
    Abadie, A., Diamond, A. & Hainmueller, J. (2011). Synth: an R package for synthetic
    control methods in comparative case studies. *J. Statistical Software* 42(13).
    """
    x1 = np.asarray(x_treated, dtype=float).ravel()
    x0 = np.asarray(x_donors, dtype=float)
    if x0.ndim == 1:
        x0 = x0[None, :]
    z1 = np.asarray(z_treated, dtype=float).ravel()
    z0 = np.asarray(z_donors, dtype=float)
    if z0.ndim == 1:
        z0 = z0[None, :]
    k = x1.shape[0]
    names = tuple(predictor_names) if predictor_names is not None else tuple(
        f"x{i + 1}" for i in range(k))
    J = x0.shape[1] if x0.ndim == 2 else 0
    donors = tuple(donor_names) if donor_names is not None else tuple(
        f"donor{j + 1}" for j in range(J))
    _check(x1, x0, z1, z0, names, donors)
    if len(names) != k or len(donors) != J:
        raise EstimationError("synthetic control: names do not match the predictor or donor count")
    x1s, x0s, sd = standardise_predictors(x1, x0)
    problem = _Problem(x1s, x0s, z1, z0)
    starts: list[OptimStart] = []
    converged = True

    if k == 1:
        vv, method = np.ones(1), "single_predictor"
    elif isinstance(v, str):
        if v == "identity":
            vv, method = np.full(k, 1.0 / k), "identity"
        elif v == "optimize":
            vv, converged, starts = _optimise_v(problem, k, max_restarts, maxiter or 400 * k)
            method = "optimized"
        else:
            raise EstimationError(f"synthetic control: v must be 'optimize', 'identity' or numbers, not {v!r}")
    else:
        custom = np.asarray(v, dtype=float).ravel()
        if custom.shape[0] != k or not np.all(np.isfinite(custom)) or custom.sum() <= 0:
            raise EstimationError(
                f"synthetic control: custom v needs {k} finite numbers with a positive sum")
        vv, method = np.abs(custom) / custom.sum(), "custom"

    w = problem.weights(vv, warm=False)
    loss_v = problem.loss_v(w)
    resid = x1s - x0s @ w
    loss_w = float(resid @ (vv * resid))
    balance = PredictorBalance(names, x1.copy(), x0 @ w, x0.mean(axis=1))
    return AbadieFit(
        weights=w, v=vv, donor_names=donors, predictor_names=names, balance=balance,
        loss_v=loss_v, loss_w=loss_w, rmspe_pre=float(np.sqrt(loss_v)), v_method=method,
        converged=converged, starts=tuple(starts), scale=sd,
    )


def fit_outcome_path(
    z_treated,
    z_donors,
    *,
    predictor_names: tuple[str, ...] | list[str] | None = None,
    donor_names: tuple[str, ...] | list[str] | None = None,
) -> AbadieFit:
    r"""The synthetic control whose predictors are the outcome in every fit period, solved exactly.

    With :math:`X = Z` (one predictor per fit period, the default specification) the nested
    problem has a closed-form outer solution. The outer loss
    :math:`\tfrac{1}{T_f}\lVert Z_1 - Z_0 W\rVert^2` can never fall below its minimum over
    the simplex, and :math:`V \propto \operatorname{diag}(s_k^2)` (:math:`s_k` the
    standard deviations the predictors are divided by) makes the inner objective
    :math:`\sum_k v_k (x_{1k} - x_{0k}W)^2 / s_k^2` proportional to that same loss, so its
    minimiser attains it: :math:`W^\ast = \arg\min_{W \in \Delta^J}\lVert Z_1 - Z_0 W\rVert^2`
    (exact active-set least squares) is the global optimum a numerical nested search can
    only approach (Kaul, Kloessner, Pfeifer & Schieler 2022, sec. 2). Periods with the same
    outcome in every unit carry no information and get :math:`v_k = 0`; no predictor is
    refused for not varying. ``v_method`` is ``"outcome_path"``.
    """
    z1 = np.asarray(z_treated, dtype=float).ravel()
    z0 = np.asarray(z_donors, dtype=float)
    if z0.ndim == 1:
        z0 = z0[None, :]
    k = z1.shape[0]
    names = tuple(predictor_names) if predictor_names is not None else tuple(f"x{i + 1}" for i in range(k))
    J = z0.shape[1]
    donors = tuple(donor_names) if donor_names is not None else tuple(f"donor{j + 1}" for j in range(J))
    if k == 0 or z0.shape[0] != k:
        raise EstimationError(f"synthetic control: {k} treated fit periods but donors have shape {z0.shape}")
    if J < 2:
        raise EstimationError("synthetic control: at least two donors are needed")
    if not (np.all(np.isfinite(z1)) and np.all(np.isfinite(z0))):
        raise EstimationError("synthetic control: the outcome is missing in a fit period")
    if len(names) != k or len(donors) != J:
        raise EstimationError("synthetic control: names do not match the predictor or donor count")
    w = simplex_least_squares(z0, z1).weights
    r = z1 - z0 @ w
    loss_v = float(r @ r) / k
    sd = np.column_stack([z0, z1]).std(axis=1, ddof=1)
    vv = sd**2 / np.sum(sd**2) if np.sum(sd**2) > 0 else np.full(k, 1.0 / k)
    balance = PredictorBalance(names, z1.copy(), z0 @ w, z0.mean(axis=1))
    safe = np.where(sd > 0, sd, 1.0)
    loss_w = float(np.sum(vv * (r / safe) ** 2))
    return AbadieFit(
        weights=w, v=vv, donor_names=donors, predictor_names=names, balance=balance,
        loss_v=loss_v, loss_w=loss_w, rmspe_pre=float(np.sqrt(loss_v)), v_method="outcome_path",
        converged=True, starts=(), scale=sd,
    )


def _optimise_v(problem: _Problem, k: int, max_restarts: int, maxiter: int):
    """Run the documented starts; return ``(v, converged, starts)`` of the winner."""
    candidates = [("equal", np.full(k, 1.0 / k))]
    reg = _regression_start(problem.x1s, problem.x0s, problem.z1, problem.z0)
    if reg is not None:
        candidates.append(("regression", reg))
    results: list[OptimStart] = []

    def run(name, start):
        problem.evaluations = 0
        problem.last = None
        p, loss, conv, msg = _minimise(problem, start, max_restarts, maxiter)
        vv = np.abs(p) / np.abs(p).sum()
        results.append(OptimStart(name, np.asarray(start, float), vv, loss, problem.evaluations, conv, msg))

    for name, start in candidates:
        run(name, start)
    # third start: drop each coordinate of the best so far, keep the best of those
    lead = min(results, key=lambda r: r.loss_v)
    best_drop, best_loss = None, np.inf
    for i in range(k):
        trial = lead.v.copy()
        trial[i] = 0.0
        if trial.sum() <= 0:
            continue
        trial /= trial.sum()
        problem.last = None
        loss = problem.objective(trial)
        if loss < best_loss:
            best_drop, best_loss = trial, loss
    if best_drop is not None:
        run("drop-one", best_drop)

    winner = results[0]
    w_win = problem.weights(winner.v, warm=False)
    loss_win = problem.loss_v(w_win)
    for r in results[1:]:
        w = problem.weights(r.v, warm=False)
        loss = problem.loss_v(w)
        if _better(loss, w, loss_win, w_win):
            winner, w_win, loss_win = r, w, loss
    return winner.v, winner.converged, results
