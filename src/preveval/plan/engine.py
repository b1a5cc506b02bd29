r"""The Monte Carlo engine: per-simulation detection thresholds, on both cores, in a fixed order.

For simulation :math:`s` the noise is drawn once (its own child of
``numpy.random.SeedSequence(seed)``, keyed by the analysis and the simulation number) and
re-used for every effect size (common random numbers). The declared analysis then rejects
"no effect" in the expected direction at the 5% level exactly when the effect's size
:math:`m` reaches a threshold :math:`m^*_s`; the engine finds it by root-finding on the
signed normal score of the analysis' own two-sided p-value,

.. math::

    g_s(m) = \operatorname{sign}(d\,\hat\tau_s(m))\,\Phi^{-1}\!\big(1 - p_s(m)/2\big) - \Phi^{-1}(0.975),

(a first step from the standard error, then Illinois regula falsi inside the bracket; for a
linear model :math:`g_s` is linear and two fits find the root exactly). Power at any effect
is then the share of simulations whose threshold it reaches,
:math:`\widehat{\text{power}}(m) = \#\{s: m^*_s \le m\}/S`, so one search gives the whole
power curve, and the minimum detectable effect at 80% power is the 80% quantile of the
thresholds. This assumes that a simulation that detects an effect also detects any larger
one, which common random numbers make hold for these estimators (tests check it against
direct rejection counts).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np
from scipy import special

from preveval.errors import PrevevalError
from preveval.results.base import Estimate

__all__ = ["Simulator", "Task", "run_tasks", "signed_score", "threshold", "thresholds_for"]

Z_CRIT = 1.959963984540054  # two-sided 5%
EXPANSIONS = 8  # doublings of the first guess before a simulation counts as "never detects"
TOLERANCE = 0.02  # relative width of the final bracket (the root is interpolated inside it)
TOL_Z = 0.02  # |g| below this is the root: 0.02 standard errors, under 1% of an MDE
MAX_STEPS = 8


class Simulator(Protocol):
    """What the engine needs from a design family's simulator."""

    def noise(self, rng: np.random.Generator, extra: int) -> dict[str, np.ndarray]: ...

    def draw(self, noise: dict[str, np.ndarray], effect: float, extra: int) -> Any: ...

    def fit(self, data: Any) -> Estimate: ...


def signed_score(e: Estimate, direction: float) -> float:
    """The signed normal score of a two-sided p-value (positive in the expected direction)."""
    if e.p_value is None or not math.isfinite(e.estimate):
        return float("nan")
    p = min(max(float(e.p_value), 1e-300), 1.0)
    z = float(-special.ndtri(p / 2.0))
    return z if direction * e.estimate > 0 else -z


def _scale(e: Estimate) -> float | None:
    if e.std_error is not None and e.std_error > 0 and math.isfinite(e.std_error):
        return float(e.std_error)
    if e.ci_low is not None and e.ci_high is not None and e.ci_high > e.ci_low:
        return float(e.ci_high - e.ci_low) / (2 * Z_CRIT)
    return None


