"""Wild cluster score bootstrap for PPML (Kline & Santos 2012)."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.inference.fe_structure import fe_codes
from preveval.inference.ppml import fit_fepois
from preveval.inference.score_bootstrap import _Test, ppml_score_bootstrap
from preveval.inference.wild_common import RADEMACHER_POINTS, draw_weights, enumerate_signs


def panel(G: int, T: int, seed: int, effect: float = 0.3):
    """Counts with unit and period effects, a cluster-level shock and a treatment in half the units."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(G), T)
    period = np.tile(np.arange(T), G)
    treated = (unit < G // 2) & (period >= T // 2)
    x = rng.normal(size=unit.size)
    eta = 1.0 + rng.normal(0, 0.3, G)[unit] + 0.05 * period + effect * treated + 0.1 * x
    eta += rng.normal(0, 0.2, G)[unit] * (period >= T // 2)  # cluster-level shock after the start
    y = rng.poisson(np.exp(eta)).astype(float)
    return y, np.column_stack([treated.astype(float), x]), [fe_codes(unit), fe_codes(period)], unit


def test_score_is_zero_at_the_estimate_and_the_statistic_by_hand():
    y, X, fe, unit = panel(12, 10, seed=1)
    fit = fit_fepois(y, X, ["d", "x"], fe, clusters=unit)
    v = RADEMACHER_POINTS[enumerate_signs(12)]
    test = _Test(y, X, ["d", "x"], fe, 0, None, None, unit, v)
    t_hat, p_hat = test.stats(float(fit.coef[0]))
    assert abs(t_hat) < 1e-8 and p_hat == 1.0
    # under beta_d = 0: c_g from a restricted fit by hand (x only, offset 0)
    c = test.contributions(0.0)
    r = fit_fepois(y, X[:, [1]], ["x"], fe, vcov="classical")
    mu = r.weights
    from preveval.inference.fixed_effects import demean

    Xd = demean(np.asfortranarray(X), fe, mu, tol=1e-12)[0]
    H = (Xd * mu[:, None]).T @ Xd
    s = np.array([(Xd[unit == g] * (y - mu)[unit == g, None]).sum(axis=0) for g in range(12)])
    np.testing.assert_allclose(c, s @ np.linalg.inv(H)[:, 0], rtol=1e-8, atol=1e-12)
    t, p = test.stats(0.0)
    assert t == pytest.approx(c.sum() / np.sqrt(12 / 11 * np.sum(c**2)))
    # enumeration over all 2^12 sign vectors: p is the share of |t*| >= |t|
    tb = (c @ v) / np.sqrt(12 / 11 * (c**2) @ (v**2))
    assert p == np.mean(np.abs(tb) >= abs(t) * (1 - 1e-12))


def test_interval_is_the_inverted_test():
    y, X, fe, unit = panel(20, 12, seed=2)
    fit = fit_fepois(y, X, ["d", "x"], fe, clusters=unit)
    res = ppml_score_bootstrap(y, X, ["d", "x"], fe, 0, unit, estimate=float(fit.coef[0]),
                               std_error=float(fit.cov.std_errors[0]), reps=999, seed=3)
    assert res.ci_low < fit.coef[0] < res.ci_high and res.reps == 999 and not res.enumerated
    v = RADEMACHER_POINTS[draw_weights(np.random.Generator(np.random.PCG64(3)), "rademacher", 20, 999)]
    test = _Test(y, X, ["d", "x"], fe, 0, None, None, unit, v)
    eps = 1e-3 * fit.cov.std_errors[0]
    for bound, outward in ((res.ci_low, -1.0), (res.ci_high, 1.0)):
        assert test.stats(bound)[1] >= 0.05
        assert test.stats(bound + outward * eps)[1] < 0.05 or test.stats(bound + 2 * outward * eps)[1] < 0.05


@pytest.mark.slow
def test_coverage_with_few_clusters():
    """16 clusters, 300 panels, 399 draws: the score bootstrap accepts the true value about 95%
    of the time; the CR1 Wald interval with normal quantiles covers less."""
    from scipy import stats

    hits = hits_cr1 = 0
    sims = 300
    for r in range(sims):
        y, X, fe, unit = panel(16, 12, seed=100 + r)
        v = RADEMACHER_POINTS[draw_weights(np.random.Generator(np.random.PCG64(r)), "rademacher", 16, 399)]
        hits += _Test(y, X, ["d", "x"], fe, 0, None, None, unit, v).stats(0.3)[1] >= 0.05
        fit = fit_fepois(y, X, ["d", "x"], fe, clusters=unit)
        hits_cr1 += abs(fit.coef[0] - 0.3) <= stats.norm.ppf(0.975) * fit.cov.std_errors[0]
    print(f"\nscore bootstrap {hits / sims:.3f}, CR1 {hits_cr1 / sims:.3f}")
    assert 0.93 <= hits / sims <= 0.97
    assert hits_cr1 < hits
