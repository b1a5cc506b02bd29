"""Seeded Monte Carlo: coverage of 95% intervals for the TWFE ATT.

Design (Bertrand, Duflo & Mullainathan 2004, in miniature): 32 units x 20 periods, half
the units treated from period 11, unit and period effects, AR(1) errors within unit with
rho = 0.8, true ATT 0. Each replication uses the estimation core directly
(:func:`preveval.inference.fixed_effects.fit_feols`). Printed with ``-s``; the measured
numbers are recorded in docs/did.md.

Run: ``python -m pytest tests/methods/test_did_montecarlo.py -m slow -s``
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from preveval.inference.fixed_effects import fit_feols

pytestmark = pytest.mark.slow

N_UNITS, N_PERIODS, RHO, REPS = 32, 20, 0.8, 2000


def ar1_panel(rng: np.random.Generator, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Outcome, treatment, unit codes and period codes of one replication (true ATT 0)."""
    v = rng.normal(size=(N_UNITS, N_PERIODS))
    e = np.empty_like(v)
    e[:, 0] = v[:, 0] / np.sqrt(1 - rho**2)
    for t in range(1, N_PERIODS):
        e[:, t] = rho * e[:, t - 1] + v[:, t]
    treated = np.zeros(N_UNITS, dtype=bool)
    treated[rng.permutation(N_UNITS)[: N_UNITS // 2]] = True
    d = (treated[:, None] & (np.arange(N_PERIODS) >= N_PERIODS // 2)[None, :]).astype(float)
    y = rng.normal(size=N_UNITS)[:, None] + np.linspace(0, 1, N_PERIODS)[None, :] + e
    unit = np.repeat(np.arange(N_UNITS), N_PERIODS)
    period = np.tile(np.arange(N_PERIODS), N_UNITS)
    return y.ravel(), d.ravel(), unit, period


def coverage(vcov: str, rho: float, seed: int, reps: int = REPS) -> float:
    """Share of replications whose 95% interval covers the true ATT (0)."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        y, d, unit, period = ar1_panel(rng, rho)
        fit = fit_feols(y, d[:, None], ["att"], [unit, period], clusters=unit, vcov=vcov)
        q = stats.t.ppf(0.975, fit.cov.df_resid)
        hits += abs(fit.coef[0]) <= q * fit.cov.std_errors[0]
    return hits / reps


def test_cluster_robust_coverage_is_nominal():
    cov = coverage("CR1", RHO, seed=20240101)
    print(f"\nCR1, t(G-1), G={N_UNITS}, rho={RHO}, {REPS} reps: coverage {cov:.3f}")
    assert 0.93 <= cov <= 0.97


def test_classical_se_undercover_with_serial_correlation():
    cov = coverage("classical", RHO, seed=20240102)
    print(f"\nclassical, t(N-K), rho={RHO}, {REPS} reps: coverage {cov:.3f}")
    assert cov < 0.85
    # without serial correlation the classical interval is fine
    iid = coverage("classical", 0.0, seed=20240103, reps=1000)
    print(f"classical, t(N-K), rho=0, 1000 reps: coverage {iid:.3f}")
    assert 0.93 <= iid <= 0.97
