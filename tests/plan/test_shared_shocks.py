"""Panels whose treated areas share shocks: the plan sees it in the pre-period and keeps it.

Treated areas in one region often move together (a regional campaign, the weather, a
reorganisation) while the comparison areas do not. The period effects do not absorb such
shocks, so the DiD estimate is far noisier than independent areas imply, and a plan that
resampled each area on its own would promise power the analysis does not have. The truth
here is the declared analysis fitted to fresh panels from the data-generating process itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import preveval as pv
from preveval.plan.designs import Planned, simulator_for
from preveval.plan.engine import thresholds_for
from preveval.plan.power import power_at

N_T, N_C, N_PRE, N_POST = 8, 16, 20, 4
TWFE = {"id": "did-y", "method": "did", "indicator": "y", "design": "twfe", "treatment": "active"}


def panel(rng: np.random.Generator, shared_sd: float, effect: float = 0.0) -> pd.DataFrame:
    """Annual panel: unit effects, a shock the treated areas share (sd ``shared_sd``), own noise (sd 1)."""
    years = np.arange(2000, 2000 + N_PRE + N_POST)
    region = shared_sd * rng.standard_normal(len(years))
    rows = []
    for i in range(N_T + N_C):
        treated = i < N_T
        alpha = rng.normal(20, 3)
        own = rng.standard_normal(len(years))
        for k, yr in enumerate(years):
            active = int(treated and k >= N_PRE)
            y = alpha + 0.3 * k + (region[k] if treated else 0.0) + own[k] + effect * active
            rows.append({"unit": f"area-{i:02d}", "year": str(yr), "y": float(y), "active": active})
    return pd.DataFrame(rows)


def evaluation(frame: pd.DataFrame) -> pv.Evaluation:
    spec = {"schema_version": 1, "initiative": {"id": "shocks", "name": "Shocks"},
            "indicators": [{"id": "y", "label": "Incidents", "column": "y", "kind": "continuous"}],
            "data": {"time": "year", "frequency": "year", "unit": "unit"}, "analyses": [TWFE]}
    return pv.from_dict(spec, frame)


def true_power(shared_sd: float, effect: float, n: int) -> float:
    """Share of fresh panels from the data-generating process in which the analysis detects ``effect``."""
    from preveval.methods.did import fit_did

    rng = np.random.default_rng(99)
    hits = 0
    for _ in range(n):
        ev = evaluation(panel(rng, shared_sd, -effect))
        e = fit_did(ev.spec.analyses[0], ev.frame, outcome="y", unit="unit", time="t").effect
        hits += int(e.estimate < 0 and e.ci_high is not None and e.ci_high < 0)
    return hits / n


def planned_power(ev: pv.Evaluation, shocks: str, effect: float, n: int) -> tuple[float, Planned]:
    p = simulator_for(ev, ev.spec.analyses[0], shocks=shocks)
    assert isinstance(p, Planned)
    th = np.asarray(thresholds_for(p.simulator, 0, 0, range(n), 5, p.direction, p.guess))
    return power_at(th, effect), p


def test_auto_finds_shared_shocks_and_its_power_is_the_true_one() -> None:
    ev = evaluation(panel(np.random.default_rng(1), shared_sd=2.5))
    effect, n = 1.0, 200
    auto, p = planned_power(ev, "auto", effect, n)
    assert p.shocks == "shared" and p.shock_ratio is not None and p.shock_ratio > 5
    assert "the shocks the areas share kept" in p.simulator.describe()
    independent, q = planned_power(ev, "independent", effect, n)
    assert q.shocks == "independent"
    truth = true_power(2.5, effect, n)
    # independent areas promise power the analysis does not have; shared shocks give the truth
    assert independent > truth + 0.15, (independent, truth)
    assert abs(auto - truth) < 0.1, (auto, truth)
    # and only shared shocks show that unit-clustered errors reject a true "no effect" too often
    false_auto, _ = planned_power(ev, "auto", 0.0, n)
    false_independent, _ = planned_power(ev, "independent", 0.0, n)
    false_truth = true_power(2.5, 0.0, n)
    assert false_truth > 0.2 and false_auto > 0.1 and false_independent < 0.05, (false_truth, false_auto,
                                                                                false_independent)


def test_auto_keeps_areas_independent_when_the_pre_period_shows_no_shared_shocks() -> None:
    ev = evaluation(panel(np.random.default_rng(2), shared_sd=0.0))
    p = simulator_for(ev, ev.spec.analyses[0])
    assert isinstance(p, Planned) and p.shocks == "independent"
    assert p.shock_ratio is not None and p.shock_ratio < 2
    forced = simulator_for(ev, ev.spec.analyses[0], shocks="shared")
    assert isinstance(forced, Planned) and forced.shocks == "shared"


@pytest.mark.parametrize("n_pre", [4, 3])
def test_too_few_pre_period_blocks_never_share(n_pre: int) -> None:
    frame = panel(np.random.default_rng(1), shared_sd=3.0)
    keep = frame["year"].astype(int) >= 2000 + N_PRE - n_pre
    ev = evaluation(frame[keep].reset_index(drop=True))
    p = simulator_for(ev, ev.spec.analyses[0])
    assert isinstance(p, Planned) and p.shocks == "independent"
    sim = dataclasses.replace(p.simulator)
    assert sim.n_blocks == n_pre
