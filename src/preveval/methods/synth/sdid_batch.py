r"""Many synthetic-DiD fits of the same shape at once: the placebo and leave-one-out re-fits.

A placebo-in-space run refits :func:`~.sdid.fit_sdid` once per donor (each as if treated,
with the other donors as controls); a placebo in time and leave-one-donor-out add as many
again. Every such fit has the same shape, so :func:`sdid_counterfactuals` runs them as one
batch through the vectorised Frank-Wolfe recursion
(:func:`~.frank_wolfe.frank_wolfe`), each problem with its own noise level
:math:`\hat\sigma_b`, penalties :math:`\zeta_b = \eta\hat\sigma_b` and stopping threshold
:math:`10^{-5}\hat\sigma_b`, each stopping on its own: the same iterates as one
:func:`~.sdid.fit_sdid` call per problem (the ``synthdid`` defaults: two-stage fit with
sparsification, :math:`\eta_\omega = (N_{tr} T_{post})^{1/4}`, :math:`\eta_\lambda = 10^{-6}`),
at the cost of the slowest problem instead of the sum.

:class:`SdidBatchFitter` is a :data:`~.placebo.Fitter` that computes the fits a placebo
function will ask for in batches (:meth:`SdidBatchFitter.prepare`) and answers from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import EstimationError
from .frank_wolfe import frank_wolfe, sparsify

__all__ = ["SdidBatchFitter", "sdid_counterfactuals"]

Job = tuple[int, tuple[int, ...], int, int]  # (target row, pool rows, t0, t_end)


def _two_stage(a: np.ndarray, b: np.ndarray, start: np.ndarray, zeta: np.ndarray, md: np.ndarray,
               max_iter_pre: int, max_iter: int) -> np.ndarray:
    first = frank_wolfe(a, b, start, zeta, min_decrease=md, max_iter=max_iter_pre)
    return frank_wolfe(a, b, sparsify(first.x), zeta, min_decrease=md, max_iter=max_iter).x


def sdid_counterfactuals(ys, t0: int, *, eta_omega: float, eta_lambda: float = 1e-6,
                         max_iter: int = 10_000, max_iter_pre_sparsify: int = 100) -> np.ndarray:
    """``(B, T)`` counterfactual paths of the last row of each ``(N, T)`` panel of ``ys``.

    ``ys`` is ``(B, N, T)``: in every panel the first ``N - 1`` rows are the controls, the
    last the treated unit; ``t0`` pre-periods. The path is the synthetic control plus the
    :math:`\\lambda`-weighted pre-period offset (:attr:`~.sdid.SdidFit.counterfactual`).
    """
    ys = np.asarray(ys, dtype=float)
    B, N, T = ys.shape
    n0 = N - 1
    if n0 < 1 or not 1 <= t0 < T or n0 * (t0 - 1) < 2:
        raise EstimationError("synthetic DiD: each re-fit needs a control, and pre-periods for the noise level")
    d = np.diff(ys[:, :n0, :t0], axis=2).reshape(B, -1)
    sigma = d.std(axis=1, ddof=1)
    md = 1e-5 * sigma
    yc = np.empty((B, n0 + 1, t0 + 1))
    yc[:, :n0, :t0] = ys[:, :n0, :t0]
    yc[:, :n0, t0] = ys[:, :n0, t0:].mean(axis=2)
    yc[:, n0, :t0] = ys[:, n0, :t0]
    yc[:, n0, t0] = ys[:, n0, t0:].mean(axis=1)
    lam_design = yc[:, :n0, :] - yc[:, :n0, :].mean(axis=1, keepdims=True)
    lam = _two_stage(lam_design[:, :, :t0], lam_design[:, :, t0], np.full((B, t0), 1.0 / t0),
                     eta_lambda * sigma, md, max_iter_pre_sparsify, max_iter)
    om = np.transpose(yc[:, :, :t0], (0, 2, 1))
    om = om - om.mean(axis=1, keepdims=True)
    omega = _two_stage(om[:, :, :n0], om[:, :, n0], np.full((B, n0), 1.0 / n0), eta_omega * sigma, md,
                       max_iter_pre_sparsify, max_iter)
    synth = np.einsum("bn,bnt->bt", omega, ys[:, :n0, :])
    offset = np.einsum("bt,bt->b", ys[:, n0, :t0] - synth[:, :t0], lam)
    return synth + offset[:, None]


class SdidBatchFitter:
    """A placebo :data:`~.placebo.Fitter` for synthetic DiD that fits in batches.

    ``y`` holds the rows (the treated unit, or the treated average, and the donors);
    ``n_treated`` the number of treated units the target row stands for, which sets
    :math:`\\eta_\\omega = (N_{tr} T_{post})^{1/4}` of each fit (``T_post = t_end - t0``).
    """

    def __init__(self, y, n_treated: int = 1) -> None:
        self.y = np.asarray(y, dtype=float)
        self.n_treated = n_treated
        self._cache: dict[Job, np.ndarray] = {}

    def _eta(self, t0: int, t_end: int) -> float:
        return float((self.n_treated * (t_end - t0)) ** 0.25)

    def prepare(self, jobs: Sequence[Job]) -> None:
        """Fit every job not yet cached, one batch per (pool size, t0, t_end)."""
        groups: dict[tuple[int, int, int], list[Job]] = {}
        for job in jobs:
            if job not in self._cache:
                groups.setdefault((len(job[1]), job[2], job[3]), []).append(job)
        for (_, t0, t_end), group in groups.items():
            stack = np.stack([self.y[[*pool, target], :t_end] for target, pool, _, _ in group])
            paths = sdid_counterfactuals(stack, t0, eta_omega=self._eta(t0, t_end))
            for job, path in zip(group, paths, strict=True):
                self._cache[job] = path

    def __call__(self, target: int, pool: np.ndarray, t0: int, t_end: int) -> np.ndarray:
        job: Job = (int(target), tuple(int(p) for p in pool), int(t0), int(t_end))
        if job not in self._cache:
            self.prepare([job])
        return self._cache[job]


def space_jobs(n_rows: int, t0: int, t_end: int, treated: int = 0) -> list[Job]:
    """The fits :func:`~.placebo.placebo_in_space` asks for (treated first, then each donor)."""
    donors = [i for i in range(n_rows) if i != treated]
    jobs: list[Job] = [(treated, tuple(donors), t0, t_end)]
    jobs += [(d, tuple(x for x in donors if x != d), t0, t_end) for d in donors]
    return jobs


def leave_one_out_jobs(n_rows: int, t0: int, t_end: int, dropped: Sequence[int], treated: int = 0) -> list[Job]:
    """The fits :func:`~.placebo.leave_one_out` asks for."""
    donors = [i for i in range(n_rows) if i != treated]
    return [(treated, tuple(donors), t0, t_end)] + [
        (treated, tuple(x for x in donors if x != d), t0, t_end) for d in dropped]
