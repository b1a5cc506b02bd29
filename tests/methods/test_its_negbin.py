"""The negative binomial ITS: dispersion by profile likelihood, against statsmodels fitted directly.

statsmodels' discrete ``NegativeBinomial(loglike_method="nb2")`` maximises the joint
likelihood of the coefficients and the dispersion; its alpha, coefficients and
log-likelihood must equal ours to 1e-6 relative, and our standard errors those of
statsmodels' GLM with alpha fixed at the MLE (the ``MASS::glm.nb`` convention) on three
series: the flagship's whole-Scotland young-driver series, Sicily (Lopez Bernal et al. 2017)
and a strongly overdispersed simulated one. An earlier optimiser returned alpha = 1e-8 (a
Poisson fit in disguise) on the first of them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import preveval as pv
from preveval.errors import EstimationError
from preveval.methods.its import build_its_series, fit_its, simulate_its
from preveval.methods.its.design import build_design
from preveval.methods.its.negbin import nb_dispersion, nb_profile_score
from preveval.spec.models import Indicator, ItsAnalysis

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-6


def _flagship() -> tuple[ItsAnalysis, pd.DataFrame, str, int]:
    ev = pv.load(ROOT / "evaluations/road-safety-day/evaluation.yaml")
    its = next(a for a in ev.spec.analyses if a.id == "its-ksi")
    spec = its.model_copy(update={"family": "negative_binomial", "sensitivity": False})
    s = build_its_series(spec, ev.frame, outcome="ksi_17_25", unit="council")
    t0 = int(s.loc[s["period"].astype(str) == "2016-04", "t"].iloc[0])
    return spec, s, "ksi_17_25", t0


def _sicily() -> tuple[ItsAnalysis, pd.DataFrame, str, int]:
    d = pd.read_csv(ROOT.parent / "shared/reference/sicily.csv")
    d["period"] = [pd.Period(f"{y}-{m:02d}", "M") for y, m in zip(d["year"], d["month"], strict=True)]
    d["t"] = [p.ordinal for p in d["period"]]
    spec = ItsAnalysis(id="sicily", method="its", indicator="aces", intervention="2005-01", impact="level",
                       family="negative_binomial", offset="stdpop", sensitivity=False,
                       seasonality={"type": "fourier", "period": 12, "harmonics": 2})
    return spec, build_its_series(spec, d, outcome="aces", unit=None), "aces", pd.Period("2005-01", "M").ordinal


def _overdispersed() -> tuple[ItsAnalysis, pd.DataFrame, str, int]:
    d = simulate_its(96, family="negative_binomial", alpha=0.5, beta=(np.log(20.0), 0.002, -0.3, 0.0), seed=11)
    t0 = int(d["t"].iloc[48])
    spec = ItsAnalysis(id="od", method="its", indicator="y", intervention=str(d["period"].iloc[48]),
                       impact="level_and_slope", family="negative_binomial", sensitivity=False)
    return spec, d, "y", t0


CASES = {"flagship": _flagship, "sicily": _sicily, "overdispersed": _overdispersed}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dispersion_and_coefficients_match_statsmodels(case: str) -> None:
    spec, series, outcome, t0 = CASES[case]()
    ind = Indicator(id=spec.indicator, label="Events", column=outcome)
    res = fit_its(spec, series, outcome=outcome, interventions={"": t0}, indicator=ind)
    d = build_design(spec, series.sort_values("t").reset_index(drop=True), outcome=outcome, interventions={"": t0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = sm.NegativeBinomial(d.y, d.X, loglike_method="nb2", offset=d.offset)
        disc = mod.fit(method="bfgs", maxiter=5000, disp=0, gtol=1e-12)
        disc = mod.fit(start_params=disc.params, method="newton", maxiter=200, disp=0, tol=1e-14)
    alpha = float(disc.params[-1])
    assert alpha > 1e-3, "the reference series are overdispersed"
    assert res.nb_alpha == pytest.approx(alpha, rel=RTOL)
    assert res.log_likelihood == pytest.approx(float(disc.llf), rel=1e-9)
    np.testing.assert_allclose([c.estimate for c in res.coefficients], disc.params[:-1], rtol=RTOL, atol=1e-9)
    glm = sm.GLM(d.y, d.X, family=sm.families.NegativeBinomial(alpha=res.nb_alpha), offset=d.offset).fit(tol=1e-13)
    np.testing.assert_allclose([c.std_error for c in res.coefficients], glm.bse, rtol=RTOL)


def test_the_profile_score_is_the_derivative_of_the_likelihood() -> None:
    rng = np.random.default_rng(3)
    mu = rng.uniform(1, 40, 60)
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)

    def llf(a: float) -> float:
        return float(np.sum(sm.families.NegativeBinomial(alpha=a).loglike_obs(y, mu)))

    for a in (0.01, 0.3, 2.0):
        h = 1e-6 * a
        assert nb_profile_score(a, y, mu) == pytest.approx((llf(a + h) - llf(a - h)) / (2 * h), rel=1e-5)


def test_no_overdispersion_gives_the_poisson_fit_and_says_so() -> None:
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(80), np.arange(80) / 80])
    y = rng.binomial(40, 0.5, 80).astype(float)  # underdispersed counts
    start = sm.GLM(y, X, family=sm.families.Poisson()).fit().params
    nb = nb_dispersion(y, X, None, start)
    assert nb.alpha == 0.0 and nb.boundary and "Poisson" in nb.note
    np.testing.assert_allclose(nb.params, start, rtol=1e-10)


def test_fractional_counts_are_refused() -> None:
    X = np.ones((10, 1))
    with pytest.raises(EstimationError, match="whole"):
        nb_dispersion(np.linspace(0.5, 9.5, 10), X, None, np.zeros(1))


def test_sensitivity_row_differs_from_poisson_under_overdispersion() -> None:
    spec, series, outcome, t0 = _overdispersed()
    spec = spec.model_copy(update={"family": "quasipoisson", "sensitivity": True})
    res = fit_its(spec, series, outcome=outcome, interventions={"": t0}, indicator=Indicator(id="y", label="Y", column="y"))
    rows = res.sensitivity.set_index("specification")
    nb, pois = rows.loc["family negative_binomial"], rows.loc["family poisson"]
    assert abs(nb["estimate"] - pois["estimate"]) > 1e-3
    assert (nb["ci_high"] - nb["ci_low"]) > 1.2 * (pois["ci_high"] - pois["ci_low"])
