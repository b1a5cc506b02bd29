"""Seeded Monte Carlo: 95% CI coverage of the ITS level change (slow; see benchmarks/its_coverage.py).

Each study uses 1000 replications (Monte Carlo s.e. of a 95% coverage: 0.7 points) and runs
in under 30 s on 2 cores (all of them: about 2 minutes). The designs and full results are in
docs/its.md.
"""

from __future__ import annotations

import pytest

from preveval.methods.its.simulate import coverage_study, prevented_coverage_study

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


@pytest.mark.parametrize("n", [96, 120])
def test_ar1_errors_hac_covers_monthly(n: int) -> None:
    """errors: hac defaults (LLSW lag, VAR(1) prewhitening, fixed-b critical values simulated
    for the design) are nominal for a typical monthly partnership series."""
    r = coverage_study("ar1", n=n, reps=REPS, errors="hac", seed=4)
    assert r["failed"] == 0
    assert 0.93 <= r["coverage_level"] <= 0.97
    assert 0.93 <= r["coverage_slope"] <= 0.97


def test_ar1_errors_hac_covers_long_series() -> None:
    """And on a long (2-year daily) series."""
    r = coverage_study("ar1", n=730, reps=REPS, errors="hac", freq="D", seed=3)
    assert 0.93 <= r["coverage_level"] <= 0.97


@pytest.mark.parametrize(
    "hac",
    [
        {"hac_bandwidth": "newey_west_1994", "hac_critical": "standard"},  # the previous default
        {"hac_critical": "kiefer_vogelsang"},  # location-model fixed-b values: too small for trend designs
    ],
)
def test_ar1_errors_hac_alternatives_fall_short(hac: dict) -> None:
    """Below the 93% floor at 120 months (measured 91.4% and 89.6% with this seed)."""
    r = coverage_study("ar1", n=120, reps=REPS, errors="hac", seed=4, hac=hac)
    assert r["coverage_level"] < 0.93


def test_ar1_errors_ols_falls_short() -> None:
    r = coverage_study("ar1", n=120, reps=REPS, errors="ols", seed=2)
    assert r["coverage_level"] < 0.85


def test_prevented_events_hac_covers() -> None:
    """The interval for prevented events under errors: hac uses the fixed-b critical value of
    the expected number itself; with normal coefficient draws it covered 75% here (300 reps)."""
    r = prevented_coverage_study("ar1", n=96, reps=REPS, errors="hac")
    assert 0.93 <= r["coverage"] <= 0.97
    assert r["mean_critical_value"] > 3.0


def test_prevented_events_ar_covers() -> None:
    r = prevented_coverage_study("ar1", n=96, reps=REPS, errors="ar")
    assert 0.93 <= r["coverage"] <= 0.97


def test_prevented_events_quasipoisson_hac_covers() -> None:
    """Log link: the expected number's critical value from its linearisation at the estimate.
    Overdispersed counts without autocorrelation (300 reps): 97.0% under hac (fixed-b is a
    little conservative when there is no autocorrelation), 95.0% under ols."""
    r = prevented_coverage_study("quasipoisson", n=96, reps=300, errors="hac")
    assert 0.93 <= r["coverage"] <= 0.98
