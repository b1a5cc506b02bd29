"""The primary analysis: the one the bottom line rests on, and its verdict.

The analysis declared ``primary: true``; otherwise the strongest design on the Maryland
Scientific Methods Scale, then (among equals) the one with the most power to detect its
plausible effect, then the first listed. As for dependent evidence, the choice rests on the
design, never on which result looks best. Its verdict (supported, contradicted,
inconclusive) is judged against its plausible effect: the analysis' own, else that of the
first evidence item derived from it, else (log scale) a 10% change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preveval.contribution.rating import sms_level
from preveval.contribution.verdict import analysis_verdict, default_plausible_effect
from preveval.spec.models import EvaluationSpec

__all__ = ["PrimaryAnalysis", "plausible_effect_of", "planned_power", "select_primary"]


@dataclass(frozen=True)
class PrimaryAnalysis:
    """The analysis the bottom line rests on, why it was chosen, and its verdict."""

    analysis: str
    why: str
    sms_level: int | None
    verdict: str | None
    power: float | None
    plausible_effect: float | None
    reason: str


def plausible_effect_of(spec: EvaluationSpec, analysis_id: str, scale: str) -> float | None:
    """The plausible effect of an analysis: its own, an evidence item's, or the log-scale default."""
    a = next(x for x in spec.analyses if x.id == analysis_id)
    if a.plausible_effect is not None:
        return a.plausible_effect
    for ev in spec.contribution.evidence if spec.contribution else ():
        if ev.from_analysis == analysis_id and ev.plausible_effect is not None:
            return ev.plausible_effect
    return default_plausible_effect(scale, spec.indicator(a.indicator).desired)


def planned_power(plan: Any, analysis: Any, plausible: float | None, scale: str | None) -> float | None:
    """The plan's simulated power of ``analysis`` at ``plausible`` (None without a usable plan)."""
    if plan is None or plausible is None:
        return None
    p, _ = plan.power_for(analysis, analysis.indicator, float(plausible), scale)
    return None if p is None else p.power


def select_primary(spec: EvaluationSpec, results: Mapping[str, Any], plan: Any = None) -> PrimaryAnalysis | None:
    """The primary analysis among those with a result (None when none has one).

    ``plan``: the plan.json of ``contribution.plan``; its simulated power is the power used.
    """
    candidates = [a for a in spec.analyses if results.get(a.id) is not None]
    if not candidates:
        return None
    info = {}
    for a in candidates:
        r = results[a.id]
        plausible = plausible_effect_of(spec, a.id, r.scale)
        v = (analysis_verdict(r, spec.indicator(a.indicator).desired, plausible,
                              planned_power(plan, a, plausible, r.scale)) if plausible is not None else None)
        info[a.id] = (sms_level(r, a).level, v, plausible)
    declared = [a for a in candidates if a.primary]
    if declared:
        chosen, why = declared[0], "declared primary in the evaluation file"
    else:
        def rank(a: Any) -> tuple[int, float, int]:
            level, v, _ = info[a.id]
            return (level or 0, -1.0 if v is None else v.power, -candidates.index(a))

        chosen = max(candidates, key=rank)
        level = info[chosen.id][0]
        why = (f"the strongest design (level {level} of 5 on the Maryland Scientific Methods Scale)"
               if level else "the first analysis")
        if sum(info[a.id][0] == level for a in candidates) > 1 and info[chosen.id][1] is not None:
            why += ", and the most powerful of the designs at that level"
    level, v, plausible = info[chosen.id]
    return PrimaryAnalysis(chosen.id, why, level, None if v is None else v.verdict, None if v is None else v.power,
                           plausible, "" if v is None else v.reason)
