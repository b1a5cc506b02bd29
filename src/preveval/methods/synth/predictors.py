r"""Predictor and outcome matrices of a synthetic control, built from a long panel.

A predictor is the mean of one column over a window of periods for each unit,

.. math::

    X_{pj} = \frac{1}{|S_{pj}|} \sum_{t \in S_{pj}} x_{jt}, \qquad
    S_{pj} = \{t \in \text{window}_p : x_{jt} \text{ observed}\},

blanks skipped, as ``dataprep()`` of the R package ``Synth`` does with
``predictors.op = "mean"`` and ``na.rm = TRUE`` (Abadie, Diamond & Hainmueller 2011,
*J. Statistical Software* 42(13), sec. 3). The default predictors are the outcome in every
fit period, one predictor per period: the "all pre-intervention outcomes" specification
(Kaul, Kloessner, Pfeifer & Schieler 2022, *J. Business & Economic Statistics* 40(3),
1362-1376, who show that next to it any covariate gets no weight). The outcome matrices
:math:`Z` hold the outcome in the fit periods, :math:`Y` the whole path.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import EstimationError

__all__ = ["PredictorSpec", "SynthMatrices", "outcome_lag_predictors", "synth_matrices"]


@dataclass(frozen=True)
class PredictorSpec:
    """The mean of ``column`` over ``periods`` (blanks skipped), named ``name``."""

    column: str
    periods: tuple
    name: str | None = None

    def label(self) -> str:
        """The predictor's name: given, else ``column`` or ``column.first.last``."""
        if self.name:
            return self.name
        if len(self.periods) == 1:
            return f"{self.column}.{self.periods[0]}"
        return f"{self.column}.{self.periods[0]}.{self.periods[-1]}"


@dataclass(frozen=True)
class SynthMatrices:
    """Everything a synthetic-control fit of one treated unit needs, as arrays.

    ``x_*`` predictors (``k`` rows), ``z_*`` outcomes in the fit periods, ``y_*`` outcomes
    in every period of ``periods``; donors are columns, in the order of ``donor_names``.
    """

    x_treated: np.ndarray
    x_donors: np.ndarray
    z_treated: np.ndarray
    z_donors: np.ndarray
    y_treated: np.ndarray
    y_donors: np.ndarray
    predictor_names: tuple[str, ...]
    donor_names: tuple[str, ...]
    treated_name: str
    fit_periods: tuple
    periods: tuple


def outcome_lag_predictors(outcome: str, pre_periods: Sequence) -> list[PredictorSpec]:
    """The default predictors: the outcome in each pre-period, one predictor each."""
    return [PredictorSpec(outcome, (p,), f"{outcome}.{p}") for p in pre_periods]


def _wide(frame: pd.DataFrame, unit: str, time: str, column: str) -> pd.DataFrame:
    """Units x periods of one column; duplicated unit-period rows are an error."""
    dup = frame.duplicated([unit, time])
    if dup.any():
        first = frame.loc[dup, [unit, time]].iloc[0]
        raise EstimationError(
            f"synthetic control: unit {first[unit]!r} has more than one row in period "
            f"{first[time]!r}; keep one row per unit and period"
        )
    return frame.pivot(index=unit, columns=time, values=column)


def _mean_over(wide: pd.DataFrame, units: Sequence[Hashable], periods: Sequence, label: str) -> np.ndarray:
    missing_periods = [p for p in periods if p not in wide.columns]
    cols = [p for p in periods if p in wide.columns]
    if not cols:
        raise EstimationError(
            f"synthetic control: predictor {label}: none of the periods {list(periods)} is in the data"
            + (f" (missing: {missing_periods})" if missing_periods else "")
        )
    block = wide.reindex(index=list(units), columns=cols).to_numpy(dtype=float)
    counts = np.isfinite(block).sum(axis=1)
    empty = [str(u) for u, c in zip(units, counts, strict=True) if c == 0]
    if empty:
        raise EstimationError(
            f"synthetic control: predictor {label} has no value for unit(s) {', '.join(empty)} "
            f"in periods {list(periods)}; choose another window or drop the unit"
        )
    return np.nansum(block, axis=1) / counts


def synth_matrices(
    frame: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: Hashable,
    donors: Sequence[Hashable],
    fit_periods: Sequence,
    predictors: Sequence[PredictorSpec] | None = None,
    periods: Sequence | None = None,
) -> SynthMatrices:
    """Build :class:`SynthMatrices` from a long panel (one row per unit and period).

    Parameters
    ----------
    frame : pandas.DataFrame
        Long panel; not modified.
    unit, time, outcome : str
        Column names.
    treated : hashable
        The treated unit's identifier.
    donors : sequence
        Donor identifiers, in the order the weights will follow.
    fit_periods : sequence
        Periods whose outcome fit chooses :math:`V` (``time.optimize.ssr``); the outcome
        must be present there for every unit.
    predictors : sequence of PredictorSpec, optional
        Default: the outcome in each fit period (:func:`outcome_lag_predictors`).
    periods : sequence, optional
        Periods of the outcome paths ``y_*``; default every period in the data, sorted.
    """
    donors = list(donors)
    if treated in donors:
        raise EstimationError(f"synthetic control: the treated unit {treated!r} is also listed as a donor")
    units = [treated, *donors]
    known = set(frame[unit].unique())
    absent = [str(u) for u in units if u not in known]
    if absent:
        raise EstimationError(f"synthetic control: unit(s) {', '.join(absent)} not in column {unit!r}")
    fit_periods = list(fit_periods)
    specs = list(predictors) if predictors is not None else outcome_lag_predictors(outcome, fit_periods)
    if not specs:
        raise EstimationError("synthetic control: no predictors")
    cache: dict[str, pd.DataFrame] = {}

    def wide(col: str) -> pd.DataFrame:
        if col not in cache:
            if col not in frame.columns:
                raise EstimationError(f"synthetic control: column {col!r} not in the data")
            cache[col] = _wide(frame, unit, time, col)
        return cache[col]

    x = np.vstack([_mean_over(wide(s.column), units, list(s.periods), s.label()) for s in specs])
    y_wide = wide(outcome)
    all_periods = list(periods) if periods is not None else sorted(y_wide.columns)
    z = y_wide.reindex(index=units, columns=fit_periods).to_numpy(dtype=float)
    if not np.all(np.isfinite(z)):
        i, t = np.argwhere(~np.isfinite(z))[0]
        raise EstimationError(
            f"synthetic control: outcome {outcome!r} is missing for unit {units[i]!r} in fit "
            f"period {fit_periods[t]!r}; every unit needs the outcome in every fit period"
        )
    y = y_wide.reindex(index=units, columns=all_periods).to_numpy(dtype=float)
    return SynthMatrices(
        x_treated=x[:, 0], x_donors=x[:, 1:], z_treated=z[0], z_donors=z[1:].T,
        y_treated=y[0], y_donors=y[1:].T,
        predictor_names=tuple(s.label() for s in specs),
        donor_names=tuple(str(d) for d in donors), treated_name=str(treated),
        fit_periods=tuple(fit_periods), periods=tuple(all_periods),
    )
