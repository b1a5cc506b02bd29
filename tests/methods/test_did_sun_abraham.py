"""Sun & Abraham (2021) interaction-weighted event study against pyfixest (test-only).

References: pyfixest 0.60 ``feols`` of the saturated regression with cohort x relative-period
indicator columns built here (eq. 28: every cohort-relative-period coefficient and its CR1
standard error to 1e-8), and pyfixest's ``event_study(estimator="saturated").aggregate(agg=
"period")`` (Sun & Abraham's IW estimates with cohort-share weights, eq. 29-30, and standard
errors that treat the shares as known: to 1e-8). The standard error with the shares'
estimation (Proposition 6) is checked against the share regression of Stata
``eventstudyinteract`` (cohort indicators on relative-period indicators, robust covariance
:math:`S_{xx}^{-1} S S_{xx}^{-1}/N`) computed here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from methods.conftest import simulate_panel
from preveval.errors import EstimationError
from preveval.methods.did.sun_abraham import sun_abraham

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    df = simulate_panel(150, 10, seed=3, staggered=True, dynamic=0.3)
    return df.assign(uid=pd.factorize(df["unit"])[0], g=df["ft"].fillna(0).astype(int))


def fit(df: pd.DataFrame, **kw):
    return sun_abraham(df["y"].to_numpy(), df["unit"].to_numpy(), df["period"].to_numpy(), df["ft"].to_numpy(), **kw)


def saturated_columns(df: pd.DataFrame, control_cohort: float | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The cohort x relative-period indicators (reference -1; the control cohort has none)."""
    out = df.copy()
    treated = out["ft"].notna() & (out["ft"] != control_cohort)
    rel = (out["period"] - out["ft"]).where(treated)
    names = []
    for (e, r), _ in out[treated].groupby([out["ft"], rel]):
        if r == -1:
            continue
        name = f"d_{int(e)}_{'m' if r < 0 else ''}{abs(int(r))}"
        out[name] = ((out["ft"] == e) & (rel == r)).astype(float)
        names.append(name)
    return out, names


def test_cohort_effects_match_a_direct_saturated_regression(panel):
    import pyfixest as pf

    r = fit(panel)
    df, names = saturated_columns(panel)
    ref = pf.feols(f"y ~ {' + '.join(names)} | unit + period", data=df, vcov={"CRV1": "unit"})
    coef, se = ref.coef(), ref.se()
    assert len(r.cohort_effects) == len(names)
    for c in r.cohort_effects:
        e, rr = c.term.split("::")
        name = f"d_{e}_{'m' if int(rr) < 0 else ''}{abs(int(rr))}"
        assert c.estimate == pytest.approx(coef[name], abs=1e-8)
        assert c.std_error == pytest.approx(se[name], rel=1e-8)


def test_iw_estimates_match_pyfixest_saturated_aggregate(panel):
    import pyfixest as pf

    r = fit(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = pf.event_study(data=panel, yname="y", idname="uid", tname="period", gname="g",
                            estimator="saturated", cluster="uid")
        agg = es.aggregate(agg="period")
    t = r.table().set_index("rel_time")
    est = t.loc[agg.index.astype(int)]
    np.testing.assert_allclose(est["estimate"], agg["Estimate"].astype(float), atol=1e-8)
    np.testing.assert_allclose(est["std_error_fixed_weights"], agg["Std. Error"].astype(float), rtol=1e-8)
    assert t.loc[-1, "reference"] and t.loc[-1, "estimate"] == 0.0
    # shares at each relative period sum to one
    assert np.allclose(r.weights.groupby("rel_time")["weight"].sum(), 1.0)


def test_share_variance_is_the_eventstudyinteract_share_regression(panel):
    r = fit(panel)
    treated = panel[panel["ft"].notna()].copy()
    treated["rel"] = (treated["period"] - treated["ft"]).astype(int)
    rels = sorted(set(treated["rel"]) - {-1})
    cohorts = sorted(treated["ft"].unique())
    X = np.column_stack([(treated["rel"] == k).to_numpy(float) for k in rels])
    N = len(X)
    Sxxi = np.linalg.inv(X.T @ X / N)
    t = r.table().set_index("rel_time")
    delta = {c.term: c.estimate for c in r.cohort_effects}
    for j, k in enumerate(rels):
        # robust covariance of the share coefficients for relative period k (cohorts x cohorts block)
        resid = np.column_stack([(treated["ft"] == e).to_numpy(float) - X @ (Sxxi @ (X.T @ (treated["ft"] == e).to_numpy(float) / N))
                                 for e in cohorts])
        Z = resid * X[:, [j]]
        block = (Sxxi[j, j] ** 2) * (Z.T @ Z / N) / N
        d = np.array([delta.get(f"{int(e)}::{k}", 0.0) for e in cohorts])
        share_var = d @ block @ d
        expected = np.sqrt(t.loc[k, "std_error_fixed_weights"] ** 2 + share_var)
        assert t.loc[k, "std_error"] == pytest.approx(expected, rel=1e-10)


def test_last_treated_cohort_as_control(panel):
    import pyfixest as pf

    last = panel["ft"].max()
    r = fit(panel, control="last_treated")
    sub = panel[panel["period"] < last]
    df, names = saturated_columns(sub, control_cohort=last)
    ref = pf.feols(f"y ~ {' + '.join(names)} | unit + period", data=df, vcov={"CRV1": "unit"})
    assert r.n_obs == ref._N and r.control_cohort == "last treated"
    got = {c.term: c.estimate for c in r.cohort_effects}
    for name, b in ref.coef().items():
        _, e, rr = name.split("_")
        assert got[f"{e}::{-int(rr[1:]) if rr.startswith('m') else int(rr)}"] == pytest.approx(b, abs=1e-8)


def test_att_and_checks(panel):
    r = fit(panel)
    t = r.table()
    post = t[t["rel_time"] >= 0]
    n = r.weights[r.weights["rel_time"] >= 0].groupby("rel_time")["n_obs"].sum()
    assert r.att.estimate == pytest.approx(float((post.set_index("rel_time")["estimate"] * n / n.sum()).sum()), abs=1e-12)
    assert r.att.std_error > 0 and r.n_clusters == panel["unit"].nunique()
    none = panel.dropna(subset=["ft"])
    with pytest.raises(EstimationError, match="last_treated"):
        fit(none)
    with pytest.raises(EstimationError, match="control must be"):
        fit(panel, control="not_yet_treated")
