"""``preveval plan``: the power and minimum detectable effect of every analysis of an evaluation.

:func:`plan_evaluation` takes a loaded (validated) evaluation, builds each analysis'
simulator (:mod:`preveval.plan.designs`), runs the simulations on the available cores
(:mod:`preveval.plan.engine`) for the data's own post period and for each extra year asked
for, and returns a :class:`PlanResult` (plain data; ``to_json`` gives plan.json).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from preveval.plan.designs import DEFAULT_INNER_REPS, NotPlanned, Planned, simulator_for
from preveval.plan.engine import Task, run_tasks
from preveval.plan.link import plan_design
from preveval.plan.power import Summary, summarise
from preveval.results.base import to_plain

__all__ = ["AnalysisPlan", "LengthPoint", "PlanResult", "PlanSettings", "plan_evaluation"]

CHUNK = 5


@dataclass(frozen=True)
class PlanSettings:
    """How many simulations, their seed, the worker processes and the extra post-period years."""

    n_simulations: int = 500
    seed: int = 20240101
    workers: int = 0  # 0: every core (at most 2 by default on a shared machine is the caller's choice)
    inner_reps: int = DEFAULT_INNER_REPS
    extra_years: tuple[int, ...] = (1, 2, 3)
    #: simulations per extra post-period length (default a quarter of ``n_simulations``, at
    #: least 100): the same seeds as the main run, so the fall in the MDE is measured on
    #: common random numbers and needs fewer of them
    length_simulations: int | None = None
    #: panels: "auto" (shared when the pre-period shows the treated areas' shocks moving
    #: together beyond chance), "independent" or "shared" (:mod:`preveval.plan.panel_sim`)
    shocks: str = "auto"

    def n_length(self) -> int:
        """Simulations per extra post-period length."""
        if self.length_simulations is not None:
            return min(self.length_simulations, self.n_simulations)
        return min(self.n_simulations, max(100, self.n_simulations // 4))

    def n_workers(self) -> int:
        """Worker processes to use."""
        return self.workers if self.workers > 0 else max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


@dataclass(frozen=True)
class LengthPoint:
    """The design with ``extra_periods`` more periods of post-period data."""

    extra_periods: int
    extra_years: float
    last_period: str
    n_post: int
    mde: float | None
    mde_ratio: float | None
    power: float | None


@dataclass(frozen=True)
class AnalysisPlan:
    """The plan of one analysis (``status`` ``planned`` or ``not_planned`` with the ``reason``)."""

    id: str
    method: str
    design: str
    title: str
    indicator: str
    status: str
    reason: str | None = None
    scale: str | None = None
    direction: str | None = None
    inference: str | None = None
    plausible_effect: float | None = None
    plausible_ratio: float | None = None
    plausible_source: str | None = None
    mde: float | None = None
    mde_ratio: float | None = None
    mde_mc_interval: tuple[float | None, float | None] | None = None
    power: float | None = None
    power_mc_se: float | None = None
    false_detection: float | None = None
    n_simulations: int = 0
    n_failed: int = 0
    seed: int = 0
    first_period: str | None = None
    start_period: str | None = None
    last_period: str | None = None
    n_pre: int | None = None
    n_post: int | None = None
    periods_per_year: float | None = None
    p_value_floor: float | None = None
    #: before any post-period data: the last period with data (the rest is simulated)
    observed_last_period: str | None = None
    simulation: str | None = None
    #: panels: whether the simulated areas share shocks ("shared") or not ("independent"),
    #: and the pre-period's variance ratio of treated-minus-comparison shocks behind it
    shocks: str | None = None
    shock_ratio: float | None = None
    power_curve: dict[str, list[float | None]] = field(default_factory=dict)
    length_curve: dict[str, list[Any]] = field(default_factory=dict)
    #: each simulation's detection threshold (the smallest effect size it detects), sorted;
    #: simulations that never detect or could not be fitted are left out, so the power at any
    #: size ``m`` is the count of thresholds <= m over ``n_simulations`` (used by
    #: ``contribution.plan``, :mod:`preveval.plan.link`)
    detection_thresholds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class PlanResult:
    """Everything plan.json holds, and the spec and advice the report needs."""

    spec: Any = field(metadata={"json": False})
    settings: PlanSettings
    analyses: dict[str, AnalysisPlan]
    advice: Any = None
    evaluation_sha256: str = ""
    data_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """plan.json as plain data."""
        from preveval import __version__

        s = self.spec
        doc: dict[str, Any] = {
            "schema_version": 1, "preveval_version": __version__,
            "initiative": {"id": s.initiative.id, "name": s.initiative.name},
            "n_simulations": self.settings.n_simulations, "seed": self.settings.seed, "alpha": 0.05,
            "target_power": 0.8, "inner_reps": self.settings.inner_reps,
            "length_simulations": self.settings.n_length(), "shocks": self.settings.shocks,
            "analyses": {k: v for k, v in self.analyses.items()},
        }
        if self.advice is not None:
            doc["advice"] = self.advice.to_dict()
        doc["provenance"] = {"evaluation_sha256": self.evaluation_sha256, "data_sha256": self.data_sha256}
        return to_plain(doc)

    def to_json(self) -> str:
        """plan.json as text: stable key order, no NaN, ends with a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _plausible(ev: Any, a: Any, scale: str, desired: Any) -> tuple[float | None, str | None]:
    from preveval.contribution.verdict import default_plausible_effect

    if a.plausible_effect is not None:
        return float(a.plausible_effect), "declared in the analysis"
    c = ev.spec.contribution
    for item in (c.evidence if c is not None else ()):
        if item.from_analysis == a.id and item.plausible_effect is not None:
            return float(item.plausible_effect), f"declared in evidence item '{item.id}'"
    d = default_plausible_effect(scale, desired)
    return (d, "default: a 10% change") if d is not None else (None, None)


