"""DiD with an exposure: PPML with a log offset against pyfixest ``fepois(offset=)``; the
gaussian rate per 100,000 against pyfixest ``feols`` on the rate computed by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from preveval.methods.did import fit_did
from preveval.spec.models import DidAnalysis

RTOL = 1e-6


def _panel(simulate) -> pd.DataFrame:  # noqa: ANN001
    df = simulate(seed=11)
    rng = np.random.default_rng(5)
    pop = rng.uniform(2_000, 90_000, df["unit"].nunique())
    codes = df["unit"].astype("category").cat.codes.to_numpy()
    df["pop"] = pop[codes] * (1 + 0.01 * df["period"])
    df["cases"] = rng.poisson(df["pop"] / 1e4 * np.exp(0.2 - 0.25 * df["d"]))
    df["log_pop"] = np.log(df["pop"])
    return df


@pytest.mark.reference
@pytest.mark.parametrize("design", ["twfe", "event_study"])
def test_ppml_offset_matches_fepois(simulate, design: str) -> None:  # noqa: ANN001
    df = _panel(simulate)
    if design == "twfe":
        s = DidAnalysis(id="a", method="did", indicator="x", design="twfe", treatment="d", family="poisson", offset="pop")
        fml = "cases ~ d | unit + period"
        data = df
    else:
        s = DidAnalysis(id="a", method="did", indicator="x", design="event_study", first_treated="ft",
                        leads=3, lags=3, family="poisson", offset="pop")
        fml = "cases ~ i(rel, ref=-1.0) | unit + period"
        data = df.assign(rel=(df["period"] - df["ft"]).clip(-3, 3).fillna(-1.0))
    r = fit_did(s, df, outcome="cases", unit="unit", time="period")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.fepois(fml, data=data, offset="log_pop", vcov={"CRV1": "unit"}, iwls_tol=1e-12, fixef_tol=1e-12)
    coef = [c.estimate for c in r.coefficients]
    se = [c.std_error for c in r.coefficients]
    np.testing.assert_allclose(coef, m.coef().to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(se, m.se().to_numpy(), rtol=RTOL)
    # the true rate ratio is exp(-0.25)
    assert r.effect.ci_low < -0.25 < r.effect.ci_high


@pytest.mark.reference
def test_gaussian_offset_models_the_rate(simulate) -> None:  # noqa: ANN001
    df = _panel(simulate)
    s = DidAnalysis(id="a", method="did", indicator="x", design="twfe", treatment="d", offset="pop", rate_per=100_000)
    r = fit_did(s, df, outcome="cases", unit="unit", time="period")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("rate ~ d | unit + period", data=df.assign(rate=df["cases"] / df["pop"] * 1e5),
                     vcov={"CRV1": "unit"})
    assert r.effect.estimate == pytest.approx(m.coef().iloc[0], rel=RTOL)
    assert r.effect.std_error == pytest.approx(m.se().iloc[0], rel=RTOL)
