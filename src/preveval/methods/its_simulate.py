r"""Seeded simulator of interrupted time series with known effects (tests, benchmarks, power).

.. math::

    \eta_t = \beta_0 + \beta_1 \mathrm{time}_t + \delta 1(t \ge t_0) + \gamma (t - t_0)_+
             + A \sin(2\pi\,\mathrm{time}_t / P) [+ \log E_t]

- ``gaussian``: :math:`y_t = \eta_t + u_t`, :math:`u_t` AR(1) with coefficient ``rho`` and
  innovation s.d. ``sigma`` (stationary start).
- ``poisson``: :math:`y_t \sim \text{Poisson}(e^{\eta_t})`.
- ``quasipoisson``: negative binomial with mean :math:`\mu_t = e^{\eta_t}` and variance
  :math:`\phi\mu_t` (``dispersion`` = :math:`\phi`), the quasi-Poisson mean–variance law.
- ``negative_binomial``: NB2 with variance :math:`\mu + \alpha\mu^2` (``alpha``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_its"]


def simulate_its(
    n: int = 120,
    *,
    t0_index: int | None = None,
    family: str = "gaussian",
    beta: tuple[float, float, float, float] = (10.0, 0.05, 1.0, 0.0),
    sigma: float = 1.0,
    rho: float = 0.0,
    dispersion: float = 1.0,
    alpha: float = 0.1,
    season_amplitude: float = 0.0,
    season_period: float = 12.0,
    exposure: float | None = None,
    freq: str = "M",
    start: str = "2010-01",
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Simulate one series.

    Parameters
    ----------
    n : int
        Number of periods.
    t0_index : int, optional
        Index of the first intervention period (default n // 2).
    family : str
        ``gaussian``, ``poisson``, ``quasipoisson`` or ``negative_binomial``.
    beta : tuple
        Intercept, trend per period, level change, slope change (linear predictor scale).
    sigma, rho : float
        Gaussian innovation s.d. and AR(1) coefficient.
    dispersion : float
        Quasi-Poisson :math:`\\phi` (> 1 for overdispersion).
    alpha : float
        NB2 dispersion.
    season_amplitude, season_period : float
        A sinusoidal seasonal term.
    exposure : float, optional
        Constant exposure (the column ``pop``); the linear predictor then is a log rate per
        unit of exposure (count families) and ``beta[0]`` should include it.
    freq, start : str
        Period frequency and first period.
    seed : int or Generator

    Returns
    -------
    DataFrame
        ``period``, ``t`` (ordinal), ``y``, ``pop`` (when ``exposure``), ``mu`` (true mean).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    t0 = n // 2 if t0_index is None else t0_index
    periods = pd.period_range(start=start, periods=n, freq=freq)
    i = np.arange(n)
    time = i + 1.0
    eta = beta[0] + beta[1] * time + beta[2] * (i >= t0) + beta[3] * np.where(i >= t0, i - t0, 0)
    eta = eta + season_amplitude * np.sin(2 * np.pi * time / season_period)
    out = pd.DataFrame({"period": periods, "t": [p.ordinal for p in periods]})
    if exposure is not None:
        out["pop"] = float(exposure)
        if family != "gaussian":
            eta = eta + np.log(exposure)
    if family == "gaussian":
        z = rng.standard_normal(n) * sigma
        u = np.empty(n)
        u[0] = z[0] / np.sqrt(1 - rho**2)
        for k in range(1, n):
            u[k] = rho * u[k - 1] + z[k]
        mu = eta
        y = eta + u
    else:
        mu = np.exp(eta)
        if family == "poisson" or (family == "quasipoisson" and dispersion <= 1):
            y = rng.poisson(mu)
        elif family == "quasipoisson":
            y = rng.negative_binomial(mu / (dispersion - 1), 1.0 / dispersion)
        elif family == "negative_binomial":
            y = rng.negative_binomial(1.0 / alpha, 1.0 / (1.0 + alpha * mu))
        else:
            raise ValueError(f"unknown family {family}")
        y = y.astype(float)
    out["y"] = y
    out["mu"] = mu
    return out
