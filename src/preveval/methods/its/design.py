r"""Design matrix of a segmented (interrupted time series) regression, built with numpy.

The columns are built from validated column names, never from formula strings. For a
single series and interventions :math:`k = 1..K` starting at :math:`t_k` (the first active
period, shifted by ``lag`` and ``phase_in``):

.. math::

    g(\mu_t) = \beta_0 + \beta_1\,\mathrm{time}_t
        + \sum_k \big[\delta_k\, 1(t \ge t_k) + \gamma_k\, (t - t_k)\, 1(t \ge t_k)\big]
        + s(t) + z_t^\top \theta \;[+ \log E_t]

with ``time`` = 1, 2, ... from the first period (as in Lopez Bernal et al. 2017),
``level_change`` :math:`\delta_k` the immediate change at :math:`t_k` and ``slope_change``
:math:`\gamma_k` coded 0 at and before :math:`t_k` (DESIGN.md). Seasonality :math:`s(t)` is
Fourier terms :math:`\sin(2\pi j x / P), \cos(2\pi j x / P)` with :math:`x = t + 1`, so that
for monthly Periods (ordinal ``t``) and :math:`P = 12` :math:`x` is congruent to the month
number and the terms equal R's ``tsModel::harmonic(month, K, 12)``; or dummies for
``t mod P`` (the lowest category is the reference); or none.

A controlled ITS stacks the treated and the comparison series (group :math:`G = 1, 0`):

.. math::

    g(\mu_{gt}) = \beta_0 + \beta_1 \mathrm{time} + \sum_k [\delta^c_k L_{kt} + \gamma^c_k S_{kt}]
      + G\,[\alpha_0 + \alpha_1 \mathrm{time} + \sum_k (\delta_k L_{kt} + \gamma_k S_{kt})]
      + s(t) + z^\top\theta

``comparison.level_change`` / ``comparison.slope_change`` are :math:`\delta^c, \gamma^c`
(changes seen in the comparison), ``treated`` / ``treated.time`` the pre-period differences
in level and trend, and ``level_change`` / ``slope_change`` the difference-in-level and
difference-in-slope :math:`\delta, \gamma` — the effect beyond the change in the comparison
(Linden 2015, *Stata Journal* 15(2):480–500; Lopez Bernal, Cummins & Gasparrini 2018,
*Int J Epidemiol* 47(6):2082–2093).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from preveval.errors import DataError, Issue
from preveval.spec.models import ItsAnalysis, Seasonality

__all__ = ["ItsDesign", "build_design", "default_seasonality", "seasonal_columns"]

RESERVED = {"const", "time", "treated", "treated.time"}


@dataclass(frozen=True)
class ItsDesign:
    """A built design: response, regressors and what each row is.

    Rows are the treated series in time order, then (controlled ITS) the comparison series.
    """

    y: np.ndarray
    X: np.ndarray
    terms: tuple[str, ...]
    offset: np.ndarray | None
    exposure: np.ndarray | None
    effect_terms: tuple[str, ...]
    intervention_terms: tuple[str, ...]
    group: np.ndarray
    fit_mask: np.ndarray
    t: np.ndarray
    time: np.ndarray
    starts: dict[str, int]
    t0: dict[str, int]
    link: str
    transform: str
    rate_per: float | None
    seasonal_terms: tuple[str, ...] = field(default=())

    def index(self, term: str) -> int:
        """Column index of ``term``."""
        return self.terms.index(term)

    @property
    def treated(self) -> np.ndarray:
        """Mask of the treated series' rows."""
        return self.group == 1

    def counterfactual_X(self) -> np.ndarray:
        """The design with the effect terms set to 0 (no initiative)."""
        xc = self.X.copy()
        for term in self.effect_terms:
            xc[:, self.index(term)] = 0.0
        return xc