def _ratio(scale: str | None, direction: float, m: float | None) -> float | None:
    return None if m is None or scale != "log" else math.exp(direction * m)


def _period(ordinal: int, freq: str) -> str:
    from preveval.data.periods import FREQUENCIES

    return str(pd.Period(ordinal=int(ordinal), freq=FREQUENCIES[freq]))


def plan_evaluation(ev: Any, settings: PlanSettings | None = None, *,
                    progress: Callable[[int, int], None] | None = None,
                    observed_last: int | None = None) -> PlanResult:
    """Plan every analysis of a loaded evaluation (``preveval.load``).

    ``progress(done, total)`` is called as simulations finish. ``observed_last``: the last
    period with data when the evaluation was loaded with placeholder rows after it
    (:func:`preveval.plan.before_data.load_for_plan`).
    """
    settings = settings or PlanSettings()
    spec = ev.spec
    freq = spec.data.frequency
    built: dict[str, Planned | NotPlanned] = {
        a.id: simulator_for(ev, a, inner_reps=settings.inner_reps, observed_last=observed_last,
                            shocks=settings.shocks)
        for a in spec.analyses}
    sims: dict[int, tuple[Any, float, float]] = {}
    tasks: list[Task] = []
    lengths: dict[int, list[int]] = {}
    for key, a in enumerate(spec.analyses):
        p = built[a.id]
        if not isinstance(p, Planned):
            continue
        lengths[key] = [0, *sorted({int(round(y * p.ppy)) for y in settings.extra_years if y > 0})]
        if not getattr(p.simulator, "supports_extra", True):
            lengths[key] = [0]  # a synthetic control's placebos have only the data's own post period
        p.simulator.max_extra = max(lengths[key])
        cap = getattr(p.simulator, "max_simulations", None)
        sims[key] = (p.simulator, p.direction, p.guess)
        for extra in lengths[key]:
            n = settings.n_simulations if extra == 0 else settings.n_length()
            n = n if cap is None else min(n, cap)
            tasks.extend(Task(key, extra, tuple(range(lo, min(lo + CHUNK, n)))) for lo in range(0, n, CHUNK))
    total = sum(len(t.sims) for t in tasks)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    results = run_tasks(sims, tasks, seed=settings.seed, workers=settings.n_workers(), progress=tick) if tasks else []
    by: dict[tuple[int, int], list[float]] = {}
    for t, r in zip(tasks, results, strict=True):
        by.setdefault((t.key, t.extra), []).extend(r)
    out: dict[str, AnalysisPlan] = {}
    for key, a in enumerate(spec.analyses):
        ind = spec.indicator(a.indicator)
        base = {"id": a.id, "method": a.method, "design": plan_design(a), "title": a.title(ind.label), "indicator": ind.id,
                "seed": settings.seed}
        p = built[a.id]
        if not isinstance(p, Planned):
            out[a.id] = AnalysisPlan(**base, status="not_planned", reason=p.reason)
            continue
        plaus, source = _plausible(ev, a, p.scale, ind.desired)
        if plaus is not None and plaus * p.direction < 0:
            plaus = None
            source = "declared, but pointing away from the expected direction: power not computed"
        main = summarise(by[(key, 0)], plaus)
        curve_points: list[LengthPoint] = []
        for extra in lengths[key]:
            s: Summary = summarise(by[(key, extra)], plaus)
            curve_points.append(LengthPoint(
                extra, extra / p.ppy, _period(p.last + extra, freq), p.n_post + extra, s.mde,
                _ratio(p.scale, p.direction, s.mde),
                s.power))
        n_ok = main.n - main.n_failed
        out[a.id] = AnalysisPlan(
            **base, status="planned", scale=p.scale, direction="decrease" if p.direction < 0 else "increase",
            inference=p.inference, plausible_effect=plaus, plausible_ratio=_ratio(p.scale, 1.0, plaus),
            plausible_source=source, mde=None if main.mde is None else p.direction * main.mde,
            mde_ratio=_ratio(p.scale, p.direction, main.mde),
            mde_mc_interval=(None if main.mde_low is None else p.direction * main.mde_low,
                             None if main.mde_high is None else p.direction * main.mde_high),
            power=main.power,
            power_mc_se=None if main.power is None or n_ok == 0 else math.sqrt(main.power * (1 - main.power) / main.n),
            false_detection=main.false_detection, n_simulations=main.n, n_failed=main.n_failed,
            first_period=_period(int(ev.frame["t"].min()), freq), start_period=_period(p.start, freq),
            last_period=_period(p.last, freq), n_pre=int(p.start - int(ev.frame["t"].min())), n_post=p.n_post,
            periods_per_year=p.ppy, p_value_floor=p.floor, simulation=p.simulator.describe(),
            shocks=p.shocks, shock_ratio=p.shock_ratio,
            observed_last_period=None if observed_last is None else _period(observed_last, freq),
            power_curve={"effect": [p.direction * e for e in main.curve_effect],
                         "ratio": [_ratio(p.scale, p.direction, e) for e in main.curve_effect],
                         "power": list(main.curve_power)},
            length_curve={"extra_periods": [c.extra_periods for c in curve_points],
                          "extra_years": [c.extra_years for c in curve_points],
                          "last_period": [c.last_period for c in curve_points],
                          "n_post": [c.n_post for c in curve_points],
                          "mde": [None if c.mde is None else p.direction * c.mde for c in curve_points],
                          "mde_ratio": [c.mde_ratio for c in curve_points],
                          "power": [c.power for c in curve_points]},
            detection_thresholds=sorted(float(x) for x in by[(key, 0)] if math.isfinite(x)),
        )
    return PlanResult(spec, settings, out, evaluation_sha256=ev.spec_sha256, data_sha256=ev.dataset.sha256)
