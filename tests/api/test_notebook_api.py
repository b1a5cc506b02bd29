"""The notebook API: pv.its / pv.did from a DataFrame, the result's helpers, pv.compare, data handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

import preveval as pv
from support import SHARED, SPEC, series_frame

SICILY = SHARED / "reference" / "sicily.csv"
FOURIER = {"type": "fourier", "period": 12, "harmonics": 2}


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    s = pd.read_csv(SICILY)
    s.index = pd.PeriodIndex.from_fields(year=s["year"], month=s["month"], freq="M")
    return s


@pytest.fixture(scope="module")
def its_result(sicily: pd.DataFrame):
    return pv.its(sicily, outcome="aces", intervention="2005-01", offset="stdpop", impact="level",
                  seasonality=FOURIER)


def test_pv_its_reproduces_the_sicily_reference(its_result, sicily) -> None:
    # Lopez Bernal et al. (2017), corrected: RR 0.8851 (0.8394 to 0.9332), see shared/reference/README.md
    r = its_result
    assert isinstance(r, pv.ItsResult)
    assert r.ratio.estimate == pytest.approx(0.8851, abs=5e-5)
    assert r.ratio.ci_low == pytest.approx(0.8394, abs=5e-5) and r.ratio.ci_high == pytest.approx(0.9332, abs=5e-5)
    assert "stdpop" in sicily.columns and isinstance(sicily.index, pd.PeriodIndex)  # caller's frame kept


def test_tidy_has_terms_as_index_and_the_five_columns(its_result) -> None:
    t = its_result.tidy()
    assert list(t.columns) == ["estimate", "std_error", "ci_low", "ci_high", "p_value"]
    assert t.index.name == "term" and {"time", "level_change", "sin1"} <= set(t.index)
    assert t.loc["level_change", "estimate"] == pytest.approx(its_result.effect.estimate)


def test_vcov_is_the_coefficient_covariance(its_result) -> None:
    v = its_result.vcov
    t = its_result.tidy()
    assert isinstance(v, pd.DataFrame) and list(v.index) == list(v.columns) == list(t.index)
    assert np.allclose(v.to_numpy(), v.to_numpy().T)
    assert np.allclose(np.sqrt(np.diag(v.to_numpy())), t["std_error"].to_numpy())
    assert "vcov" not in its_result.to_dict() and "source" not in its_result.to_dict()


def test_summary_prints_and_returns_a_text_table(its_result, capsys) -> None:
    text = its_result.summary()
    assert text == capsys.readouterr().out
    assert "level_change" in text and "std_error" in text and "Headline:" in text


def test_repr_is_one_line_and_html_shows_headline_and_warnings(its_result) -> None:
    line = repr(its_result)
    assert "\n" not in line and line.startswith("<ItsResult its-aces (its): level_change = -0.1221")
    assert "95% CI" in line and len(line) < 200
    html = its_result._repr_html_()
    assert "After the initiative started in 2005-01" in html
    assert all(pv_escape(w) in html for w in its_result.warnings) and its_result.warnings


def pv_escape(text: str) -> str:
    import html

    return html.escape(text)


def test_plot_returns_the_main_figure_and_others_by_name(its_result) -> None:
    fig = its_result.plot()
    assert isinstance(fig, Figure) and "aces" in fig.axes[0].get_title(loc="left")
    acf = its_result.plot("residual_acf")
    assert acf.axes[0].get_xlabel() == "Lag (months)"
    import matplotlib.pyplot as plt

    mine, ax = plt.subplots()
    assert its_result.plot(ax=ax) is mine
    assert its_result.plot(ax) is mine
    plt.close(mine)
    with pytest.raises(ValueError, match="residual_acf"):
        its_result.plot("forest")


def test_refit_changes_the_spec_and_keeps_the_original(its_result) -> None:
    poisson = its_result.refit(family="poisson", seasonality=None)
    assert poisson.family == "poisson" and its_result.family == "quasipoisson"
    # the tutorial's first model: Poisson without seasonality, RR 0.8944 (0.8647 to 0.9251)
    assert poisson.ratio.estimate == pytest.approx(0.8944, abs=5e-5)
    assert poisson.ratio.ci_low == pytest.approx(0.8647, abs=5e-5)
    again = poisson.refit(seasonality=12)
    assert "sin1" in again.tidy().index
    with pytest.raises(pv.SpecError) as exc:
        its_result.refit(family="poison")
    assert exc.value.issues[0].path == "analyses[0].family"


def test_compare_puts_results_side_by_side(its_result) -> None:
    poisson = its_result.refit(family="poisson", seasonality=None)
    table = pv.compare(its_result, poisson, names=["quasi-Poisson", "Poisson"])
    assert list(table.columns) == ["quasi-Poisson", "Poisson"]
    assert table.index[0] == "level_change" and "observations" in table.index
    assert table.loc["level_change", "Poisson"].startswith("-0.112 [")
    se = pv.compare({"a": its_result, "b": poisson}, stat="se")
    assert se.loc["level_change", "a"] == "-0.122 (0.027)"
    assert list(pv.compare([its_result, its_result]).columns) == ["its-aces", "its-aces (2)"]


def panel(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.period_range("2017-01", periods=36, freq="M")
    rows = []
    for k in range(12):
        start = pd.Period("2018-07", "M") if k < 4 else (pd.Period("2019-01", "M") if k < 6 else None)
        for m in months:
            on = start is not None and m >= start
            rows.append({"area": f"area {k}", "month": m.to_timestamp(), "active": int(on),
                         "first": start.to_timestamp() if start is not None else pd.NaT,
                         "y": 10 + k + 0.1 * (m.ordinal % 12) - (2.0 if on else 0.0) + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def test_pv_did_twfe_and_staggered_with_nat_as_never_treated() -> None:
    p = panel()
    before = p.copy()
    r = pv.did(p, outcome="y", unit="area", time="month", treatment="active", robustness=False)
    assert isinstance(r, pv.DidResult) and r.design == "twfe" and r.effect.term == "att"
    assert -2.6 < r.effect.estimate < -1.4
    assert isinstance(r.vcov, pd.DataFrame) and "att" in r.vcov.index
    s = pv.did(p, outcome="y", unit="area", time="month", first_treated="first", control="never_treated")
    assert s.design == "staggered" and s.n_treated_units == 6
    pd.testing.assert_frame_equal(p, before)
    assert pv.compare(r, s).shape[1] == 2
    es = pv.did(p, outcome="y", unit="area", time="month", first_treated="first", design="event_study")
    assert es.plot().axes[0].get_xlabel().startswith("Months relative to the start")
    assert es.plot("trends") is not None


def test_errors_are_the_yaml_routes_errors_with_issues() -> None:
    frame = series_frame()
    with pytest.raises(pv.SpecError) as exc:
        pv.its(frame, outcome="events", time="month", intervention="2019-01", family="poison")
    assert exc.value.issues[0].path == "analyses[0].family" and "did you mean 'poisson'" in str(exc.value)
    with pytest.raises(pv.DataError) as exc2:
        pv.its(frame.assign(events="many"), outcome="events", time="month", intervention="2019-01")
    assert "is not a number" in str(exc2.value) and exc2.value.issues[0].hint
    with pytest.raises(pv.DataError, match="not a dict"):
        pv.its(frame.to_dict(), outcome="events", time="month", intervention="2019-01", frequency="month")
    with pytest.raises(pv.DataError, match="Series"):
        pv.its(frame["events"], outcome="events", time="month", intervention="2019-01", frequency="month")
    with pytest.raises(pv.SpecError, match="frequency"):
        pv.its(frame.assign(month=range(len(frame))), outcome="events", time="month", intervention="2019-01")


def test_from_dict_refuses_a_dict_as_data_with_a_data_error() -> None:
    spec = yaml.safe_load(SPEC.replace("intervention: 2019-01", "intervention: '2019-01'"))
    with pytest.raises(pv.DataError) as exc:
        pv.from_dict(spec, series_frame().to_dict(orient="list"))
    assert "DataFrame" in str(exc.value) and exc.value.issues[0].hint


@pytest.mark.parametrize("index", ["datetime", "period"])
def test_a_datetime_or_period_index_is_the_time_column(index: str) -> None:
    frame = series_frame()
    idx = pd.PeriodIndex(frame.pop("month"), freq="M")
    frame.index = idx.to_timestamp() if index == "datetime" else idx
    before = frame.copy()
    r = pv.its(frame, outcome="events", intervention=pd.Period("2019-01", "M"), offset="population")
    base = pv.its(series_frame(), outcome="events", time="month", intervention="2019-01", offset="population")
    assert r.effect.estimate == pytest.approx(base.effect.estimate, rel=1e-12)
    pd.testing.assert_frame_equal(frame, before)


def test_columns_named_t_and_period_are_the_callers_own() -> None:
    frame = series_frame().rename(columns={"events": "t", "month": "period"})
    frame["population"] = frame["population"].astype(float)
    before = frame.copy()
    r = pv.its(frame, outcome="t", time="period", intervention="2019-01", offset="population")
    base = pv.its(series_frame(), outcome="events", time="month", intervention="2019-01", offset="population")
    assert r.effect.estimate == pytest.approx(base.effect.estimate, rel=1e-12)
    assert r.series["observed"].to_numpy() == pytest.approx(base.series["observed"].to_numpy())
    pd.testing.assert_frame_equal(frame, before)
    with pytest.raises(pv.DataError) as exc:
        pv.its(frame.assign(t="x"), outcome="t", time="period", intervention="2019-01")
    assert "'t'" in str(exc.value) and "(data)" not in str(exc.value)


def test_evaluation_results_have_short_repr_and_their_analyses_the_helpers() -> None:
    spec = yaml.safe_load(SPEC.replace("intervention: 2019-01", "intervention: '2019-01'"))
    res = pv.from_dict(spec, series_frame()).run()
    line = repr(res)
    assert "\n" not in line and line.startswith("<EvaluationResult test-initiative: 1 analysis, primary its-events")
    html = res._repr_html_()
    assert "Test initiative" in html and "<table" in html
    r = res.analyses["its-events"]
    assert isinstance(r.plot(), Figure) and r.refit(impact="level").effect.term == "level_change"
    assert list(r.tidy().columns) == ["estimate", "std_error", "ci_low", "ci_high", "p_value"]
