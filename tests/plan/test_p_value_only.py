"""The plan fits without intervals: the same p-values, bit for bit, and no interval."""

from __future__ import annotations

import math

import pytest
from plan_data import panel_eval, panel_frame

from preveval.inference.mode import intervals_wanted, p_value_only
from preveval.methods.did import fit_did


@pytest.mark.parametrize("inference", ["wild_bootstrap", "randomization"])
def test_p_value_only_keeps_the_p_value_and_drops_the_interval(inference: str) -> None:
    frame = panel_frame(4, 6, 36, 24, count=True, seed=4)
    a = {"id": "did-y", "method": "did", "indicator": "y", "design": "twfe", "treatment": "active",
         "family": "poisson", "inference": inference, "reps": 199, "robustness": False}
    ev = panel_eval(frame, a, kind="count")
    spec = ev.spec.analyses[0]
    full = fit_did(spec, ev.frame, outcome="y", unit="unit", time="t").effect
    assert intervals_wanted()
    with p_value_only():
        assert not intervals_wanted()
        lean = fit_did(spec, ev.frame, outcome="y", unit="unit", time="t").effect
    assert intervals_wanted()
    assert lean.p_value == full.p_value and lean.estimate == full.estimate
    assert full.ci_low is not None and full.ci_high is not None and full.ci_low < full.estimate < full.ci_high
    assert full.std_error is None  # the report shows no standard error beside a bootstrap p-value
    assert lean.ci_low is not None and math.isnan(lean.ci_low) and lean.ci_high is not None and math.isnan(lean.ci_high)
    assert lean.std_error is not None and lean.std_error > 0  # the plan's search is scaled by the CR1 SE
