r"""Events prevented in the treated units, from a difference-in-differences effect.

For a count indicator the ATT is turned into events: on the log scale (PPML),

.. math::

    \text{prevented} = \sum_{(i,t): D_{it} > 0} y_{it}\,\big(e^{-\tau D_{it}} - 1\big),

the treated units' observed events divided by the rate ratio, minus the observed events;
on the difference scale it is :math:`-\tau` times the treated observations (times their
exposure over ``rate_per`` when the model is of a rate). The 95% interval applies the same
monotone transformation to the limits of the ATT's interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from preveval.data.periods import periods_per_year
from preveval.results.base import Prevented
from preveval.results.did import DidResult
from preveval.spec.models import DidAnalysis


def _dose(spec: DidAnalysis, frame: pd.DataFrame, time: str) -> np.ndarray:
    """Treatment intensity of each row (0 where untreated)."""
    t = frame[time].to_numpy(dtype=float)
    if spec.design == "two_by_two":
        assert spec.group is not None and spec.post is not None
        return (frame[spec.group].to_numpy(dtype=float) * frame[spec.post].to_numpy(dtype=float))
    if spec.design == "twfe":
        assert spec.treatment is not None
        return frame[spec.treatment].to_numpy(dtype=float)
    assert spec.first_treated is not None
    ft = frame[spec.first_treated].to_numpy(dtype=float)
    return (np.isfinite(ft) & (t >= np.nan_to_num(ft, nan=np.inf))).astype(float)


def did_prevented(spec: DidAnalysis, result: DidResult, frame: pd.DataFrame, *, outcome: str, time: str) -> Prevented | None:
    """Prevented events over the treated unit-periods, or ``None`` when not computable.

    None also when the effect's interval is unbounded or reaches the limits of its search
    (randomization inference with very few treated areas): events prevented would then have
    no interval worth the name.
    """
    if result.prevented is not None:  # counted by the estimator itself (staggered counts)
        return result.prevented
    e = result.effect
    if e.ci_low is None or e.ci_high is None or not (math.isfinite(e.ci_low) and math.isfinite(e.ci_high)):
        return None
    if result.randomization is not None and result.randomization.at_search_limit:
        return None
    dose = _dose(spec, frame, time)
    on = dose > 0
    if not on.any():
        return None
    y = frame[outcome].to_numpy(dtype=float)[on]
    d = dose[on]
    if result.scale == "log":
        def prevented(tau: float) -> float:
            return float(np.sum(y * (np.exp(-tau * d) - 1.0)))
    else:
        scale = d
        if spec.offset is not None:
            scale = d * frame[spec.offset].to_numpy(dtype=float)[on] / spec.rate_per

        def prevented(tau: float) -> float:
            return float(-tau * np.sum(scale))
    total = prevented(e.estimate)
    a, b = sorted((prevented(e.ci_low), prevented(e.ci_high)))
    periods = len(np.unique(frame[time].to_numpy()[on]))
    years = periods / (periods_per_year(frame["period"]) if "period" in frame.columns else 12.0)
    observed = float(y.sum())
    return Prevented(
        total=total, ci_low=a, ci_high=b,
        per_year=total / years, per_year_low=a / years, per_year_high=b / years, years=years,
        expected=observed + total, observed=observed,
        interval="95% interval of the ATT carried through (no simulation)", reps=0, seed=0,
    ) if math.isfinite(total) else None
