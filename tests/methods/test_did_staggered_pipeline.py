"""A staggered analysis through the evaluation file: aggregations, band, comparisons, sensitivity, counts.

Each piece is checked against an independent computation on the same data: the
aggregations against the family's own cores called directly (themselves checked against
csdid in test_did_aggregate.py), the two-way fixed-effects row against pyfixest ``feols(y ~ d
| unit + year, vcov={"CRV1": "unit"})`` (test-only peer, 1e-6 relative), the Goodman-Bacon
weights summing to 1 and their weighted sum equal to that TWFE coefficient to 1e-10, the
Sun & Abraham row and headline against :func:`sun_abraham`, the breakdown value against the
robust intervals on either side of it, and the count version (Wooldridge's extended TWFE
Poisson with a time-varying covariate) against pyfixest ``fepois`` with the same cohort x
year dummies and covariate (1e-6).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import preveval as pv
from methods.conftest import simulate_panel
from preveval.methods.did.aggregate import aggregate_att
from preveval.methods.did.core import prepare
from preveval.methods.did.honest import honest_relative_magnitude
from preveval.methods.did.staggered import staggered_cells
from preveval.methods.did.sun_abraham import sun_abraham
from preveval.pipeline import fit_analysis


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = simulate_panel(40, 10, seed=11, staggered=True, effect=1.0, dynamic=0.4)
    rng = np.random.default_rng(5)
    rival = ((df["period"].between(5, 6)) & (pd.factorize(df["unit"])[0] % 3 == 0)).astype(int)
    return df.assign(year=(2000 + df["period"]).astype(str),
                     first=[None if np.isnan(f) else str(int(2000 + f)) for f in df["ft"]],
                     pop=1000.0 + 10 * pd.factorize(df["unit"])[0], rival=rival,
                     events=rng.poisson(np.exp(np.log(df["count"] + 1.0) - 0.1 * rival)))


def spec(**analysis) -> dict:
    a = {"id": "cs", "method": "did", "indicator": "y", "design": "staggered", "first_treated": "first",
         **analysis}
    if analysis.get("aggregations", True) and analysis.get("band") != "pointwise" and "family" not in analysis:
        a.update(reps=999, seed=7)  # the multiplier bootstrap of the uniform band
    return {"schema_version": 1, "initiative": {"id": "t", "name": "Test"},
            "indicators": [{"id": "y", "label": "Outcome", "column": "y", "kind": "continuous"},
                           {"id": "n", "label": "Events", "column": "events", "kind": "count"}],
            "data": {"time": "year", "frequency": "year", "unit": "unit"}, "analyses": [a]}


def fit(frame: pd.DataFrame, **analysis):
    ev = pv.from_dict(spec(**analysis), frame)
    return ev, fit_analysis(ev, ev.spec.analyses[0])


@pytest.fixture(scope="module")
def fitted(frame):
    return fit(frame, base_period="universal", sensitivity={"min_e": -3, "max_e": 2})


def test_aggregations_are_the_cores_on_the_same_cells(frame, fitted) -> None:
    ev, r = fitted
    a = ev.spec.analyses[0]
    p = prepare(a, ev.frame, "y", "unit", "t")
    cells = staggered_cells(a, p)
    assert set(r.aggregations) == {"dynamic", "group", "calendar"}
    for kind in ("group", "calendar"):
        direct = aggregate_att(cells, kind)
        assert [x.estimate for x in r.aggregations[kind].rows] == pytest.approx([x.estimate for x in direct.rows],
                                                                                  rel=1e-12)
        assert r.aggregations[kind].overall.estimate == pytest.approx(direct.overall.estimate, rel=1e-12)
    dyn = r.aggregations["dynamic"]
    assert dyn.inference == "multiplier_bootstrap" and dyn.bootstrap.reps == 999 and dyn.bootstrap.seed == 7
    # the uniform band is wider than the pointwise intervals by the sup-t critical value
    assert dyn.band == "uniform" and dyn.critical_value > 1.96
    for row in dyn.rows:
        if row.std_error is not None:
            assert row.band_low < row.ci_low and row.band_high > row.ci_high
            assert row.band_high - row.band_low == pytest.approx(2 * dyn.critical_value * row.std_error)
    # the group-time effects' first post-period equals the dynamic effect at e = 0 for one cohort's share
    assert r.effect.estimate == pytest.approx(aggregate_att(cells, "simple").overall.estimate, rel=1e-12)


def test_twfe_row_matches_pyfixest_and_bacon_recovers_it(frame, fitted) -> None:
    import pyfixest as pf

    _, r = fitted
    rows = {e.estimator: e for e in r.estimators}
    assert set(rows) == {"twfe", "callaway_santanna", "sun_abraham"} and rows["callaway_santanna"].headline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("y ~ d | unit + period", data=frame, vcov={"CRV1": "unit"})
    tw = rows["twfe"].effect
    assert tw.estimate == pytest.approx(float(m.coef()["d"]), rel=1e-6)
    assert tw.std_error == pytest.approx(float(m.se()["d"]), rel=1e-6)
    weights = np.array([c.weight for c in r.bacon])
    assert weights.sum() == pytest.approx(1.0, abs=1e-10)
    assert float(sum(c.weight * c.estimate for c in r.bacon)) == pytest.approx(tw.estimate, abs=1e-10)
    assert {c.type for c in r.bacon} >= {"treated_vs_never", "earlier_vs_later", "later_vs_earlier"}


def test_sun_abraham_row_and_headline(frame, fitted) -> None:
    ev, r = fitted
    a = ev.spec.analyses[0]
    p = prepare(a, ev.frame, "y", "unit", "t")
    from preveval.methods.did.core import period_ordinals

    direct = sun_abraham(p.y, p.unit, p.time, period_ordinals(p.frame["first"]), label=p.label)
    rows = {e.estimator: e for e in r.estimators}
    assert rows["sun_abraham"].effect.estimate == pytest.approx(direct.att.estimate, rel=1e-12)
    assert r.sun_abraham.att.std_error == pytest.approx(direct.att.std_error, rel=1e-12)
    _, s = fit(frame, estimator="sun_abraham", sensitivity=False, aggregations=[])
    assert s.effect.estimate == pytest.approx(direct.att.estimate, rel=1e-12)
    assert s.effect.term == "att" and "Sun & Abraham" in s.description
    assert [e.rel_time for e in s.event_study] == [x.rel_time for x in direct.rows]
    srows = {e.estimator: e for e in s.estimators}
    assert srows["sun_abraham"].headline and not srows["callaway_santanna"].headline
    assert srows["callaway_santanna"].effect.estimate == pytest.approx(r.effect.estimate, rel=1e-12)


def test_breakdown_value_separates_the_robust_intervals(fitted) -> None:
    ev, r = fitted
    s = r.sensitivity
    assert s.event_times == (-3, -2, 0, 1, 2) and s.n_pre == 2
    rm = s.relative_magnitude
    assert [x.m for x in rm.rows] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert rm.rows[0].ci_low <= s.original[0] + 1e-9 or rm.rows[0].excludes_zero == (s.original[0] > 0 or s.original[1] < 0)
    est = np.array([b for _, b, _ in s.event_study])
    assert s.breakdown is not None, "the simulated effect (1 + 0.4 e) should survive some violation"
    # recompute the robust interval at the breakdown value and one tolerance above it
    from preveval.methods.did.aggregate import event_study_vector

    a = ev.spec.analyses[0]
    cells = staggered_cells(a, prepare(a, ev.frame, "y", "unit", "t"))
    e, b, V, n_pre = event_study_vector(cells, min_e=-3, max_e=2)
    assert b == pytest.approx(est)
    lv = np.full(3, 1 / 3)
    lo, hi = honest_relative_magnitude(b, V, n_pre, s.breakdown, lv)
    assert lo > 0 or hi < 0
    if not s.breakdown_capped:
        lo, hi = honest_relative_magnitude(b, V, n_pre, s.breakdown + s.tolerance, lv)
        assert lo <= 0 <= hi
    assert s.smoothness is not None and len(s.smoothness.rows) == 6


def test_results_json_fields_and_determinism(frame, fitted) -> None:
    _, r = fitted
    d = r.to_dict()
    assert set(d["aggregations"]) == {"dynamic", "group", "calendar"}
    assert {"band_low", "band_high"} <= set(d["aggregations"]["dynamic"]["rows"][0])
    assert set(d["bacon"][0]) == {"type", "treated", "control", "estimate", "weight"}
    assert "breakdown" in d["sensitivity"] and d["sun_abraham"]["att"]["estimate"] == r.sun_abraham.att.estimate
    assert [e["estimator"] for e in d["estimators"]] == ["twfe", "callaway_santanna", "sun_abraham"]
    _, again = fit(frame, base_period="universal", sensitivity={"min_e": -3, "max_e": 2})
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(d, sort_keys=True)


def test_options_switch_parts_off(frame) -> None:
    _, r = fit(frame, aggregations=["group"], band="pointwise", sensitivity=False, comparisons=False)
    assert set(r.aggregations) == {"group"} and r.aggregations["group"].inference == "analytic"
    assert r.sensitivity is None and r.bacon is None and r.estimators == () and r.sun_abraham is None
    # the sensitivity analysis uses universal-base cells even when the headline's base period varies
    _, v = fit(frame, aggregations=[], comparisons=False, sensitivity={"min_e": -3, "max_e": 2})
    assert v.sensitivity is not None and v.sensitivity.event_times == (-3, -2, 0, 1, 2)
    _, w = fit(frame, min_e=-2, max_e=3, aggregations=["dynamic"], sensitivity=False, comparisons=False)
    assert [x.key for x in w.aggregations["dynamic"].rows] == [-2, -1, 0, 1, 2, 3]


def test_count_version_matches_fepois_with_the_rival_column(frame) -> None:
    import pyfixest as pf

    ev, r = fit(frame, indicator="n", family="poisson", offset="pop", covariates=["rival"])
    assert r.scale == "log" and r.family == "poisson" and r.effect.term == "att"
    assert r.aggregations is None and r.sensitivity is None
    d = frame.assign(lpop=np.log(frame["pop"]), cohort=frame["ft"].fillna(0))
    names = []
    for c in r.poisson_cells:
        nm = f"c_{c.group_label}_{c.time_label}"
        d[nm] = ((d["first"].fillna("") == c.group_label) & (d["year"] == c.time_label)).astype(float)
        names.append(nm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.fepois(f"events ~ {' + '.join(names)} + rival | unit + period", data=d, vcov={"CRV1": "unit"},
                      offset="lpop", iwls_tol=1e-12, fixef_tol=1e-12)
    for c, nm in zip(r.poisson_cells, names, strict=True):
        assert c.log_ratio.estimate == pytest.approx(float(m.coef()[nm]), rel=1e-6, abs=1e-9)
    rival = next(c for c in r.coefficients if c.term == "rival")
    assert rival.estimate == pytest.approx(float(m.coef()["rival"]), rel=1e-6)
    assert rival.std_error == pytest.approx(float(m.se()["rival"]), rel=1e-6)
    # overall rate ratio: observed over expected-without events in the treated cells
    mu0 = np.asarray(m.predict(type="response"))
    treated = d[names].sum(axis=1).to_numpy() > 0
    tau = d[names].to_numpy() @ np.array([float(m.coef()[nm]) for nm in names])
    expected = float(np.sum(mu0[treated] * np.exp(-tau[treated])))
    observed = float(d.loc[treated, "events"].sum())
    assert r.ratio.estimate == pytest.approx(observed / expected, rel=1e-6)
    assert r.prevented.total == pytest.approx(expected - observed, rel=1e-6)


def test_notebook_plots_of_a_staggered_result(frame) -> None:
    r = pv.did(frame, outcome="y", unit="unit", time="year", first_treated="first", frequency="year",
               sensitivity={"min_e": -3, "max_e": 1}, reps=199, robustness=False)
    assert r.aggregations is not None and r.bacon and r.sensitivity is not None
    for name in ("main", "dynamic", "bacon", "sensitivity"):
        fig = r.plot(name)
        assert fig is not None and fig.axes, name
    assert r.plot().axes[0].get_title(loc="left").startswith("Effect by time since the start")


def test_unbalanced_panel_through_the_evaluation_file(frame) -> None:
    """Without the option incomplete units are left out with a warning; with it every unit is kept (as R did)."""
    holes = frame[np.random.default_rng(1).random(len(frame)) >= 0.05].reset_index(drop=True)
    _, dropped = fit(holes, sensitivity=False, aggregations=[])
    _, kept = fit(holes, sensitivity=False, aggregations=[], allow_unbalanced_panel=True)
    assert dropped.n_units < kept.n_units == holes["unit"].nunique()
    assert any("not observed in every period were left out" in w for w in dropped.warnings)
    assert not any("left out" in w for w in kept.warnings)
    assert "unbalanced panel" in kept.description
    # without the option the comparisons use the same (balanced) units as Callaway & Sant'Anna
    assert dropped.bacon is not None and any(f"use the {dropped.n_units} units" in n for n in dropped.staggered_notes)
    assert sum(c.weight * c.estimate for c in dropped.bacon) == pytest.approx(
        next(e.effect.estimate for e in dropped.estimators if e.estimator == "twfe"), abs=1e-10)
    # with it the decomposition, which needs a balanced panel, is left out with a note, not a failure
    assert kept.bacon is None and any("Goodman-Bacon" in n for n in kept.staggered_notes)
    assert {e.estimator for e in kept.estimators} == {"twfe", "callaway_santanna", "sun_abraham"}
