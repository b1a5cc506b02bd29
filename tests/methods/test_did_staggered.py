"""Callaway & Sant'Anna (2021) staggered design against the csdid package (test-only).

csdid 0.4.3 (a port of R did), ``ATTgt(...).fit(est_method="reg", bstrap=False)`` and
``aggte(typec="simple", bstrap=False)``: analytic influence-function standard errors.
Without covariates every estimation method reduces to the difference of mean changes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from preveval.errors import EstimationError
from preveval.methods.did import fit_did
from preveval.spec.models import DidAnalysis


def spec(**kw) -> DidAnalysis:
    base = {"id": "cs", "method": "did", "indicator": "y", "design": "staggered", "first_treated": "ft"}
    return DidAnalysis(**{**base, **kw})


def csdid_reference(df: pd.DataFrame, est_method: str, csdid_control: str, **kw):
    """Group-time table and simple aggregate of csdid on the same panel (analytic SEs)."""
    import csdid.att_gt as att_gt
    ref_df = df.assign(g=df["ft"].fillna(0).astype(int), id=pd.factorize(df["unit"])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = att_gt.ATTgt(yname="y", tname="period", idname="id", gname="g", data=ref_df,
                         control_group=[csdid_control], **kw).fit(est_method=est_method, bstrap=False)
        agg = a.aggte(typec="simple", bstrap=False)
    ref = pd.DataFrame({k: np.asarray(a.results[k]) for k in ("group", "year", "att", "se")})
    return ref, agg


def assert_matches_csdid(r, ref: pd.DataFrame, agg) -> None:
    both = ref.merge(r.group_time_table(), left_on=["group", "year"], right_on=["group", "time"])
    assert len(both) == len(ref) == len(r.group_time)
    np.testing.assert_allclose(both["estimate"], both["att"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(both["std_error"], both["se"], rtol=1e-6)
    assert r.effect.estimate == pytest.approx(agg.atte["overall_att"], rel=1e-6)
    # the analytic influence-function SE of R did is kept as the labelled comparison; the
    # headline's SE is the one its small-sample interval uses
    analytic = r.inference_comparison[0]
    assert analytic.estimate == r.effect.estimate
    assert analytic.std_error == pytest.approx(agg.atte["overall_se"], rel=1e-6)
    e = r.effect
    assert e.interval_method == "cohort_welch_t" and e.df is not None
    half = (e.ci_high - e.ci_low) / 2
    assert half == pytest.approx(stats.t.ppf(0.975, e.df) * e.std_error, rel=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize(("control", "csdid_control"), [("never_treated", "nevertreated"), ("not_yet_treated", "notyettreated")])
def test_matches_csdid(simulate, control, csdid_control):
    df = simulate(120, 10, seed=3, staggered=True, dynamic=0.3)
    ref, agg = csdid_reference(df, "reg", csdid_control)
    r = fit_did(spec(control=control), df, outcome="y", unit="unit", time="period")
    assert_matches_csdid(r, ref, agg)
    assert r.control == control and r.pretrend_test.distribution == "F" and r.pretrend_test.df_num == 1


def test_recovers_true_effect_and_shape(simulate):
    df = simulate(400, 10, seed=11, staggered=True)
    r = fit_did(spec(), df, outcome="y", unit="unit", time="period")
    assert abs(r.effect.estimate - 1.5) < 4 * r.effect.std_error
    assert r.df_resid is None and r.se_type == "influence_function"
    assert "group_time" not in r.to_dict()
    assert r.pretrend_test.status in ("pass", "fail")


def test_unbalanced_units_dropped_and_no_never_treated(simulate):
    df = simulate(80, 8, seed=2, staggered=True, drop_share=0.05)
    r = fit_did(spec(), df, outcome="y", unit="unit", time="period")
    assert any("balanced panel" in w for w in r.warnings)
    allt = simulate(40, 8, seed=2, staggered=True, never_share=0.0)
    with pytest.raises(EstimationError, match="not_yet_treated"):
        fit_did(spec(), allt, outcome="y", unit="unit", time="period")
    r = fit_did(spec(control="not_yet_treated"), allt, outcome="y", unit="unit", time="period")
    assert np.isfinite(r.effect.estimate)


def test_group_time_labels_are_the_periods_as_written(simulate):
    # quarters as pandas Periods (as the data checks deliver them): labels read 2015Q3, not ordinals
    df = simulate(120, 10, seed=3, staggered=True)
    q = pd.period_range("2014Q1", periods=10, freq="Q")
    df = df.assign(period=q[df["period"] - 1], ft=[q[int(f) - 1] if f == f else pd.NaT for f in df["ft"]])
    r = fit_did(spec(), df, outcome="y", unit="unit", time="period")
    t = r.group_time_table()
    assert set(t["time_label"]) <= {str(p) for p in q}
    assert set(t["group_label"]) <= {str(p) for p in q}
    row = t.iloc[0]
    assert row["time_label"] == str(pd.Period(ordinal=int(row["time"]), freq="Q"))
    assert all(c.term.startswith("att_gt::20") for c in r.coefficients)
    ints = fit_did(spec(), simulate(120, 10, seed=3, staggered=True), outcome="y", unit="unit", time="period")
    assert ints.group_time_table()["time_label"].tolist() == [str(v) for v in ints.group_time_table()["time"]]
    # the pipeline passes the ordinal column 't' next to the prepared 'period' column
    df_t = df.assign(t=[p.ordinal for p in df["period"]])
    via_t = fit_did(spec(), df_t, outcome="y", unit="unit", time="t").group_time_table()
    assert via_t["time_label"].tolist() == t["time_label"].tolist()


@pytest.mark.reference
@pytest.mark.parametrize("est_method", ["dr", "reg"])
@pytest.mark.parametrize(("control", "csdid_control"), [("never_treated", "nevertreated"), ("not_yet_treated", "notyettreated")])
def test_covariates_match_csdid(simulate, est_method, control, csdid_control):
    """Conditional parallel trends: csdid ``xformla="~x1"`` with est_method dr / reg (the
    covariate varies over time; both take it at each cell's base period)."""
    df = simulate(150, 8, seed=4, staggered=True, dynamic=0.2)
    ref, agg = csdid_reference(df, est_method, csdid_control, xformla="~x1")
    r = fit_did(spec(control=control, covariates=("x1",), cs_method=est_method), df, outcome="y", unit="unit", time="period")
    assert_matches_csdid(r, ref, agg)
    assert "conditional on x1" in r.description
    assert not any("does not use covariates" in w for w in r.warnings)


def test_collinear_covariate_cells_are_reported(simulate):
    df = simulate(80, 6, seed=5, staggered=True).assign(c=1.0)  # constant: collinear with the intercept
    with pytest.raises(EstimationError, match="collinear"):
        fit_did(spec(covariates=("c",), cs_method="reg"), df, outcome="y", unit="unit", time="period")


def test_event_study_pretrend_by_bootstrap_or_with_caution(simulate):
    df = simulate(30, 10, seed=6, staggered=True)
    base = {"id": "es", "method": "did", "indicator": "y", "design": "event_study", "first_treated": "ft"}
    boot = fit_did(DidAnalysis(**base, inference="wild_bootstrap", reps=999), df, outcome="y", unit="unit", time="period")
    assert "wild cluster restricted bootstrap (999 draws" in boot.pretrend_test.reason
    cl = fit_did(DidAnalysis(**base), df, outcome="y", unit="unit", time="period")
    assert "tends to reject too often" in cl.pretrend_test.reason
    assert boot.pretrend_test.statistic == pytest.approx(cl.pretrend_test.statistic)
    assert boot.pretrend_test.p_value != cl.pretrend_test.p_value


@pytest.mark.reference
@pytest.mark.parametrize(("est_method", "covariates"), [("reg", ()), ("reg", ("x1",)), ("dr", ("x1",))])
@pytest.mark.parametrize(("control", "csdid_control"), [("never_treated", "nevertreated"), ("not_yet_treated", "notyettreated")])
def test_weights_match_csdid(simulate, est_method, covariates, control, csdid_control):
    """Unit weights: csdid ``weights_name`` (weighted means, regressions, propensity scores
    and cohort shares)."""
    df = simulate(150, 8, seed=4, staggered=True, dynamic=0.2)
    df["wu"] = df.groupby("unit")["w"].transform("first")
    kw = {"xformla": "~x1"} if covariates else {}
    ref, agg = csdid_reference(df, est_method, csdid_control, weights_name="wu", **kw)
    r = fit_did(spec(control=control, covariates=covariates, cs_method=est_method, weights="wu"), df,
                outcome="y", unit="unit", time="period")
    assert_matches_csdid(r, ref, agg)
    assert not any("weights" in w for w in r.warnings)


def test_time_varying_weights_are_refused(simulate):
    df = simulate(60, 6, seed=4, staggered=True)
    df["w"] = df["w"] * (1 + 0.1 * df["period"])  # weights that drift over time
    with pytest.raises(EstimationError, match="weights that do not change within a unit"):
        fit_did(spec(weights="w"), df, outcome="y", unit="unit", time="period")
