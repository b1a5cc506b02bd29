r"""Standard errors of synthetic DiD, SC and DiD estimates (Arkhangelsky et al. 2021, sec. 5).

* ``"placebo"`` (Algorithm 4): draw a random permutation of the controls, make the last
  :math:`N_{tr}` of them pseudo-treated, refit on the controls only, repeat :math:`B`
  times; :math:`\hat V = \frac{1}{B}\sum_b (\hat\tau^{(b)} - \bar\tau)^2`. Valid with one
  treated unit if the treated and control units' errors are exchangeable
  (homoskedastic across units); requires :math:`N_{co} > N_{tr}`.
* ``"jackknife"`` (Algorithm 3): leave each unit out, keep :math:`\hat\lambda` and the
  renormalised :math:`\hat\omega` fixed, :math:`\hat V = \frac{N-1}{N}\sum_i
  (\hat\tau^{(-i)} - \bar\tau)^2`. Not defined with one treated unit, nor when one
  control carries all the weight.
* ``"bootstrap"`` (Algorithm 2): resample units with replacement, discard draws without
  both a control and a treated unit, refit; :math:`\hat V` as for the placebo. Not
  defined with one treated unit.

As in ``synthdid``'s ``vcov.synthdid_estimate`` (0.0.9): the refits reuse the original fit's
:math:`\zeta`, ``min.decrease`` and iteration caps; re-estimated weights start from the
original ones (restricted to the units kept and renormalised), fixed weights (DiD's, SC's
zero time weights) stay fixed. The standard error is :math:`\sqrt{\hat V}` with the
:math:`1/B` (not :math:`1/(B-1)`) variance. Randomness comes from
``numpy.random.default_rng(seed)`` only: the draws differ from R's, so a standard error
agrees with ``synthdid``'s up to Monte Carlo error (about :math:`1/\sqrt{2B}` relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from ...errors import EstimationError
from .sdid import (
    SdidFit,
    _design,
    estimate_from_weights,
    fit_with_options,
    solve_weights,
)

__all__ = ["SdidStdError", "placebo_estimates", "sdid_std_error"]

SeMethod = Literal["placebo", "jackknife", "bootstrap"]


@dataclass(frozen=True)
class SdidStdError:
    """A standard error with the replicate estimates it came from.

    ``std_error`` is ``None`` when the method does not apply; ``reason`` says why.
    ``ci_low``/``ci_high`` are ``att -/+ z * std_error`` with the normal quantile ``z`` of
    ``level`` (as the paper's Table 1 and ``synthdid``'s README).
    """

    method: str
    std_error: float | None
    replications: int
    estimates: np.ndarray
    seed: int | None
    level: float
    ci_low: float | None
    ci_high: float | None
    reason: str | None = None


def _normalise(w: np.ndarray) -> np.ndarray:
    """``synthdid``'s ``sum_normalize``: rows to sum one, uniform when a row sums to zero."""
    w = np.atleast_2d(np.asarray(w, dtype=float))
    s = w.sum(axis=1, keepdims=True)
    out = np.where(s != 0, w / np.where(s == 0, 1.0, s), 1.0 / w.shape[1])
    return out


def placebo_estimates(fit: SdidFit, permutations) -> np.ndarray:
    """Placebo estimates (Algorithm 4) for given permutations of the control rows.

    Row ``b`` of ``permutations`` (``(B, N_co)``, 0-based) orders the controls; its last
    :math:`N_{tr}` entries become the pseudo-treated units and the refit runs on the
    others, as ``theta(ind)`` in ``synthdid``'s ``placebo_se``. Every replication's
    Frank-Wolfe runs in one batch.
    """
    opts = fit.options
    n0, n1, t0 = fit.n_control, fit.n_treated, fit.t_pre
    if n0 <= n1:
        raise EstimationError(
            "synthetic DiD: the placebo standard error needs more controls than treated units "
            f"({n0} controls, {n1} treated)")
    perms = np.asarray(permutations, dtype=int)
    if perms.ndim != 2 or perms.shape[1] != n0 or np.any(np.sort(perms, axis=1) != np.arange(n0)):
        raise EstimationError(f"synthetic DiD: each permutation must reorder the {n0} control rows")
    replications = perms.shape[0]
    m0 = n0 - n1
    ys = fit.y[:n0][perms]  # (B, n0, T): first m0 rows are controls, the rest pseudo-treated
    B = replications
    # collapsed forms, batched
    ctrl = ys[:, :m0, :]
    trt = ys[:, m0:, :]
    yc = np.empty((B, m0 + 1, t0 + 1))
    yc[:, :m0, :t0] = ctrl[:, :, :t0]
    yc[:, :m0, t0] = ctrl[:, :, t0:].mean(axis=2)
    yc[:, m0, :t0] = trt[:, :, :t0].mean(axis=1)
    yc[:, m0, t0] = trt[:, :, t0:].mean(axis=(1, 2))
    if opts.update_lambda:
        a, b = _design(yc[:, :m0, :], opts.lambda_intercept)
        start = np.broadcast_to(fit.lambda_weights, (B, t0))
        lam, _, _ = solve_weights(a, b, start, opts.zeta_lambda, opts)
    else:
        lam = np.broadcast_to(fit.lambda_weights, (B, t0)).copy()
    omega_start = _normalise(fit.omega[perms[:, :m0]])
    if opts.update_omega:
        a, b = _design(np.transpose(yc[:, :, :t0], (0, 2, 1)), opts.omega_intercept)
        omega, _, _ = solve_weights(a, b, omega_start, opts.zeta_omega, opts)
    else:
        omega = omega_start
    u = np.concatenate([-omega, np.full((B, n1), 1.0 / n1)], axis=1)
    t = np.concatenate([-lam, np.full((B, fit.t_post), 1.0 / fit.t_post)], axis=1)
    return np.einsum("bn,bnt,bt->b", u, ys, t)


