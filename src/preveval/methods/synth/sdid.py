r"""Synthetic difference-in-differences, with the paper's synthetic control and DiD.

Estimand: the average effect on the treated block,
:math:`\tau = \frac{1}{N_{tr} T_{post}} \sum_{i > N_{co}} \sum_{t > T_{pre}}
(Y_{it}(1) - Y_{it}(0))`, all treated units adopting at the same time (block design).

Estimator (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021, *AER* 111(12),
4088-4118, Algorithm 1, eq. 1.1):

.. math::

    \hat\tau = \Big(\bar Y_{tr,post} - \sum_t \hat\lambda_t \bar Y_{tr,t}\Big)
             - \sum_i \hat\omega_i \Big(\bar Y_{i,post} - \sum_t \hat\lambda_t Y_{it}\Big),

the weighted two-way fixed-effects regression with unit weights :math:`\hat\omega` (eq.
2.2, intercept, ridge :math:`\zeta^2 T_{pre} \lVert\omega\rVert^2`) and time weights
:math:`\hat\lambda` (eq. 2.3, intercept). Regularisation as in the paper (eq. 2.4) and the
defaults of the R package ``synthdid`` 0.0.9 (``synthdid_estimate``):

* :math:`\zeta_\omega = (N_{tr} T_{post})^{1/4} \hat\sigma`, :math:`\hat\sigma` the sample
  standard deviation (denominator :math:`n - 1`) of all first differences
  :math:`Y_{i,t+1} - Y_{it}` of the control units in the pre-period;
* :math:`\zeta_\lambda = 10^{-6} \hat\sigma`;
* Frank-Wolfe (:mod:`.frank_wolfe`) with ``min.decrease`` :math:`10^{-5}\hat\sigma`,
  first 100 iterations from uniform weights, then :func:`~.frank_wolfe.sparsify`
  (weights at most a quarter of the largest set to zero) and up to 10,000 more from there.

``estimator="sc"`` is ``synthdid``'s ``sc_estimate``: no unit intercept, no time weights
(:math:`\lambda = 0`, so the estimate is the post-period average gap), and
:math:`\zeta_\omega = 10^{-6}\hat\sigma`. ``estimator="did"`` is ``did_estimate``:
uniform :math:`\omega = 1/N_{co}` and :math:`\lambda = 1/T_{pre}` (plain DiD).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ...errors import EstimationError
from .frank_wolfe import frank_wolfe, sparsify

__all__ = ["SdidFit", "SdidOptions", "did_estimate", "fit_sdid", "sc_estimate"]

Estimator = Literal["sdid", "sc", "did"]


@dataclass(frozen=True)
class SdidOptions:
    """Settings of one fit, kept so that the standard errors refit exactly alike.

    ``update_omega`` / ``update_lambda`` false means the weights are fixed (DiD uniform,
    SC's zero time weights); ``zeta_*`` and ``min_decrease`` are absolute (already
    multiplied by the noise level of the original fit).
    """

    estimator: Estimator
    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int
    max_iter_pre_sparsify: int
    sparsify: bool


@dataclass(frozen=True)
class SdidFit:
    """A synthetic DiD (or SC, or DiD) fit on a block design.

    Attributes
    ----------
    att : float
        :math:`\\hat\\tau`.
    omega : numpy.ndarray
        ``(N_co,)`` unit weights of the controls (order of ``y``'s first rows).
    lambda_weights : numpy.ndarray
        ``(T_pre,)`` time weights.
    effect_curve : numpy.ndarray
        ``(T_post,)`` per-period effects whose mean is ``att`` (``synthdid_effect_curve``).
    noise_level : float
        :math:`\\hat\\sigma`.
    options : SdidOptions
    n_control, n_treated, t_pre, t_post : int
    y : numpy.ndarray
        The outcome matrix, controls first (rows reordered if a mask was given).
    order : numpy.ndarray
        Row indices of the input ``Y`` in the order of ``y``.
    iterations : tuple of int
        Frank-Wolfe iterations (time weights, unit weights), both stages; 0 when fixed.
    converged : bool
        Whether every Frank-Wolfe stage that ran stopped by ``min_decrease``
        (``synthdid`` often stops the unit weights at ``max_iter``; this is then false).
    """

    att: float
    omega: np.ndarray
    lambda_weights: np.ndarray
    effect_curve: np.ndarray
    noise_level: float
    options: SdidOptions
    n_control: int
    n_treated: int
    t_pre: int
    t_post: int
    y: np.ndarray
    order: np.ndarray
    iterations: tuple[int, int]
    converged: bool

    @property
    def counterfactual(self) -> np.ndarray:
        """``(T,)`` the treated average's counterfactual path: synthetic control plus the
        :math:`\\lambda`-weighted pre-period offset (observed minus this is the gap)."""
        n0 = self.n_control
        treated = self.y[n0:].mean(axis=0)
        synth = self.omega @ self.y[:n0]
        offset = (treated[: self.t_pre] - synth[: self.t_pre]) @ self.lambda_weights
        return synth + offset


def collapsed_form(y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    """``(N_co + 1, T_pre + 1)``: treated rows and post columns replaced by their means."""
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def noise_level(y: np.ndarray, n0: int, t0: int) -> float:
    """:math:`\\hat\\sigma`: sample sd of the controls' pre-period first differences."""
    if n0 * (t0 - 1) < 2:
        raise EstimationError(
            "synthetic DiD: too few pre-period first differences to estimate the noise level; "
            "give noise= or more pre-periods")
    d = np.diff(y[:n0, :t0], axis=1)
    return float(np.std(d, ddof=1))


def _design(yc: np.ndarray, intercept: bool):
    """Split a ``(m, n + 1)`` matrix into centred (if asked) ``A`` and ``b``."""
    if intercept:
        yc = yc - yc.mean(axis=-2, keepdims=True)
    return yc[..., :-1], yc[..., -1]


def solve_weights(a_mat, b_vec, start, zeta, opts: SdidOptions):
    """Two-stage Frank-Wolfe (``max_iter_pre_sparsify`` then sparsify then ``max_iter``)."""
    if opts.sparsify:
        first = frank_wolfe(a_mat, b_vec, start, zeta, min_decrease=opts.min_decrease,
                            max_iter=opts.max_iter_pre_sparsify)
        second = frank_wolfe(a_mat, b_vec, sparsify(first.x), zeta,
                             min_decrease=opts.min_decrease, max_iter=opts.max_iter)
        return second.x, first.iterations + second.iterations, second.converged
    res = frank_wolfe(a_mat, b_vec, start, zeta, min_decrease=opts.min_decrease, max_iter=opts.max_iter)
    return res.x, res.iterations, res.converged


def estimate_from_weights(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    """:math:`(-\\omega, 1/N_{tr})^\\top Y (-\\lambda, 1/T_{post})` (``synthdid_estimate``)."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    u = np.concatenate([-omega, np.full(n1, 1.0 / n1)])
    t = np.concatenate([-lam, np.full(t1, 1.0 / t1)])
    return float(u @ y @ t)


def _check_inputs(Y, t_pre, treated, n_control):
    y = np.asarray(Y, dtype=float)
    if y.ndim != 2:
        raise EstimationError(f"synthetic DiD: Y must be units x periods, got shape {y.shape}")
    N, T = y.shape
    if (treated is None) == (n_control is None):
        raise EstimationError("synthetic DiD: give exactly one of treated (a mask or indices) and n_control")
    if treated is not None:
        mask = np.zeros(N, dtype=bool)
        tr = np.asarray(treated)
        if tr.dtype == bool:
            if tr.shape != (N,):
                raise EstimationError(f"synthetic DiD: the treated mask has {tr.shape[0]} entries for {N} units")
            mask = tr.copy()
        else:
            mask[tr.astype(int)] = True
        order = np.concatenate([np.flatnonzero(~mask), np.flatnonzero(mask)])
        n0 = int((~mask).sum())
    else:
        n0 = int(n_control)
        order = np.arange(N)
    problems = []
    if not 1 <= n0 < N:
        problems.append(f"{n0} control units of {N}: need at least one control and one treated unit")
    if not 1 <= int(t_pre) < T:
        problems.append(f"T_pre = {t_pre} of {T} periods: need at least one pre- and one post-period")
    if problems:
        raise EstimationError("synthetic DiD: " + "; ".join(problems))
    y = y[order]
    if not np.all(np.isfinite(y)):
        i, t = np.argwhere(~np.isfinite(y))[0]
        raise EstimationError(
            f"synthetic DiD: Y has a missing or infinite value (unit row {order[i]}, period "
            f"column {t}); the design needs a balanced panel")
    return y, n0, int(t_pre), order


def default_options(
    estimator: Estimator, y: np.ndarray, n0: int, t0: int, sigma: float, *,
    eta_omega: float | None, eta_lambda: float, min_decrease: float | None,
    max_iter: int, max_iter_pre_sparsify: int, use_sparsify: bool,
) -> SdidOptions:
    """The ``synthdid`` defaults of each estimator, made absolute with :math:`\\hat\\sigma`."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    if eta_omega is None:
        eta_omega = ((n1 * t1) ** 0.25) if estimator == "sdid" else 1e-6
    return SdidOptions(
        estimator=estimator,
        zeta_omega=eta_omega * sigma,
        zeta_lambda=eta_lambda * sigma,
        omega_intercept=estimator != "sc",
        lambda_intercept=True,
        update_omega=estimator != "did",
        update_lambda=estimator == "sdid",
        min_decrease=(1e-5 * sigma) if min_decrease is None else min_decrease,
        max_iter=max_iter,
        max_iter_pre_sparsify=max_iter_pre_sparsify if use_sparsify else max_iter,
        sparsify=use_sparsify,
    )


def fit_with_options(y: np.ndarray, n0: int, t0: int, opts: SdidOptions, sigma: float,
                     order: np.ndarray | None = None,
                     omega_start: np.ndarray | None = None,
                     lambda_start: np.ndarray | None = None) -> SdidFit:
    """Fit on a controls-first matrix with fixed options (used by the standard errors)."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    yc = collapsed_form(y, n0, t0)
    iters = [0, 0]
    converged = True
    if opts.update_lambda:
        a, bb = _design(yc[:n0, :], opts.lambda_intercept)
        start = np.full(t0, 1.0 / t0) if lambda_start is None else lambda_start
        lam, it, conv = solve_weights(a[None], bb[None], start[None], opts.zeta_lambda, opts)
        lam, iters[0], converged = lam[0], int(it[0]), converged and bool(conv[0])
    elif opts.estimator == "sc":
        lam = np.zeros(t0)
    else:
        lam = np.full(t0, 1.0 / t0) if lambda_start is None else lambda_start
    if opts.update_omega:
        a, bb = _design(yc[:, :t0].T, opts.omega_intercept)
        start = np.full(n0, 1.0 / n0) if omega_start is None else omega_start
        omega, it, conv = solve_weights(a[None], bb[None], start[None], opts.zeta_omega, opts)
        omega, iters[1], converged = omega[0], int(it[0]), converged and bool(conv[0])
    else:
        omega = np.full(n0, 1.0 / n0) if omega_start is None else omega_start
    att = estimate_from_weights(y, n0, t0, omega, lam)
    u = np.concatenate([-omega, np.full(n1, 1.0 / n1)])
    path = u @ y
    curve = path[t0:] - path[:t0] @ lam
    return SdidFit(
        att=att, omega=omega, lambda_weights=lam, effect_curve=curve, noise_level=sigma,
        options=opts, n_control=n0, n_treated=n1, t_pre=t0, t_post=t1, y=y,
        order=np.arange(y.shape[0]) if order is None else order,
        iterations=(iters[0], iters[1]), converged=converged,
    )


def fit_sdid(
    Y,
    t_pre: int,
    *,
    treated=None,
    n_control: int | None = None,
    estimator: Estimator = "sdid",
    eta_omega: float | None = None,
    eta_lambda: float = 1e-6,
    noise: float | None = None,
    min_decrease: float | None = None,
    max_iter: int = 10_000,
    max_iter_pre_sparsify: int = 100,
    use_sparsify: bool = True,
) -> SdidFit:
    r"""Synthetic DiD (default), synthetic control or DiD on a block design.

    Parameters
    ----------
    Y : array_like
        ``(N, T)`` outcomes, units in rows, periods in columns (balanced, no blanks).
    t_pre : int
        :math:`T_{pre}`: the first ``t_pre`` columns are before treatment.
    treated : array_like of bool or int, optional
        Treated units as a mask or row indices; rows are reordered controls first
        (stable order). Give this or ``n_control``.
    n_control : int, optional
        :math:`N_{co}` when the first ``n_control`` rows are the controls.
    estimator : {"sdid", "sc", "did"}, default "sdid"
        See the module docstring.
    eta_omega : float, optional
        :math:`\zeta_\omega / \hat\sigma`; default :math:`(N_{tr} T_{post})^{1/4}` for
        SDID and :math:`10^{-6}` for SC.
    eta_lambda : float, default 1e-6
        :math:`\zeta_\lambda / \hat\sigma`.
    noise : float, optional
        :math:`\hat\sigma` instead of the sd of first differences.
    min_decrease : float, optional
        Frank-Wolfe stopping threshold; default :math:`10^{-5}\hat\sigma`.
    max_iter, max_iter_pre_sparsify : int
        Frank-Wolfe caps of the second and first stages (10,000 and 100).
    use_sparsify : bool, default True
        Two-stage fit with sparsification, as ``synthdid``.

    Returns
    -------
    SdidFit

    References
    ----------
    Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. & Wager, S. (2021).
    Synthetic difference-in-differences. *American Economic Review* 111(12), 4088-4118,
    Algorithm 1 and eq. (2.2)-(2.4); R package ``synthdid`` 0.0.9.
    """
    if estimator not in ("sdid", "sc", "did"):
        raise EstimationError(f"synthetic DiD: estimator must be sdid, sc or did, not {estimator!r}")
    y, n0, t0, order = _check_inputs(Y, t_pre, treated, n_control)
    if noise is not None:
        sigma = float(noise)
    elif estimator == "did" and n0 * (t0 - 1) < 2:
        sigma = float("nan")  # DiD's weights are fixed: no noise level is needed
    else:
        sigma = noise_level(y, n0, t0)
    opts = default_options(
        estimator, y, n0, t0, sigma, eta_omega=eta_omega, eta_lambda=eta_lambda,
        min_decrease=min_decrease, max_iter=max_iter,
        max_iter_pre_sparsify=max_iter_pre_sparsify, use_sparsify=use_sparsify)
    return fit_with_options(y, n0, t0, opts, sigma, order=order)


def sc_estimate(Y, t_pre: int, **kwargs) -> SdidFit:
    """``synthdid``'s ``sc_estimate``: :func:`fit_sdid` with ``estimator="sc"``."""
    return fit_sdid(Y, t_pre, estimator="sc", **kwargs)


def did_estimate(Y, t_pre: int, **kwargs) -> SdidFit:
    """``synthdid``'s ``did_estimate``: :func:`fit_sdid` with ``estimator="did"``."""
    return fit_sdid(Y, t_pre, estimator="did", **kwargs)


def with_options(fit: SdidFit, **changes) -> SdidOptions:
    """A copy of the fit's options with ``changes`` (for sensitivity checks)."""
    return replace(fit.options, **changes)
