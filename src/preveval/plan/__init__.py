"""Evaluation planning: simulation-based power and minimum detectable effects, and a design advisor.

``preveval plan`` and ``preveval advise`` (:mod:`preveval.cli_plan`) call these:

===========  =================================================================
designs      each analysis made into a simulator of its design family
its_sim      ITS series simulated from the fitted pre-period model
panel_sim    panels rebuilt from the pre-period's residual paths (DiD, event study, staggered)
synth_sim    synthetic control through its placebo distribution (each donor treated in turn)
engine       per-simulation detection thresholds on both cores, seeded
power        power, MDE and curves from the thresholds
run          :func:`plan_evaluation` and :class:`PlanResult` (plan.json)
before_data  loading for a plan before any post-period data (placeholder rows)
advise       the design advisor
report       plan.html / plan.md sections
write        the plan folder
===========  =================================================================
"""

from preveval.plan.run import AnalysisPlan, PlanResult, PlanSettings, plan_evaluation

__all__ = ["AnalysisPlan", "PlanResult", "PlanSettings", "plan_evaluation"]