def _jackknife(fit: SdidFit) -> tuple[np.ndarray | None, str | None]:
    """Algorithm 3 with fixed weights; ``(None, reason)`` when undefined."""
    n0, n = fit.n_control, fit.y.shape[0]
    if fit.n_treated == 1:
        return None, "the jackknife needs more than one treated unit"
    if np.count_nonzero(fit.omega) == 1:
        return None, "the jackknife is undefined when one control has all the unit weight"
    out = np.empty(n)
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        k0 = int(np.sum(keep < n0))
        om = fit.omega[keep[keep < n0]]
        om = _normalise(om)[0]
        out[i] = estimate_from_weights(fit.y[keep], k0, fit.t_pre, om, fit.lambda_weights)
    return out, None


def _bootstrap(fit: SdidFit, replications: int, rng: np.random.Generator) -> tuple[np.ndarray | None, str | None]:
    """Algorithm 2 (unit bootstrap), one refit per draw."""
    n0, n = fit.n_control, fit.y.shape[0]
    if fit.n_treated == 1:
        return None, "the bootstrap needs more than one treated unit"
    out = np.empty(replications)
    count = 0
    while count < replications:
        ind = np.sort(rng.integers(0, n, size=n))
        k0 = int(np.sum(ind < n0))
        if k0 == 0 or k0 == n:
            continue
        om = _normalise(fit.omega[ind[ind < n0]])[0]
        refit = fit_with_options(fit.y[ind], k0, fit.t_pre, fit.options, fit.noise_level,
                                 omega_start=om, lambda_start=fit.lambda_weights)
        out[count] = refit.att
        count += 1
    return out, None


def sdid_std_error(
    fit: SdidFit,
    method: SeMethod = "placebo",
    *,
    replications: int = 200,
    seed: int = 12345,
    level: float = 0.95,
) -> SdidStdError:
    """Standard error of :attr:`SdidFit.att` by placebo, jackknife or bootstrap.

    Parameters
    ----------
    fit : SdidFit
        From :func:`~preveval.methods.synth.sdid.fit_sdid`.
    method : {"placebo", "jackknife", "bootstrap"}, default "placebo"
    replications : int, default 200
        :math:`B` (placebo, bootstrap), as ``synthdid``.
    seed : int, default 12345
        Seed of ``numpy.random.default_rng`` (placebo, bootstrap).
    level : float, default 0.95
        Level of the normal interval ``att +- z * se``.

    Returns
    -------
    SdidStdError
        ``std_error = None`` with a ``reason`` when the method does not apply (one
        treated unit for jackknife and bootstrap).

    References
    ----------
    Arkhangelsky et al. (2021), *AER* 111(12), sec. 5, Algorithms 2-4.
    """
    if replications < 2:
        raise EstimationError("synthetic DiD: at least two replications are needed")
    rng = np.random.default_rng(seed)
    reason = None
    if method == "placebo":
        perms = np.stack([rng.permutation(fit.n_control) for _ in range(replications)])
        est: np.ndarray | None = placebo_estimates(fit, perms)
        b = replications
    elif method == "jackknife":
        est, reason = _jackknife(fit)
        b = fit.y.shape[0]
    elif method == "bootstrap":
        est, reason = _bootstrap(fit, replications, rng)
        b = replications
    else:
        raise EstimationError(f"synthetic DiD: unknown standard-error method {method!r}")
    if est is None:
        return SdidStdError(method, None, 0, np.empty(0), seed, level, None, None, reason)
    if method == "jackknife":
        n = est.size
        se = float(np.sqrt((n - 1) / n * np.sum((est - est.mean()) ** 2)))
    else:
        se = float(np.sqrt(np.mean((est - est.mean()) ** 2)))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return SdidStdError(method, se, b, est, seed if method != "jackknife" else None, level,
                        fit.att - z * se, fit.att + z * se)
