"""Seeded Monte Carlo: 95% CI coverage of the ITS level change (slow; see benchmarks/its_coverage.py).

Each study uses 1000 replications (Monte Carlo s.e. of a 95% coverage: 0.7 points) and runs
in well under a minute. The designs and full results are in docs/its.md.
"""

from __future__ import annotations

import pytest

from preveval.methods.its_simulate import coverage_study

pytestmark = pytest.mark.slow
REPS = 1000


def test_quasipoisson_dispersion_2_covers() -> None:
    r = coverage_study("quasipoisson", n=120, reps=REPS, errors="ols", seed=1)
    assert r["failed"] == 0
    assert 0.93 <= r["coverage_level"] <= 0.97
    assert 0.93 <= r["coverage_slope"] <= 0.97


def test_poisson_on_overdispersed_counts_falls_short() -> None:
    r = coverage_study("quasipoisson", n=120, reps=REPS, fit_family="poisson", seed=1)
    assert r["coverage_level"] < 0.90


def test_ar1_errors_ar_covers() -> None:
    r = coverage_study("ar1", n=120, reps=REPS, errors="ar", seed=2)
    assert 0.93 <= r["coverage_level"] <= 0.97
    assert 0.93 <= r["coverage_slope"] <= 0.97


def test_ar1_errors_hac_covers_long_series() -> None:
    """Prewhitened Newey-West reaches nominal coverage on a long (2-year daily) series."""
    r = coverage_study("ar1", n=730, reps=REPS, errors="hac", freq="D", seed=3)
    assert 0.93 <= r["coverage_level"] <= 0.97


def test_ar1_errors_ols_falls_short() -> None:
    r = coverage_study("ar1", n=120, reps=REPS, errors="ols", seed=2)
    assert r["coverage_level"] < 0.85
