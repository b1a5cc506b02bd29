"""fit_did behaviour: textbook 2x2, result shape, errors, wild bootstrap, warnings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from preveval.errors import EstimationError
from preveval.methods.did import DidResult, fit_did
from preveval.spec.models import DidAnalysis


def spec(**kw) -> DidAnalysis:
    base = {"id": "did", "method": "did", "indicator": "y"}
    return DidAnalysis(**{**base, **kw})


@pytest.mark.reference
def test_card_krueger_1994_table3_from_printed_cell_means():
    """Card & Krueger (1994, AER 84(4), Table 3, rows 1-2): mean FTE employment per store.

    The raw store survey is not shipped offline, so the 2x2 is built from the printed cell
    means: PA before 23.33, PA after 21.17, NJ before 20.44, NJ after 21.03 (cell sizes 79
    PA and 331 NJ stores, spread around each mean so the cell means are exact). The
    regression DiD must equal the DiD of the printed means, (21.03 - 20.44) -
    (21.17 - 23.33) = 2.75, to the printed two decimals. The published row 3 reports 2.76
    because it was computed from unrounded means; our 2.75 agrees with it to 0.01, which is
    all the printed means allow.
    """
    cells = {("PA", 0): 23.33, ("PA", 1): 21.17, ("NJ", 0): 20.44, ("NJ", 1): 21.03}
    sizes = {"PA": 79, "NJ": 331}
    rng = np.random.default_rng(1994)
    rows = []
    for (state, after), mean in cells.items():
        dev = rng.normal(0, 9, sizes[state])
        for i, v in enumerate(mean + dev - dev.mean()):
            rows.append({"store": f"{state}{i}", "nj": int(state == "NJ"), "after": after, "fte": v, "wave": after})
    df = pd.DataFrame(rows)
    r = fit_did(spec(design="two_by_two", group="nj", post="after", inference="robust"), df,
                outcome="fte", unit=None, time="wave")
    assert round(r.effect.estimate, 2) == 2.75
    assert abs(r.effect.estimate - 2.76) <= 0.0100001
    by = {c.term: c.estimate for c in r.coefficients}
    assert round(by["(intercept)"], 2) == 23.33  # PA before
    assert round(by["nj"], 2) == round(20.44 - 23.33, 2)  # row 1 difference: -2.89
    assert round(by["after"], 2) == round(21.17 - 23.33, 2)  # PA change: -2.16


def test_result_is_plain_and_json_ready(panel):
    r = fit_did(spec(design="event_study", first_treated="ft", leads=3, lags=3), panel,
                outcome="y", unit="unit", time="period")
    assert isinstance(r, DidResult)
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["effect"]["term"] == "att" and d["effect"]["scale"] == "difference"
    assert "event_study" not in d and "group_time" not in d
    assert d["pretrend_test"]["distribution"] == "F"
    assert d["se_type"] == "CR1" and d["n_clusters"] == 60
    tab = r.event_study_table()
    assert list(tab.rel_time) == [-3, -2, -1, 0, 1, 2, 3]
    assert tab.binned.tolist() == [True, False, False, False, False, False, True]
    # the true effect is 1.5 everywhere after treatment
    assert abs(r.effect.estimate - 1.5) < 4 * r.effect.std_error
    assert r.pretrend_test.status in ("pass", "fail")


def test_dynamic_effects_recovered(simulate):
    df = simulate(200, 12, seed=5, dynamic=0.5, never_share=0.5)
    r = fit_did(spec(design="event_study", first_treated="ft", leads=4, lags=5, bin_endpoints=False), df,
                outcome="y", unit="unit", time="period")
    tab = r.event_study_table().set_index("rel_time")
    for k in (0, 1, 2, 3):
        assert abs(tab.loc[k, "estimate"] - (1.5 + 0.5 * k)) < 4 * tab.loc[k, "std_error"]


def test_frame_not_modified(panel):
    before = panel.copy()
    fit_did(spec(design="twfe", treatment="d", covariates=("x1",)), panel, outcome="y", unit="unit", time="period")
    pd.testing.assert_frame_equal(panel, before)


def test_no_treated_units_raise(panel):
    df = panel.assign(d=0.0, ft=np.nan)
    with pytest.raises(EstimationError, match="no treated"):
        fit_did(spec(design="twfe", treatment="d"), df, outcome="y", unit="unit", time="period")
    with pytest.raises(EstimationError, match="no treated"):
        fit_did(spec(design="event_study", first_treated="ft"), df, outcome="y", unit="unit", time="period")


def test_treatment_collinear_with_fixed_effects_raises(panel):
    df = panel.assign(d=(~panel["ft"].isna()).astype(float))  # constant within unit
    with pytest.raises(EstimationError, match="collinear"):
        fit_did(spec(design="twfe", treatment="d"), df, outcome="y", unit="unit", time="period")


def test_collinear_covariate_dropped_with_warning(panel):
    df = panel.assign(x2=2 * panel["x1"])
    r = fit_did(spec(design="twfe", treatment="d", covariates=("x1", "x2")), df, outcome="y", unit="unit", time="period")
    assert [c.term for c in r.coefficients] == ["att", "x1"]
    assert any("x2" in w for w in r.warnings)


def test_event_study_all_treated_unbinned_not_identified(simulate):
    df = simulate(40, 10, seed=2, staggered=True, never_share=0.0)
    with pytest.raises(EstimationError, match="bin_endpoints"):
        fit_did(spec(design="event_study", first_treated="ft", bin_endpoints=False), df,
                outcome="y", unit="unit", time="period")


def test_missing_rows_left_out_with_warning(panel):
    df = panel.copy()
    df.loc[[0, 5], "y"] = np.nan
    r = fit_did(spec(design="twfe", treatment="d"), df, outcome="y", unit="unit", time="period")
    assert r.n_obs == len(panel) - 2
    assert any("2 rows" in w for w in r.warnings)


def test_staggered_warning_only_when_staggered(panel, simulate):
    r = fit_did(spec(design="twfe", treatment="d"), panel, outcome="y", unit="unit", time="period")
    assert not r.staggered and not any("Goodman-Bacon" in w for w in r.warnings)
    r = fit_did(spec(design="twfe", treatment="d"), simulate(staggered=True), outcome="y", unit="unit", time="period")
    assert r.staggered and any("Goodman-Bacon" in w for w in r.warnings)


@pytest.mark.parametrize("design", ["twfe", "event_study", "two_by_two"])
def test_wild_bootstrap_effect(panel, design):
    df = panel.assign(group=(~panel["ft"].isna()).astype(int), post=(panel["period"] >= 7).astype(int))
    kw = {"twfe": {"treatment": "d"}, "event_study": {"first_treated": "ft", "leads": 2, "lags": 3},
          "two_by_two": {"group": "group", "post": "post"}}[design]
    s = spec(design=design, inference="wild_bootstrap", reps=999, seed=1, **kw)
    cr1 = fit_did(s.model_copy(update={"inference": "cluster"}), df, outcome="y", unit="unit", time="period")
    r = fit_did(s, df, outcome="y", unit="unit", time="period")
    assert r.bootstrap is not None and r.bootstrap.reps == 999
    assert r.se_type == "wild_bootstrap"
    # one inference per headline: the bootstrap interval has no standard error of its own, and
    # the CR1 Wald estimate is kept only as a labelled comparison
    assert r.effect.std_error is None and r.effect.interval_method == "wild_cluster_restricted_bootstrap"
    (comparison,) = r.inference_comparison
    assert comparison.std_error == cr1.effect.std_error and comparison.interval_method == "wald_t (CR1)"
    if design != "event_study":
        assert next(c for c in r.coefficients if c.term == "att") == r.effect
    assert r.effect.p_value == r.bootstrap.p_value
    assert r.effect.ci_low < r.effect.estimate < r.effect.ci_high
    # with 60 clusters the bootstrap interval is close to the CR1 t interval
    width, cr1_width = r.effect.ci_high - r.effect.ci_low, cr1.effect.ci_high - cr1.effect.ci_low
    assert 0.8 < width / cr1_width < 1.25
    again = fit_did(s, df, outcome="y", unit="unit", time="period")
    assert again.effect == r.effect  # seeded


def test_wild_bootstrap_poisson_uses_the_score_bootstrap(panel):
    s = spec(design="twfe", treatment="d", family="poisson", inference="wild_bootstrap", reps=499)
    r = fit_did(s, panel, outcome="count", unit="unit", time="period")
    assert r.bootstrap is not None and "score bootstrap" in r.description
    assert r.effect.ci_low < r.effect.estimate < r.effect.ci_high
    assert r.effect.p_value == r.bootstrap.p_value
    assert fit_did(s, panel, outcome="count", unit="unit", time="period").effect == r.effect  # seeded


@pytest.mark.parametrize("design", ["event_study", "staggered"])
def test_period_columns_for_first_treated(simulate, design):
    """first_treated as pandas Periods (NaT = never treated) equals integer ordinals."""
    df = simulate(60, 10, seed=4, staggered=True)
    months = pd.period_range("2020-01", periods=10, freq="M")
    ft = pd.Series(pd.PeriodIndex([months[int(v) - 1] if v == v else pd.NaT for v in df["ft"]], freq="M"))
    pdf = df.assign(month=months[df["period"] - 1], ft=ft)
    s = spec(design=design, first_treated="ft")
    a = fit_did(s, pdf, outcome="y", unit="unit", time="month")
    b = fit_did(s, df, outcome="y", unit="unit", time="period")
    assert a.effect == b.effect


def test_event_study_poisson_score_bootstrap_targets_the_att(simulate):
    """The reparametrised raw design makes the tested coefficient the weighted ATT: the
    score vanishes at the ATT estimate, so the interval brackets it."""
    df = simulate(40, 10, seed=9, staggered=True)
    s = spec(design="event_study", first_treated="ft", family="poisson", inference="wild_bootstrap", reps=499)
    r = fit_did(s, df, outcome="count", unit="unit", time="period")
    assert r.bootstrap is not None
    assert r.effect.ci_low < r.effect.estimate < r.effect.ci_high
    cr1 = fit_did(s.model_copy(update={"inference": "cluster"}), df, outcome="count", unit="unit", time="period")
    assert r.effect.estimate == pytest.approx(cr1.effect.estimate, rel=1e-12)
    assert 0.5 < (r.effect.ci_high - r.effect.ci_low) / (cr1.effect.ci_high - cr1.effect.ci_low) < 2.0
