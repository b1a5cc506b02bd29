"""pv.synthetic_control: one call from a DataFrame, the same fit as the evaluation file."""

from __future__ import annotations

import pandas as pd
import pytest

import preveval as pv
from support import ROOT

HSH = ROOT / "evaluations" / "home-safety-hub"


@pytest.fixture(scope="module")
def fires() -> pd.DataFrame:
    return pd.read_csv(HSH / "data" / "fires.csv")


@pytest.fixture(scope="module")
def result(fires: pd.DataFrame):
    return pv.synthetic_control(fires, outcome="fires", unit="area", time="month", treated="Glenmorven",
                                intervention="2013-10", offset="households", rate_per=10000, plausible_effect=-0.21)


def test_same_fit_as_the_evaluation_file_route(fires: pd.DataFrame, result) -> None:
    spec = {"schema_version": 1, "initiative": {"id": "x", "name": "x"},
            "indicators": [{"id": "fires", "label": "fires", "column": "fires", "kind": "count"}],
            "data": {"time": "month", "frequency": "month", "unit": "area"},
            "analyses": [{"id": "sc", "method": "synthetic_control", "indicator": "fires", "treated": "Glenmorven",
                          "intervention": "2013-10", "offset": "households", "rate_per": 10000,
                          "plausible_effect": -0.21}]}
    yaml_route = pv.from_dict(spec, fires).run().analyses["sc"]
    assert result.weights == yaml_route.weights
    assert result.effect.estimate == yaml_route.effect.estimate and result.p_value == yaml_route.p_value
    assert isinstance(result, pv.SynthResult) and result.estimator == "abadie"


def test_tidy_plot_headline_and_refit(result) -> None:
    tidy = result.tidy()
    assert "att" in tidy.index and tidy.loc["att", "estimate"] == result.effect.estimate
    for name in ("main", "synthetic", "gaps", "weights"):
        assert result.plot(name) is not None
    with pytest.raises(ValueError, match="has no figure"):
        result.plot("event_study")
    html = result._repr_html_()
    assert "weighted mix" in html and "1/6" in html
    sdid = result.refit(estimator="sdid")
    assert sdid.estimator == "sdid" and [e.term for e in sdid.comparison_estimates] == ["sdid", "sc", "did"]


def test_errors_are_the_evaluation_files(fires: pd.DataFrame) -> None:
    with pytest.raises(pv.InputError, match="not in the data column 'area'"):
        pv.synthetic_control(fires, outcome="fires", unit="area", time="month", treated="Nowhere",
                             intervention="2013-10")
    with pytest.raises(pv.SpecError, match="estimator: abadie builds a synthetic comparison for one treated unit"):
        pv.synthetic_control(fires, outcome="fires", unit="area", time="month", treated=["Glenmorven", "Aberlor"],
                             intervention="2013-10")
