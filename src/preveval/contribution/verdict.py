r"""Verdicts of an analysis and the power of the test it reports: supported, contradicted, inconclusive.

A headline effect answers the partnership's question in one of three ways, judged on the
95% interval the report shows (whatever the inference: Wald, fixed-b, bootstrap,
randomization):

* **supported**: the interval excludes no effect and the estimate lies in the desired
  direction;
* **contradicted**: the interval excludes the plausible effect :math:`\delta` (the data rule
  out an effect that large), and does not support an effect;
* **inconclusive**: neither: the data cannot tell an effect of the plausible size from none.

Model of the test. In "desired-direction units" :math:`u = d\,\theta` (:math:`d = -1` when a
decrease is wanted), the interval is :math:`[\hat u - w_0, \hat u + w_1]` and the plausible
effect :math:`\delta_+ = d\,\delta > 0`. The test is modelled as :math:`\hat u \sim N(\mu, s^2)`
with the normal-equivalent standard error of each arm of the interval actually shown,
:math:`s_j = w_j / z_{0.975}` (for a normal Wald interval, its standard error on both sides;
asymmetric bootstrap or log-scale intervals keep their own arms), so that

.. math::

    P(\text{supported}) = 1 - \Phi\Big(\frac{w_0 - \mu}{s_0}\Big), \quad
    P(\text{contradicted}) = \Phi\Big(\frac{\min(\delta_+ - w_1,\ w_0) - \mu}{s_1}\Big),

and inconclusive otherwise. The **power** is :math:`P(\text{supported})` at
:math:`\mu = \delta_+`, :math:`\Phi(\delta_+/s_0 - z_{0.975})`: the chance this analysis,
with its data and its inference, finds an effect of the plausible size. A wide bootstrap or
randomization interval gives a low power; an interval with an infinite end gives power 0, and
so does a placebo test that cannot reach the 5% level (a synthetic control with fewer than 19
donors: the verdict is inconclusive, with no interval).

Evidence. With :math:`\mu_T` (the claim true) and :math:`\mu_F` (false) fixed by
``p_if_true`` (default: the power) and ``p_if_false`` (default: the test's size in one
direction, :math:`\alpha/2`) as the probabilities of *supported*, the likelihood of the
verdict actually reached is :math:`P(\text{verdict} \mid \mu_T)` against
:math:`P(\text{verdict} \mid \mu_F)`. An inconclusive verdict has a likelihood ratio near 1
(exactly 1 for a symmetric interval at the defaults): it leaves the posterior where it
was. An underpowered test cannot make the claim "unlikely".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import special

from preveval.results.base import AnalysisResult, Estimate

__all__ = [
    "ALPHA",
    "AnalysisVerdict",
    "IntervalModel",
    "Verdict",
    "analysis_verdict",
    "default_plausible_effect",
    "interval_model",
    "outcome_probabilities",
    "verdict_likelihoods",
]

Verdict = Literal["supported", "contradicted", "inconclusive"]
Direction = Literal["decrease", "increase"]

ALPHA = 0.05
Z = float(special.ndtri(1 - ALPHA / 2))
#: Default relative change on the log scale when no plausible effect is given.
DEFAULT_RELATIVE_CHANGE = 0.10


def _phi(x: float) -> float:
    return float(special.ndtr(x))


def default_plausible_effect(scale: str, desired: Direction) -> float | None:
    """A 10% change on the log scale, signed by the desired direction; ``None`` otherwise."""
    if scale != "log":
        return None
    return math.log(1 - DEFAULT_RELATIVE_CHANGE) if desired == "decrease" else math.log(1 + DEFAULT_RELATIVE_CHANGE)


@dataclass(frozen=True)
class IntervalModel:
    """The reported test in desired-direction units: the estimate and each arm of its interval.

    ``w_no_effect`` is the arm towards no effect and ``w_plausible`` the arm towards the
    plausible effect; each has the normal-equivalent standard error ``arm / z``.
    """

    estimate: float
    w_no_effect: float
    w_plausible: float

    @property
    def s_no_effect(self) -> float:
        """Normal-equivalent standard error of the arm towards no effect."""
        return self.w_no_effect / Z

    @property
    def s_plausible(self) -> float:
        """Normal-equivalent standard error of the arm towards the plausible effect."""
        return self.w_plausible / Z

    @property
    def informative(self) -> bool:
        """Whether both arms are finite and positive (an infinite one can neither support nor contradict)."""
        return all(math.isfinite(w) and w > 0 for w in (self.w_no_effect, self.w_plausible))


def interval_model(effect: Estimate, desired: Direction) -> IntervalModel | None:
    """The model of the test behind ``effect``'s interval (None without an interval)."""
    if effect.ci_low is None or effect.ci_high is None or not math.isfinite(effect.estimate):
        return None
    d = -1.0 if desired == "decrease" else 1.0
    u = d * effect.estimate
    lo, hi = sorted((d * effect.ci_low, d * effect.ci_high))
    w0, w1 = u - lo, hi - u
    if not (w0 >= 0 and w1 >= 0):
        return None
    return IntervalModel(u, w0, w1)


