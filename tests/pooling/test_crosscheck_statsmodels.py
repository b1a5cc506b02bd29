"""Independent cross-check: statsmodels' ``combine_effects`` (statsmodels.stats.meta_analysis)
for the DerSimonian-Laird ("chi2") and Paule-Mandel ("iterated") estimators, the
fixed-effect mean and the Hartung-Knapp-Sidik-Jonkman interval, to relative 1e-6.

Two differences of statsmodels (0.15) are allowed for: its DL estimate is not truncated at 0
(a negative tau^2 when Q < k - 1, where ours and metafor's is 0, so that the random-effects
fit is then the fixed-effect one), and its I^2 is the Q-based one (negative when Q < k - 1).
Its PM iteration is run to atol 1e-7 on the estimating equation Q - (k - 1) (the default 1e-5
is looser than 1e-6 in tau^2; much tighter, and a last step that lands a round-off below the
root, Q - (k - 1) = -1e-15, makes statsmodels return tau^2 = 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from preveval.pooling import pool

RTOL = 1e-6
SM = {"DL": {"method_re": "chi2"}, "PM": {"method_re": "iterated", "atol": 1e-7, "maxiter": 1000}}


CASES = [(3, 0.05), (5, 0.2), (13, 0.1), (30, 0.02), (8, 0.0)]  # (k, true tau^2)


@pytest.fixture(params=["bcg", *CASES], ids=["bcg", *(f"k{k}-tau2_{t}" for k, t in CASES)])
def data(request, bcg, simulate):
    if request.param == "bcg":
        return bcg["yi"].to_numpy(), bcg["sei"].to_numpy()
    k, tau2 = request.param
    return simulate(np.random.default_rng(1000 + k), k, mu=0.3, tau2=tau2)


@pytest.mark.parametrize("method", ["DL", "PM"])
def test_random_effects_match_statsmodels(data, method):
    y, se = data
    sm = combine_effects(y, se**2, **SM[method])
    ours = pool(y, se, method=method)
    if sm.tau2 < 0:  # statsmodels' untruncated DL: ours is 0 and the fit is the FE one
        assert method == "DL" and ours.tau2 == 0
        assert (ours.estimate, ours.std_error) == pytest.approx((sm.mean_effect_fe, sm.sd_eff_w_fe), rel=RTOL)
        return
    assert ours.tau2 == pytest.approx(sm.tau2, rel=RTOL, abs=1e-12)
    assert ours.estimate == pytest.approx(sm.mean_effect_re, rel=RTOL)
    assert ours.std_error == pytest.approx(sm.sd_eff_w_re, rel=RTOL)
    _, re, _, _ = sm.conf_int(use_t=False)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(re), rel=RTOL)
    assert ours.q == pytest.approx(sm.q, rel=RTOL)
    assert np.asarray(ours.weights) / 100 == pytest.approx(sm.weights_rel_re, rel=RTOL)
    if method == "DL":  # the Q-based I^2 equals DL's tau^2-based one when tau^2 > 0
        assert ours.i2 == pytest.approx(100 * sm.i2, rel=RTOL, abs=1e-9)


@pytest.mark.parametrize("method", ["DL", "PM"])
def test_knapp_hartung_matches_statsmodels_hksj(data, method):
    y, se = data
    sm = combine_effects(y, se**2, use_t=True, **SM[method])
    ours = pool(y, se, method=method, knapp_hartung=True)
    _, _, fe_hksj, re_hksj = sm.conf_int(use_t=True)  # t(k - 1), scale not truncated at 1
    if sm.tau2 < 0:  # statsmodels' untruncated DL: ours has tau^2 = 0, its FE-weighted HKSJ
        assert ours.std_error == pytest.approx(sm.sd_eff_w_fe_hksj, rel=RTOL)
        assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(fe_hksj), rel=RTOL)
        return
    assert ours.std_error == pytest.approx(sm.sd_eff_w_re_hksj, rel=RTOL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(re_hksj), rel=RTOL)


def test_fixed_effect_matches_statsmodels(data):
    y, se = data
    sm = combine_effects(y, se**2, method_re="chi2")
    ours = pool(y, se, method="FE")
    assert ours.estimate == pytest.approx(sm.mean_effect_fe, rel=RTOL)
    assert ours.std_error == pytest.approx(sm.sd_eff_w_fe, rel=RTOL)
    fe, _, _, _ = sm.conf_int(use_t=False)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(fe), rel=RTOL)
    assert ours.i2 == pytest.approx(max(0.0, 100 * sm.i2), rel=RTOL, abs=1e-9)