def threshold(score: Callable[[float], tuple[float, Estimate]], direction: float, guess: float) -> float:
    """The smallest effect size at which the analysis rejects (0, or inf when it never does).

    ``score(m)`` fits the data simulated with effect ``direction * m`` and returns
    :math:`g(m)` and the estimate; ``guess`` is a scale used when the fit has no standard
    error.
    """
    g0, e0 = score(0.0)
    if math.isnan(g0):
        return float("nan")
    if g0 >= 0:
        return 0.0
    s = _scale(e0) or guess
    z0 = g0 + Z_CRIT
    m = max(s * (Z_CRIT - z0) if math.isfinite(z0) else 2 * Z_CRIT * s, 0.05 * s)
    lo, glo = 0.0, g0
    hi, ghi = math.nan, math.nan
    for _ in range(EXPANSIONS):
        g, _ = score(m)
        if math.isnan(g):
            return float("nan")
        if abs(g) < TOL_Z:
            return m
        if g >= 0:
            hi, ghi = m, g
            break
        lo, glo = m, g
        m *= 2.0
    if math.isnan(hi):
        return float("inf")
    side = 0
    for _ in range(MAX_STEPS):
        if hi - lo <= TOLERANCE * hi:
            break
        if math.isfinite(glo) and math.isfinite(ghi) and ghi > glo:
            c = lo + (hi - lo) * (-glo) / (ghi - glo)
            c = min(max(c, lo + 0.01 * (hi - lo)), hi - 0.01 * (hi - lo))
        else:
            c = 0.5 * (lo + hi)
        g, _ = score(c)
        if math.isnan(g):
            return float("nan")
        if abs(g) < TOL_Z:
            return c
        if g >= 0:
            hi, ghi = c, g
            if side == 1 and math.isfinite(glo):
                glo /= 2.0  # Illinois step: keep the secant from stalling on one side
            side = 1
        else:
            lo, glo = c, g
            if side == -1 and math.isfinite(ghi):
                ghi /= 2.0
            side = -1
    if math.isfinite(glo) and math.isfinite(ghi) and ghi > glo:
        return lo + (hi - lo) * (-glo) / (ghi - glo)
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Task:
    """Simulations ``sims`` of analysis ``key`` with ``extra`` more post-period periods."""

    key: int
    extra: int
    sims: tuple[int, ...]


def seed_of(seed: int, key: int, sim: int) -> np.random.SeedSequence:
    """The seed of one simulation: the same for every effect size and post-period length."""
    return np.random.SeedSequence(seed, spawn_key=(key, sim))


def thresholds_for(sim: Simulator, key: int, extra: int, sims: Sequence[int], seed: int, direction: float,
                   guess: float) -> list[float]:
    """The detection threshold of each simulation (nan when a fit failed)."""
    import warnings

    out = []
    for s in sims:
        rng = np.random.default_rng(seed_of(seed, key, s))
        noise_for = getattr(sim, "noise_for", None)  # a simulator whose simulations are not random
        noise = noise_for(s, rng, extra) if noise_for is not None else sim.noise(rng, extra)

        def score(m: float, noise: dict[str, np.ndarray] = noise) -> tuple[float, Estimate]:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    e = sim.fit(sim.draw(noise, direction * m, extra))
            except (PrevevalError, np.linalg.LinAlgError, ValueError, FloatingPointError):
                return float("nan"), Estimate("failed", float("nan"), None, None, None, None)
            return signed_score(e, direction) - Z_CRIT, e

        out.append(threshold(score, direction, guess))
    return out


_STATE: dict[str, Any] = {}


def _done(progress: Callable[[int], None] | None, n: int, _future: object) -> None:
    if progress is not None:
        progress(n)


def _init(payload: dict[str, Any]) -> None:
    _STATE.clear()
    _STATE.update(payload)


def _work(task: Task) -> list[float]:
    sim, direction, guess = _STATE["sims"][task.key]
    return thresholds_for(sim, task.key, task.extra, task.sims, _STATE["seed"], direction, guess)


def run_tasks(sims: dict[int, tuple[Simulator, float, float]], tasks: list[Task], *, seed: int, workers: int,
              progress: Callable[[int], None] | None = None) -> list[list[float]]:
    """Run ``tasks`` (on ``workers`` processes when more than one); results in task order.

    Each worker gets the simulators once; every simulation's numbers depend only on its
    seed, so the results do not depend on the number of workers. Worker processes use one
    BLAS thread each (two processes on two cores are faster than threads fighting over them).
    """
    if workers <= 1 or len(tasks) <= 1:
        _init({"sims": sims, "seed": seed})
        out = []
        for t in tasks:
            out.append(_work(t))
            if progress:
                progress(len(t.sims))
        return out
    import multiprocessing

    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {n: os.environ.get(n) for n in names}
    os.environ.update({n: "1" for n in names})
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                                 initargs=({"sims": sims, "seed": seed},)) as pool:
            futures = [pool.submit(_work, t) for t in tasks]
            for t, fut in zip(tasks, futures, strict=True):
                fut.add_done_callback(partial(_done, progress, len(t.sims)))
            return [f.result() for f in futures]
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v
