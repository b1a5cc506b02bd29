r"""Result records of the staggered-adoption tools (plain numbers; read by the pack, never fitted here).

* :class:`StaggeredAggregate` and :class:`AggregateRow`: Callaway & Sant'Anna ATT(g, t)
  aggregated as R ``did::aggte`` (``simple``, ``dynamic``, ``group``, ``calendar``), with
  pointwise intervals and, under the multiplier bootstrap (:class:`MultiplierBootstrap`),
  simultaneous bands;
* :class:`SunAbrahamResult`: the interaction-weighted event study of Sun & Abraham (2021);
* :class:`BaconDecomposition` and :class:`BaconComparison`: the Goodman-Bacon (2021)
  decomposition of the two-way fixed-effects estimate;
* :class:`HonestSensitivity`, :class:`HonestRow`: Rambachan & Roth (2023) robust intervals
  over a grid of restrictions and the breakdown value;
* :class:`PoissonStaggeredResult`: Wooldridge (2023) extended TWFE Poisson (ratio scale);
* :class:`StaggeredSensitivity` and :class:`EstimatorRow`: what a staggered analysis adds to
  its :class:`~preveval.results.did.DidResult` (``sensitivity``, ``estimators``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import pandas as pd

from preveval.results.base import Estimate, Prevented, Ratio

__all__ = [
    "AggregateRow",
    "BaconComparison",
    "BaconDecomposition",
    "EstimatorRow",
    "HonestRow",
    "HonestSensitivity",
    "MultiplierBootstrap",
    "PoissonCell",
    "PoissonStaggeredResult",
    "StaggeredSensitivity",
    "StaggeredAggregate",
    "SunAbrahamResult",
    "SunAbrahamRow",
]


def _frame(rows: tuple, cls: type) -> pd.DataFrame:
    cols = [f.name for f in fields(cls)]
    return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows], columns=cols)


@dataclass(frozen=True)
class MultiplierBootstrap:
    """How a multiplier bootstrap was run (R ``did``: ``bstrap = TRUE, cband = TRUE``).

    ``critical_value`` is the sup-t critical value of the simultaneous band over the rows
    (the :math:`1-\\alpha` quantile of :math:`\\max_k |\\hat Z^*_k| / \\hat\\sigma_k`);
    ``pointwise_fallback`` is true when it came out below the normal quantile and the
    pointwise value was used instead, as R ``did`` does.
    """

    reps: int
    weights_type: str
    seed: int
    level: float
    critical_value: float
    n_clusters: int
    pointwise_fallback: bool = False


@dataclass(frozen=True)
class AggregateRow:
    """One aggregated effect: an event time :math:`e`, a cohort :math:`g` or a calendar period :math:`t`.

    ``ci_low``/``ci_high``: pointwise 95% interval; ``band_low``/``band_high``: the
    simultaneous band (the bootstrap sup-t critical value; equal to the pointwise interval
    under analytic inference). ``weights`` are the cohort shares given to its ATT(g, t).
    """

    key: int
    label: str
    estimate: float
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    band_low: float | None
    band_high: float | None
    n_cells: int


@dataclass(frozen=True)
class StaggeredAggregate:
    """ATT(g, t) aggregated one way (R ``did::aggte(type = kind)``).

    ``overall`` is the summary effect (``simple``: cohort-share-weighted post cells;
    ``dynamic``: mean of the event-time effects :math:`e \\ge 0`; ``group``:
    cohort-share-weighted cohort effects; ``calendar``: mean of the period effects);
    ``rows`` the effects it summarises. ``inference``: ``analytic`` (influence-function
    standard errors, R ``bstrap = FALSE``) or ``multiplier_bootstrap``.
    """

    kind: Literal["simple", "dynamic", "group", "calendar"]
    overall: Estimate
    rows: tuple[AggregateRow, ...]
    critical_value: float
    band: Literal["pointwise", "uniform"]
    inference: Literal["analytic", "multiplier_bootstrap"]
    min_e: float | None = None
    max_e: float | None = None
    balance_e: int | None = None
    bootstrap: MultiplierBootstrap | None = None

    def table(self) -> pd.DataFrame:
        """The rows as a tidy frame."""
        return _frame(self.rows, AggregateRow)


@dataclass(frozen=True)
class SunAbrahamRow:
    """One interaction-weighted event-time effect :math:`\\hat v_\\ell` (Sun & Abraham 2021, eq. 29).

    ``std_error`` includes the estimation of the cohort shares (their Proposition 6);
    ``std_error_fixed_weights`` treats the shares as known (as ``fixest::sunab``).
    """

    rel_time: int
    estimate: float
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    std_error_fixed_weights: float | None = None
    reference: bool = False


@dataclass(frozen=True)
class SunAbrahamResult:
    """Sun & Abraham (2021) interaction-weighted event study.

    ``rows``: the event-time effects (reference period(s) with estimate 0);
    ``cohort_effects``: the cohort x relative-time coefficients :math:`\\hat\\delta_{e,\\ell}`
    (terms ``cohort::rel``); ``weights``: a frame of the cohort shares
    :math:`\\widehat{\\Pr}(E_i = e \\mid E_i \\in [-\\ell, T-\\ell])` with their standard errors;
    ``att``: the average of the post-period effects weighted by treated observations.
    """

    rows: tuple[SunAbrahamRow, ...]
    cohort_effects: tuple[Estimate, ...]
    att: Estimate
    control_cohort: str
    n_obs: int
    n_clusters: int
    weights: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """Event-time effects as a tidy frame."""
        return _frame(self.rows, SunAbrahamRow)


@dataclass(frozen=True)
class BaconComparison:
    """One two-by-two comparison of the Goodman-Bacon decomposition (eq. 10a-10e).

    ``type``: ``treated_vs_never`` (a timing group against never-treated units, or units
    treated throughout, eq. 10a), ``earlier_vs_later`` (earlier-treated against
    later-treated before those start, eq. 10b) or ``later_vs_earlier`` (later-treated
    against already-treated earlier units, eq. 10c: the "forbidden" comparison).
    """

    treated: str
    control: str
    type: Literal["treated_vs_never", "earlier_vs_later", "later_vs_earlier", "treated_vs_always"]
    estimate: float
    weight: float


@dataclass(frozen=True)
class BaconDecomposition:
    """The TWFE estimate as a weighted sum of two-by-two DiD comparisons (Goodman-Bacon 2021, Theorem 1)."""

    twfe: float
    comparisons: tuple[BaconComparison, ...]

    @property
    def weighted_sum(self) -> float:
        """:math:`\\sum_k s_k \\hat\\beta_k` (equals ``twfe``)."""
        return float(sum(c.weight * c.estimate for c in self.comparisons))

    def table(self) -> pd.DataFrame:
        """Every comparison as a tidy frame."""
        return _frame(self.comparisons, BaconComparison)

    def summary(self) -> pd.DataFrame:
        """Weight and weighted-average estimate by type of comparison (as ``bacondecomp::bacon_summary``)."""
        t = self.table()
        g = t.assign(we=t["weight"] * t["estimate"]).groupby("type", sort=True)
        out = g[["weight", "we"]].sum()
        out["avg_est"] = out["we"] / out["weight"]
        return out.drop(columns="we").reset_index()


@dataclass(frozen=True)
class HonestRow:
    """The robust interval for one value of the restriction's parameter (:math:`\\bar M` or :math:`M`)."""

    m: float
    ci_low: float
    ci_high: float
    method: str

    @property
    def excludes_zero(self) -> bool:
        """Whether the robust interval lies wholly on one side of zero."""
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True)
class HonestSensitivity:
    """Rambachan & Roth (2023) sensitivity of an event-study target to violations of parallel trends.

    ``restriction``: ``relative_magnitude`` (post-period violations at most :math:`\\bar M`
    times the largest pre-period one, :math:`\\Delta^{RM}(\\bar M)`) or ``smoothness``
    (the slope of the trend changes by at most :math:`M` per period, :math:`\\Delta^{SD}(M)`);
    ``target``: the weights :math:`l` of the post-period effects; ``original``: the usual
    interval; ``rows``: robust intervals over the grid; ``breakdown``: the largest grid
    value whose robust interval still excludes zero (None if even the smallest does not,
    with ``breakdown_note`` saying so).
    """

    restriction: Literal["relative_magnitude", "smoothness"]
    target: tuple[float, ...]
    estimate: float
    original: tuple[float, float]
    rows: tuple[HonestRow, ...]
    breakdown: float | None
    breakdown_note: str
    level: float = 0.95

    def table(self) -> pd.DataFrame:
        """The robust intervals as a tidy frame."""
        return _frame(self.rows, HonestRow)


