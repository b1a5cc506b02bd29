"""Evidence items derived from a quasi-experimental analysis.

An evidence item with ``from_analysis`` is the verdict of that analysis
(:mod:`preveval.contribution.verdict`): **supported** (the 95% interval the report shows
excludes no effect, in the desired direction), **contradicted** (it excludes the plausible
effect) or **inconclusive** (neither). The item is "found" when supported.

Default probabilities (the user's ``observed``, ``p_if_true``, ``p_if_false`` win):

* ``p_if_true`` = the **power** of the test actually reported to support an effect of the
  plausible size :math:`\\delta` (``plausible_effect`` of the item, else of the analysis;
  on the log scale a 10% change by default), computed from that test's own interval: the
  wild-bootstrap or randomization interval when that is the inference, never another
  method's standard error. For a normal Wald interval it is
  :math:`\\Phi(|\\delta|/SE - z_{0.975})`. It is the design's power at a declared effect, not
  "observed power" at the estimated effect, which is a function of the p-value and adds
  nothing (Hoenig & Heisey 2001, *The American Statistician* 55(1): 19-24). With
  ``contribution.plan`` it is instead the **simulated** power of the declared analysis from
  ``preveval plan`` (:mod:`preveval.plan.link`; ``p_if_true_source`` ``simulation``): the
  same design and inference under the data's own noise, without the normal approximation.
* ``p_if_false`` = :math:`\\alpha/2 = 0.025`, the size of a two-sided 5% test in one stated
  direction. This assumes the design is unbiased when the claim is false; where a rival
  explanation could produce the same pattern, raise it.

The likelihoods used for updating are those of the verdict reached, under the test's model
with the true effect set so that an effect is found with probability ``p_if_true`` (claim
true) or ``p_if_false`` (claim false). An inconclusive verdict therefore moves the
posterior little, whatever the power: an underpowered test can neither support nor sink
the claim. With ``observed`` given by the user, the item is the binary "found / not found"
of contribution tracing instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from scipy import special

from preveval.contribution.verdict import (
    ALPHA,
    Direction,
    Verdict,
    analysis_verdict,
    default_plausible_effect,
    verdict_likelihoods,
)
from preveval.results.base import AnalysisResult
from preveval.spec.models import EvidenceItem

if TYPE_CHECKING:
    from preveval.plan.link import PlannedPower

__all__ = [
    "ALPHA",
    "FALLBACK_P_IF_TRUE",
    "DerivedEvidence",
    "detection_power",
    "effect_observed",
    "evidence_from_analysis",
    "item_plausible_effect",
]

#: p_if_true when the power cannot be computed.
FALLBACK_P_IF_TRUE = 0.5


def detection_power(plausible_effect: float, std_error: float, alpha: float = ALPHA) -> float:
    """Power of a two-sided level-``alpha`` normal Wald test to reject in the effect's direction.

    ``Phi(|delta| / se - z_{1 - alpha/2})``; the (negligible) chance of rejecting in the
    opposite direction is not counted. Equal to the verdict model's power for a normal Wald
    interval.
    """
    if not (std_error > 0 and math.isfinite(std_error)):
        raise ValueError("std_error must be positive and finite")
    z = float(special.ndtri(1 - alpha / 2))
    return float(special.ndtr(abs(plausible_effect) / std_error - z))


def item_plausible_effect(item: EvidenceItem, result: AnalysisResult, desired: Direction,
                          analysis_plausible: float | None) -> tuple[float | None, str]:
    """The plausible effect an item is judged against, and where it came from.

    The item's own ``plausible_effect``, else the analysis', else (log scale) a 10% change
    (``None`` on another scale).
    """
    if item.plausible_effect is not None:
        return item.plausible_effect, "declared"
    if analysis_plausible is not None:
        return analysis_plausible, "declared"
    return default_plausible_effect(result.scale, desired), "default: a 10% change"


def effect_observed(result: AnalysisResult, desired: Direction) -> bool | None:
    """Effect in the desired direction with a 95% CI excluding zero (``None`` without a CI)."""
    eff = result.effect
    if eff.ci_low is None or eff.ci_high is None or not math.isfinite(eff.estimate):
        return None
    right_way = eff.estimate < 0 if desired == "decrease" else eff.estimate > 0
    return bool(right_way and eff.excludes_zero())


@dataclass(frozen=True)
class DerivedEvidence:
    """An analysis turned into an evidence item, with where each value came from.

    ``outcome`` is the analysis' verdict (``None`` when the user set ``observed``);
    ``likelihoods`` are P(outcome | claim true) and P(outcome | claim false) used for updating.
    """

    item: str
    analysis: str
    observed: bool | None
    p_if_true: float
    p_if_false: float
    desired: Direction
    estimate: float
    ci_low: float | None
    ci_high: float | None
    scale: str
    plausible_effect: float | None
    power: float | None
    observed_source: Literal["analysis", "user", "unknown"]
    p_if_true_source: Literal["power", "simulation", "user", "fallback"]
    p_if_false_source: Literal["test_size", "user"]
    reason: str
    warnings: tuple[str, ...] = ()
    outcome: Verdict | None = None
    likelihoods: tuple[float, float] | None = None
    interval_method: str | None = None


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g}"


def evidence_from_analysis(
    item: EvidenceItem,
    result: AnalysisResult,
    desired: Direction,
    *,
    analysis_plausible: float | None = None,
    alpha: float = ALPHA,
    planned: PlannedPower | None = None,
) -> DerivedEvidence:
    """Derive the verdict, ``p_if_true`` and ``p_if_false`` of an item from its analysis.

    Parameters
    ----------
    item
        The evidence item; its ``observed``, ``p_if_true`` and ``p_if_false`` override the
        derived values, and ``plausible_effect`` sets the power and the verdict.
    result
        The analysis result named by ``item.from_analysis``.
    desired
        The direction the indicator should move (``Indicator.desired``).
    analysis_plausible
        The analysis' own ``plausible_effect``, used when the item gives none.
    alpha
        Two-sided test level (0.05: matches the 95% confidence interval).
    planned
        The plan's simulated power at the plausible effect (:mod:`preveval.plan.link`):
        ``p_if_true`` when the user gives none.
    """
    eff = result.effect
    warnings: list[str] = []
    plausible, plausible_note = item_plausible_effect(item, result, desired, analysis_plausible)
    if (plausible is not None and plausible_note == "declared" and plausible != 0
            and (plausible < 0) != (desired == "decrease")):
        warnings.append(
            f"evidence '{item.id}': plausible_effect {plausible:g} points away from the desired "
            f"direction ({desired}); its size is used"
        )
    verdict = (analysis_verdict(result, desired, plausible, None if planned is None else planned.power)
               if plausible is not None else None)
    power = verdict.power if verdict is not None else None
    if verdict is None and plausible is None:
        obs0 = effect_observed(result, desired)
        outcome: Verdict | None = None if obs0 is None else ("supported" if obs0 else "inconclusive")
    else:
        outcome = None if verdict is None else verdict.verdict

    if item.p_if_true is not None:
        p_true, pt_src = float(item.p_if_true), "user"
    elif planned is not None and power is not None:
        p_true, pt_src = power, "simulation"
    elif power is not None:
        p_true, pt_src = power, "power"
    else:
        p_true, pt_src = FALLBACK_P_IF_TRUE, "fallback"
        why = ("the analysis has no confidence interval" if plausible is not None
               else f"no plausible_effect was given for an effect on the {result.scale} scale")
        warnings.append(
            f"evidence '{item.id}': p_if_true set to {FALLBACK_P_IF_TRUE} because {why}; "
            "give plausible_effect (or p_if_true) on the effect's scale"
        )
    if item.p_if_false is not None:
        p_false, pf_src = float(item.p_if_false), "user"
    else:
        p_false, pf_src = alpha / 2, "test_size"

    likelihoods: tuple[float, float] | None = None
    if item.observed is not None:
        observed: bool | None = item.observed
        obs_src = "user"
        outcome = None
    elif outcome is None:
        observed, obs_src = None, "unknown"
        warnings.append(
            f"evidence '{item.id}': the analysis has no confidence interval, so whether an effect was "
            "found cannot be decided; the item is not used (give 'observed' to use it)"
        )
    else:
        observed, obs_src = outcome == "supported", "analysis"
        if plausible is not None:
            likelihoods = verdict_likelihoods(result, desired, plausible, outcome, p_true, p_false)
    if pt_src in ("power", "simulation") and p_true <= p_false and outcome is not None:
        warnings.append(
            f"evidence '{item.id}': the analysis has only {p_true:.0%} power to detect the plausible effect, "
            f"no more than the {p_false:.0%} chance of a false finding (p_if_false), so it cannot tell the "
            "claim from its rivals; its result hardly moves the posterior"
        )

    sign = "a decrease" if desired == "decrease" else "an increase"
    words = {"supported": "supports an effect", "contradicted": "rules out an effect of the plausible size",
             "inconclusive": "cannot tell (the interval includes both no effect and the plausible effect)"}
    how = f", interval by {eff.interval_method.replace('_', ' ')}" if eff.interval_method else ""
    reason = (f"Estimated {eff.term} = {_fmt(eff.estimate)} (95% CI {_fmt(eff.ci_low)} to {_fmt(eff.ci_high)}, "
              f"{result.scale} scale{how}). ")
    if obs_src == "user":
        found = {True: "was found", False: "was not found"}[bool(observed)]
        reason += f"{sign[0].upper() + sign[1:]} with an interval excluding zero {found} (as stated by the user). "
    elif outcome is not None:
        reason += f"The analysis {words[outcome]}. "
    if pt_src == "power" and plausible is not None:
        reason += (f"P(an effect is found | claim true) = {p_true:.2f}, the power of this test to detect a "
                   f"plausible effect of {plausible:.3g} ({plausible_note}). ")
    elif pt_src == "simulation" and plausible is not None and planned is not None:
        reason += (f"P(an effect is found | claim true) = {p_true:.2f}, {planned.describe()}, to detect a "
                   f"plausible effect of {plausible:.3g} ({plausible_note}). ")
    if pf_src == "test_size":
        reason += f"P(an effect is found | claim false) = {p_false:.3f}, the size of the test in one direction."
    return DerivedEvidence(
        item=item.id,
        analysis=result.id,
        observed=observed,
        p_if_true=p_true,
        p_if_false=p_false,
        desired=desired,
        estimate=float(eff.estimate),
        ci_low=eff.ci_low,
        ci_high=eff.ci_high,
        scale=result.scale,
        plausible_effect=plausible,
        power=power,
        observed_source=obs_src,  # type: ignore[arg-type]
        p_if_true_source=pt_src,  # type: ignore[arg-type]
        p_if_false_source=pf_src,  # type: ignore[arg-type]
        reason=reason.strip(),
        warnings=tuple(warnings),
        outcome=outcome,
        likelihoods=likelihoods,
        interval_method=eff.interval_method,
    )
