r"""The panel of a synthetic-control analysis as matrices: treated rows first, then the donors.

:func:`synth_panel` turns the checked long data into :class:`SynthPanel`: the outcome as
analysed (a rate per ``rate_per`` of the exposure when the analysis has an offset,
:math:`y_{it} = 10^5\,c_{it} / E_{it}` say), the raw counts and the exposure, the periods and
the index of the first post-period. Predictor windows of the YAML (``from``/``to`` periods)
become :class:`~preveval.methods.synth.predictors.PredictorSpec` over period ordinals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from preveval.data.periods import parse_period
from preveval.errors import EstimationError
from preveval.methods.synth.predictors import PredictorSpec
from preveval.spec.analyses import SynthAnalysis

__all__ = ["SynthPanel", "ordinal", "predictor_specs", "synth_panel"]

#: Column of the working frame holding the outcome as analysed (count or rate).
OUTCOME = "__outcome__"


@dataclass(frozen=True)
class SynthPanel:
    """Units x periods matrices; rows ``0 .. n_treated - 1`` are the treated units.

    ``y`` is the outcome as analysed, ``counts`` the indicator as recorded and ``exposure``
    the offset column (None without one); ``t`` holds period ordinals, ``labels`` their
    text, ``t0`` the column of the first post-period. ``frame`` is the long working frame
    (string unit names, the analysed outcome in :data:`OUTCOME`) the predictors are built
    from.
    """

    y: np.ndarray
    counts: np.ndarray
    exposure: np.ndarray | None
    treated: tuple[str, ...]
    donors: tuple[str, ...]
    t: np.ndarray
    labels: tuple[str, ...]
    periods: tuple[pd.Period, ...]
    t0: int
    frame: pd.DataFrame
    rate_per: float | None

    @property
    def n_treated(self) -> int:
        """Number of treated units."""
        return len(self.treated)

    @property
    def names(self) -> tuple[str, ...]:
        """Row names: treated units, then donors."""
        return (*self.treated, *self.donors)

    def treated_mean(self) -> np.ndarray:
        """``(T,)`` the treated units' average outcome (the treated unit's own with one)."""
        return self.y[: self.n_treated].mean(axis=0)

    def averaged(self) -> np.ndarray:
        """``(1 + J, T)``: the treated average as row 0, then the donors."""
        return np.vstack([self.treated_mean(), self.y[self.n_treated:]])


def ordinal(text: str, freq: str) -> int:
    """The ordinal of a period written in the evaluation file (checked by validate)."""
    p = parse_period(text, freq)
    if p is None:
        raise EstimationError(f"synthetic control: '{text}' is not a {freq}")
    return int(p.ordinal)


def synth_panel(spec: SynthAnalysis, frame: pd.DataFrame, *, outcome: str, unit: str, freq: str) -> SynthPanel:
    """The matrices of ``spec`` from the checked long ``frame`` (columns ``unit``, ``t``, ``period``)."""
    names = frame[unit].astype(str)
    treated = spec.treated_units
    donors = spec.donors if spec.donors is not None else tuple(
        sorted(u for u in names.unique() if u not in treated))
    rows = names.isin([*treated, *donors]).to_numpy()
    work = frame.loc[rows].copy()
    work[unit] = names[rows].to_numpy()
    counts = work[outcome].to_numpy(dtype=float)
    if spec.offset is not None:
        exposure = work[spec.offset].to_numpy(dtype=float)
        work[OUTCOME] = counts / exposure * spec.rate_per
    else:
        work[OUTCOME] = counts
    order = [*treated, *donors]
    t = np.sort(work["t"].unique())

    def wide(col: str) -> np.ndarray:
        w = work.pivot(index=unit, columns="t", values=col).reindex(index=order, columns=t)
        return w.to_numpy(dtype=float)

    y = wide(OUTCOME)
    if not np.all(np.isfinite(y)):
        i, j = np.argwhere(~np.isfinite(y))[0]
        raise EstimationError(f"synthetic control: unit '{order[i]}' has no value of the outcome in period "
                              f"{pd.Period(ordinal=int(t[j]), freq=work['period'].iloc[0].freq)}")
    periods = tuple(work.drop_duplicates("t").sort_values("t")["period"])
    labels = tuple(str(p) for p in periods)
    t0 = int(np.searchsorted(t, ordinal(spec.intervention, freq)))
    return SynthPanel(
        y=y, counts=wide(outcome), exposure=None if spec.offset is None else wide(spec.offset),
        treated=treated, donors=tuple(donors), t=t, labels=labels, periods=periods, t0=t0, frame=work,
        rate_per=spec.rate_per if spec.offset is not None else None,
    )


def predictor_specs(spec: SynthAnalysis, panel: SynthPanel, outcome: str, freq: str,
                    before: int | None = None) -> list[PredictorSpec] | None:
    """The YAML predictors as windows of period ordinals (None: the default outcome path).

    A predictor on the indicator's own column uses the outcome as analysed (the rate, with an
    offset). ``before`` (a column index) clips every window to the periods before it, for the
    placebo in time; windows left empty are dropped, and None is returned when none is left.
    """
    if spec.predictors is None:
        return None
    limit = panel.t[before] if before is not None else None
    out = []
    for p in spec.predictors:
        lo, hi = ordinal(p.from_, freq), ordinal(p.to, freq)
        periods = tuple(int(x) for x in panel.t if lo <= x <= hi and (limit is None or x < limit))
        if not periods:
            continue
        column = OUTCOME if p.column == outcome else p.column
        out.append(PredictorSpec(column, periods, f"{p.column} {p.from_} to {p.to}"))
    return out or None


def fit_columns(spec: SynthAnalysis, panel: SynthPanel, freq: str) -> Sequence[int]:
    """Column indices of the fit periods (``fit_from`` .. ``fit_to``, default every pre-period)."""
    lo = ordinal(spec.fit_from, freq) if spec.fit_from else int(panel.t[0])
    hi = ordinal(spec.fit_to, freq) if spec.fit_to else int(panel.t[panel.t0 - 1])
    cols = [j for j in range(panel.t0) if lo <= panel.t[j] <= hi]
    if not cols:
        raise EstimationError("synthetic control: no pre-period lies between fit_from and fit_to")
    return cols
