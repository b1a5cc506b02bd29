r"""Seeded simulator of interrupted time series with known effects (tests, benchmarks, power).

.. math::

    \eta_t = \beta_0 + \beta_1 \mathrm{time}_t + \delta 1(t \ge t_0) + \gamma (t - t_0)_+
             + A \sin(2\pi\,\mathrm{time}_t / P) [+ \log E_t]

- ``gaussian``: :math:`y_t = \eta_t + u_t`, :math:`u_t` AR(1) with coefficient ``rho`` and
  innovation s.d. ``sigma`` (stationary start).
- ``poisson``: :math:`y_t \sim \text{Poisson}(e^{\eta_t})`.
- ``quasipoisson``: negative binomial with mean :math:`\mu_t = e^{\eta_t}` and variance
  :math:`\phi\mu_t` (``dispersion`` = :math:`\phi`), the quasi-Poisson mean–variance law.
- ``negative_binomial``: NB2 with variance :math:`\mu + \alpha\mu^2` (``alpha``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from preveval.errors import PrevevalError
from preveval.methods.its.design import build_design
from preveval.methods.its.fit import fit_core
from preveval.methods.its.model import fit_its
from preveval.results.base import quantile
from preveval.spec.models import Indicator, ItsAnalysis

__all__ = ["simulate_its"]


def simulate_its(
    n: int = 120,
    *,
    t0_index: int | None = None,
    family: str = "gaussian",
    beta: tuple[float, float, float, float] = (10.0, 0.05, 1.0, 0.0),
    sigma: float = 1.0,
    rho: float = 0.0,
    dispersion: float = 1.0,
    alpha: float = 0.1,
    season_amplitude: float = 0.0,
    season_period: float = 12.0,
    exposure: float | None = None,
    freq: str = "M",
    start: str = "2010-01",
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Simulate one series.

    Parameters
    ----------
    n : int
        Number of periods.
    t0_index : int, optional
        Index of the first intervention period (default n // 2).
    family : str
        ``gaussian``, ``poisson``, ``quasipoisson`` or ``negative_binomial``.
    beta : tuple
        Intercept, trend per period, level change, slope change (linear predictor scale).
    sigma, rho : float
        Gaussian innovation s.d. and AR(1) coefficient.
    dispersion : float
        Quasi-Poisson :math:`\\phi` (> 1 for overdispersion).
    alpha : float
        NB2 dispersion.
    season_amplitude, season_period : float
        A sinusoidal seasonal term.
    exposure : float, optional
        Constant exposure (the column ``pop``); the linear predictor then is a log rate per
        unit of exposure (count families) and ``beta[0]`` should include it.
    freq, start : str
        Period frequency and first period.
    seed : int or Generator

    Returns
    -------
    DataFrame
        ``period``, ``t`` (ordinal), ``y``, ``pop`` (when ``exposure``), ``mu`` (true mean).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    t0 = n // 2 if t0_index is None else t0_index
    periods = pd.period_range(start=start, periods=n, freq=freq)
    i = np.arange(n)
    time = i + 1.0
    eta = beta[0] + beta[1] * time + beta[2] * (i >= t0) + beta[3] * np.where(i >= t0, i - t0, 0)
    eta = eta + season_amplitude * np.sin(2 * np.pi * time / season_period)
    out = pd.DataFrame({"period": periods, "t": [p.ordinal for p in periods]})
    if exposure is not None:
        out["pop"] = float(exposure)
        if family != "gaussian":
            eta = eta + np.log(exposure)
    if family == "gaussian":
        z = rng.standard_normal(n) * sigma
        u = np.empty(n)
        u[0] = z[0] / np.sqrt(1 - rho**2)
        for k in range(1, n):
            u[k] = rho * u[k - 1] + z[k]
        mu = eta
        y = eta + u
    else:
        mu = np.exp(eta)
        if family == "poisson" or (family == "quasipoisson" and dispersion <= 1):
            y = rng.poisson(mu)
        elif family == "quasipoisson":
            y = rng.negative_binomial(mu / (dispersion - 1), 1.0 / dispersion)
        elif family == "negative_binomial":
            y = rng.negative_binomial(1.0 / alpha, 1.0 / (1.0 + alpha * mu))
        else:
            raise ValueError(f"unknown family {family}")
        y = y.astype(float)
    out["y"] = y
    out["mu"] = mu
    return out


SCENARIOS: dict[str, dict[str, Any]] = {
    "quasipoisson": {
        "family": "quasipoisson",
        "beta": (float(np.log(50.0)), 0.002, -0.2, -0.003),
        "dispersion": 2.0,
    },
    "ar1": {"family": "gaussian", "beta": (10.0, 0.05, -1.0, 0.02), "rho": 0.5, "sigma": 1.0},
    "ar1_rho0": {"family": "gaussian", "beta": (10.0, 0.05, -1.0, 0.02), "rho": 0.0, "sigma": 1.0},
    "ar1_rho08": {"family": "gaussian", "beta": (10.0, 0.05, -1.0, 0.02), "rho": 0.8, "sigma": 1.0},
}


def coverage_study(
    scenario: str,
    *,
    n: int,
    reps: int,
    fit_family: str | None = None,
    errors: str = "ols",
    seed: int = 20240101,
    freq: str = "M",
    hac: dict[str, Any] | None = None,
    progress=None,  # noqa: ANN001 - callable(int) called after each replication
) -> dict:
    """Monte Carlo coverage of the 95% CIs of ``level_change`` and ``slope_change``.

    Each replication simulates a series of ``n`` periods (intervention at n // 2) from
    :data:`SCENARIOS` ``[scenario]`` with its own child seed of ``seed`` and fits it with
    :func:`~preveval.methods.its.fit_its` (family ``fit_family``, default the scenario's;
    ``errors``).

    ``hac`` sets ``errors: hac`` options. ``hac_lag`` and ``hac_prewhite`` go into the
    analysis spec. With ``hac_bandwidth`` or ``hac_critical`` (the published variant
    tables were measured this way) the replication is fitted by
    :func:`~preveval.methods.its.fit.fit_core` on the design of
    :func:`~preveval.methods.its.design.build_design` instead, and the interval is formed
    as :func:`fit_its` forms it (t with ``df_resid`` df when ``use_t``, else normal).

    Returns
    -------
    dict
        ``coverage_level``, ``coverage_slope`` (shares of CIs holding the true value),
        ``mc_se`` (Monte Carlo s.e. of a 95% coverage, :math:`\\sqrt{.95 \\cdot .05/R}`),
        ``mean_se_level``, ``sd_level`` (empirical s.d. of the estimates),
        ``mean_q_level`` (mean critical value, CI half-width / SE), ``reps``,
        ``failed`` (replications that could not be fitted), ``hac`` (the options).
    """
    hac = dict(hac or {})
    core_opts: dict[str, Any] = {k: hac.pop(k) for k in ("hac_bandwidth", "hac_critical") if k in hac}

    sc = dict(SCENARIOS[scenario])
    family = sc.pop("family")
    beta = sc["beta"]
    start = {"M": "2000-01", "D": "2020-01-01", "W": "2010-01-04", "Q": "2000Q1"}[freq]
    template = simulate_its(n, family=family, seed=0, freq=freq, start=start, **sc)
    t0 = int(template["t"].iloc[n // 2])
    spec = ItsAnalysis(
        id="mc",
        method="its",
        indicator="y",
        intervention=str(template["period"].iloc[n // 2]),
        family=fit_family or family,
        errors=errors,
        sensitivity=False,
        **hac,
    )
    ind = Indicator(id="y", label="y", column="y", kind="continuous")
    hits_l = hits_s = failed = 0
    est, ses, qs = [], [], []
    for child in np.random.SeedSequence(seed).spawn(reps):
        d = simulate_its(n, family=family, seed=np.random.default_rng(child), freq=freq, start=start, **sc)
        try:
            if core_opts:
                c = _fit_core_estimates(spec, d, t0, core_opts)
            else:
                r = fit_its(spec, d, outcome="y", interventions={"": t0}, indicator=ind)
                c = {e.term: (e.estimate, e.std_error, e.ci_low, e.ci_high) for e in r.coefficients}
        except (PrevevalError, np.linalg.LinAlgError):
            failed += 1
            continue
        lv, sl = c["level_change"], c["slope_change"]
        hits_l += lv[2] <= beta[2] <= lv[3]
        hits_s += sl[2] <= beta[3] <= sl[3]
        est.append(lv[0])
        ses.append(float(np.nan if lv[1] is None else lv[1]))
        qs.append((lv[3] - lv[0]) / ses[-1])
        if progress is not None:
            progress(1)
    ok = reps - failed
    return {
        "scenario": scenario,
        "n": n,
        "family": spec.family,
        "errors": errors,
        "reps": reps,
        "failed": failed,
        "coverage_level": hits_l / ok,
        "coverage_slope": hits_s / ok,
        "mc_se": float(np.sqrt(0.95 * 0.05 / ok)),
        "mean_se_level": float(np.mean(ses)),
        "sd_level": float(np.std(est, ddof=1)),
        "mean_q_level": float(np.mean(qs)),
        "hac": {**hac, **core_opts},
    }


def prevented_coverage_study(
    scenario: str,
    *,
    n: int,
    reps: int,
    errors: str = "ols",
    seed: int = 7,
    progress=None,  # noqa: ANN001 - callable(int) called after each replication
) -> dict:
    """Monte Carlo coverage of the 95% interval of prevented events (``prevented_interval: mean``).

    The target is what the interval is for: the true expected number without the initiative
    over the post period (from the scenario's pre-intervention intercept and trend) minus
    the observed number. Replications, seeds and scenarios as :func:`coverage_study`.
    """
    sc = dict(SCENARIOS[scenario])
    family = sc.pop("family")
    beta = sc["beta"]
    template = simulate_its(n, family=family, seed=0, start="2000-01", **sc)
    spec = ItsAnalysis(
        id="mc", method="its", indicator="y", intervention=str(template["period"].iloc[n // 2]),
        family=family, errors=errors, sensitivity=False, prevented_interval="mean",
    )
    ind = Indicator(id="y", label="y", column="y", kind="count")
    t0 = int(template["t"].iloc[n // 2])
    i = np.arange(n)
    post = i >= n // 2
    eta0 = beta[0] + beta[1] * (i + 1.0)
    mu0 = np.exp(eta0) if family != "gaussian" else eta0
    hits = 0
    crit = []
    for child in np.random.SeedSequence(seed).spawn(reps):
        d = simulate_its(n, family=family, seed=np.random.default_rng(child), start="2000-01", **sc)
        p = fit_its(spec, d, outcome="y", interventions={"": t0}, indicator=ind).prevented
        assert p is not None
        truth = float(mu0[post].sum() - d["y"].to_numpy()[post].sum())
        hits += p.ci_low <= truth <= p.ci_high
        crit.append(np.nan if p.critical_value is None else p.critical_value)
        if progress is not None:
            progress(1)
    return {
        "scenario": scenario, "n": n, "errors": errors, "reps": reps,
        "coverage": hits / reps, "mc_se": float(np.sqrt(0.95 * 0.05 / reps)),
        "mean_critical_value": float(np.nanmean(crit)) if not np.all(np.isnan(crit)) else None,
    }


def _fit_core_estimates(spec: Any, d: pd.DataFrame, t0: int, core_opts: dict[str, Any]) -> dict[str, tuple]:
    """Estimate, SE and 95% CI per term from ``fit_core`` with extra options (as ``fit_its``)."""
    design = build_design(spec, d.sort_values("t").reset_index(drop=True), outcome="y", interventions={"": t0})
    m = design.fit_mask
    off = None if design.offset is None else design.offset[m]
    core = fit_core(spec.family, spec.errors, design.y[m], design.X[m], off, design.terms, hac_lag=spec.hac_lag, hac_prewhite=spec.hac_prewhite, ar_order=spec.ar_order, **core_opts)
    q = quantile(0.975, core.df_resid if core.use_t else None)
    se = np.sqrt(np.diag(core.cov))
    return {t: (float(b), float(s), float(b - q * s), float(b + q * s)) for t, b, s in zip(design.terms, core.params, se, strict=True)}
