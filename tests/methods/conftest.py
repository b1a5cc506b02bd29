"""Seeded panel simulators with known true effects, and fixtures for the DiD tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_panel(
    n_units: int = 60,
    n_periods: int = 12,
    *,
    seed: int = 1,
    effect: float = 1.5,
    rho: float = 0.0,
    staggered: bool = False,
    never_share: float = 0.4,
    drop_share: float = 0.0,
    dynamic: float = 0.0,
) -> pd.DataFrame:
    """A unit x period panel with a known ATT.

    Columns: ``unit`` (str), ``period`` (int 1..T), ``ft`` (first treated period, NaN for
    never treated), ``d`` (0/1 treated now), ``dose`` (treatment intensity), ``x1`` (a
    covariate), ``region`` (an extra fixed effect, not nested in units: units move),
    ``w`` (positive weights), ``y`` (outcome, effect ``effect + dynamic * (t - ft)``),
    ``count`` (Poisson outcome with rate ratio exp(0.3) when treated).
    Errors follow an AR(1) with coefficient ``rho`` within each unit.
    """
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    treated_unit = rng.random(n_units) >= never_share
    if staggered:
        starts = rng.integers(n_periods // 3, n_periods - 1, size=n_units).astype(float)
    else:
        starts = np.full(n_units, float(n_periods // 2 + 1))
    ft_u = np.where(treated_unit, starts, np.nan)
    ft = ft_u[units]
    d = (period >= ft).astype(float)
    alpha = rng.normal(0, 1, n_units)[units] + 0.5 * treated_unit[units]
    lam = np.sin(period / 3.0) + 0.05 * period
    e = np.empty(len(units))
    innov = rng.normal(0, 1, len(units))
    for i in range(n_units):
        sl = slice(i * n_periods, (i + 1) * n_periods)
        v = innov[sl]
        out = np.empty(n_periods)
        out[0] = v[0] / np.sqrt(1 - rho**2) if rho else v[0]
        for t in range(1, n_periods):
            out[t] = rho * out[t - 1] + v[t]
        e[sl] = out
    x1 = rng.normal(0, 1, len(units)) + 0.3 * d
    dose = d * rng.choice([0.5, 1.0, 2.0], size=n_units)[units]
    tau = np.where(d > 0, effect + dynamic * np.nan_to_num(period - ft), 0.0)
    y = alpha + lam + 0.4 * x1 + tau + e
    region = (units % 5 + (period > n_periods // 2) * (units % 3 == 0)).astype(int)
    w = rng.uniform(0.5, 2.0, n_units)[units]
    mu = np.exp(0.5 + 0.3 * alpha + 0.1 * lam + 0.3 * d)
    count = rng.poisson(mu)
    df = pd.DataFrame(
        {
            "unit": [f"u{u:03d}" for u in units],
            "period": period,
            "ft": ft,
            "d": d,
            "dose": dose,
            "x1": x1,
            "region": region,
            "w": w,
            "y": y,
            "count": count,
        }
    )
    if drop_share:
        df = df.loc[rng.random(len(df)) >= drop_share].reset_index(drop=True)
    return df


@pytest.fixture
def panel() -> pd.DataFrame:
    """Balanced 60 x 12 panel, one treatment date, ATT 1.5."""
    return simulate_panel()


@pytest.fixture
def unbalanced_panel() -> pd.DataFrame:
    """Staggered, unbalanced (15% rows dropped) panel with singletons possible."""
    return simulate_panel(80, 10, seed=7, staggered=True, drop_share=0.15)


@pytest.fixture
def simulate():
    """The simulator itself (:func:`simulate_panel`), for tests that need other settings."""
    return simulate_panel
