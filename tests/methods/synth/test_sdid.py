"""Synthetic DiD on simulated panels: identities, invariances, standard errors, checks."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.errors import EstimationError
from preveval.methods.synth import did_estimate, fit_sdid, sc_estimate, sdid_std_error

FAST = {"max_iter": 300}  # fewer Frank-Wolfe steps: these tests check identities, not defaults


@pytest.fixture
def panel(simulate):
    y = simulate(14, 10, seed=3)
    y[11:, 7:] += 2.0  # 3 treated units, effect 2 in the 3 post-periods
    return y


def test_did_is_the_textbook_difference_in_differences(panel):
    f = did_estimate(panel, 7, n_control=11)
    by_hand = (panel[11:, 7:].mean() - panel[11:, :7].mean()) - (panel[:11, 7:].mean() - panel[:11, :7].mean())
    assert f.att == pytest.approx(by_hand, abs=1e-12)
    np.testing.assert_allclose(f.omega, 1 / 11)
    np.testing.assert_allclose(f.lambda_weights, 1 / 7)


@pytest.mark.parametrize("estimator", ["sdid", "sc", "did"])
def test_invariances_of_synthdid(panel, estimator):
    # synthdid's test_synthdid.R: time shifts leave every estimator unchanged, unit shifts all
    # but SC, scaling by c scales the estimate by c (issue synth-inference/synthdid#38)
    base = fit_sdid(panel, 7, n_control=11, estimator=estimator, **FAST)
    cols = 2.0 * np.arange(10)[None, :]
    assert fit_sdid(panel + cols, 7, n_control=11, estimator=estimator, **FAST).att == pytest.approx(base.att, abs=1e-8)
    if estimator != "sc":
        rows = 2.5 * np.arange(14)[:, None]
        assert fit_sdid(panel + rows, 7, n_control=11, estimator=estimator, **FAST).att == pytest.approx(base.att, abs=1e-8)
    assert fit_sdid(3.0 * panel, 7, n_control=11, estimator=estimator, **FAST).att == pytest.approx(3 * base.att, rel=1e-8)


def test_weights_effect_curve_and_counterfactual(panel):
    f = fit_sdid(panel, 7, n_control=11, **FAST)
    assert f.omega.min() >= 0 and f.omega.sum() == pytest.approx(1)
    assert f.lambda_weights.min() >= 0 and f.lambda_weights.sum() == pytest.approx(1)
    assert f.effect_curve.shape == (3,) and f.effect_curve.mean() == pytest.approx(f.att, abs=1e-12)
    gap = panel[11:].mean(axis=0) - f.counterfactual
    assert gap[7:].mean() == pytest.approx(f.att, abs=1e-12)
    assert gap[:7] @ f.lambda_weights == pytest.approx(0, abs=1e-12)
    sc = sc_estimate(panel, 7, n_control=11, **FAST)
    assert np.all(sc.lambda_weights == 0)
    assert sc.att == pytest.approx((panel[11:, 7:].mean(axis=0) - sc.omega @ panel[:11, 7:]).mean())


def test_treated_mask_reorders_rows(panel):
    order = np.r_[11, 0, 12, 1:11, 13]
    mask = np.zeros(14, dtype=bool)
    mask[[0, 2, 13]] = True
    a = fit_sdid(panel, 7, n_control=11, **FAST)
    b = fit_sdid(panel[order], 7, treated=mask, **FAST)
    assert b.att == pytest.approx(a.att, abs=1e-10)
    np.testing.assert_array_equal(b.order, [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 2, 13])
    c = fit_sdid(panel[order], 7, treated=[0, 2, 13], **FAST)
    assert c.att == b.att


def test_jackknife_is_leave_one_unit_out_with_fixed_weights(panel):
    f = fit_sdid(panel, 7, n_control=11, **FAST)
    se = sdid_std_error(f, "jackknife")
    n = 14
    u = []
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        n0 = int((keep < 11).sum())
        om = f.omega[keep[keep < 11]]
        om = om / om.sum()
        t = np.r_[-f.lambda_weights, np.full(3, 1 / 3)]
        w = np.r_[-om, np.full(n - 1 - n0, 1 / (n - 1 - n0))]
        u.append(w @ panel[keep] @ t)
    u = np.array(u)
    assert se.std_error == pytest.approx(np.sqrt((n - 1) / n * np.sum((u - u.mean()) ** 2)), rel=1e-12)
    assert se.replications == n and se.seed is None


def test_placebo_and_bootstrap_are_seeded(panel):
    f = fit_sdid(panel, 7, n_control=11, **FAST)
    a = sdid_std_error(f, "placebo", replications=10, seed=1)
    b = sdid_std_error(f, "placebo", replications=10, seed=1)
    c = sdid_std_error(f, "placebo", replications=10, seed=2)
    assert a.estimates.tobytes() == b.estimates.tobytes() and a.std_error == b.std_error
    assert a.std_error != c.std_error
    assert a.std_error == pytest.approx(np.sqrt(np.mean((a.estimates - a.estimates.mean()) ** 2)))
    boot = sdid_std_error(f, "bootstrap", replications=3, seed=1)
    assert boot.std_error > 0 and boot.estimates.shape == (3,)
    assert sdid_std_error(f, "bootstrap", replications=3, seed=1).std_error == boot.std_error


def test_inapplicable_standard_errors_are_values_not_errors(simulate):
    y = simulate(8, 8, seed=1)
    f = fit_sdid(y, 6, n_control=7, **FAST)
    for method in ("jackknife", "bootstrap"):
        se = sdid_std_error(f, method)
        assert se.std_error is None and "more than one treated unit" in se.reason


def test_determinism_bits(panel):
    a = fit_sdid(panel, 7, n_control=11, **FAST)
    b = fit_sdid(panel, 7, n_control=11, **FAST)
    assert a.att == b.att and a.omega.tobytes() == b.omega.tobytes()


def test_input_checks(panel):
    with pytest.raises(EstimationError, match="exactly one"):
        fit_sdid(panel, 7)
    with pytest.raises(EstimationError, match="pre- and one post"):
        fit_sdid(panel, 10, n_control=11)
    bad = panel.copy()
    bad[2, 3] = np.nan
    with pytest.raises(EstimationError, match="balanced"):
        fit_sdid(bad, 7, n_control=11)
    with pytest.raises(EstimationError, match="estimator"):
        fit_sdid(panel, 7, n_control=11, estimator="mc")
    with pytest.raises(EstimationError, match="more controls"):
        sdid_std_error(fit_sdid(panel[8:], 7, n_control=3, **FAST), "placebo")
