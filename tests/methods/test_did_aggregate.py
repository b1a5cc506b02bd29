"""Aggregations of Callaway & Sant'Anna ATT(g, t) and the cell options, against csdid (test-only).

Reference: csdid 0.4.3 (a port of R did 2.5), ``ATTgt(..., anticipation=, allow_unbalanced_panel=)
.fit(est_method=, base_period=, bstrap=False)`` and ``aggte(typec="dynamic" | "group" |
"calendar" | "simple", balance_e=, min_e=, max_e=, bstrap=False)``: every ATT(g, t), every
aggregated effect and every analytic standard error agree to 1e-10 (relative 1e-8 for
standard errors) on the seeded panels below. One documented difference: with
``anticipation >= 2`` and the varying base period, csdid compares the anticipation cells
:math:`g-\\delta \\le t < g` with :math:`g-\\delta-1`, while R did 2.5.1
(``compute.att_gt.R``: ``pret <- t`` unless ``glist[g] <= tlist[t+tfac]``) compares them
with :math:`t-1`; preveval follows R did, and those cells are checked by hand below.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from methods.conftest import simulate_panel
from preveval.errors import EstimationError
from preveval.methods.did.aggregate import (
    BootstrapOptions,
    aggregate_att,
    aggregate_influence,
    event_study_vector,
)
from preveval.methods.did.cells import StaggeredOptions, group_time_cells
from preveval.methods.did.core import prepare
from preveval.methods.did.fit import fit_did
from preveval.methods.did.multiplier import multiplier_bootstrap
from preveval.methods.did.staggered import fit_staggered_design, staggered_cells
from preveval.spec.models import DidAnalysis

pytestmark = pytest.mark.reference

CSDID_CONTROL = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}


def spec(**kw) -> DidAnalysis:
    base = {"id": "cs", "method": "did", "indicator": "y", "design": "staggered", "first_treated": "ft"}
    return DidAnalysis(**{**base, **kw})


@functools.cache
def panel(seed: int = 3, drop: float = 0.0, n: int = 120, periods: int = 10) -> pd.DataFrame:
    return simulate_panel(n, periods, seed=seed, staggered=True, dynamic=0.3, drop_share=drop)


def cells_of(df: pd.DataFrame, control: str = "never_treated", options: StaggeredOptions | None = None, **kw):
    s = spec(control=control, **kw)
    return staggered_cells(s, prepare(s, df, "y", "unit", "period"), options)


def csdid_fit(df: pd.DataFrame, control: str, est_method: str = "reg", base: str = "varying", **kw):
    import csdid.att_gt as att_gt

    ref_df = df.assign(g=df["ft"].fillna(0).astype(int), id=pd.factorize(df["unit"])[0])
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return att_gt.ATTgt(yname="y", tname="period", idname="id", gname="g", data=ref_df,
                            control_group=[CSDID_CONTROL[control]], **kw).fit(
            est_method=est_method, base_period=base, bstrap=False)


def csdid_aggte(fit, kind: str, **kw) -> dict:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fit.aggte(typec=kind, bstrap=False, **kw).atte


@functools.cache
def reference(control: str, base: str, anticipation: int):
    df = panel()
    return cells_of(df, control, StaggeredOptions(anticipation, base)), csdid_fit(
        df, control, base=base, anticipation=anticipation)


def assert_aggregate_matches(mine, atte: dict) -> None:
    assert mine.overall.estimate == pytest.approx(float(atte["overall_att"]), abs=1e-10)
    assert mine.overall.std_error == pytest.approx(float(np.ravel(atte["overall_se"])[0]), rel=1e-8)
    if mine.kind == "simple":
        return
    t = mine.table()
    np.testing.assert_array_equal(t["key"], np.asarray(atte["egt"]).astype(int))
    np.testing.assert_allclose(t["estimate"], np.asarray(atte["att_egt"], dtype=float), atol=1e-10)
    ref_se = np.asarray(atte["se_egt"], dtype=float).ravel()
    se = t["std_error"].to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isnan(se), np.isnan(ref_se))
    np.testing.assert_allclose(se[~np.isnan(se)], ref_se[~np.isnan(ref_se)], rtol=1e-8)


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize("base", ["varying", "universal"])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("anticipation", [0, 1])
def test_aggregations_match_csdid(kind, base, control, anticipation):
    cells, fit = reference(control, base, anticipation)
    assert_aggregate_matches(aggregate_att(cells, kind), csdid_aggte(fit, kind))


def test_group_time_cells_match_csdid_under_universal_base():
    cells, fit = reference("not_yet_treated", "universal", 1)
    ref = pd.DataFrame({k: np.asarray(fit.results[k], dtype=float) for k in ("group", "year", "att", "se")})
    mine = pd.DataFrame({"group": cells.group, "year": cells.time, "mine": cells.att,
                         "mine_se": np.where(cells.reference, np.nan, cells.std_error)})
    both = ref.merge(mine, on=["group", "year"])
    assert len(both) == len(ref) == len(mine)
    np.testing.assert_allclose(both["mine"], both["att"], atol=1e-10)
    np.testing.assert_array_equal(np.isnan(both["se"]), np.isnan(both["mine_se"]))
    ok = ~np.isnan(both["se"])
    np.testing.assert_allclose(both["mine_se"][ok], both["se"][ok], rtol=1e-8)
    # the reference cell of each cohort (t = g - anticipation - 1) is 0 with no standard error
    refs = cells.reference
    assert refs.sum() == len(np.unique(cells.group))
    assert np.all(cells.att[refs] == 0) and np.all(cells.time[refs] == cells.group[refs] - 2)


@pytest.mark.parametrize("kw", [{"balance_e": 2}, {"min_e": -3, "max_e": 3}, {"balance_e": 1, "min_e": -2, "max_e": 1}])
def test_dynamic_window_and_balance_match_csdid(kw):
    cells, fit = reference("never_treated", "varying", 0)
    assert_aggregate_matches(aggregate_att(cells, "dynamic", **kw), csdid_aggte(fit, "dynamic", **kw))


def test_group_window_matches_csdid():
    cells, fit = reference("never_treated", "varying", 0)
    assert_aggregate_matches(aggregate_att(cells, "group", max_e=2), csdid_aggte(fit, "group", max_e=2))


def test_anticipation_cells_follow_r_did():
    """Two anticipation periods, varying base: cells t >= g and t < g - 1 match csdid; the cells
    t = g - 1 compare t with t - 1 as R did 2.5.1 does (by hand: difference of mean changes)."""
    df = panel()
    cells = cells_of(df, options=StaggeredOptions(anticipation=2))
    fit = csdid_fit(df, "never_treated", anticipation=2)
    ref = pd.DataFrame({k: np.asarray(fit.results[k], dtype=float) for k in ("group", "year", "att")})
    mine = pd.DataFrame({"group": cells.group, "year": cells.time, "mine": cells.att, "base": cells.base})
    both = ref.merge(mine, on=["group", "year"])
    assert len(both) == len(ref)
    window = both["year"] == both["group"] - 1
    np.testing.assert_allclose(both.loc[~window, "mine"], both.loc[~window, "att"], atol=1e-10)
    assert (both.loc[window, "base"] == both.loc[window, "year"] - 1).all()
    wide = df.pivot(index="unit", columns="period", values="y")
    ft = df.groupby("unit")["ft"].first().fillna(0)
    for _, row in both[window].iterrows():
        g, t = int(row["group"]), int(row["year"])
        dy = wide[t] - wide[t - 1]
        assert row["mine"] == pytest.approx(dy[ft == g].mean() - dy[ft == 0].mean(), abs=1e-12)
    # post-treatment cells use the base g - 3; the dynamic aggregation matches csdid for e >= 0
    post = cells.time >= cells.group
    assert np.all(cells.base[post] == cells.group[post] - 3)
    mine_dyn = aggregate_att(cells, "dynamic", min_e=0).table()
    ref_dyn = csdid_aggte(fit, "dynamic", min_e=0)
    np.testing.assert_allclose(mine_dyn["estimate"], np.asarray(ref_dyn["att_egt"], dtype=float), atol=1e-10)


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_unbalanced_panel_matches_csdid(kind, control):
    """``allow_unbalanced_panel``: cells as repeated cross-sections (DRDID reg_did_rc), the influence
    function summed within units, as csdid/R did with ``allow_unbalanced_panel=TRUE``."""
    df = panel(seed=5, drop=0.08, n=150, periods=8)
    cells = cells_of(df, control, StaggeredOptions(allow_unbalanced_panel=True))
    assert cells.unbalanced
    fit = csdid_fit(df, control, allow_unbalanced_panel=True)
    assert_aggregate_matches(aggregate_att(cells, kind), csdid_aggte(fit, kind))


def test_unbalanced_panel_with_covariates_by_regression_matches_csdid():
    df = panel(seed=5, drop=0.08, n=150, periods=8)
    cells = cells_of(df, options=StaggeredOptions(allow_unbalanced_panel=True), covariates=("x1",), cs_method="reg")
    fit = csdid_fit(df, "never_treated", allow_unbalanced_panel=True, xformla="~x1")
    assert_aggregate_matches(aggregate_att(cells, "dynamic"), csdid_aggte(fit, "dynamic"))
    with pytest.raises(EstimationError, match="cs_method: reg"):
        cells_of(df, options=StaggeredOptions(allow_unbalanced_panel=True), covariates=("x1",), cs_method="dr")


@pytest.mark.parametrize("kind", ["dynamic", "group", "calendar"])
def test_covariates_and_weights_match_csdid(kind):
    df = simulate_panel(150, 8, seed=4, staggered=True, dynamic=0.2)
    df["wu"] = df.groupby("unit")["w"].transform("first")
    cells = cells_of(df, "not_yet_treated", covariates=("x1",), cs_method="dr", weights="wu")
    fit = csdid_fit(df, "not_yet_treated", est_method="dr", xformla="~x1", weights_name="wu")
    assert_aggregate_matches(aggregate_att(cells, kind), csdid_aggte(fit, kind))


def test_simple_aggregate_is_the_headline():
    df = panel()
    s = spec()
    p = prepare(s, df, "y", "unit", "period")
    r = fit_staggered_design(s, p)
    agg = aggregate_att(staggered_cells(s, prepare(s, df, "y", "unit", "period")), "simple")
    assert agg.overall.estimate == pytest.approx(r.effect.estimate, abs=1e-12)
    assert agg.overall.std_error == pytest.approx(r.inference_comparison[0].std_error, rel=1e-12)


def test_options_reach_the_result_and_the_pretrend_test():
    df = panel()
    s = spec()
    r = fit_staggered_design(s, prepare(s, df, "y", "unit", "period"), StaggeredOptions(1, "universal"))
    assert "universal base period, 1 anticipation period(s)" in r.description
    refs = [c for c in r.group_time if c.time == c.group - 2]
    assert refs and all(c.estimate == 0 and c.std_error is None for c in refs)
    # the default (from a spec without the fields) is the varying base period, no anticipation
    assert StaggeredOptions.from_spec(s) == StaggeredOptions()
    base = fit_did(s, df, outcome="y", unit="unit", time="period")
    assert "varying base period" in base.description


def test_cells_record_is_read_only_and_consistent():
    cells, _ = reference("never_treated", "varying", 0)
    with pytest.raises(ValueError):
        cells.att[0] = 1.0
    assert cells.inf.shape == (cells.n_units, cells.att.size)
    assert np.all(cells.event_time == cells.time - cells.group)
    np.testing.assert_allclose(cells.cohort_share.sum() > 0, True)
    direct = group_time_cells(np.zeros((4, 3)), np.array([0.0, 0.0, 2.0, 3.0]), np.array([1, 2, 3]), "never_treated")
    assert np.all(direct.att == 0)
    with pytest.raises(EstimationError, match="anticipation"):
        StaggeredOptions(anticipation=-1)


def test_influence_functions_of_the_rows_give_the_standard_errors():
    cells, _ = reference("never_treated", "varying", 0)
    inf = aggregate_influence(cells, "dynamic")
    agg = aggregate_att(cells, "dynamic")
    se = np.sqrt((inf.inf**2).sum(axis=0)) / cells.n_units
    np.testing.assert_allclose(agg.table()["std_error"], se, rtol=1e-12)
    with pytest.raises(EstimationError, match="aggregation must be"):
        aggregate_att(cells, "cohort")


# --------------------------------------------------------------------- multiplier bootstrap


def test_bootstrap_matches_csdid_within_monte_carlo_error():
    """csdid ``bstrap=True, cband=True, biters=5000`` (its own seed) against preveval's seeded
    draws: standard errors within 8% (the IQR-based standard error from 5,000 draws has a Monte
    Carlo relative error of about 2%), the sup-t critical value within 0.12, and both close to
    the analytic standard errors."""
    import csdid.att_gt as att_gt

    df = simulate_panel(200, 10, seed=3, staggered=True, dynamic=0.3)
    cells = cells_of(df)
    boot = aggregate_att(cells, "dynamic", bootstrap=BootstrapOptions(reps=5000, seed=11))
    ref_df = df.assign(g=df["ft"].fillna(0).astype(int), id=pd.factorize(df["unit"])[0])
    np.random.seed(7)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        a = att_gt.ATTgt(yname="y", tname="period", idname="id", gname="g", data=ref_df,
                         control_group=["nevertreated"], cband=True, biters=5000).fit(est_method="reg", bstrap=True)
        ref = a.aggte(typec="dynamic", bstrap=True, cband=True, biters=5000).atte
    se = boot.table()["std_error"].to_numpy(dtype=float)
    np.testing.assert_allclose(se, np.asarray(ref["se_egt"], dtype=float).ravel(), rtol=0.08)
    assert boot.critical_value == pytest.approx(float(ref["crit_val_egt"]), abs=0.12)
    assert boot.overall.std_error == pytest.approx(float(np.ravel(ref["overall_se"])[0]), rel=0.08)
    analytic = aggregate_att(cells, "dynamic").table()["std_error"].to_numpy(dtype=float)
    np.testing.assert_allclose(se, analytic, rtol=0.08)
    assert boot.band == "uniform" and boot.bootstrap is not None and boot.bootstrap.reps == 5000
    t = boot.table()
    assert np.all(t["band_high"] - t["band_low"] > t["ci_high"] - t["ci_low"])
    assert boot.overall.interval_method == "multiplier_bootstrap"


def test_bootstrap_is_seeded_and_mammen_weights_work():
    cells, _ = reference("never_treated", "varying", 0)
    a = aggregate_att(cells, "dynamic", bootstrap=BootstrapOptions(reps=999, seed=5))
    b = aggregate_att(cells, "dynamic", bootstrap=BootstrapOptions(reps=999, seed=5))
    c = aggregate_att(cells, "dynamic", bootstrap=BootstrapOptions(reps=999, seed=6))
    assert a == b and a.critical_value != c.critical_value
    m = aggregate_att(cells, "dynamic", bootstrap=BootstrapOptions(reps=2000, seed=5, weights_type="mammen"))
    an = aggregate_att(cells, "dynamic").table()["std_error"].to_numpy(dtype=float)
    np.testing.assert_allclose(m.table()["std_error"].to_numpy(dtype=float), an, rtol=0.12)


def test_multiplier_weights_and_clusters():
    rng = np.random.default_rng(0)
    inf = rng.normal(size=(400, 3))
    seen = []
    d = multiplier_bootstrap(inf, reps=4000, seed=1, progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_allclose(d.std_error, np.sqrt((inf**2).sum(axis=0)) / 400, rtol=0.06)
    assert seen[-1] == (4000, 4000)
    # independent columns: the sup-t critical value of 3 is about the 1 - 0.05/3 normal quantile
    assert 2.2 < d.critical_value < 2.6
    # clusters of 4 identical units act as one unit each
    cl = np.repeat(np.arange(100), 4)
    same = np.repeat(rng.normal(size=(100, 1)), 4, axis=0)
    dc = multiplier_bootstrap(same, reps=4000, seed=2, clusters=cl)
    assert dc.n_clusters == 100
    assert dc.std_error[0] == pytest.approx(np.sqrt((same.reshape(100, 4).sum(axis=1) ** 2).sum()) / 400, rel=0.06)
    zero = multiplier_bootstrap(np.zeros((10, 2)), reps=50)
    assert np.isnan(zero.std_error).all() and np.isnan(zero.critical_value)
    with pytest.raises(ValueError, match="weights_type"):
        multiplier_bootstrap(inf, reps=10, weights_type="webb")


def test_event_study_vector_for_the_sensitivity_analysis():
    from preveval.methods.did.honest import honest_sensitivity

    cells, _ = reference("never_treated", "universal", 0)
    e, est, V, n_pre = event_study_vector(cells)
    assert -1 not in e and n_pre == int(np.sum(e < -1))
    dyn = aggregate_att(cells, "dynamic").table().set_index("key")
    np.testing.assert_allclose(est, dyn.loc[e, "estimate"], atol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(V)), dyn.loc[e, "std_error"], rtol=1e-12)
    res = honest_sensitivity(est, V, n_pre, [0.0, 0.05], restriction="smoothness")
    assert res.estimate == pytest.approx(dyn.loc[0, "estimate"])
    with pytest.raises(EstimationError, match="universal"):
        event_study_vector(reference("never_treated", "varying", 0)[0])


def test_fit_with_an_unbalanced_panel_keeps_every_unit():
    df = panel(seed=5, drop=0.08, n=150, periods=8)
    s = spec()
    r = fit_staggered_design(s, prepare(s, df, "y", "unit", "period"), StaggeredOptions(allow_unbalanced_panel=True))
    assert not any("balanced panel" in w for w in r.warnings)
    assert r.n_obs == len(df) and r.n_units == df["unit"].nunique()
    assert "unbalanced panel (cells as repeated cross-sections)" in r.description
    ref = csdid_aggte(csdid_fit(df, "never_treated", allow_unbalanced_panel=True), "simple")
    assert r.effect.estimate == pytest.approx(float(ref["overall_att"]), abs=1e-10)
    assert r.inference_comparison[0].std_error == pytest.approx(float(np.ravel(ref["overall_se"])[0]), rel=1e-8)
    dropped = fit_did(s, df, outcome="y", unit="unit", time="period")
    assert any("balanced panel" in w for w in dropped.warnings) and dropped.n_units < r.n_units
