"""Randomization inference for DiD with few treated units, checked by brute force."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from preveval.inference.fe_structure import fe_codes
from preveval.inference.fixed_effects import fit_feols
from preveval.inference.ppml import fit_fepois
from preveval.inference.randomization import randomization_test
from preveval.methods.did import fit_did
from preveval.spec.models import DidAnalysis


def panel(n_units: int, n_treated: int, T: int = 12, effect: float = 0.0, seed: int = 0,
          counts: bool = False, staggered: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), T)
    t = np.tile(np.arange(T), n_units)
    start = np.where(np.arange(n_units) < n_treated, T // 2, 10**6)
    if staggered:
        start = np.where(np.arange(n_units) < n_treated, T // 2 - (np.arange(n_units) % 2), 10**6)
    d = (t >= start[unit]).astype(float)
    a = rng.normal(0, 1, n_units)[unit]
    g = rng.normal(0, 0.5, T)[t]
    if counts:
        y = rng.poisson(np.exp(2.0 + 0.3 * a + g + effect * d)).astype(float)
    else:
        y = 3.0 + a + g + effect * d + rng.normal(0, 1, unit.size)
    return pd.DataFrame({"unit": unit, "t": t, "d": d, "y": y, "x": rng.normal(size=unit.size)})


def _twfe(df: pd.DataFrame, treat: np.ndarray) -> float:
    fit = fit_feols(df["y"].to_numpy(), np.column_stack([treat, df["x"].to_numpy()]), ["d", "x"],
                    [fe_codes(df["unit"]), fe_codes(df["t"])], vcov="classical")
    return float(fit.coef[0])


def _run(df: pd.DataFrame, estimate: float, **kw):
    return randomization_test(df["y"].to_numpy(), df["d"].to_numpy(), df[["x"]].to_numpy(),
                              [fe_codes(df["unit"]), fe_codes(df["t"])], df["unit"].to_numpy(), df["t"].to_numpy(),
                              estimate=estimate, scale=0.3, **kw)


def test_p_value_is_the_share_of_reassignments_by_brute_force() -> None:
    df = panel(10, 3, seed=1, effect=0.8)
    est = _twfe(df, df["d"].to_numpy())
    res = _run(df, est, reps=9999)
    assert res.enumerated and res.n_assignments == math.comb(10, 3) and res.min_p_value == 1 / 120
    post = (df["t"] >= 6).to_numpy()
    stats = [_twfe(df, (np.isin(df["unit"], list(c)) & post).astype(float)) for c in combinations(range(10), 3)]
    assert res.p_value == pytest.approx(np.mean(np.abs(stats) >= abs(est) * (1 - 1e-10)))


def test_interval_inverts_the_test() -> None:
    df = panel(10, 3, seed=2, effect=0.8)
    est = _twfe(df, df["d"].to_numpy())
    res = _run(df, est, reps=9999)
    assert res.ci_low < est < res.ci_high

    def p_at(tau0: float) -> float:
        shifted = df.assign(y=df["y"] - tau0 * df["d"])
        post = (df["t"] >= 6).to_numpy()
        obs = _twfe(shifted, df["d"].to_numpy())
        stats = [_twfe(shifted, (np.isin(df["unit"], list(c)) & post).astype(float)) for c in combinations(range(10), 3)]
        return float(np.mean(np.abs(stats) >= abs(obs) * (1 - 1e-10)))

    eps = 1e-4
    for bound, out in ((res.ci_low, -1), (res.ci_high, 1)):
        assert p_at(bound - out * eps) >= 0.05 > p_at(bound + out * eps)


def test_one_treated_area_can_never_reach_five_percent() -> None:
    df = panel(6, 1, seed=3, effect=5.0)
    res = _run(df, _twfe(df, df["d"].to_numpy()), reps=9999)
    assert res.n_assignments == 6 and res.min_p_value == pytest.approx(1 / 6)
    assert res.p_value >= 1 / 6
    assert res.ci_low == -math.inf and res.ci_high == math.inf


def test_staggered_paths_are_permuted_not_combined() -> None:
    df = panel(7, 2, seed=4, staggered=True)
    res = _run(df, _twfe(df, df["d"].to_numpy()), reps=9999)
    assert res.enumerated and res.n_assignments == 7 * 6


def test_sampled_assignments_are_seeded() -> None:
    df = panel(30, 10, seed=5)
    est = _twfe(df, df["d"].to_numpy())
    a, b = _run(df, est, reps=199, seed=9), _run(df, est, reps=199, seed=9)
    assert not a.enumerated and a.n_assignments == 200 and a == b


def test_poisson_score_p_value_by_brute_force() -> None:
    df = panel(8, 2, seed=6, counts=True, effect=0.4)
    y, d = df["y"].to_numpy(), df["d"].to_numpy()
    fe = [fe_codes(df["unit"]), fe_codes(df["t"])]
    fit = fit_fepois(y, np.column_stack([d]), ["d"], fe, vcov="classical")
    res = randomization_test(y, d, np.zeros((len(y), 0)), fe, df["unit"].to_numpy(), df["t"].to_numpy(),
                             estimate=float(fit.coef[0]), scale=float(fit.cov.std_errors[0]), family="poisson")
    r0 = fit_fepois(y, np.zeros((len(y), 0)), [], fe, vcov="classical")
    mu = r0.weights

    from preveval.inference.fixed_effects import demean

    def score(treat: np.ndarray) -> float:
        td = demean(treat[:, None], fe, mu, tol=1e-11)[0][:, 0]
        return float(td @ (y - mu))

    post = (df["t"] >= 6).to_numpy()
    obs = score(d)
    others = [score((np.isin(df["unit"], list(c)) & post).astype(float)) for c in combinations(range(8), 2)]
    others.remove(min(others, key=lambda s: abs(s - obs)))  # the observed assignment
    expect = (1 + np.sum(np.abs(others) >= abs(obs) * (1 - 1e-10))) / (len(others) + 1)
    assert res.p_value == pytest.approx(expect)
    assert res.ci_low < fit.coef[0] < res.ci_high


def test_did_with_randomization_inference_reports_one_inference() -> None:
    df = panel(8, 2, seed=7, effect=1.0).rename(columns={"t": "period"})
    spec = DidAnalysis(id="ri", method="did", indicator="y", design="twfe", treatment="d", inference="randomization",
                       covariates=("x",))
    r = fit_did(spec, df, outcome="y", unit="unit", time="period")
    ri = r.randomization
    assert ri is not None and ri.n_assignments == math.comb(8, 2) and ri.enumerated
    assert r.effect.std_error is None and r.effect.interval_method == "randomization"
    assert r.effect.p_value == ri.p_value >= ri.min_p_value
    (cmp,) = r.inference_comparison
    assert cmp.interval_method == "wald_t (CR1)" and cmp.estimate == r.effect.estimate
    assert r.n_treated_clusters == 2 and any("Only 2 areas ran the initiative" in w for w in r.warnings)
    assert r.se_type == "randomization"


@pytest.mark.slow
def test_coverage_under_a_constant_effect() -> None:
    """Exact under a constant additive effect: 300 panels of 16 units, 4 treated (1,820
    assignments, 999 drawn) cover the true effect 93-97% of the time."""
    hits = 0
    sims = 300
    for r in range(sims):
        df = panel(16, 4, seed=500 + r, effect=1.0)
        est = _twfe(df, df["d"].to_numpy())
        res = _run(df, est, reps=999, seed=r)
        hits += res.ci_low <= 1.0 <= res.ci_high
    print(f"\nrandomization interval coverage {hits / sims:.3f}")
    assert 0.93 <= hits / sims <= 0.97
