r"""Plain-English warnings about a synthetic-control fit: the checks a reader needs before trusting it.

* **Poor pre-period fit**: the root mean squared gap before the start is more than
  :data:`POOR_FIT` of the treated unit's average outcome (Abadie, Diamond & Hainmueller
  2015, sec. 4: the method should not be used when the fit is poor) *and* more than
  :data:`NOISE_MARGIN` times the period-to-period noise of the treated series itself,
  :math:`\hat\sigma = \mathrm{sd}(\Delta y_{1t}) / \sqrt 2` over the pre-period (the noise
  level of white noise; ``synthdid`` scales its penalties by the same kind of estimate). A
  misfit no larger than the series' own noise is chance no comparison can follow, not bias;
  the report says so instead of warning.
* **Outside the donors' range** (``abadie``): the treated unit's outcome before the start is
  above every donor's (or below) in at least half the pre-periods, or on average: no
  weighted average of the donors can then match it (ADH 2015, sec. 4; ``sdid`` allows a
  level difference and is not warned).
* **Few donors**: with :math:`J` donors the placebo p-value cannot be below
  :math:`1/(J+1)`; below 19 donors no 5% result and no 95% interval is possible
  (whenever the placebo test carries the headline).
* **One donor dominates**, the **placebo in time** finds an "effect" before the start, and a
  **leave-one-donor-out** re-fit changes the sign of the estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from preveval.methods.synth.panel import SynthPanel
from preveval.results.synth import NOISE_MARGIN, SynthResult

__all__ = ["NOISE_MARGIN", "POOR_FIT", "noise_level", "synth_warnings", "unit_text"]

#: Pre-period RMSPE above this share of the treated unit's mean outcome is a poor fit...
POOR_FIT = 0.10
#: A donor with more than this weight dominates the synthetic comparison.
DOMINANT = 0.8


def _g(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def unit_text(result: SynthResult, indicator: Any = None, period: str = "period") -> str:
    """``fires per 10,000 households a month``: what a gap is measured in."""
    label = getattr(indicator, "unit_label", None) or "units of the outcome"
    if result.rate_per is not None and result.baseline is not None:
        what = getattr(indicator, "exposure_label", None) or (result.baseline.exposure or "").replace("_", " ")
        label += f" per {result.rate_per:,.0f} {what}"
    return f"{label} a {period}"


def noise_level(panel: SynthPanel) -> float:
    r""":math:`\mathrm{sd}(\Delta y) / \sqrt 2` of the treated (average) series before the start."""
    pre = panel.treated_mean()[: panel.t0]
    return float(np.std(np.diff(pre), ddof=1) / np.sqrt(2)) if pre.size > 2 else float("nan")


def _fit_warning(result: SynthResult, panel: SynthPanel, gap: np.ndarray, units: str) -> str | None:
    pre = panel.treated_mean()[: panel.t0]
    level = float(np.mean(np.abs(pre)))
    rmspe = float(np.sqrt(np.mean(gap[: panel.t0] ** 2)))
    noise = noise_level(panel)
    if level <= 0 or rmspe <= POOR_FIT * level or (np.isfinite(noise) and rmspe <= NOISE_MARGIN * noise):
        return None
    who = result.treated[0] if result.n_treated == 1 else "the treated areas"
    return (f"The synthetic comparison fits {who} poorly before the start: it misses by {_g(rmspe)} {units} on "
            f"average (root mean squared error), {rmspe / level:.0%} of {who}'s average of {_g(level)} and more "
            f"than the series' own period-to-period noise ({_g(noise)}). A poor fit before the start means the "
            "synthetic comparison may not show what would have happened without the initiative afterwards: "
            "look for donors more like it, other predictors, or estimator: sdid.")


def _range_warning(result: SynthResult, panel: SynthPanel) -> str | None:
    if result.estimator != "abadie":
        return None
    treated = panel.treated_mean()[: panel.t0]
    donors = panel.y[panel.n_treated:, : panel.t0]
    above = treated > donors.max(axis=0)
    below = treated < donors.min(axis=0)
    mean_t, means = float(treated.mean()), donors.mean(axis=1)
    n = panel.t0
    who = result.treated[0]
    if above.mean() >= 0.5 or mean_t > means.max():
        side, count = "higher than every donor's", int(above.sum())
    elif below.mean() >= 0.5 or mean_t < means.min():
        side, count = "lower than every donor's", int(below.sum())
    else:
        return None
    return (f"Before the start, {who}'s outcome was {side} in {count} of the {n} periods: no weighted average of "
            "the donors can match it, so the synthetic comparison is biased towards the donors. Consider donors "
            "more like it, or estimator: sdid, which allows a constant difference in level.")


def _donor_warnings(result: SynthResult, space: Any) -> list[str]:
    out = []
    J = result.n_donors
    if result.effect.interval_method == "placebo_test_inversion" and J + 1 < 20:
        out.append(f"Only {J} donor areas: the placebo p-value cannot be smaller than 1/{J + 1} = "
                   f"{1 / (J + 1):.2g}, so no result can reach the 5% level and there is no 95% interval. The "
                   "estimate shows the size of the gap, not whether chance could explain it.")
    top = max(result.weights.items(), key=lambda kv: kv[1], default=None)
    if top is not None and top[1] > DOMINANT:
        out.append(f"The synthetic comparison is mostly one area ({top[0]}, {top[1]:.0%} of the weight): the result "
                   "is close to a comparison with that area alone, so anything else that changed there matters.")
    return out


def synth_warnings(result: SynthResult, panel: SynthPanel, gap: np.ndarray, space: Any,
                   indicator: Any = None) -> list[str]:
    """Every warning of the fit, in reading order (``indicator`` names the units)."""
    period = result.baseline.period if result.baseline is not None else "period"
    units = unit_text(result, indicator, period)
    out = [w for w in (_fit_warning(result, panel, gap, units), _range_warning(result, panel)) if w]
    out += _donor_warnings(result, space)
    d = next((d for d in result.diagnostics if d.name == "placebo_in_time"), None)
    if d is not None and d.status == "fail" and result.placebo_in_time is not None:
        out.append(f"A fake start in {result.placebo_in_time.fake_start}, before the real one, already shows a gap "
                   f"as unusual as the donors' placebos allow (p = {d.p_value:.3g}): the method finds an 'effect' "
                   "where there can be none, so the real estimate may not be due to the initiative.")
    e = result.effect.estimate
    loo = [x.estimate for x in result.leave_one_out]
    if loo and e != 0 and any(np.sign(x) != np.sign(e) for x in loo):
        lo, hi = min(loo), max(loo)
        out.append(f"Leaving out one donor at a time moves the estimate between {_g(lo)} and {_g(hi)} {units} "
                   f"(all donors: {_g(e)}), so even its direction depends on which donors are used.")
    return out
