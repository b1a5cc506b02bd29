"""Reference test: the Sicily smoking-ban ITS of Lopez Bernal, Cummins & Gasparrini (2017).

Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series regression for the
evaluation of public health interventions: a tutorial. Int J Epidemiol 2017;46(1):348-355
(and its correction). Expected figures and their source: tests/reference/sicily/.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from preveval.methods.its import build_its_series, fit_its
from preveval.spec.models import Indicator, ItsAnalysis

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared/reference/sicily.csv"
EXPECTED = json.loads((ROOT / "tests/reference/sicily/expected.json").read_text())
IND = Indicator(id="aces", label="Acute coronary events", column="aces")

pytestmark = pytest.mark.reference


def _frame() -> pd.DataFrame:
    d = pd.read_csv(DATA)
    d["period"] = [pd.Period(f"{y}-{m:02d}", "M") for y, m in zip(d["year"], d["month"], strict=True)]
    d["t"] = [p.ordinal for p in d["period"]]
    return d


def _fit(row: dict, **extra):
    spec = ItsAnalysis(
        id="sicily",
        method="its",
        indicator="aces",
        intervention="2005-01",
        impact="level",
        family=row["family"],
        offset="stdpop",
        seasonality=row["seasonality"],
        sensitivity=False,
        **extra,
    )
    series = build_its_series(spec, _frame(), outcome="aces", unit=None)
    t0 = pd.Period("2005-01", "M").ordinal
    return fit_its(spec, series, outcome="aces", interventions={"": t0}, indicator=IND)


def _sig4(value: float, expected: float) -> None:
    """Equal to the 4th significant digit of the published figure."""
    if expected == 0:
        assert abs(value) < 1e-12
        return
    unit = 10 ** (math.floor(math.log10(abs(expected))) - 3)
    assert abs(value - expected) <= 0.5 * unit + 1e-12, (value, expected)


@pytest.mark.parametrize("row", EXPECTED["rows"], ids=[r["name"] for r in EXPECTED["rows"]])
def test_sicily_table(row: dict) -> None:
    res = _fit(row)
    assert res.effect.term == "level_change"
    assert res.scale == "log"
    _sig4(res.effect.estimate, row["coefficient"])
    _sig4(res.effect.std_error, row["std_error"])
    _sig4(res.ratio.estimate, row["rate_ratio"])
    _sig4(res.ratio.ci_low, row["ci_low"])
    _sig4(res.ratio.ci_high, row["ci_high"])
    _sig4(res.trend_ratio_per_year, row["trend_rr_per_year"])
    _sig4(res.dispersion, row["scale"])
    assert res.n_obs == 59 and res.n_pre == 36 and res.n_post == 23


def _design(d: pd.DataFrame, fourier: bool) -> np.ndarray:
    """Independent design: const, time, smokban, harmonic(month, 2, 12) as in the R code."""
    cols = [np.ones(len(d)), d["time"].to_numpy(float), d["smokban"].to_numpy(float)]
    if fourier:
        for j in (1, 2):
            cols += [np.sin(2 * np.pi * j * d["month"] / 12), np.cos(2 * np.pi * j * d["month"] / 12)]
    return np.column_stack(cols)


@pytest.mark.parametrize("row", EXPECTED["rows"], ids=[r["name"] for r in EXPECTED["rows"]])
def test_sicily_matches_statsmodels_glm(row: dict) -> None:
    d = _frame()
    X = _design(d, row["seasonality"] is not None)
    glm = sm.GLM(d["aces"], X, family=sm.families.Poisson(), offset=np.log(d["stdpop"]))
    ref = glm.fit(scale="X2" if row["family"] == "quasipoisson" else 1.0, tol=1e-12)
    res = _fit(row)
    est = {e.term: e for e in res.coefficients}
    names = ["const", "time", "level_change"] + (["sin1", "cos1", "sin2", "cos2"] if row["seasonality"] else [])
    np.testing.assert_allclose([est[n].estimate for n in names], ref.params, rtol=1e-6)
    np.testing.assert_allclose([est[n].std_error for n in names], ref.bse, rtol=1e-6)
