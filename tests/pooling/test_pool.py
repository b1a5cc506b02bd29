"""Properties of pool(): weights, the fixed-effect mean by hand, invariances, edge cases, and
the result's views (tidy, to_dict, summary, repr)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from preveval.errors import DataError
from preveval.pooling import PoolResult, pool

METHODS = ["REML", "DL", "PM", "FE"]


@pytest.fixture
def studies(simulate):
    return simulate(np.random.default_rng(7), 9, mu=0.2, tau2=0.08)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kh", [False, True])
def test_weights_sum_to_100(studies, method, kh):
    r = pool(*studies, method=method, knapp_hartung=kh)
    assert sum(r.weights) == pytest.approx(100, abs=1e-10)
    assert all(w > 0 for w in r.weights)


def test_fixed_effect_is_the_inverse_variance_mean(studies):
    y, se = studies
    w = 1 / se**2
    r = pool(y, se, method="FE")
    assert r.estimate == pytest.approx(np.sum(w * y) / np.sum(w), rel=1e-13)
    assert r.std_error == pytest.approx(1 / math.sqrt(np.sum(w)), rel=1e-13)
    assert r.q == pytest.approx(np.sum(w * (y - r.estimate) ** 2), rel=1e-12)
    assert r.ci_low == pytest.approx(r.estimate - 1.959963984540054 * r.std_error, rel=1e-12)
    assert r.tau2 == 0 and r.pi_low is None and r.tau2_ci_low is None


@pytest.mark.parametrize("method", METHODS)
def test_random_effects_mean_uses_tau2_in_the_weights(studies, method):
    y, se = studies
    r = pool(y, se, method=method)
    w = 1 / (se**2 + r.tau2)
    assert r.estimate == pytest.approx(np.sum(w * y) / np.sum(w), rel=1e-12)
    assert r.std_error == pytest.approx(1 / math.sqrt(np.sum(w)), rel=1e-12)
    assert r.tau == pytest.approx(math.sqrt(r.tau2))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kh", [False, True])
def test_invariant_to_the_order_of_the_studies(studies, method, kh):
    y, se = studies
    labels = [f"s{i}" for i in range(len(y))]
    perm = np.random.default_rng(3).permutation(len(y))
    a = pool(y, se, method=method, knapp_hartung=kh, labels=labels)
    b = pool(y[perm], se[perm], method=method, knapp_hartung=kh, labels=[labels[i] for i in perm])
    for f in ("estimate", "std_error", "ci_low", "ci_high", "tau2", "i2", "q", "p_value"):
        assert getattr(b, f) == pytest.approx(getattr(a, f), rel=1e-10, abs=1e-14), f
    if method != "FE":
        assert (b.tau2_ci_low, b.tau2_ci_high, b.pi_low) == pytest.approx(
            (a.tau2_ci_low, a.tau2_ci_high, a.pi_low), rel=1e-10, abs=1e-14)
    assert dict(zip(b.labels, b.weights, strict=True)) == pytest.approx(dict(zip(a.labels, a.weights, strict=True)))


@pytest.mark.parametrize("method", METHODS)
def test_rescaling_the_estimates_rescales_the_results(studies, method):
    y, se = studies
    a = pool(y, se, method=method)
    b = pool(3 * y + 1, 3 * se, method=method)
    assert b.estimate == pytest.approx(3 * a.estimate + 1, rel=1e-9)
    assert b.std_error == pytest.approx(3 * a.std_error, rel=1e-9)
    assert b.tau2 == pytest.approx(9 * a.tau2, rel=1e-8, abs=1e-14)
    assert b.i2 == pytest.approx(a.i2, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_homogeneous_studies_give_tau2_zero(method):
    y = np.array([0.10, 0.11, 0.09, 0.10, 0.105])
    se = np.array([0.2, 0.3, 0.25, 0.2, 0.4])
    r = pool(y, se, method=method)
    fe = pool(y, se, method="FE")
    assert r.tau2 == 0 and r.i2 == 0 and r.h2 == 1
    assert r.estimate == pytest.approx(fe.estimate, rel=1e-12)
    # Q far below its lower quantile: the Q-profile interval is the null set, reported as 0 to 0
    assert (r.tau2_ci_low, r.tau2_ci_high) == (0.0, 0.0)
    assert (r.pi_low, r.pi_high) == pytest.approx((r.ci_low, r.ci_high))


def test_q_profile_bounds_solve_the_chi_square_equations(studies):
    from scipy import stats

    y, se = studies
    r = pool(y, se)

    def q(t):
        w = 1 / (se**2 + t)
        return np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2)

    k = len(y)
    if r.tau2_ci_low > 0:
        assert q(r.tau2_ci_low) == pytest.approx(stats.chi2.ppf(0.975, k - 1), rel=1e-10)
    assert q(r.tau2_ci_high) == pytest.approx(stats.chi2.ppf(0.025, k - 1), rel=1e-10)


def test_knapp_hartung_scale_and_t_quantile(studies):
    from scipy import stats

    y, se = studies
    z = pool(y, se)
    kh = pool(y, se, knapp_hartung=True)
    w = 1 / (se**2 + z.tau2)
    s2w = np.sum(w * (y - z.estimate) ** 2) / (len(y) - 1)
    assert kh.kh_scale == pytest.approx(s2w, rel=1e-12) and kh.df == len(y) - 1
    assert kh.std_error == pytest.approx(math.sqrt(s2w) * z.std_error, rel=1e-12)
    c = stats.t.ppf(0.975, len(y) - 1)
    assert kh.ci_high - kh.estimate == pytest.approx(c * kh.std_error, rel=1e-12)
    assert kh.pi_high - kh.estimate == pytest.approx(c * math.sqrt(kh.std_error**2 + kh.tau2), rel=1e-12)
    assert kh.p_value == pytest.approx(2 * stats.t.sf(abs(kh.estimate / kh.std_error), len(y) - 1), rel=1e-10)


def test_knapp_hartung_factor_below_one_is_not_truncated_and_is_noted():
    # studies closer together than their SEs imply: Q < k - 1, tau^2 = 0 and s2w < 1
    y = np.array([0.30, 0.31, 0.29, 0.30])
    se = np.array([0.1, 0.1, 0.1, 0.1])
    z, kh = pool(y, se), pool(y, se, knapp_hartung=True)
    assert kh.kh_scale < 1 and kh.std_error < z.std_error
    assert any("not truncated" in n for n in kh.notes)


def test_one_study_is_pooled_by_fe_only():
    r = pool([0.4], [0.2], method="FE", labels=["only"])
    assert (r.estimate, r.std_error, r.q) == pytest.approx((0.4, 0.2, 0.0), abs=1e-15)
    assert (r.k, r.q_df) == (1, 0)
    assert r.weights == (100.0,)
    d = r.to_dict()
    assert d["q_p_value"] is None and d["i2"] is None
    json.dumps(d, allow_nan=False)
    with pytest.raises(DataError, match="one study .'only'. cannot inform"):
        pool([0.4], [0.2], labels=["only"])
    with pytest.raises(DataError, match="Knapp-Hartung"):
        pool([0.4], [0.2], method="FE", knapp_hartung=True)


def test_two_studies_are_enough_for_random_effects():
    r = pool([0.1, 0.9], [0.1, 0.1])
    assert r.k == 2 and r.tau2 > 0 and r.q_df == 1


def test_log_scale_gives_ratios(bcg):
    r = pool(bcg["yi"], bcg["sei"], scale="log")
    assert r.ratio == pytest.approx(math.exp(r.estimate))
    assert (r.ratio_ci_low, r.ratio_ci_high) == pytest.approx((math.exp(r.ci_low), math.exp(r.ci_high)))
    assert (r.ratio_pi_low, r.ratio_pi_high) == pytest.approx((math.exp(r.pi_low), math.exp(r.pi_high)))
    d = pool(bcg["yi"], bcg["sei"])
    assert d.ratio is None and d.ratio_pi_low is None


def test_to_dict_is_plain_json(bcg):
    r = pool(bcg["yi"], bcg["sei"], labels=bcg["label"], scale="log", measure="risk ratio")
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["estimate"] == r.estimate and back["labels"] == list(r.labels)
    assert back["weights"] == list(r.weights) and back["df"] is None
    fe = pool(bcg["yi"], bcg["sei"], method="FE").to_dict()
    assert fe["pi_low"] is None and fe["tau2_ci_low"] is None and fe["tau2_std_error"] is None


def test_tidy_has_studies_then_pooled_then_prediction(bcg):
    r = pool(bcg["yi"], bcg["sei"], labels=bcg["label"], scale="log")
    t = r.tidy()
    assert list(t["kind"]) == ["study"] * 13 + ["pooled", "prediction"]
    assert list(t["term"][:13]) == list(bcg["label"])
    assert t["weight"][:13].sum() == pytest.approx(100)
    assert t.loc[13, "estimate"] == r.estimate and t.loc[14, "ci_low"] == r.pi_low
    assert t["ratio"][:13].to_numpy() == pytest.approx(np.exp(bcg["yi"]))
    # study intervals: normal quantile at the chosen level
    lo = bcg["yi"] - 1.959963984540054 * bcg["sei"]
    assert t["ci_low"][:13].to_numpy() == pytest.approx(lo.to_numpy())
    assert len(pool(bcg["yi"], bcg["sei"], method="FE").tidy()) == 14
    assert "ratio" not in pool(bcg["yi"], bcg["sei"]).tidy()


def test_level_changes_every_interval(studies):
    a, b = pool(*studies, level=0.95), pool(*studies, level=0.80)
    assert b.ci_high - b.ci_low < a.ci_high - a.ci_low
    assert b.pi_high - b.pi_low < a.pi_high - a.pi_low
    assert b.tau2_ci_high < a.tau2_ci_high
    assert b.estimate == a.estimate


def test_summary_and_repr(bcg):
    r = pool(bcg["yi"], bcg["sei"], scale="log", measure="risk ratio", knapp_hartung=True)
    s = r.summary()
    assert "Random-effects meta-analysis (restricted maximum likelihood), k = 13" in s
    assert "Knapp-Hartung t(12)" in s and "Pooled risk ratio: 0.489" in s
    assert "Q(12) = 152.2330" in s and "prediction interval" in s
    assert repr(r) == ("PoolResult(method='REML', k=13, estimate=-0.7145, ci=(-1.1084, -0.3206), "
                       "tau2=0.3132, i2=92.2%)")
    assert "Fixed-effect meta-analysis" in pool(bcg["yi"], bcg["sei"], method="FE").summary()


def test_result_is_frozen(studies):
    r = pool(*studies)
    assert isinstance(r, PoolResult)
    with pytest.raises(AttributeError):
        r.estimate = 0.0  # type: ignore[misc]


def test_series_index_gives_labels_and_input_is_not_changed():
    y = pd.Series([0.1, 0.5, 0.3], index=["a", "b", "c"])
    se = pd.Series([0.1, 0.2, 0.15], index=["a", "b", "c"])
    before = y.copy()
    r = pool(y, se)
    assert r.labels == ("a", "b", "c")
    pd.testing.assert_series_equal(y, before)
    assert pool([0.1, 0.2], [0.1, 0.1], labels=["x", "x"]).labels == ("x", "x (2)")