@dataclass(frozen=True)
class PoissonCell:
    """A cohort x period effect of the extended TWFE Poisson: :math:`\\tau_{gt}` on the log scale."""

    group: int
    time: int
    group_label: str
    time_label: str
    log_ratio: Estimate
    rate_ratio: Ratio
    n_treated: int


@dataclass(frozen=True)
class PoissonStaggeredResult:
    """Wooldridge (2023) extended two-way fixed-effects Poisson for a staggered roll-out.

    ``cells``: :math:`\\tau_{gt}` for every treated cohort and period :math:`t \\ge g`;
    ``effect``: the overall log rate ratio (expected-count-weighted average of the cells,
    delta method, clustered by unit), ``ratio`` its exponential; ``att_count``: the average
    effect on the treated on the count scale (events per treated unit-period);
    ``prevented``: events prevented in the treated cells (expected without the initiative
    minus observed).
    """

    effect: Estimate
    ratio: Ratio
    att_count: Estimate
    cells: tuple[PoissonCell, ...]
    expected_untreated: float
    observed: float
    prevented: Prevented | None
    fixed_effects: str
    n_obs: int
    n_clusters: int
    #: Time-varying covariates' coefficients (log scale; ``exp`` is each one's rate ratio).
    covariates: tuple[Estimate, ...] = ()
    #: Covariates left out as collinear with the fixed effects and cells.
    dropped: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """The cohort x period effects as a tidy frame."""
        return pd.DataFrame([{"group": c.group, "time": c.time, "group_label": c.group_label,
                              "time_label": c.time_label, "log_ratio": c.log_ratio.estimate,
                              "std_error": c.log_ratio.std_error, "rate_ratio": c.rate_ratio.estimate,
                              "ci_low": c.rate_ratio.ci_low, "ci_high": c.rate_ratio.ci_high,
                              "n_treated": c.n_treated} for c in self.cells])


