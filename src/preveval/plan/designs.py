"""Each analysis of an evaluation made into a simulator of its own design family.

:func:`simulator_for` returns a :class:`Planned` (the simulator, the effect's scale and
direction, the analysis' first treated period and the post-period length) or a
:class:`NotPlanned` saying why (a value, never raised: the other analyses are still planned).

The declared analysis is the one simulated, with its inference. Two things are switched
off because a power study never reads them: robustness and sensitivity re-fits, and the
prevented-events simulation. Bootstrap and randomization inference keep their method,
weights and seed, with at most ``inner_reps`` replications (default 399): a p-value from
399 draws decides "below 5%" with little loss of power (Davidson & MacKinnon 2000,
*Econometric Reviews* 19(1):55-68), and the noise of a single decision averages out over the
simulations. The fits run inside :func:`preveval.inference.mode.p_value_only`: the score
bootstrap and the Poisson randomization test give the same p-value without inverting the
test for an interval the plan would not read (most of a Poisson TWFE fit's time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from preveval.data.periods import parse_period, periods_per_year
from preveval.plan.link import ITS_INFERENCE
from preveval.results.base import Estimate
from preveval.spec.models import DidAnalysis, Indicator, ItsAnalysis, SynthAnalysis

__all__ = ["NotPlanned", "Planned", "simulator_for"]

DEFAULT_INNER_REPS = 399


@dataclass(frozen=True)
class Planned:
    """An analysis ready to simulate."""

    simulator: Any
    scale: str  # "log" or "difference"
    direction: float  # -1 for a decrease, +1 for an increase
    start: int  # ordinal of the first treated period
    last: int  # ordinal of the last period in the data
    n_post: int  # periods from the start to the end of the data
    ppy: float
    guess: float  # a scale for the first step when the fit gives no standard error
    inference: str
    floor: float | None = None  # the smallest p-value the inference can give, when above 0
    shocks: str | None = None  # panels: "shared" or "independent" (see panel_sim)
    shock_ratio: float | None = None  # panels: the pre-period's variance ratio behind the choice


@dataclass(frozen=True)
class NotPlanned:
    """An analysis the plan cannot simulate, and why."""

    reason: str


def _ordinal(text: str, freq: str) -> int:
    p = parse_period(text, freq)
    assert p is not None  # checked by validate
    return int(p.ordinal)


def _direction(a: Any, indicator: Indicator) -> float:
    if a.plausible_effect is not None and a.plausible_effect != 0:
        return float(np.sign(a.plausible_effect))
    return -1.0 if indicator.desired == "decrease" else 1.0


def _cap(a: Any, inner_reps: int) -> Any:
    update: dict[str, Any] = {"robustness": False}
    if isinstance(a, DidAnalysis) and a.inference in ("wild_bootstrap", "randomization"):
        update["reps"] = min(a.reps, inner_reps)
    if isinstance(a, SynthAnalysis) and a.estimator == "sdid":
        update["reps"] = max(50, min(a.reps, inner_reps))
    return a.model_copy(update=update)


# top-level functions (the simulators are sent to worker processes)
def _fit_did(a: DidAnalysis, outcome: str, unit: str | None, frame: pd.DataFrame) -> Estimate:
    from preveval.inference.mode import p_value_only
    from preveval.methods.did import fit_did

    with p_value_only():  # the plan reads the p-value: no test is inverted for an interval
        return fit_did(a, frame, outcome=outcome, unit=unit, time="t").effect


def _dose_did(a: DidAnalysis, frame: pd.DataFrame) -> np.ndarray:
    if a.design == "two_by_two":
        assert a.group is not None and a.post is not None
        return frame[a.group].to_numpy(dtype=float) * frame[a.post].to_numpy(dtype=float)
    if a.design == "twfe":
        assert a.treatment is not None
        return frame[a.treatment].to_numpy(dtype=float)
    assert a.first_treated is not None
    ft = frame[a.first_treated].to_numpy(dtype=float)
    return (np.isfinite(ft) & (frame["t"].to_numpy(dtype=float) >= np.nan_to_num(ft, nan=np.inf))).astype(float)


def simulator_for(ev: Any, a: ItsAnalysis | DidAnalysis | SynthAnalysis, *,
                  inner_reps: int = DEFAULT_INNER_REPS, observed_last: int | None = None,
                  shocks: str = "auto") -> Planned | NotPlanned:
    """The simulator of one analysis of a loaded :class:`~preveval.pipeline.Evaluation`.

    ``observed_last``: the last period with data when placeholder rows follow it
    (:mod:`preveval.plan.before_data`); the simulators learn only from periods up to it.
    ``shocks`` (panels): ``independent`` (each unit its own blocks), ``shared`` (all units the
    same blocks) or ``auto`` (shared when the pre-period shows the treated units' shocks
    moving together beyond chance, :meth:`~preveval.plan.panel_sim.PanelSimulator.comovement`).
    """
    spec = ev.spec
    frame = ev.frame
    indicator = spec.indicator(a.indicator)
    freq = spec.data.frequency
    unit = spec.data.unit
    ppy = float(periods_per_year(frame["period"]))
    last = int(frame["t"].max())
    direction = _direction(a, indicator)
    if isinstance(a, ItsAnalysis):
        from preveval.plan.its_sim import ItsSimulator

        if a.estimator == "structural":
            return NotPlanned("the structural time-series estimator is not simulated yet; plan the segmented "
                              "regression (estimator: segmented) of the same series")
        interventions = {k: _ordinal(v, freq) for k, v in a.intervention_map().items()}
        start = min(interventions.values())
        try:
            its = ItsSimulator.build(a, frame, indicator=indicator, unit=unit, interventions=interventions,
                                     observed_last=observed_last)
        except (ValueError, np.linalg.LinAlgError) as exc:
            return NotPlanned(f"the pre-period model could not be fitted ({exc})")
        scale = "log" if a.family != "gaussian" or a.transform == "log" else "difference"
        y = its.series[indicator.column].to_numpy(dtype=float)
        guess = 0.1 if scale == "log" else float(np.nanstd(y)) / 4 or 1.0
        inference = ITS_INFERENCE[a.errors]
        return Planned(its, scale, direction, start, last, last - start + 1, ppy, guess, inference)
    if unit is None:
        return NotPlanned("repeated cross-sections (no data.unit) are not simulated: the plan resamples "
                          "units' own paths")
    if isinstance(a, SynthAnalysis):
        from preveval.plan.synth_sim import SynthPlaceboSimulator

        if observed_last is not None:
            return NotPlanned("no post-period data yet: a synthetic control is planned from its donors' own post "
                              "periods")
        start = _ordinal(a.intervention, freq)
        donors = a.donors or tuple(sorted(set(frame[unit].astype(str)) - set(a.treated_units)))
        if len(donors) < 3:
            return NotPlanned("fewer than 3 donors: no placebo distribution to plan from")
        placebo = SynthPlaceboSimulator(_cap(a, inner_reps), frame, unit, indicator.column, freq,
                                        indicator.kind == "count", start, tuple(donors))
        y = frame[indicator.column].to_numpy(dtype=float)
        if a.offset:
            y = y / frame[a.offset].to_numpy(dtype=float) * a.rate_per
        inference = "placebo test" if a.estimator == "abadie" else "sdid standard error"
        # each donor's own placebo test has the other donors: its smallest p-value is 1/len(donors)
        floor = 1.0 / len(donors) if a.estimator == "abadie" else None
        return Planned(placebo, "difference", direction, start, last, last - start + 1, ppy,
                       float(np.nanstd(y)) / 4 or 1.0, inference, floor)
    from preveval.plan.panel_sim import PanelSimulator

    dose = _dose_did(a, frame)
    if not (dose != 0).any():
        return NotPlanned("no treated cells in the data")
    start = int(frame.loc[dose != 0, "t"].min())
    capped = _cap(a, inner_reps)
    fitter = partial(_fit_did, capped, indicator.column, unit)
    treated = partial(_dose_did, capped)
    log_effect = a.family == "poisson"
    offset, rate_per = a.offset, a.rate_per
    if start - int(frame["t"].min()) < 2:
        return NotPlanned("fewer than 2 periods before the first treated period to learn the noise from")
    try:
        sim = PanelSimulator(frame=frame, unit=unit, time_col=spec.data.time, outcome=indicator.column,
                             offset=offset, rate_per=rate_per, log_effect=log_effect, treated=treated,
                             fitter=fitter, t_first=start, ppy=int(round(ppy)) or 1, common_blocks=False,
                             nonnegative=indicator.kind in ("count", "rate", "proportion"),
                             observed_last=observed_last)
    except ValueError as exc:
        return NotPlanned(str(exc))
    treated_units = set(frame.loc[dose != 0, unit].astype(str))
    ratio, beyond_chance = sim.comovement(treated_units)
    sim.common_blocks = shocks == "shared" or (shocks == "auto" and beyond_chance)
    y = frame[indicator.column].to_numpy(dtype=float)
    guess = 0.1 if log_effect else float(np.nanstd(y)) / 4 or 1.0
    if offset and not log_effect:
        guess = float(np.nanstd(y / frame[offset].to_numpy(dtype=float) * rate_per)) / 4 or 1.0
    return Planned(sim, "log" if log_effect else "difference", direction, start, last, last - start + 1, ppy,
                   guess, a.inference, shocks="shared" if sim.common_blocks else "independent", shock_ratio=ratio)
