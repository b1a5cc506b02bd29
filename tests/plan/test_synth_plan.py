"""Synthetic-control plans through the placebo distribution (each donor treated in turn)."""

from __future__ import annotations

import numpy as np
from plan_data import panel_eval, panel_frame

from preveval.plan import PlanSettings, plan_evaluation
from preveval.plan.designs import Planned, simulator_for
from preveval.plan.report import build_plan_sections
from preveval.plan.run import PlanResult

SC = {"id": "sc", "method": "synthetic_control", "indicator": "y", "treated": "area-00", "intervention": "2015-01",
      "robustness": False}


def test_one_simulation_per_donor_with_the_effect_in_the_donors_post_period() -> None:
    ev = panel_eval(panel_frame(1, 20, 48, 36, sigma_v=0.3), SC)
    p = simulator_for(ev, ev.spec.analyses[0])
    assert isinstance(p, Planned)
    sim = p.simulator
    assert sim.max_simulations == 20 and not sim.supports_extra
    a, f = sim.draw(sim.noise_for(3, np.random.default_rng(0), 0), -2.0, 0)
    assert a.treated == "area-04" and "area-00" not in set(f["unit"]) and "area-04" not in a.donors
    base = ev.frame.set_index(["unit", "t"])["y"]
    got = f.set_index(["unit", "t"])["y"]
    diff = (got - base.loc[got.index]).groupby(level=0).sum()
    assert diff["area-04"] == -2.0 * 12 and (diff.drop("area-04") == 0).all()
    plan = plan_evaluation(ev, PlanSettings(n_simulations=500, workers=1, extra_years=(1, 2)))
    sc = plan.analyses["sc"]
    assert sc.status == "planned" and sc.n_simulations == 20 and sc.length_curve["extra_periods"] == [0]
    assert sc.mde is not None and sc.mde < 0 and sc.p_value_floor == 0.05


def test_a_placebo_test_that_cannot_reach_5_percent_says_so() -> None:
    ev = panel_eval(panel_frame(1, 10, 48, 36, sigma_v=0.3), SC)
    plan = plan_evaluation(ev, PlanSettings(n_simulations=100, workers=1, extra_years=()))
    sc = plan.analyses["sc"]
    assert sc.p_value_floor == 0.1 and sc.mde is None and sc.false_detection == 0.0
    assert isinstance(plan, PlanResult)
    head = next(s for s in build_plan_sections(plan) if s.id == "plan-sc").headline
    assert "cannot detect any effect at the 5% level" in head and "0.10" in head
