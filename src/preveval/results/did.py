r"""Result records of a difference-in-differences analysis (``method: did``).

Written by :func:`preveval.methods.did.fit_did` and the family's robustness and
prevented-events steps; read by contribution analysis and the pack, which never import the
estimators.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from preveval.results.base import AnalysisResult, Diagnostic, Prevented, Ratio, not_json
from preveval.results.staggered import (
    BaconComparison,
    EstimatorRow,
    PoissonCell,
    StaggeredAggregate,
    StaggeredSensitivity,
    SunAbrahamResult,
)

__all__ = [
    "BootstrapSummary",
    "DidResult",
    "DidRobustness",
    "EventTimeEstimate",
    "GroupTimeEstimate",
    "PretrendTest",
    "RandomizationSummary",
    "RobustnessRow",
]


@dataclass(frozen=True)
class RobustnessRow:
    """One re-fit: what changed and the effect it gave."""

    check: str
    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    note: str = ""

    @property
    def significant(self) -> bool:
        """Whether the 95% interval excludes zero."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class DidRobustness:
    """All robustness re-fits of one DiD analysis and a plain-English reading."""

    placebo_dates: tuple[RobustnessRow, ...]
    placebo_outcomes: tuple[RobustnessRow, ...]
    leave_one_out: tuple[RobustnessRow, ...]
    reading: tuple[str, ...]
    first_start: int | None = None
    trends: pd.DataFrame = not_json(default=None)

    def table(self) -> pd.DataFrame:
        """Every re-fit as one tidy frame."""
        rows = [*self.placebo_dates, *self.placebo_outcomes, *self.leave_one_out]
        return pd.DataFrame([vars(r) for r in rows],
                            columns=["check", "label", "estimate", "ci_low", "ci_high", "p_value", "note"])


@dataclass(frozen=True)
class EventTimeEstimate:
    """One event-study coefficient: effect ``rel_time`` periods after first treatment.

    ``binned`` marks an endpoint bin (all relative times at or beyond it); the reference
    period (-1) is reported with estimate 0 and ``reference=True``.
    """

    rel_time: int
    estimate: float
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_treated: int
    binned: bool = False
    reference: bool = False


@dataclass(frozen=True)
class GroupTimeEstimate:
    """A Callaway–Sant'Anna group-time ATT(g, t) (``group`` = first treated period)."""

    group: int
    time: int
    estimate: float
    std_error: float | None
    n_treated: int
    n_control: int
    #: The cohort's first treated period and the period, as written in the data.
    group_label: str = ""
    time_label: str = ""


@dataclass(frozen=True)
class PretrendTest(Diagnostic):
    """Joint Wald test that all event-study leads are zero.

    ``statistic`` is the F statistic (``distribution="F"``, denominator ``df_denom``) or
    the chi-squared statistic (``distribution="chi2"``).
    """

    distribution: str = "F"
    df_num: int | None = None
    df_denom: float | None = None
    leads: tuple[int, ...] = ()


@dataclass(frozen=True)
class BootstrapSummary:
    """Wild cluster bootstrap results used for the headline p-value and interval."""

    p_value: float
    ci_low: float
    ci_high: float
    t_stat: float
    reps: int
    weights_type: str


@dataclass(frozen=True)
class RandomizationSummary:
    """Randomization (permutation) inference used for the headline p-value and interval.

    ``n_assignments`` re-assignments of the treated units' treatment paths (all of them when
    ``enumerated``), so the p-value cannot be smaller than ``min_p_value``; infinite interval
    limits (null in results.json) mean no effect size that far could be ruled out.
    """

    p_value: float
    ci_low: float
    ci_high: float
    statistic: str
    n_assignments: int
    enumerated: bool
    min_p_value: float
    n_treated_units: int
    n_units: int
    #: The interval reaches the bounds of the search (Poisson: rate ratios 1/1000 and 1000).
    at_search_limit: bool = False


@dataclass(frozen=True)
class DidResult(AnalysisResult):
    """Result of a difference-in-differences analysis.

    ``effect`` is the average treatment effect on the treated (term ``att``); on the log
    scale for Poisson, with ``ratio``/``rate_ratio`` its exponential. ``df_resid`` is the
    t degrees of freedom of the intervals (``None`` when normal quantiles are used).
    """

    design: str = "twfe"
    family: str = "gaussian"
    inference: str = "cluster"
    se_type: str = "CR1"
    df_resid: float | None = None
    n_clusters: int | None = None
    n_units: int | None = None
    n_periods: int | None = None
    n_treated_units: int | None = None
    n_treated_obs: int | None = None
    staggered: bool = False
    control: str | None = None
    rate_ratio: Ratio | None = None
    pretrend_test: PretrendTest | None = None
    bootstrap: BootstrapSummary | None = None
    randomization: RandomizationSummary | None = None
    #: Treated clusters: with fewer than about 6, cluster-robust and wild-bootstrap
    #: inference are unreliable (MacKinnon & Webb 2017, 2018).
    n_treated_clusters: int | None = None
    description: str = ""
    event_study: tuple[EventTimeEstimate, ...] = not_json(default=())
    group_time: tuple[GroupTimeEstimate, ...] = not_json(default=())
    #: Robustness re-fits (placebo dates and outcomes, leave-one-unit-out, trends).
    robustness: DidRobustness | None = None
    #: Events prevented in the treated units (count indicators).
    prevented: Prevented | None = None
    #: Staggered designs: the Callaway & Sant'Anna aggregations by kind (``dynamic``,
    #: ``group``, ``calendar``); the dynamic rows carry the uniform band.
    aggregations: dict[str, StaggeredAggregate] | None = None
    #: Staggered designs: the Goodman-Bacon decomposition of the TWFE estimate (weights sum to 1).
    bacon: tuple[BaconComparison, ...] | None = None
    #: Staggered designs: Rambachan & Roth sensitivity to violations of parallel trends.
    sensitivity: StaggeredSensitivity | None = None
    #: Staggered designs: the Sun & Abraham interaction-weighted event study.
    sun_abraham: SunAbrahamResult | None = None
    #: Staggered designs: TWFE, Callaway & Sant'Anna and Sun & Abraham side by side.
    estimators: tuple[EstimatorRow, ...] = ()
    #: Staggered designs: what the comparisons left out, and why.
    staggered_notes: tuple[str, ...] = ()
    #: Staggered counts (family poisson): the cohort x period rate ratios (a table in the pack).
    poisson_cells: tuple[PoissonCell, ...] = not_json(default=())

    def event_study_table(self) -> pd.DataFrame:
        """Event-study coefficients as a tidy frame (one row per relative period)."""
        cols = [f for f in EventTimeEstimate.__dataclass_fields__]
        return pd.DataFrame([vars(e) for e in self.event_study], columns=cols)

    def group_time_table(self) -> pd.DataFrame:
        """Group-time ATTs (staggered design) as a tidy frame."""
        cols = [f for f in GroupTimeEstimate.__dataclass_fields__]
        return pd.DataFrame([vars(e) for e in self.group_time], columns=cols)