def default_seasonality(ppy: float) -> Seasonality | None:
    """Fourier seasonality with 2 harmonics of the yearly cycle, None for yearly data."""
    if ppy <= 1.5:
        return None
    period = 12.0 if ppy == 12.0 else (4.0 if ppy == 4.0 else ppy)
    return Seasonality(type="fourier", period=period, harmonics=min(2, int(period // 2)))


def seasonal_columns(t: np.ndarray, season: Seasonality | None) -> tuple[np.ndarray, list[str]]:
    """Seasonal regressors for ordinals ``t``: Fourier ``sin1, cos1, ...`` or dummies ``season_k``."""
    if season is None:
        return np.empty((len(t), 0)), []
    if season.type == "fourier":
        x = t.astype(float) + 1.0
        cols, names = [], []
        for j in range(1, season.harmonics + 1):
            cols.append(np.sin(2 * np.pi * j * x / season.period))
            cols.append(np.cos(2 * np.pi * j * x / season.period))
            names += [f"sin{j}", f"cos{j}"]
        return np.column_stack(cols), names
    p = int(season.period)
    cat = np.mod(t.astype(np.int64), p)
    levels = sorted(set(cat.tolist()))[1:]
    if not levels:
        return np.empty((len(t), 0)), []
    return np.column_stack([(cat == c).astype(float) for c in levels]), [f"season_{c + 1}" for c in levels]


def _season_of(spec: ItsAnalysis) -> Seasonality | None:
    return spec.seasonality if isinstance(spec.seasonality, Seasonality) else None


def _block(t: np.ndarray, starts: dict[str, int], impact: str, prefix: str) -> tuple[list[np.ndarray], list[str]]:
    cols, names = [], []
    for iid, s in starts.items():
        p = f"{prefix}{iid}." if iid else prefix
        if impact in ("level", "level_and_slope"):
            cols.append((t >= s).astype(float))
            names.append(f"{p}level_change")
        if impact in ("slope", "level_and_slope"):
            cols.append(np.where(t >= s, t - s, 0).astype(float))
            names.append(f"{p}slope_change")
    return cols, names


def _response(
    spec: ItsAnalysis, y: np.ndarray, exposure: np.ndarray | None, where: str
) -> tuple[np.ndarray, np.ndarray | None, list[Issue]]:
    """Response and log-offset on the model's scale."""
    issues: list[Issue] = []
    off = None
    if spec.family == "gaussian":
        if exposure is not None:
            y = y / exposure * spec.rate_per
        if spec.transform == "log":
            if (y <= 0).any():
                issues.append(
                    Issue(
                        f"{where} has zero or negative values; transform: log needs positive values",
                        path=f"analyses.{spec.id}.transform",
                        hint="use a count family (poisson, quasipoisson, negative_binomial) for counts with zeros",
                    )
                )
            y = np.log(np.where(y > 0, y, np.nan))
    else:
        if (y < 0).any() or not np.allclose(y, np.round(y)):
            issues.append(
                Issue(
                    f"{where} must hold whole non-negative counts for family {spec.family}",
                    path=f"analyses.{spec.id}.family",
                    hint="use family: gaussian for rates or continuous indicators",
                )
            )
        if exposure is not None:
            off = np.log(exposure)
    return y, off, issues


def build_design(
    spec: ItsAnalysis, series: pd.DataFrame, *, outcome: str, interventions: dict[str, int]
) -> ItsDesign:
    """Build the ITS design matrix from the series of :func:`build_its_series`.

    Parameters
    ----------
    spec : ItsAnalysis
    series : DataFrame
        One row per period with ``period``, ``t``, the outcome, offset and covariates.
    outcome : str
        The outcome column.
    interventions : dict
        Intervention id (``""`` for a single one) to the ordinal of its first active period.

    Returns
    -------
    ItsDesign

    Raises
    ------
    DataError
        An intervention outside the data, too few periods, or values unusable by the family.
    """
    s = series.sort_values("t").reset_index(drop=True)
    t = s["t"].to_numpy(dtype=np.int64)
    issues: list[Issue] = []
    path = f"analyses.{spec.id}." + ("interventions" if spec.interventions else "intervention")
    for iid, t0 in interventions.items():
        name = f"intervention '{iid}'" if iid else "the intervention"
        if t0 <= t.min() or t0 > t.max():
            issues.append(
                Issue(
                    f"{name} starts at a period that is not inside the data (there must be periods before and from it)",
                    path=path,
                    hint=f"the data run from {s['period'].iloc[0]} to {s['period'].iloc[-1]}",
                )
            )
    bad_cov = [c for c in spec.covariates if c in RESERVED or c.endswith(("level_change", "slope_change"))]
    for c in bad_cov:
        issues.append(Issue(f"covariate name '{c}' clashes with a model term", path=f"analyses.{spec.id}.covariates", hint="rename the column"))
    if issues:
        raise DataError(issues)

    starts = {k: v + spec.lag + spec.phase_in for k, v in interventions.items()}
    excl = np.zeros(len(t), dtype=bool)
    for k, v in interventions.items():
        excl |= (t >= v + spec.lag) & (t < starts[k])
    time = (t - t.min() + 1).astype(float)
    season = _season_of(spec)
    scols, snames = seasonal_columns(t, season)
    exposure = s[spec.offset].to_numpy(dtype=float) if spec.offset else None
    y, off, iss = _response(spec, s[outcome].to_numpy(dtype=float), exposure, f"outcome '{outcome}'")
    issues += iss
    link = "log" if spec.family != "gaussian" or spec.transform == "log" else "identity"
    cov = [s[c].to_numpy(dtype=float) for c in spec.covariates]

    if spec.comparison is None:
        icols, inames = _block(t, starts, spec.impact, "")
        cols = [np.ones(len(t)), time, *icols, *([scols] if snames else []), *cov]
        X = np.column_stack(cols)
        terms = ("const", "time", *inames, *snames, *spec.covariates)
        group = np.ones(len(t), dtype=np.int64)
        effect_terms = tuple(inames)
        interv_terms = tuple(inames)
        tt, timet, fit_mask = t, time, ~excl
    else:
        yc, offc, iss = _response(
            spec,
            s["comparison_outcome"].to_numpy(dtype=float),
            s["comparison_offset"].to_numpy(dtype=float) if spec.offset else None,
            "the comparison series",
        )
        issues += iss
        icols, inames = _block(t, starts, spec.impact, "")
        ccols, cnames = _block(t, starts, spec.impact, "comparison.")
        n = len(t)
        one, zero = np.ones(n), np.zeros(n)
        covc = [s[f"comparison.{c}"].to_numpy(dtype=float) for c in spec.covariates]
        top = np.column_stack([one, time, *ccols, one, time, *icols, *([scols] if snames else []), *cov])
        bot = np.column_stack(
            [one, time, *ccols, zero, zero, *[zero for _ in icols], *([scols] if snames else []), *covc]
        )
        X = np.vstack([top, bot])
        terms = ("const", "time", *cnames, "treated", "treated.time", *inames, *snames, *spec.covariates)
        y = np.concatenate([y, yc])
        off = None if off is None else np.concatenate([off, offc])
        exposure = None if exposure is None else np.concatenate([exposure, s["comparison_offset"].to_numpy(dtype=float)])
        group = np.concatenate([np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)])
        effect_terms = tuple(inames)
        interv_terms = tuple(cnames) + tuple(inames)
        tt, timet, fit_mask = np.concatenate([t, t]), np.concatenate([time, time]), np.concatenate([~excl, ~excl])
    if issues:
        raise DataError(issues)
    return ItsDesign(
        y=y,
        X=X,
        terms=tuple(terms),
        offset=off,
        exposure=exposure,
        effect_terms=effect_terms,
        intervention_terms=interv_terms,
        group=group,
        fit_mask=fit_mask,
        t=tt,
        time=timet,
        starts=starts,
        t0=dict(interventions),
        link=link,
        transform=spec.transform,
        rate_per=spec.rate_per if spec.offset else None,
        seasonal_terms=tuple(snames),
    )
