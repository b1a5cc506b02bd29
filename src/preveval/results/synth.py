r"""The result record of a synthetic-control analysis (``method: synthetic_control``).

Written by :func:`preveval.methods.synth.fit_synthetic_control`; read by contribution
analysis and the pack. ``effect`` is the average post-period gap (term ``att``, observed
minus synthetic, on the outcome's scale: a rate per ``rate_per`` of the exposure when the
analysis has an offset); ``weights`` maps donors to their weights and ``p_value`` is the
placebo-in-space permutation p-value (contract extension of DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preveval.results.base import AnalysisResult, Diagnostic, Estimate, Prevented, not_json

__all__ = ["NOISE_MARGIN", "LeaveOneDonorOut", "PlaceboInTimeSummary", "SynthResult"]

#: A pre-period misfit up to this multiple of the treated series' own noise is chance, not bias.
NOISE_MARGIN = 1.25


@dataclass(frozen=True)
class PlaceboInTimeSummary:
    """The fake earlier intervention: the gap it finds before the real start (near 0 if all is well)."""

    fake_start: str
    mean_gap: float
    rmspe_pre: float
    rmspe_fake_post: float
    p_value: float | None = None


@dataclass(frozen=True)
class LeaveOneDonorOut:
    """The effect re-estimated without one donor that had weight."""

    donor: str
    estimate: float


@dataclass(frozen=True)
class SynthResult(AnalysisResult):
    """Result of a synthetic-control analysis.

    Beyond :class:`~preveval.results.base.AnalysisResult`: the ``estimator`` (``abadie`` or
    ``sdid``), the ``treated`` unit and its ``donors``, the donor ``weights`` (and for
    ``sdid`` the time weights), the predictor importance ``v`` (``abadie``), pre- and
    post-period RMSPE and their ratio, the placebo ``p_value`` (the rank of the treated
    unit's RMSPE ratio among all units; never below ``min_p_value`` = 1/(donors + 1)),
    ``comparison_estimates`` (``sdid``: the synthetic DiD, synthetic control and DiD
    estimates of the same panel, each with its placebo standard error), ``diagnostics``
    (the placebo in time as a test), the placebo in time and leave-one-donor-out checks, the
    prevented events and, kept out of the JSON, the gap series, the placebo gaps and the
    predictor balance table.
    """

    estimator: str = "abadie"
    treated: tuple[str, ...] = ()
    donors: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    time_weights: dict[str, float] = field(default_factory=dict)
    v: dict[str, float] = field(default_factory=dict)
    rmspe_pre: float | None = None
    rmspe_post: float | None = None
    rmspe_ratio: float | None = None
    #: Period-to-period noise of the treated series before the start, sd(diff)/sqrt(2).
    pre_noise: float | None = None
    p_value: float | None = None
    min_p_value: float | None = None
    n_donors: int = 0
    n_pre: int = 0
    n_post: int = 0
    rate_per: float | None = None
    intervention: str = ""
    comparison_estimates: tuple[Estimate, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    placebo_in_time: PlaceboInTimeSummary | None = None
    leave_one_out: tuple[LeaveOneDonorOut, ...] = ()
    interval_level: float | None = None
    attained_level: float | None = None
    description: str = ""
    prevented: Prevented | None = None
    v_method: str | None = None
    series: Any = not_json()
    placebo_gaps: Any = not_json()
    balance: Any = not_json()

    @property
    def n_treated(self) -> int:
        """Number of treated units (one for ``abadie``)."""
        return len(self.treated)

    def weights_text(self, limit: int = 4) -> str:
        """``62% Aberlor, 38% Kinross`` (the largest weights, rounded to whole percent)."""
        top = sorted(((w, d) for d, w in self.weights.items() if w >= 0.005), reverse=True)
        shown = [f"{round(100 * w):.0f}% {d}" for w, d in top[:limit]]
        more = f" and {len(top) - limit} more" if len(top) > limit else ""
        return ", ".join(shown) + more

