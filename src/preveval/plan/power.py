r"""Power and minimum detectable effects from the simulations' detection thresholds.

With thresholds :math:`m^*_1..m^*_S` (see :mod:`preveval.plan.engine`):

- power at an effect of size :math:`m`: :math:`\#\{s: m^*_s \le m\}/S` (failed fits count as
  not detecting), with Monte Carlo standard error :math:`\sqrt{p(1-p)/S}`;
- the minimum detectable effect (MDE) at 80% power: the 80% quantile of the thresholds
  (``inverted_cdf``: an effect that the simulations detect at least 80% of the time); its
  Monte Carlo 95% interval from the order statistics
  :math:`S\,0.8 \pm 1.96\sqrt{S\,0.8\,0.2}`;
- on the log scale the MDE is also a ratio :math:`e^{d\,\mathrm{MDE}}` (0.8 = 20% fewer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Summary", "mde_of", "power_at", "summarise"]

TARGET = 0.8
CURVE_POINTS = 21


def power_at(thresholds: np.ndarray, m: float) -> float:
    """Share of simulations detecting an effect of size ``m`` (failed fits do not detect)."""
    t = np.where(np.isnan(thresholds), np.inf, thresholds)
    return float(np.mean(t <= m + 1e-12 * max(abs(m), 1.0)))


def mde_of(thresholds: np.ndarray, target: float = TARGET) -> tuple[float | None, float | None, float | None]:
    """The MDE at ``target`` power and its Monte Carlo 95% interval (None where not reached)."""
    t = np.sort(np.where(np.isnan(thresholds), np.inf, thresholds))
    n = len(t)
    if n == 0:
        return None, None, None
    k = int(math.ceil(target * n)) - 1
    half = 1.96 * math.sqrt(n * target * (1 - target))
    lo_k, hi_k = max(int(math.floor(target * n - half)) - 1, 0), min(int(math.ceil(target * n + half)) - 1, n - 1)

    def val(i: int) -> float | None:
        v = float(t[i])
        return v if math.isfinite(v) else None

    return val(k), val(lo_k), val(hi_k)


@dataclass(frozen=True)
class Summary:
    """What the thresholds of one analysis at one post-period length say."""

    n: int
    n_failed: int
    n_never: int
    mde: float | None
    mde_low: float | None
    mde_high: float | None
    power: float | None
    false_detection: float
    curve_effect: tuple[float, ...]
    curve_power: tuple[float, ...]


def summarise(thresholds: list[float], plausible: float | None, cap: float | None = None) -> Summary:
    """MDE, power at the plausible effect's size and the power curve."""
    t = np.asarray(thresholds, dtype=float)
    mde, lo, hi = mde_of(t)
    finite = t[np.isfinite(t)]
    top = cap if cap is not None else (2.0 * mde if mde else (float(finite.max()) * 1.2 if len(finite) else 1.0))
    if plausible is not None:
        top = max(top, 1.5 * abs(plausible))
    grid = np.linspace(0.0, top, CURVE_POINTS)
    return Summary(
        n=len(t), n_failed=int(np.isnan(t).sum()), n_never=int(np.isinf(t).sum()), mde=mde, mde_low=lo,
        mde_high=hi, power=None if plausible is None else power_at(t, abs(plausible)),
        false_detection=power_at(t, 0.0),
        curve_effect=tuple(float(g) for g in grid), curve_power=tuple(power_at(t, float(g)) for g in grid))