@dataclass(frozen=True)
class StaggeredSensitivity:
    """Rambachan & Roth (2023) sensitivity of a staggered analysis (results.json ``sensitivity``).

    ``breakdown``: the largest :math:`\bar M` (relative magnitudes) at which the robust
    95% interval of the target still excludes zero, found by bisection to ``tolerance``
    (None when even :math:`\bar M = 0` does not; ``breakdown_capped`` when it still excludes
    zero at the search's upper end, ``upper``); ``target``: the average of the dynamic
    effects at event times ``0..max_e`` of the Callaway & Sant'Anna event study with the
    universal base period over ``min_e..max_e`` (``event_times``, reference -1 left out);
    ``relative_magnitude`` and ``smoothness``: robust intervals over the grids;
    ``breakdown_smoothness``: the smoothness grid's largest :math:`M` whose interval excludes zero.
    """

    target: str
    estimate: float
    original: tuple[float, float]
    event_times: tuple[int, ...]
    n_pre: int
    breakdown: float | None
    breakdown_capped: bool
    upper: float
    tolerance: float
    relative_magnitude: HonestSensitivity
    smoothness: HonestSensitivity | None
    breakdown_smoothness: float | None
    #: The event study the bounds read: event time, estimate, standard error.
    event_study: tuple[tuple[int, float, float], ...] = ()


@dataclass(frozen=True)
class EstimatorRow:
    """One estimator of the average effect, for the side-by-side comparison (results.json ``estimators``).

    ``estimator``: ``twfe`` (two-way fixed effects, one coefficient), ``callaway_santanna``
    (the simple aggregate of ATT(g, t)) or ``sun_abraham`` (the interaction-weighted
    average of the post-period effects); ``weighting`` says what each averages over.
    """

    estimator: Literal["twfe", "callaway_santanna", "sun_abraham"]
    label: str
    effect: Estimate
    weighting: str
    headline: bool = False
