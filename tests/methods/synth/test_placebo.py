"""Placebo inference: the p-value and its floor, the inverted interval, time and leave-one-out."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.errors import EstimationError
from preveval.methods.synth import (
    abadie_fitter,
    fit_abadie,
    fit_sdid,
    leave_one_out,
    placebo_in_space,
    placebo_in_time,
    placebo_interval,
    sdid_fitter,
)

T0 = 15


@pytest.fixture
def y(simulate):
    return simulate(20, 20, seed=8)  # row 0 treated, 19 donors: 1/(J+1) = 0.05


def test_p_value_floor_is_one_over_j_plus_one(y):
    y = y.copy()
    y[0, T0:] += 50.0  # an effect no placebo can match
    res = placebo_in_space(y, T0, abadie_fitter(y, v="identity"))
    assert res.n_placebos == 19 and res.rank == 1
    assert res.p_value == res.min_p_value == pytest.approx(1 / 20)
    assert res.gaps.shape == (20, 20) and res.units[0] == 0


def test_p_value_counts_placebos_at_least_as_extreme_ties_included():
    # a fitter returning fixed paths, so every ratio is known in advance
    T, t0 = 6, 3
    y = np.zeros((5, T))
    gaps = {0: [1, -1, 1, 2, -2, 2], 1: [1, 1, 1, 2, 2, 2], 2: [1, 1, 1, 4, 4, 4],
            3: [2, 2, 2, 1, 1, 1], 4: [1, 1, 1, 1, 1, 1]}
    y += np.array([gaps[i] for i in range(5)], dtype=float)

    def fitter(target, pool, t0_, t_end):
        return np.zeros(t_end)

    res = placebo_in_space(y, t0, fitter)
    np.testing.assert_allclose(res.ratio, [2, 2, 4, 0.5, 1])
    # unit 1 ties with the treated (counts against it), unit 2 exceeds it
    assert res.rank == 3 and res.p_value == pytest.approx(3 / 5)


def test_interval_is_the_inverted_test(y):
    y = y.copy()
    y[0, T0:] += 3.0
    fitter = abadie_fitter(y, v="identity")
    res = placebo_in_space(y, T0, fitter)
    ci = placebo_interval(res, level=0.90)
    assert ci.bounded and not ci.empty and ci.attained_level == pytest.approx(0.9)
    assert ci.mean_low < ci.estimate_mean < ci.mean_high
    assert ci.sum_low == pytest.approx(5 * ci.mean_low) and ci.t_post == 5

    def p_at(tau):  # the test re-run with the treated unit's post outcomes shifted by tau
        shifted = y.copy()
        shifted[0, T0:] -= tau
        return placebo_in_space(shifted, T0, abadie_fitter(shifted, v="identity")).p_value

    eps = 1e-6
    for tau in (ci.mean_low + eps, ci.estimate_mean, ci.mean_high - eps):
        assert p_at(tau) > 0.10
    for tau in (ci.mean_low - eps, ci.mean_high + eps):
        assert p_at(tau) <= 0.10


def test_interval_is_unbounded_with_too_few_donors(simulate):
    y = simulate(12, 20, seed=2)  # 11 donors: no 95% rejection possible
    res = placebo_in_space(y, T0, abadie_fitter(y, v="identity"))
    ci = placebo_interval(res, 0.95)
    assert not ci.bounded and ci.mean_low == -np.inf and "need at least 19 donors" in ci.reason
    assert res.p_value >= 1 / 12


def test_placebo_in_time_never_looks_past_the_real_date(y):
    y = y.copy()
    y[:, T0:] = np.nan  # the fitter must not touch the real post-period
    res = placebo_in_time(y, T0, 10, abadie_fitter(y, v="identity"))
    assert res.gap.shape == (T0,) and np.all(np.isfinite(res.gap))
    assert res.rmspe_fake_post == pytest.approx(np.sqrt(np.mean(res.gap[10:] ** 2)))
    res_sdid = placebo_in_time(y, T0, 10, sdid_fitter(y, max_iter=300))
    assert np.all(np.isfinite(res_sdid.gap))
    with pytest.raises(EstimationError):
        placebo_in_time(y, T0, T0, abadie_fitter(y, v="identity"))


def test_leave_one_out_drops_each_positive_weight_donor(y):
    fitter = abadie_fitter(y, v="identity")
    main = fit_abadie(y[0, :T0], y[1:, :T0].T, y[0, :T0], y[1:, :T0].T, v="identity")
    loo = leave_one_out(y, T0, fitter, main.weights)
    positive = [i + 1 for i in np.flatnonzero(main.weights > 0)]
    assert list(loo.dropped) == positive and loo.gaps.shape == (len(positive), 20)
    np.testing.assert_allclose(loo.base_gap, y[0] - y[1:].T @ main.weights, atol=1e-12)
    for d, g in zip(loo.dropped, loo.gaps, strict=True):
        pool = np.array([i for i in range(1, 20) if i != d])
        w = fit_abadie(y[0, :T0], y[pool, :T0].T, y[0, :T0], y[pool, :T0].T, v="identity").weights
        np.testing.assert_allclose(g, y[0] - y[pool].T @ w, atol=1e-10)


def test_sdid_fitter_gap_averages_to_the_estimate(y):
    fitter = sdid_fitter(y, max_iter=300)
    pool = np.arange(1, 20)
    gap = y[0] - fitter(0, pool, T0, 20)
    fit = fit_sdid(np.vstack([y[1:], y[:1]]), T0, n_control=19, max_iter=300)
    assert gap[T0:].mean() == pytest.approx(fit.att, abs=1e-10)
