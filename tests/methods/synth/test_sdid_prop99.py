"""California Proposition 99: Arkhangelsky et al. (2021) Table 1 and synthdid 0.0.9.

Sources, commands and tolerances: tests/reference/prop99/SOURCE.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from preveval.methods.synth import fit_sdid, placebo_estimates, sdid_std_error
from support import ROOT

pytestmark = pytest.mark.reference
ESTIMATORS = ("sdid", "sc", "did")
REFERENCE = ROOT / "tests" / "reference"


@pytest.fixture(scope="module")
def fits(prop99):
    y, treated, t_pre, _ = prop99
    return {e: fit_sdid(y, t_pre, treated=treated, estimator=e) for e in ESTIMATORS}


def test_panel_shape(prop99, prop99_expected):
    y, treated, t_pre, names = prop99
    assert y.shape == (39, 31) and treated.sum() == 1 and names[treated.argmax()] == "California"
    assert t_pre == prop99_expected["synthdid_r"]["t_pre"] == 19


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_estimates_match_synthdid_and_table_1(fits, prop99_expected, estimator):
    att = fits[estimator].att
    r = prop99_expected["synthdid_r"]
    assert att == pytest.approx(r["att"][estimator], abs=1e-8)
    assert round(att, 5) == r["printed_5dp"][estimator]  # vignette: -15.60383, -19.61966, -27.34911
    assert round(att, 1) == prop99_expected["paper"][estimator]["att"]  # Table 1: -15.6, -19.6, -27.3


def test_sdid_weights_and_noise_level(fits, prop99_expected):
    r = prop99_expected["synthdid_r"]
    f = fits["sdid"]
    assert f.noise_level == pytest.approx(r["noise_level"], rel=1e-10)
    np.testing.assert_allclose(f.omega, r["sdid_omega"], atol=1e-10)
    np.testing.assert_allclose(f.lambda_weights, r["sdid_lambda"], atol=1e-10)
    assert f.effect_curve.mean() == pytest.approx(f.att, abs=1e-10)
    # synthdid stops the unit weights at max.iter (10,000 after the 100 pre-sparsify steps)
    assert f.iterations[1] == 10_100 and not f.converged


def replicates(fits, estimator, n):
    perms = np.loadtxt(REFERENCE / "prop99" / "placebo_permutations.csv", delimiter=",", dtype=int) - 1
    r = pd.read_csv(REFERENCE / "prop99" / "placebo_replicates_r.csv", skipinitialspace=True)
    ours = placebo_estimates(fits[estimator], perms[:n])
    np.testing.assert_allclose(ours, r[estimator].to_numpy()[:n], atol=1e-8)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_placebo_replicates_match_synthdid_draw_by_draw(fits, estimator):
    replicates(fits, estimator, 2)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_all_twenty_placebo_replicates_match_synthdid(fits, estimator):
    replicates(fits, estimator, 20)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_seeded_placebo_se_agrees_with_table_1_within_monte_carlo_error(fits, prop99_expected, estimator):
    se = sdid_std_error(fits[estimator], "placebo", replications=200, seed=12345)
    e = se.estimates - se.estimates.mean()
    kurtosis = np.mean(e**4) / np.mean(e**2) ** 2
    mc_rel_sd = np.sqrt((kurtosis - 1) / (4 * 200))  # delta method for sd of a B = 200 sd
    paper = prop99_expected["paper"][estimator]["se"]
    r_value = prop99_expected["synthdid_r"]["placebo_se_seed12345"][estimator]
    # both are B = 200 draws: their difference has sd sqrt(2) times one draw's
    assert abs(se.std_error - paper) <= 3 * np.sqrt(2) * mc_rel_sd * paper
    assert abs(se.std_error - r_value) <= 3 * np.sqrt(2) * mc_rel_sd * r_value
    assert se.ci_low == pytest.approx(fits[estimator].att - 1.959963984540054 * se.std_error)
