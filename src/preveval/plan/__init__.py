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
link         a plan.json read back as the evidence's p_if_true (``contribution.plan``)
===========  =================================================================

The public names load on first use (PEP 562), so that ``preveval run`` reading a plan.json
for its evidence does not import the simulators.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preveval.plan.run import AnalysisPlan, PlanResult, PlanSettings, plan_evaluation

__all__ = ["AnalysisPlan", "PlanResult", "PlanSettings", "plan_evaluation"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("preveval.plan.run"), name)
    raise AttributeError(f"module 'preveval.plan' has no attribute {name!r}")
