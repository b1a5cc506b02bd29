"""The plan's words: one inference per headline, units and periods, "cannot tell" when underpowered."""

from __future__ import annotations

import re

from plan_data import panel_eval, panel_frame, series_eval

from preveval.plan import PlanSettings, plan_evaluation
from preveval.plan.report import build_plan_sections


def _sections(ev: object, n: int = 60) -> dict[str, object]:
    plan = plan_evaluation(ev, PlanSettings(n_simulations=n, workers=1, extra_years=(1, 2)))
    return {s.id: s for s in build_plan_sections(plan)}


def test_an_underpowered_design_cannot_tell_and_says_what_would_help() -> None:
    ev = series_eval(analysis={"plausible_effect": -0.5})
    s = _sections(ev)["plan-its-y"]
    assert s.headline.startswith("The interrupted time series of response time cannot tell a reduction of 0.5 (in the units of 'Response time')")
    assert "from chance" in s.headline and "2015-01 to 2019-12" in s.headline and "24 from it" in s.headline
    assert "unlikely" not in s.headline
    text = " ".join(s.paragraphs)
    assert "consider" in text and "comparison series" in text and "pooling" in text
    assert re.search(r"With 2 more years of data \(to 2021-12\) the minimum detectable effect would be", text)


def test_a_powered_design_can_detect_with_its_power_and_a_percentage_on_the_log_scale() -> None:
    frame = panel_frame(10, 14, 48, 36, count=True)
    ev = panel_eval(frame, {"id": "did", "method": "did", "indicator": "y", "design": "twfe", "treatment": "active",
                            "family": "poisson", "plausible_effect": -0.5}, kind="count")
    secs = _sections(ev)
    s = secs["plan-did"]
    assert re.match(r"The difference-in-differences of incidents can detect a 39% reduction with \d+% power at the "
                    r"5% level, with data from 2012-01 to 2015-12", s.headline), s.headline
    assert secs["plan-summary"].headline == ("The one analysis with a plausible effect can detect it with 80% power "
                                             "at the 5% level.")
    assert any("Monte Carlo range" in p for p in s.paragraphs)
