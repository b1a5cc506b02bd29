"""ITS behaviour: series building, warnings, prevented events, sensitivity, JSON form."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from preveval.errors import DataError
from preveval.inference.hac import (
    equivalent_t_df,
    fixed_b_critical_values,
    fixed_b_pvalues,
    hac_covariance,
    kiefer_vogelsang_cv,
    llsw_lag,
    newey_west_lag,
    simulate_variance_ratios,
)
from preveval.methods.its import ItsResult, build_its_series, fit_its
from preveval.methods.its.corefit import HacCritical
from preveval.methods.its.fit import fit_core
from preveval.methods.its.simulate import simulate_its
from preveval.spec.models import Indicator, ItsAnalysis

IND = Indicator(id="y", label="Events", column="y", kind="count")


def _spec(**kw) -> ItsAnalysis:
    kw.setdefault("intervention", "2015-01")
    kw.setdefault("sensitivity", False)
    return ItsAnalysis(id="x", method="its", indicator="y", **kw)


def _run(frame: pd.DataFrame, spec: ItsAnalysis, unit: str | None = None, ind: Indicator = IND) -> ItsResult:
    s = build_its_series(spec, frame, outcome="y", unit=unit)
    iv = {k: pd.Period(v, "M").ordinal for k, v in spec.intervention_map().items()}
    return fit_its(spec, s, outcome="y", interventions=iv, indicator=ind)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    parts = []
    for k, u in enumerate(["A", "B", "C"]):
        d = simulate_its(96, family="poisson", beta=(3.0 + 0.1 * k, 0.002, -0.5 if u != "C" else 0.0, 0.0), exposure=None, seed=20 + k)
        parts.append(d.assign(area=u, pop=1000.0 * (k + 1), cov=np.linspace(0, 1, 96)))
    return pd.concat(parts, ignore_index=True)


def test_panel_aggregation_sum_and_mean(panel: pd.DataFrame) -> None:
    s = build_its_series(_spec(units=("A", "B"), offset="pop", covariates=("cov",)), panel, outcome="y", unit="area")
    assert list(s.columns) == ["t", "period", "y", "pop", "cov"] or set(s.columns) == {"t", "period", "y", "pop", "cov"}
    ab = panel[panel["area"].isin(["A", "B"])].groupby("t")
    np.testing.assert_allclose(s["y"], ab["y"].sum().to_numpy())
    np.testing.assert_allclose(s["pop"], 3000.0)
    s2 = build_its_series(_spec(aggregate="mean", offset="pop"), panel, outcome="y", unit="area")
    np.testing.assert_allclose(s2["y"], panel.groupby("t")["y"].mean().to_numpy())
    np.testing.assert_allclose(s2["pop"], 6000.0)
    assert s["t"].is_monotonic_increasing


def test_panel_errors_name_unit_and_period(panel: pd.DataFrame) -> None:
    with pytest.raises(DataError) as e:
        build_its_series(_spec(units=("A", "Z")), panel, outcome="y", unit="area")
    assert "unit 'Z'" in str(e.value)
    gap = panel.drop(index=panel[(panel["area"] == "B")].index[5])
    with pytest.raises(DataError) as e:
        build_its_series(_spec(), gap, outcome="y", unit="area")
    assert "unit 'B'" in str(e.value) and "2010-06" in str(e.value)


def test_single_series_duplicate_period_is_an_error(panel: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="more than one row"):
        build_its_series(_spec(), panel, outcome="y", unit=None)


def test_intervention_outside_data() -> None:
    d = simulate_its(48, family="poisson", beta=(3.0, 0.0, 0.0, 0.0), seed=1)
    with pytest.raises(DataError, match="not inside the data"):
        _run(d, _spec(intervention="2020-01"))


def test_controlled_its_with_panel_units_and_control_column(panel: pd.DataFrame) -> None:
    res = _run(panel, _spec(intervention="2014-01", units=("A",), comparison={"units": ["C"]}, family="poisson"), unit="area")
    assert res.effect.term == "level_change" and res.effect.ci_high < 0
    assert "controlled ITS" in res.specification
    wide = panel[panel["area"] == "A"].reset_index(drop=True)
    wide["ctrl"] = panel.loc[panel["area"] == "C", "y"].to_numpy()
    res2 = _run(wide, _spec(intervention="2014-01", comparison={"column": "ctrl"}, family="poisson"))
    assert res2.effect.estimate == pytest.approx(res.effect.estimate, rel=1e-9)


def test_overdispersion_and_short_side_warnings() -> None:
    d = simulate_its(60, t0_index=54, family="quasipoisson", beta=(4.0, 0.0, -0.2, 0.0), dispersion=4.0, seed=2)
    res = _run(d, _spec(intervention=str(d["period"].iloc[54]), family="poisson"))
    text = " ".join(res.warnings)
    assert "vary more than a Poisson model allows" in text
    assert "Only 6 periods after" in text
    assert any(g.name == "overdispersion" and g.status == "fail" for g in res.diagnostics)


def test_outlier_at_interruption_warning() -> None:
    d = simulate_its(96, family="gaussian", beta=(10.0, 0.0, 0.0, 0.0), sigma=1.0, seed=3)
    d.loc[48, "y"] += 12
    res = _run(d, _spec(intervention=str(d["period"].iloc[48]), family="gaussian"), ind=IND.model_copy(update={"kind": "continuous"}))
    assert any("unusual value" in w for w in res.warnings)


def test_autocorrelation_warning_under_ols_only() -> None:
    d = simulate_its(120, family="gaussian", beta=(10.0, 0.01, 0.0, 0.0), rho=0.8, seed=4)
    start = str(d["period"].iloc[60])
    ind = IND.model_copy(update={"kind": "continuous"})
    res = _run(d, _spec(intervention=start, family="gaussian"), ind=ind)
    assert any("autocorrelated" in w for w in res.warnings)
    res = _run(d, _spec(intervention=start, family="gaussian", errors="ar"), ind=ind)
    assert not any("autocorrelated" in w for w in res.warnings)
    assert res.ar_params and 0.5 < res.ar_params[0] < 0.95
    assert len(res.residual_acf) >= 1


def test_prevented_events_seeded_and_consistent() -> None:
    d = simulate_its(96, family="quasipoisson", beta=(4.0, 0.0, -0.3, 0.0), dispersion=2.0, seed=5)
    spec = _spec(intervention=str(d["period"].iloc[48]), impact="level", reps=4000, seed=7)
    a, b = _run(d, spec), _run(d, spec)
    p = a.prevented
    assert p == b.prevented  # seeded
    post = d["t"] >= d["t"].iloc[48]
    assert p.observed == d.loc[post, "y"].sum()
    assert p.total == pytest.approx(p.expected - p.observed)
    assert p.years == pytest.approx(4.0) and p.per_year == pytest.approx(p.total / 4.0)
    assert p.ci_low < p.total < p.ci_high and p.ci_low > 0
    m = _run(d, spec.model_copy(update={"prevented_interval": "mean"})).prevented
    assert (m.ci_high - m.ci_low) < (p.ci_high - p.ci_low)


def test_contrast_variance_ratios_by_brute_force() -> None:
    n, k0 = 60, 30
    t = np.arange(n) + 1.0
    X = np.column_stack([np.ones(n), t, (t > k0) * 1.0, np.where(t > k0, t - k0, 0.0)])
    C = np.array([[0.0, 0.0, 30.0, 465.0], [1.0, 61.0, 0.0, 0.0]])
    q = simulate_variance_ratios(X, 6, prewhite=True, reps=3, seed=5, chunk=3, contrasts=C)
    assert q.shape == (3, 2)
    np.testing.assert_array_equal(simulate_variance_ratios(X, 6, prewhite=True, reps=3, seed=5, chunk=3, contrasts=np.eye(4)),
                                  simulate_variance_ratios(X, 6, prewhite=True, reps=3, seed=5, chunk=3))
    e = np.random.default_rng(5).standard_normal((3, n))
    B = np.linalg.inv(X.T @ X)
    for r in range(3):
        ehat = e[r] - X @ (B @ (X.T @ e[r]))
        V = hac_covariance(X * ehat[:, None], B, 6, prewhite=True, small_sample=True, nobs=n)
        np.testing.assert_allclose(q[r], np.einsum("ij,jk,ik->i", C, V, C) / np.einsum("ij,jk,ik->i", C, B, C), rtol=1e-9)


def test_prevented_interval_critical_values() -> None:
    # gaussian on a count scale (prevented events are reported for count indicators)
    d = simulate_its(96, family="gaussian", beta=(10.0, 0.05, -1.0, 0.02), rho=0.5, seed=32)
    start = str(d["period"].iloc[48])
    ols = _run(d, _spec(intervention=start, family="gaussian"))
    assert ols.prevented.critical_value == pytest.approx(stats.t.ppf(0.975, ols.df_resid))
    hac = _run(d, _spec(intervention=start, family="gaussian", errors="hac"))
    e = hac.effect
    # the extrapolated counterfactual has a wider fixed-b law than the intervention terms
    assert hac.prevented.critical_value > (e.ci_high - e.estimate) / e.std_error
    pois = simulate_its(96, family="poisson", beta=(4.0, 0.0, -0.3, 0.0), seed=5)
    assert _run(pois, _spec(intervention=str(pois["period"].iloc[48]), family="poisson")).prevented.critical_value is None


def test_counterfactual_band_under_hac_uses_each_period_critical_value() -> None:
    from preveval.methods.its.design import build_design
    from preveval.methods.its.hac import contrast_critical_values
    from preveval.methods.its.model import BAND_NODES, _band_critical_values

    d = simulate_its(96, family="gaussian", beta=(10.0, 0.05, -1.0, 0.02), rho=0.5, seed=32)
    spec = _spec(intervention=str(d["period"].iloc[48]), family="gaussian", errors="hac")
    design = build_design(spec, d, outcome="y", interventions={"": int(d["t"].iloc[48])})
    core = fit_core("gaussian", "hac", design.y, design.X, None, design.terms, hac_lag=13)
    Xc = design.counterfactual_X()
    band = _band_critical_values(core, Xc)
    exact = contrast_critical_values(core, Xc[[0, 47, 95]])
    assert band is not None and exact is not None and len(band) == 96 > BAND_NODES
    np.testing.assert_allclose(band[[0, 95]], exact[[0, 2]], rtol=1e-12)  # nodes are exact
    assert band[47] == pytest.approx(exact[1], rel=0.02)                 # interpolated in between
    # far from the pre-period the band is wider than the intervention terms' critical value
    assert band[95] > max(core.crit_values[2:])
    assert contrast_critical_values(fit_core("gaussian", "ols", design.y, design.X, None, design.terms), Xc) is None


def test_prevented_negative_when_events_rise() -> None:
    d = simulate_its(96, family="poisson", beta=(4.0, 0.0, 0.3, 0.0), seed=6)
    res = _run(d, _spec(intervention=str(d["period"].iloc[48]), family="poisson"))
    assert res.prevented.total < 0 and res.prevented.ci_high < 0


def test_sensitivity_table_and_placebo_share() -> None:
    d = simulate_its(96, family="quasipoisson", beta=(4.0, 0.002, -0.4, 0.0), dispersion=1.5, season_amplitude=0.1, seed=8)
    res = _run(d, _spec(intervention=str(d["period"].iloc[48]), sensitivity=True, seasonality={"type": "fourier", "period": 12, "harmonics": 2}))
    t = res.sensitivity
    assert t.iloc[0]["analysis"] == "main"
    specs = set(t["specification"])
    assert {"no seasonality", "family poisson", "family negative_binomial", "errors hac", "phase-in 1 period", "structural time-series model"} <= specs
    plac = t[t["analysis"] == "placebo"]
    assert len(plac) == 48 - 2 * 8 + 1
    assert res.placebo_share is not None and res.placebo_share < 0.1
    alt = t[t["analysis"] == "alternative"].dropna(subset=["estimate"])
    assert (alt["estimate"] < 0).all()


def test_pre_period_break_warning() -> None:
    d = simulate_its(96, family="gaussian", beta=(10.0, 0.0, -1.0, 0.0), sigma=0.3, seed=9)
    d.loc[20:, "y"] += 2.0  # a break long before the intervention
    res = _run(d, _spec(intervention=str(d["period"].iloc[60]), family="gaussian", sensitivity=True), ind=IND.model_copy(update={"kind": "continuous"}))
    assert any("already shows a break" in w for w in res.warnings)


def test_structural_estimator_result() -> None:
    d = simulate_its(96, family="poisson", beta=(4.0, 0.003, -0.3, 0.0), seed=10)
    res = _run(d, _spec(intervention=str(d["period"].iloc[48]), estimator="structural", impact="level"))
    assert res.estimator == "structural" and res.scale == "log"
    assert res.ratio.ci_low < math.exp(-0.3) < res.ratio.ci_high
    assert {"period", "observed", "fitted", "counterfactual", "cf_low", "cf_high"} <= set(res.series.columns)


def test_result_json_is_plain() -> None:
    d = simulate_its(96, family="quasipoisson", beta=(4.0, 0.0, -0.3, 0.0), dispersion=2.0, exposure=5e4, seed=11)
    d["y"] = d["y"]
    res = _run(d, _spec(intervention=str(d["period"].iloc[48]), offset="pop", sensitivity=True))
    out = res.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert "series" not in out and "sensitivity" not in out
    assert out["effect"]["term"] == "level_change" and out["effect"]["scale"] == "log"
    assert out["prevented"]["total"] is not None
    assert json.loads(text)["ratio"]["estimate"] == pytest.approx(res.ratio.estimate)
    s = res.series
    assert s["observed"].iloc[0] == pytest.approx(d["y"].iloc[0] / 5e4 * 1e5)
    post = s.iloc[48:]
    assert (post["cf_low"] < post["counterfactual"]).all() and (post["counterfactual"] < post["cf_high"]).all()


def test_spec_rejects_ar_for_counts() -> None:
    with pytest.raises(ValueError, match="errors: ar needs family: gaussian"):
        _spec(family="poisson", errors="ar")


# --- errors: hac inference (lag rules, fixed-b critical values) -----------------------------


def _segmented(n: int, k0: int) -> np.ndarray:
    i = np.arange(n)
    return np.column_stack([np.ones(n), i + 1.0, (i >= k0) * 1.0, np.where(i >= k0, i - k0, 0.0)])


TERMS = ("const", "time", "level_change", "slope_change")


def test_hac_lag_rules() -> None:

    assert [llsw_lag(n) for n in (59, 96, 120, 240, 730)] == [9, 12, 13, 19, 34]  # S = round(1.3 sqrt(n)), lag S - 1
    assert [newey_west_lag(n) for n in (59, 120, 240)] == [3, 4, 4]


def test_equivalent_t_df_reproduces_the_critical_value() -> None:


    for cv in (2.0, 2.3, 3.0, 4.5):
        assert stats.t.ppf(0.975, equivalent_t_df(cv)) == pytest.approx(cv, rel=1e-9)
    assert math.isinf(equivalent_t_df(1.9))


@pytest.mark.parametrize("critical", ["fixed_b", "kiefer_vogelsang", "standard"])
def test_hac_critical_values_reach_the_intervals(critical: HacCritical) -> None:
    """The CI quantile is the largest intervention-term critical value, carried as t with nu df."""


    d = simulate_its(120, family="gaussian", beta=(10.0, 0.05, -1.0, 0.02), rho=0.5, seed=31)
    X = _segmented(120, 60)
    core = fit_core("gaussian", "hac", d["y"].to_numpy(), X, None, TERMS, hac_critical=critical)
    assert core.hac_lag == 13 and core.residual_df == 116
    q = stats.t.ppf(0.975, core.df_resid)
    if critical == "standard":
        assert core.df_resid == 116 and q == pytest.approx(core.crit_values[2])
    elif critical == "kiefer_vogelsang":
        assert q == pytest.approx(kiefer_vogelsang_cv(14 / 120), rel=1e-9)
        assert "Kiefer-Vogelsang" in core.se_type
    else:
        assert q == pytest.approx(max(core.crit_values[2:]), rel=1e-9)
        assert 2.8 < q < 3.3  # trend + step + ramp: far above the location-model 2.31 at b = 0.117
        assert "fixed-b critical value" in core.se_type and "equivalent df" in core.se_type
    assert core.use_t and core.hac_b == pytest.approx(14 / 120)


def test_fixed_b_pvalue_at_the_critical_value_is_five_percent() -> None:

    q = simulate_variance_ratios(_segmented(96, 48), 12, prewhite=True, reps=1000, seed=3)
    cv = fixed_b_critical_values(q)
    np.testing.assert_allclose(fixed_b_pvalues(q, cv), 0.05, atol=1e-9)
    p = fixed_b_pvalues(q, np.array([0.0, 1.0, 2.0, 3.0]))
    assert p[0] == pytest.approx(1.0) and 1.0 > p[1] > p[2] > p[3] > 0.0


def test_fit_its_hac_default_is_llsw_prewhitened_fixed_b() -> None:
    d = simulate_its(120, family="gaussian", beta=(10.0, 0.05, -1.0, 0.02), rho=0.5, seed=32)
    res = _run(d, _spec(intervention=str(d["period"].iloc[60]), family="gaussian", errors="hac"), ind=Indicator(id="y", label="Y", column="y", kind="continuous"))
    assert res.hac_lag == 13
    assert "LLSW" in res.se_type and "VAR(1) prewhitening" in res.se_type and "fixed-b" in res.se_type
    e = res.effect
    assert e.ci_high is not None and e.std_error is not None
    assert 2.8 < (e.ci_high - e.estimate) / e.std_error < 3.3
    lag = _run(d, _spec(intervention=str(d["period"].iloc[60]), family="gaussian", errors="hac", hac_lag=4), ind=Indicator(id="y", label="Y", column="y", kind="continuous"))
    assert lag.hac_lag == 4 and "set by hac_lag" in lag.se_type


@pytest.mark.parametrize("family", ["poisson", "quasipoisson", "negative_binomial"])
def test_count_families_with_hac_use_fixed_b(family: str) -> None:
    d = simulate_its(96, family="negative_binomial", beta=(np.log(40.0), 0.002, -0.2, -0.003), alpha=0.05, season_amplitude=0.1, seed=33)
    spec = _spec(intervention=str(d["period"].iloc[48]), family=family, errors="hac", seasonality={"type": "fourier", "period": 12, "harmonics": 1})
    res = _run(d, spec)
    e = res.effect
    assert e.std_error is not None and e.ci_low is not None and e.ci_high is not None and e.p_value is not None
    q = (e.ci_high - e.estimate) / e.std_error
    assert 2.5 < q < 3.6 and 0 < e.p_value < 1
    assert res.hac_lag == 12 and "fixed-b" in res.se_type
    r = res.ratio
    assert r is not None and r.ci_low is not None and r.ci_high is not None
    assert r.ci_low < r.estimate < r.ci_high


def test_spec_hac_fields() -> None:
    s = _spec(errors="hac")
    assert (s.hac_bandwidth, s.hac_critical, s.hac_prewhite, s.hac_lag) == ("llsw", "fixed_b", True, None)
    assert _spec(errors="hac", hac_bandwidth="newey_west_1994", hac_critical="kiefer_vogelsang").hac_critical == "kiefer_vogelsang"
    with pytest.raises(ValueError):
        _spec(errors="hac", hac_bandwidth="andrews")


# Pending outside this module's files: fit_its / its_sensitivity must forward hac_bandwidth and
# hac_critical to fit_core, and the Poisson overdispersion check must divide by
# CoreFit.residual_df (n - k) rather than df_resid (the equivalent t df under fixed-b).


def test_fit_its_forwards_hac_options() -> None:
    d = simulate_its(120, family="gaussian", beta=(10.0, 0.05, -1.0, 0.02), rho=0.5, seed=32)
    spec = _spec(intervention=str(d["period"].iloc[60]), family="gaussian", errors="hac", hac_bandwidth="newey_west_1994", hac_critical="standard")
    res = _run(d, spec, ind=Indicator(id="y", label="Y", column="y", kind="continuous"))
    assert res.hac_lag == 4 and res.df_resid == 116


def test_poisson_hac_overdispersion_uses_residual_df() -> None:
    d = simulate_its(96, family="poisson", beta=(np.log(40.0), 0.002, -0.2, -0.003), seed=33)
    res = _run(d, _spec(intervention=str(d["period"].iloc[48]), family="poisson", errors="hac"))
    over = next(x for x in res.diagnostics if x.name == "overdispersion")
    assert over.status == "pass" and over.statistic is not None and over.statistic < 1.5