def outcome_probabilities(m: IntervalModel, mu: float, plausible: float) -> dict[Verdict, float]:
    """P(supported), P(contradicted), P(inconclusive) when the true effect is ``mu`` (desired units)."""
    if not m.informative:
        return {"supported": 0.0, "contradicted": 0.0, "inconclusive": 1.0}
    ps = 1.0 - _phi((m.w_no_effect - mu) / m.s_no_effect)
    pc = _phi((min(plausible - m.w_plausible, m.w_no_effect) - mu) / m.s_plausible)
    return {"supported": ps, "contradicted": pc, "inconclusive": max(0.0, 1.0 - ps - pc)}


def _mean_for(m: IntervalModel, p_supported: float) -> float:
    """The true effect at which the test supports an effect with probability ``p_supported``."""
    p = min(max(p_supported, 1e-12), 1 - 1e-12)
    return m.w_no_effect - m.s_no_effect * float(special.ndtri(1.0 - p))


@dataclass(frozen=True)
class AnalysisVerdict:
    """What an analysis says about the initiative's effect, and how much it could have said."""

    verdict: Verdict
    plausible_effect: float
    power: float
    reason: str


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def analysis_verdict(result: AnalysisResult, desired: Direction, plausible: float,
                     power: float | None = None) -> AnalysisVerdict | None:
    """The verdict of ``result`` against the plausible effect (None without an interval).

    ``power``: the power to report (the plan's simulated power, :mod:`preveval.plan.link`);
    by default that of the interval's normal model.
    """
    eff = result.effect
    m = interval_model(eff, desired)
    d = -1.0 if desired == "decrease" else 1.0
    delta = abs(plausible)
    floor = getattr(result, "min_p_value", None)
    if m is None and isinstance(floor, float) and floor > ALPHA and eff.interval_method == "placebo_test_inversion":
        donors = getattr(result, "n_donors", 0)
        return AnalysisVerdict("inconclusive", d * delta, 0.0,
                               f"with {donors} donor areas the placebo p-value cannot be below {floor:.2g}, so no test "
                               "at the 5% level (and no 95% interval) is possible: the data cannot tell (power 0%)")
    if m is None:
        return None
    lo, hi = m.estimate - m.w_no_effect, m.estimate + m.w_plausible
    if power is None:
        power = outcome_probabilities(m, delta, delta)["supported"]
    verdict: Verdict
    if lo > 0:
        verdict = "supported"
        why = "the 95% interval excludes no effect and the estimate points the way the initiative intends"
    elif hi < delta:
        verdict = "contradicted"
        why = (f"the 95% interval rules out an effect as large as the plausible {_fmt(d * delta)}"
               + (" (it points the other way)" if hi < 0 else ""))
    else:
        verdict = "inconclusive"
        why = (f"the 95% interval includes both no effect and the plausible effect of {_fmt(d * delta)}: "
               f"the data cannot tell them apart (power {power:.0%} to detect the plausible effect)")
    return AnalysisVerdict(verdict, d * delta, power, why)


def verdict_likelihoods(result: AnalysisResult, desired: Direction, plausible: float, verdict: Verdict,
                        p_if_true: float, p_if_false: float) -> tuple[float, float]:
    """(P(verdict | claim true), P(verdict | claim false)) under the model of the test."""
    m = interval_model(result.effect, desired)
    if m is None or not m.informative:
        return 1.0, 1.0
    delta = abs(plausible)
    under_true = outcome_probabilities(m, _mean_for(m, p_if_true), delta)[verdict]
    under_false = outcome_probabilities(m, _mean_for(m, p_if_false), delta)[verdict]
    return under_true, under_false
