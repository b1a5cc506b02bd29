"""Design rules of the evaluation file: options a design would ignore, units, seasons, plausible effects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from preveval.errors import SpecError
from preveval.spec.loader import Positioned
from preveval.spec.validate import check_spec

BASE: dict[str, Any] = {
    "schema_version": 1,
    "initiative": {"id": "t", "name": "Test"},
    "indicators": [{"id": "y", "label": "Events", "column": "y"},
                   {"id": "r", "label": "Rate", "column": "r", "kind": "rate"}],
    "data": {"path": "d.csv", "time": "month", "frequency": "month", "unit": "area"},
    "analyses": [{"id": "did", "method": "did", "indicator": "y", "treatment": "d"}],
}


def check(**changes: Any) -> list[str]:
    d = copy.deepcopy(BASE)
    for k, v in changes.items():
        d[k] = v
    try:
        _, warnings = check_spec(Positioned(d, "<dict>"))
    except SpecError as exc:
        return [f"E {i.path}: {i.message}" for i in exc.issues]
    return [f"W {i.path}: {i.message}" for i in warnings]


@pytest.mark.parametrize(("analysis", "key"), [
    ({"leads": 3}, "leads"),
    ({"control": "not_yet_treated"}, "control"),
    ({"bootstrap_weights": "webb"}, "bootstrap_weights"),
    ({"reps": 999}, "reps"),
    ({"offset": None, "rate_per": 1000}, "rate_per"),
    ({"inference": "robust", "cluster": "area"}, "cluster"),
])
def test_an_option_the_design_ignores_is_an_error(analysis: dict, key: str) -> None:
    a = {**BASE["analyses"][0], **{k: v for k, v in analysis.items() if v is not None}}
    out = check(analyses=[a])
    assert any(m.startswith(f"E analyses[0].{key}:") and "has no effect here" in m for m in out), out


def test_options_that_apply_are_accepted() -> None:
    a = {**BASE["analyses"][0], "inference": "wild_bootstrap", "reps": 999, "bootstrap_weights": "webb"}
    assert check(analyses=[a]) == []


def test_its_on_a_panel_says_which_units_and_how() -> None:
    its = {"id": "its", "method": "its", "indicator": "y", "intervention": "2019-01"}
    assert any("needs 'units'" in m for m in check(analyses=[its]))
    assert any("say how with aggregate" in m for m in check(analyses=[{**its, "units": "all"}]))
    assert check(analyses=[{**its, "units": "all", "aggregate": "sum"}]) == []
    assert check(analyses=[{**its, "units": ["A", "B"]}]) == []


def test_an_unusual_seasonal_period_is_a_warning_and_yearly_seasons_an_error() -> None:
    its = {"id": "its", "method": "its", "indicator": "y", "intervention": "2019-01", "units": ["A"],
           "seasonality": {"type": "fourier", "period": 4, "harmonics": 1}}
    assert any(m.startswith("W analyses[0].seasonality.period") for m in check(analyses=[its]))
    data = {**BASE["data"], "frequency": "year"}
    assert any("yearly data have no seasons" in m for m in check(analyses=[{**its, "intervention": "2019"}],
                                                                 data=data))


def test_plausible_effects_are_required_on_the_difference_scale_and_signed() -> None:
    c = {"claim": "It helped", "evidence": [{"id": "e", "from_analysis": "did"}]}
    a = {**BASE["analyses"][0], "indicator": "r"}
    assert any("needs a plausible_effect" in m for m in check(analyses=[a], contribution=c))
    assert check(analyses=[{**a, "plausible_effect": -0.5}], contribution=c) == []
    assert any("points the other way" in m for m in check(analyses=[{**a, "plausible_effect": 0.5}], contribution=c))
    # on the log scale the 10% default applies
    assert check(analyses=[{**a, "indicator": "y", "family": "poisson"}], contribution=c) == []


def test_staggered_designs_refuse_what_they_do_not_support() -> None:
    s = {"id": "cs", "method": "did", "indicator": "y", "design": "staggered", "first_treated": "ft"}
    # counts: the extended TWFE Poisson (never-treated comparison, no weights, no CS-only options)
    assert check(analyses=[{**s, "family": "poisson"}]) == []
    assert check(analyses=[{**s, "family": "poisson", "covariates": ["campaign"]}]) == []
    assert any(m.startswith("E analyses[0].weights:") for m in check(analyses=[{**s, "family": "poisson",
                                                                                "weights": "pop"}]))
    assert any(m.startswith("E analyses[0].control:") for m in check(analyses=[{**s, "family": "poisson",
                                                                                "control": "not_yet_treated"}]))
    for opt in ({"band": "pointwise"}, {"sensitivity": False}, {"estimator": "sun_abraham"}, {"anticipation": 1}):
        key = next(iter(opt))
        assert any(m.startswith(f"E analyses[0].{key}:") and "has no effect" in m
                   for m in check(analyses=[{**s, "family": "poisson", **opt}])), opt
    # Sun & Abraham: never-treated or last-treated comparison, no weights or covariates
    sa = {**s, "estimator": "sun_abraham"}
    assert check(analyses=[sa]) == [] and check(analyses=[{**sa, "control": "last_treated"}]) == []
    assert any(m.startswith("E analyses[0].covariates:") for m in check(analyses=[{**sa, "covariates": ["x"]}]))
    assert any(m.startswith("E analyses[0].control:") for m in check(analyses=[{**sa, "control": "not_yet_treated"}]))
    assert any(m.startswith("E analyses[0].control:") for m in check(analyses=[{**s, "control": "last_treated"}]))
    # the multiplier bootstrap of the uniform band takes reps and seed; a pointwise band does not
    assert check(analyses=[{**s, "reps": 999, "seed": 1}]) == []
    assert any("'reps' has no effect" in m for m in check(analyses=[{**s, "band": "pointwise", "reps": 999}]))
    assert any(m.startswith("E analyses[0].allow_unbalanced_panel:") for m in check(analyses=[
        {**s, "allow_unbalanced_panel": True, "covariates": ["x"]}]))
    assert check(analyses=[{**s, "allow_unbalanced_panel": True, "covariates": ["x"], "cs_method": "reg"}]) == []
    assert check(analyses=[{**s, "anticipation": 1, "base_period": "universal", "aggregations": ["dynamic"],
                            "min_e": -6, "max_e": 8, "sensitivity": {"relative_magnitude": [0, 1], "max_e": 2}}]) == []
    assert any(m.startswith("E analyses[0].inference:") for m in check(analyses=[{**s, "inference": "robust"}]))
    assert any(m.startswith("E analyses[0].cluster:") for m in check(analyses=[{**s, "cluster": "region"}]))
    assert any("randomization needs design: twfe" in m
               for m in check(analyses=[{**s, "design": "event_study", "inference": "randomization"}]))


def test_costs_against_another_analysis_than_the_primary_is_a_warning() -> None:
    analyses = [{**BASE["analyses"][0], "primary": True},
                {"id": "did2", "method": "did", "indicator": "y", "treatment": "d"}]
    eco = {"price_year": 2023, "analysis": "did2"}
    assert any(m.startswith("W economics.analysis") for m in check(analyses=analyses, economics=eco))
    two = [{**analyses[0]}, {**analyses[1], "primary": True}]
    assert any("only one analysis can be primary" in m for m in check(analyses=two))
