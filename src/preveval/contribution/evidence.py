"""Evidence items derived from a quasi-experimental analysis.

An evidence item with ``from_analysis`` is "the analysis finds an effect in the desired
direction": it is **observed** when the headline estimate lies in the direction the
indicator should move *and* its 95% confidence interval excludes zero.

Default probabilities (the user's ``observed``, ``p_if_true``, ``p_if_false`` win):

* ``p_if_false`` = :math:`\\alpha / 2 = 0.025`, the size of a two-sided 5% test for a
  finding in one stated direction: the chance of such a finding when the true effect is
  zero. This assumes the design is unbiased when the claim is false; where a rival
  explanation could produce the same pattern (e.g. an ITS without a comparison series and
  a concurrent national change), raise ``p_if_false``.
* ``p_if_true`` = the **power** of the analysis to detect the plausible effect
  :math:`\\delta` declared as ``plausible_effect`` (on the effect's scale):

  .. math::

      \\text{power} = P(\\text{reject in the desired direction} \\mid \\theta = \\delta)
      = \\Phi\\left(\\frac{|\\delta|}{SE} - z_{1-\\alpha/2}\\right)

  with the analysis' standard error (normal approximation). This is the design's power
  at a declared effect, not "observed power" at the estimated effect, which is a
  function of the p-value and adds nothing (Hoenig & Heisey 2001, *The American
  Statistician* 55(1): 19-24).

Without ``plausible_effect``: on the log scale the default is a 10% change
(:math:`|\\log 0.9|` for a decrease, :math:`\\log 1.1` for an increase), a modest effect for
a prevention initiative; on the difference scale there is no scale-free default, so
``p_if_true`` falls back to 0.5 ("as likely as not to detect it") with a warning asking
for ``plausible_effect`` or ``p_if_true``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from preveval.results.base import AnalysisResult
from preveval.spec.models import EvidenceItem

Direction = Literal["decrease", "increase"]

ALPHA = 0.05
#: Default relative change on the log scale when no plausible effect is given.
DEFAULT_RELATIVE_CHANGE = 0.10
#: p_if_true when the power cannot be computed.
FALLBACK_P_IF_TRUE = 0.5


def detection_power(plausible_effect: float, std_error: float, alpha: float = ALPHA) -> float:
    """Power of a two-sided level-``alpha`` Wald test to reject in the effect's direction.

    ``Phi(|delta| / se - z_{1 - alpha/2})``; the (negligible) chance of rejecting in the
    opposite direction is not counted.
    """
    if not (std_error > 0 and math.isfinite(std_error)):
        raise ValueError("std_error must be positive and finite")
    z = float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.norm.cdf(abs(plausible_effect) / std_error - z))


def default_plausible_effect(scale: str, desired: Direction) -> float | None:
    """A 10% change on the log scale, signed by the desired direction; ``None`` otherwise."""
    if scale != "log":
        return None
    if desired == "decrease":
        return math.log(1 - DEFAULT_RELATIVE_CHANGE)
    return math.log(1 + DEFAULT_RELATIVE_CHANGE)


def effect_observed(result: AnalysisResult, desired: Direction) -> bool | None:
    """Effect in the desired direction with a 95% CI excluding zero (``None`` without a CI)."""
    eff = result.effect
    if eff.ci_low is None or eff.ci_high is None or not math.isfinite(eff.estimate):
        return None
    right_way = eff.estimate < 0 if desired == "decrease" else eff.estimate > 0
    return bool(right_way and eff.excludes_zero())


@dataclass(frozen=True)
class DerivedEvidence:
    """An analysis turned into an evidence item, with where each value came from."""

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
    p_if_true_source: Literal["power", "user", "fallback"]
    p_if_false_source: Literal["test_size", "user"]
    reason: str
    warnings: tuple[str, ...] = ()


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def evidence_from_analysis(
    item: EvidenceItem,
    result: AnalysisResult,
    desired: Direction,
    *,
    alpha: float = ALPHA,
) -> DerivedEvidence:
    """Derive ``observed``, ``p_if_true`` and ``p_if_false`` for an item from its analysis.

    Parameters
    ----------
    item
        The evidence item; its ``observed``, ``p_if_true`` and ``p_if_false`` override
        the derived values, and ``plausible_effect`` sets the power calculation.
    result
        The analysis result named by ``item.from_analysis``.
    desired
        The direction the indicator should move (``Indicator.desired``).
    alpha
        Two-sided test level (0.05: matches the 95% confidence interval).
    """
    eff = result.effect
    warnings: list[str] = []
    derived_obs = effect_observed(result, desired)
    if item.observed is not None:
        observed, obs_src = item.observed, "user"
    elif derived_obs is None:
        observed, obs_src = None, "unknown"
        warnings.append(
            f"evidence '{item.id}': analysis '{result.id}' has no confidence interval, so whether "
            "an effect was found cannot be decided; the item is not used (give 'observed' to use it)"
        )
    else:
        observed, obs_src = derived_obs, "analysis"

    plausible = item.plausible_effect
    plausible_note = "declared"
    if plausible is None:
        plausible = default_plausible_effect(result.scale, desired)
        plausible_note = "default: a 10% change"
    elif (plausible < 0) != (desired == "decrease") and plausible != 0:
        warnings.append(
            f"evidence '{item.id}': plausible_effect {plausible:g} points away from the desired "
            f"direction ({desired}); its size is used"
        )
    power: float | None = None
    se = eff.std_error
    if plausible is not None and se is not None and se > 0 and math.isfinite(se):
        power = detection_power(plausible, se, alpha)

    if item.p_if_true is not None:
        p_true, pt_src = float(item.p_if_true), "user"
    elif power is not None:
        p_true, pt_src = power, "power"
    else:
        p_true, pt_src = FALLBACK_P_IF_TRUE, "fallback"
        why = ("the analysis has no standard error" if plausible is not None
               else f"no plausible_effect was given for an effect on the {result.scale} scale")
        warnings.append(
            f"evidence '{item.id}': p_if_true set to {FALLBACK_P_IF_TRUE} because {why}; "
            "give plausible_effect (or p_if_true) on the effect's scale"
        )
    if item.p_if_false is not None:
        p_false, pf_src = float(item.p_if_false), "user"
    else:
        p_false, pf_src = alpha / 2, "test_size"

    sign = "a decrease" if desired == "decrease" else "an increase"
    found = {True: "was found", False: "was not found", None: "could not be judged"}[observed]
    reason = (
        f"Analysis '{result.id}' estimated {eff.term} = {_fmt(eff.estimate)} "
        f"(95% CI {_fmt(eff.ci_low)} to {_fmt(eff.ci_high)}, {result.scale} scale); "
        f"{sign} with an interval excluding zero {found}"
        + (" (as stated by the user)" if obs_src == "user" else "")
        + ". "
    )
    if pt_src == "power":
        reason += (
            f"P(finding | claim true) = {p_true:.2f}, the power to detect a plausible effect of "
            f"{plausible:.3g} ({plausible_note}) with standard error {se:.3g}. "
        )
    if pf_src == "test_size":
        reason += f"P(finding | claim false) = {p_false:.3f}, the size of the test in one direction."
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
    )
