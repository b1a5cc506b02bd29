"""Abadie synthetic control: V options, standardisation, balance, checks, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from preveval.errors import EstimationError
from preveval.methods.synth import fit_abadie, standardise_predictors


def small_problem(seed=0, k=4, J=8, T=10):
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=(k, J)) * np.array([1.0, 10.0, 100.0, 0.1])[:k, None]
    w_true = np.zeros(J)
    w_true[[1, 4]] = [0.3, 0.7]
    x1 = x0 @ w_true
    f = rng.normal(size=(T, k))
    z0 = f @ x0 / 10 + rng.normal(0, 0.05, (T, J))
    z1 = z0 @ w_true
    return x1, x0, z1, z0, w_true


def test_standardisation_is_synth_sd_over_treated_and_donors():
    x1, x0, *_ = small_problem()
    x1s, x0s, sd = standardise_predictors(x1, x0)
    both = np.column_stack([x0, x1])
    np.testing.assert_allclose(sd, np.sqrt(((both - both.mean(1, keepdims=True)) ** 2).sum(1) / 8))
    np.testing.assert_allclose(x0s * sd[:, None], x0)
    np.testing.assert_allclose(x1s * sd, x1)


def test_recovers_exact_convex_combination():
    x1, x0, z1, z0, w_true = small_problem()
    for v in ("identity", "optimize", [1, 2, 3, 4]):
        fit = fit_abadie(x1, x0, z1, z0, v=v, maxiter=200, max_restarts=0)
        np.testing.assert_allclose(fit.weights, w_true, atol=1e-8)
        assert fit.loss_w < 1e-14
        assert abs(fit.v.sum() - 1) < 1e-14


def test_v_options_and_results_record():
    x1, x0, z1, z0, _ = small_problem(seed=2)
    x1 = x1 + np.array([0.5, -3.0, 20.0, 0.01])  # outside the hull: V matters
    ident = fit_abadie(x1, x0, z1, z0, v="identity")
    np.testing.assert_allclose(ident.v, 0.25)
    assert ident.v_method == "identity" and ident.starts == ()
    custom = fit_abadie(x1, x0, z1, z0, v=[2.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(custom.v, [0.5, 0.25, 0.25, 0.0])
    assert custom.v_method == "custom"
    opt = fit_abadie(x1, x0, z1, z0, predictor_names=["a", "b", "c", "d"], maxiter=200, max_restarts=0)
    assert opt.v_method == "optimized" and len(opt.starts) >= 2
    assert opt.loss_v <= min(ident.loss_v, custom.loss_v) + 1e-12
    assert opt.rmspe_pre == pytest.approx(np.sqrt(opt.loss_v))
    r = z1 - z0 @ opt.weights
    assert opt.loss_v == pytest.approx(r @ r / z1.size, rel=1e-12)
    assert opt.balance.names == ("a", "b", "c", "d")
    np.testing.assert_allclose(opt.balance.synthetic, x0 @ opt.weights)
    np.testing.assert_allclose(opt.balance.donor_mean, x0.mean(axis=1))
    np.testing.assert_allclose(opt.synthetic(z0), z0 @ opt.weights)
    # one predictor: V is 1 whatever is asked
    one = fit_abadie(x1[:1], x0[:1], z1, z0, v="optimize")
    assert one.v_method == "single_predictor" and one.v.tolist() == [1.0]


def test_deterministic_bits():
    x1, x0, z1, z0, _ = small_problem(seed=4)
    x1 = x1 + 1.0
    a = fit_abadie(x1, x0, z1, z0, maxiter=200, max_restarts=0)
    b = fit_abadie(x1, x0, z1, z0, maxiter=200, max_restarts=0)
    assert a.weights.tobytes() == b.weights.tobytes()
    assert a.v.tobytes() == b.v.tobytes()
    assert a.loss_v == b.loss_v


def test_input_checks_say_what_is_wrong():
    x1, x0, z1, z0, _ = small_problem()
    flat = x0.copy()
    flat[2] = 5.0
    with pytest.raises(EstimationError, match="do not vary"):
        fit_abadie(x1, flat, z1, z0, predictor_names=["a", "b", "c", "d"])
    bad = z0.copy()
    bad[0, 0] = np.nan
    with pytest.raises(EstimationError, match="missing"):
        fit_abadie(x1, x0, z1, bad)
    with pytest.raises(EstimationError, match="donors"):
        fit_abadie(x1, x0[:, :3], z1, z0)
    with pytest.raises(EstimationError, match="two donors"):
        fit_abadie(x1, x0[:, :1], z1, z0[:, :1])
    with pytest.raises(EstimationError, match="custom v"):
        fit_abadie(x1, x0, z1, z0, v=[1.0, 2.0])
