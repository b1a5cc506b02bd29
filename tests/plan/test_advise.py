"""The design advisor on panels of each shape: what it permits, what it recommends and why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from plan_data import panel_eval, panel_frame, series_eval

import preveval as pv
from preveval.plan.advise import advise

TWFE = {"id": "d", "method": "did", "indicator": "y", "design": "twfe", "treatment": "active"}


def _permitted(a: object) -> set[str]:
    return {o.design for o in a.options if o.permitted}  # type: ignore[attr-defined]


def test_one_series_only_is_an_its_and_the_weakest_design() -> None:
    a = advise(series_eval())
    assert a.recommended == "its" and _permitted(a) == {"its"}
    assert "weakest" in a.reason
    sc = next(o for o in a.options if o.design == "synthetic_control")
    assert any("several areas" in n for n in sc.needs)


def test_one_treated_area_with_20_donors_is_a_synthetic_control() -> None:
    ev = panel_eval(panel_frame(1, 20, 48, 36), TWFE)
    a = advise(ev)
    assert a.shape.n_treated == 1 and a.shape.n_never == 20
    assert a.recommended == "synthetic_control" and "20 untreated" in a.reason
    assert "twfe" not in _permitted(a)  # one treated area: no DiD
    block = yaml.safe_load(a.yaml)["analyses"]
    assert block[0]["method"] == "synthetic_control" and block[0]["treated"] == "area-00"
    assert block[0]["intervention"] == "2015-01"


def test_one_treated_area_with_three_others_is_a_controlled_its() -> None:
    a = advise(panel_eval(panel_frame(1, 3, 48, 36), TWFE))
    assert a.recommended == "controlled_its"
    sc = next(o for o in a.options if o.design == "synthetic_control")
    assert not sc.permitted and any("at least 5 untreated" in n for n in sc.needs)


def test_a_staggered_roll_out_is_callaway_santanna() -> None:
    ev = panel_eval(panel_frame(6, 6, 48, [24, 24, 30, 30, 36, 36]), TWFE)
    a = advise(ev)
    assert a.shape.cohorts == {"2014-01": 2, "2014-07": 2, "2015-01": 2}
    assert a.recommended == "staggered" and "3 different times" in a.reason
    twfe = next(o for o in a.options if o.design == "twfe")
    assert not twfe.permitted and any("staggered" in n for n in twfe.needs)


def test_a_common_start_with_untreated_areas_is_difference_in_differences() -> None:
    a = advise(panel_eval(panel_frame(6, 10, 48, 36), TWFE))
    assert a.recommended == "twfe"
    block = yaml.safe_load(a.yaml)["analyses"]
    assert block[0]["design"] == "twfe" and block[0]["inference"] == "wild_bootstrap"  # 16 clusters: few


def test_timing_is_read_from_first_treated_before_an_its() -> None:
    f = panel_frame(4, 4, 48, [24, 24, 36, 36])
    its = {"id": "i", "method": "its", "indicator": "y", "units": "all", "aggregate": "sum",
           "intervention": "2014-01", "sensitivity": False, "family": "gaussian"}
    cs = {"id": "c", "method": "did", "indicator": "y", "design": "staggered", "first_treated": "first_treated"}
    spec = {"schema_version": 1, "initiative": {"id": "x", "name": "X"},
            "indicators": [{"id": "y", "label": "Y", "column": "y", "kind": "continuous"}],
            "data": {"time": "month", "frequency": "month", "unit": "unit"}, "analyses": [its, cs]}
    a = advise(pv.from_dict(spec, f))
    assert a.shape.timing_from == "first_treated" and a.shape.n_treated == 4 and a.shape.n_never == 4


@pytest.mark.parametrize("shape", ["series", "synth", "staggered", "twfe"])
def test_the_suggested_block_validates(shape: str) -> None:
    evs = {"series": series_eval(), "synth": panel_eval(panel_frame(1, 20, 48, 36), TWFE),
           "staggered": panel_eval(panel_frame(6, 6, 48, [24, 24, 30, 30, 36, 36]), TWFE),
           "twfe": panel_eval(panel_frame(6, 10, 48, 36), TWFE)}
    ev = evs[shape]
    a = advise(ev)
    spec = ev.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["analyses"] = yaml.safe_load(a.yaml)["analyses"]
    spec["data"].pop("path", None)
    frame = ev.dataset.frame if hasattr(ev.dataset, "frame") else ev.frame
    assert isinstance(frame, pd.DataFrame)
    again = pv.from_dict(spec, frame)
    assert len(again.spec.analyses) >= 1 and np.isfinite(len(again.frame))
