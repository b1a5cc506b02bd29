r"""Events prevented in the treated unit(s), from a synthetic-control gap.

For a count indicator the gap (observed minus synthetic, per period) is turned into events:

.. math::

    \text{prevented} = -\sum_{t \ge T_0} \hat\tau_t\, S_t, \qquad
    S_t = \sum_{i\ \text{treated}} E_{it} / \text{rate\_per}

with an offset (the rate gap times the treated exposure), else :math:`S_t = N_{tr}` (the
average count gap times the number of treated units). The 95% interval carries the
interval of the average effect :math:`\tau` through as a constant shift,
:math:`[\text{prevented} - (\tau_{hi} - \hat\tau)\,S,\ \text{prevented} + (\hat\tau - \tau_{lo})\,S]`
with :math:`S = \sum_t S_t`: for ``abadie`` the interval inverting the placebo test (a
constant effect; :func:`~preveval.methods.synth.placebo.placebo_interval`), for ``sdid`` the
placebo- or jackknife-standard-error interval. Without a 95% interval (fewer than 19
donors) the limits are unbounded.
"""

from __future__ import annotations

import math

import numpy as np

from preveval.data.periods import periods_per_year
from preveval.methods.synth.panel import SynthPanel
from preveval.methods.synth.placebo import PlaceboInterval
from preveval.results.base import Estimate, Prevented

__all__ = ["synth_prevented"]


def synth_prevented(panel: SynthPanel, gap: np.ndarray, effect: Estimate,
                    interval: PlaceboInterval | None) -> Prevented | None:
    """Prevented events over the post-period (module docstring); None when not finite."""
    n_tr, t0 = panel.n_treated, panel.t0
    if panel.exposure is not None and panel.rate_per is not None:
        scale = panel.exposure[:n_tr, t0:].sum(axis=0) / panel.rate_per
    else:
        scale = np.full(panel.t.size - t0, float(n_tr))
    total = float(-np.sum(gap[t0:] * scale))
    if not math.isfinite(total):
        return None
    s = float(scale.sum())
    lo, hi = effect.ci_low, effect.ci_high
    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
        a, b = total - (hi - effect.estimate) * s, total + (effect.estimate - lo) * s
        how = ("95% interval of the average effect carried through as a constant shift: "
               + ("the interval inverting the placebo test" if interval is not None else
                  "estimate +/- 1.96 standard errors"))
    else:
        a, b = -math.inf, math.inf
        how = ("no 95% interval: " + (interval.reason if interval is not None and interval.reason else
                                       "the effect has no 95% interval"))
    years = (panel.t.size - t0) / periods_per_year(panel.frame["period"])
    observed = float(panel.counts[:n_tr, t0:].sum())
    return Prevented(
        total=total, ci_low=a, ci_high=b, per_year=total / years, per_year_low=a / years, per_year_high=b / years,
        years=years, expected=observed + total, observed=observed, interval=how, reps=0, seed=0,
    )
