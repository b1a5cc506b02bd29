"""Simulated power and MDE against closed forms, within Monte Carlo error.

- Gaussian ITS with white noise: the OLS variance of the level change,
  :math:`\\sigma^2 [(X^\\top X)^{-1}]_{\\delta\\delta}`, and power from the noncentral t with
  the residual degrees of freedom (the analysis' own t interval).
- Two-by-two DiD with clustered errors: the two-sample formula for the difference of the
  treated and control units' before-after changes, with the design effect of unit-year
  shocks, :math:`\\mathrm{Var} = (1/n_T + 1/n_C)\\,\\sigma_M^2 (1/Y_{pre} + 1/Y_{post})`
  where :math:`\\sigma_M^2 = \\sigma_v^2 + \\sigma_w^2/12` is the variance of a unit's yearly
  mean (:math:`\\sigma^2(1/m_{pre}+1/m_{post})(1 + 11\\,\\rho)` in the usual form, with :math:`\\sigma^2` the total variance and
  :math:`\\rho` the intra-cluster-year correlation), and critical values from t with
  :math:`G-1` degrees of freedom (CR1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from plan_data import panel_eval, panel_frame, series_eval
from scipy import optimize, stats

from preveval.plan.designs import Planned, simulator_for
from preveval.plan.engine import thresholds_for
from preveval.plan.power import power_at, summarise


def _mde_nct(se: float, df: float, power: float = 0.8) -> float:
    crit = stats.t.ppf(0.975, df)
    return float(optimize.brentq(lambda m: stats.nct.sf(crit, df, m / se) - power, 1e-9 * se, 20 * se))


def test_gaussian_its_white_noise_matches_the_ols_variance_of_the_level_change() -> None:
    ev = series_eval()
    p = simulator_for(ev, ev.spec.analyses[0])
    assert isinstance(p, Planned)
    sim = dataclasses.replace(p.simulator, phi=np.zeros(1))  # white noise: the closed form's model
    th = np.asarray(thresholds_for(sim, 0, 0, range(400), 11, p.direction, p.guess))
    s = summarise(list(th), None)
    # closed form on the simulator's own design and noise variance
    _, d, _, _ = sim._design(0)
    XtX = np.linalg.inv(d.X.T @ d.X)
    se = math.sqrt(sim.sigma2 * XtX[d.terms.index("level_change"), d.terms.index("level_change")])
    df = len(d.y) - d.X.shape[1]
    mde = _mde_nct(se, df)
    assert s.mde is not None and s.mde_low is not None and s.mde_high is not None
    assert s.mde_low <= mde <= s.mde_high, (s.mde_low, mde, s.mde_high)
    # power at the closed-form MDE is 80% within 3 Monte Carlo standard errors
    assert abs(power_at(th, mde) - 0.8) < 3 * math.sqrt(0.16 / 400)
    # and at half of it, the noncentral t's power
    half = float(stats.nct.sf(stats.t.ppf(0.975, df), df, 0.5 * mde / se))
    assert abs(power_at(th, 0.5 * mde) - half) < 3 * math.sqrt(half * (1 - half) / 400) + 0.01


@pytest.mark.parametrize("sigma_v", [0.0, 0.6], ids=["iid", "clustered"])
def test_two_by_two_did_matches_the_two_sample_formula_with_the_design_effect(sigma_v: float) -> None:
    n_t, n_c, n_periods, start = 15, 30, 72, 48
    frame = panel_frame(n_t, n_c, n_periods, start, sigma_w=1.0, sigma_v=sigma_v)
    ev = panel_eval(frame, {"id": "did", "method": "did", "indicator": "y", "design": "two_by_two",
                            "group": "group", "post": "post", "robustness": False})
    p = simulator_for(ev, ev.spec.analyses[0])
    assert isinstance(p, Planned)
    sim = p.simulator
    assert sim.block == 12 and sim.n_blocks == 4
    n = 300
    th = np.asarray(thresholds_for(sim, 0, 0, range(n), 3, p.direction, p.guess))
    s = summarise(list(th), None)
    # the variance of each unit's yearly mean as the simulator resamples it (the data's own)
    blocks = sim.resid.reshape(len(sim.units), sim.n_blocks, sim.block).mean(axis=2)
    var_m = (blocks ** 2).mean(axis=1)
    treated = np.array([u < f"area-{n_t:02d}" for u in sim.units])
    y_pre, y_post = start // 12, (n_periods - start) // 12
    var = (var_m[treated].sum() / n_t**2 + var_m[~treated].sum() / n_c**2) * (1 / y_pre + 1 / y_post)
    mde = _mde_nct(math.sqrt(var), n_t + n_c - 1)
    assert s.mde is not None and s.mde_low is not None and s.mde_high is not None
    # the CR1 standard error is itself estimated from 45 clusters: allow 3% beyond the
    # Monte Carlo interval for the noncentral-t approximation
    assert s.mde_low * 0.97 <= mde <= s.mde_high * 1.03, (s.mde_low, mde, s.mde_high)
    # and the textbook formula with the true variance components is close (the data's own
    # components are estimated from 4 years per unit)
    true = (1 / n_t + 1 / n_c) * (sigma_v**2 + 1.0 / 12) * (1 / y_pre + 1 / y_post)
    deff = 1 + 11 * sigma_v**2 / (sigma_v**2 + 1.0)
    iid = (1 / n_t + 1 / n_c) * (sigma_v**2 + 1.0) * (1 / start + 1 / (n_periods - start))  # total variance
    assert math.isclose(true, iid * deff, rel_tol=1e-12)
    assert 0.75 < s.mde / _mde_nct(math.sqrt(true), n_t + n_c - 1) < 1.3


def test_panel_frame_helper_marks_the_design() -> None:
    f = panel_frame(2, 3, 24, 12)
    assert isinstance(f, pd.DataFrame) and f["group"].sum() == 2 * 24 and f["active"].sum() == 2 * 12
