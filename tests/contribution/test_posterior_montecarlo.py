"""Seeded Monte Carlo of the contribution posterior from analysis evidence.

With a design that has power at the plausible effect, the posterior's median rises above the
prior when the true effect is of the plausible size and falls below it when there is no
effect. With an underpowered design (one treated area) it stays near the prior either way:
an underpowered test can make the claim neither likely nor unlikely.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from preveval.contribution import assess_contribution
from preveval.methods.did import fit_did
from preveval.spec.models import DidAnalysis, EvaluationSpec

pytestmark = pytest.mark.slow

PLAUSIBLE = math.log(0.8)


def panel(n_units: int, n_treated: int, effect: float, seed: int) -> pd.DataFrame:
    """Monthly counts for areas over four years, the treated ones from month 25."""
    rng = np.random.default_rng(seed)
    T = 48
    unit = np.repeat(np.arange(n_units), T)
    t = np.tile(np.arange(T), n_units)
    a = rng.normal(0, 0.3, n_units)[unit]
    g = rng.normal(0, 0.05, T)[t] + 0.15 * np.cos(2 * np.pi * t / 12)
    d = ((unit < n_treated) & (t >= 24)).astype(float)
    mu = np.exp(np.log(30.0) + a + g + effect * d)
    k = 1 / 0.05
    y = rng.negative_binomial(k, k / (k + mu)).astype(float)
    return pd.DataFrame({"unit": unit, "period": t, "d": d, "y": y})


SPEC = EvaluationSpec.model_validate({
    "schema_version": 1,
    "initiative": {"id": "mc", "name": "Initiative"},
    "indicators": [{"id": "y", "label": "Events", "column": "y"}],
    "data": {"path": "x.csv", "time": "period", "frequency": "month", "unit": "unit"},
    "analyses": [{"id": "did", "method": "did", "indicator": "y", "treatment": "d", "family": "poisson",
                  "plausible_effect": PLAUSIBLE}],
    "contribution": {"claim": "It helped", "prior": 0.5,
                     "evidence": [{"id": "e", "from_analysis": "did", "p_if_false": 0.05}]},
})


def posteriors(n_units: int, n_treated: int, effect: float, reps: int, inference: str, seed0: int) -> np.ndarray:
    spec = DidAnalysis(id="did", method="did", indicator="y", treatment="d", family="poisson", inference=inference,
                       plausible_effect=PLAUSIBLE)
    out = []
    for r in range(reps):
        res = fit_did(spec, panel(n_units, n_treated, effect, seed0 + r), outcome="y", unit="unit", time="period")
        out.append(assess_contribution(SPEC, {"did": res}).posterior)
    return np.array(out)


def test_posterior_median_rises_under_the_plausible_effect_and_falls_under_none() -> None:
    """20 areas, 10 treated, about 30 events a month each: power about 0.95 at a 20% fall."""
    with_effect = posteriors(20, 10, PLAUSIBLE, 150, "cluster", 1000)
    without = posteriors(20, 10, 0.0, 150, "cluster", 5000)
    print(f"\nmedian posterior: effect {np.median(with_effect):.3f}, none {np.median(without):.3f}")
    assert np.median(with_effect) > 0.5 > np.median(without)
    assert np.mean(with_effect > 0.5) > 0.8 and np.mean(without < 0.5) > 0.8


def test_an_underpowered_design_leaves_the_posterior_near_the_prior() -> None:
    """One treated area of six with randomization inference: the test cannot reach 5%."""
    with_effect = posteriors(6, 1, PLAUSIBLE, 40, "randomization", 9000)
    without = posteriors(6, 1, 0.0, 40, "randomization", 9500)
    both = np.concatenate([with_effect, without])
    print(f"\none treated area: posteriors from {both.min():.3f} to {both.max():.3f}")
    assert np.all(np.abs(both - 0.5) < 0.05)
