r"""Structural time-series ITS (``estimator: structural``): a second estimator and robustness check.

Model (Harvey 1989, *Forecasting, Structural Time Series Models and the Kalman Filter*;
Brodersen et al. 2015 for the causal reading), fitted by exact Gaussian maximum likelihood
with the Kalman filter (statsmodels ``UnobservedComponents``):

.. math::

    y_t = \mu_t + \delta L_t + \gamma S_t + s(t) + z_t^\top\theta + \varepsilon_t, \quad
    \mu_t = \mu_{t-1} + \nu_{t-1} + \eta_t

with ``structural_trend`` = ``local_level`` (:math:`\nu = 0`), ``local_level_drift``
(default; :math:`\nu` a fixed drift, reported as ``time``) or ``local_linear_trend``
(:math:`\nu_t = \nu_{t-1} + \zeta_t`). :math:`L_t, S_t` are the same level-step and slope
regressors as the segmented model, :math:`s(t)` the same deterministic seasonal terms.

The outcome is modelled on the scale of the segmented model's linear predictor: the
outcome (per ``rate_per`` of the offset) for gaussian, its log with ``transform: log``, and
for count families the log rate :math:`\log((y_t + c)/E_t)` (c = 0.5 if any count is 0,
else 0), so that :math:`e^\delta` is again a rate ratio — an approximation to the count
model that is good when counts are not small. Wald CIs use the normal quantile and the
inverse numerical Hessian. The counterfactual is the smoothed level plus the non-intervention
regressors; its band adds the smoothed state variance of :math:`\mu_t` to the
regression part's variance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from preveval.data.periods import periods_per_year
from preveval.errors import EstimationError
from preveval.methods.its.design import ItsDesign, build_design
from preveval.methods.its.diagnostics import ljung_box, ljung_box_lags, residual_acf
from preveval.methods.its.series import series_baseline
from preveval.results.base import Estimate, Scale
from preveval.results.its import ItsResult
from preveval.spec.models import Indicator, ItsAnalysis

__all__ = ["UC_LEVEL", "fit_its_structural", "structural_inputs"]

UC_LEVEL = {"local_level": "llevel", "local_level_drift": "lldtrend", "local_linear_trend": "lltrend"}


def structural_inputs(
    spec: ItsAnalysis, series: pd.DataFrame, *, outcome: str, interventions: dict[str, int]
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, ItsDesign, list[str]]:
    """Response (NaN in phase-in periods), exogenous regressors, log-exposure and the design."""
    gspec = spec.model_copy(update={"family": "gaussian", "transform": "none", "offset": None, "errors": "ols"})
    d = build_design(gspec, series, outcome=outcome, interventions=interventions)
    y = series.sort_values("t")[outcome].to_numpy(dtype=float)
    notes: list[str] = []
    logexp = np.zeros(len(y))
    if spec.offset:
        expo = series.sort_values("t")[spec.offset].to_numpy(dtype=float)
        logexp = np.log(expo / spec.rate_per)
    if spec.family == "gaussian":
        if spec.offset:
            y = y / np.exp(logexp)
        if spec.transform == "log":
            if (y <= 0).any():
                raise EstimationError("transform: log needs positive values")
            y = np.log(y)
    else:
        c = 0.5 if (y == 0).any() else 0.0
        if c:
            notes.append("Some counts are zero; the structural model used log(count + 0.5).")
        y = np.log(y + c) - logexp
    y = np.where(d.fit_mask, y, np.nan)
    keep = [i for i, t in enumerate(d.terms) if t not in ("const", "time")]
    exog = pd.DataFrame(d.X[:, keep], columns=[d.terms[i] for i in keep])
    return y, exog, logexp, d, notes


def fit_its_structural(
    spec: ItsAnalysis, series: pd.DataFrame, *, outcome: str, interventions: dict[str, int], indicator: Indicator
) -> ItsResult:
    """Fit the structural time-series ITS (see the module docstring).

    Returns
    -------
    ItsResult
        With ``estimator = "structural"``; ``effect`` the level (or slope) change.
    """
    series = series.sort_values("t").reset_index(drop=True)
    y, exog, logexp, d, notes = structural_inputs(spec, series, outcome=outcome, interventions=interventions)
    from statsmodels.tsa.statespace.structural import UnobservedComponents  # structural fits only

    mod = UnobservedComponents(y, level=UC_LEVEL[spec.structural_trend], exog=exog if exog.shape[1] else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mod.fit(disp=False, maxiter=1000, method="lbfgs")
        res = mod.fit(start_params=res.params, disp=False, maxiter=200, method="nm")
        res = mod.fit(start_params=res.params, disp=False, maxiter=1000, method="lbfgs")
    names = list(res.model.param_names)
    params = np.asarray(res.params)
    cov = np.asarray(res.cov_params())
    n = int(np.isfinite(y).sum())
    coefs: list[Estimate] = []
    if spec.structural_trend != "local_level":
        ss = res.smoothed_state
        sc = res.smoothed_state_cov
        drift, dvar = float(ss[1, -1]), float(sc[1, 1, -1])
        coefs.append(Estimate.wald("time", drift, float(np.sqrt(max(dvar, 0.0))), n=n))
    bidx = [names.index(f"beta.{c}") for c in exog.columns]
    b = params[bidx]
    V = cov[np.ix_(bidx, bidx)]
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    for c, bi, si in zip(exog.columns, b, se, strict=True):
        coefs.append(Estimate.wald(c, float(bi), float(si), n=n))
    by = {e.term: e for e in coefs}
    first = next(iter(interventions))
    pre = f"{first}." if first else ""
    head = f"{pre}slope_change" if spec.impact == "slope" else f"{pre}level_change"
    if head not in by:
        raise EstimationError("the structural model could not estimate the intervention effect")
    effect = by[head]
    log = spec.family != "gaussian" or spec.transform == "log"
    scale: Scale = "log" if log else "difference"

    level = res.smoothed_state[0]
    lvar = res.smoothed_state_cov[0, 0]
    E = exog.to_numpy()
    Ec = E.copy()
    for t in d.effect_terms:
        Ec[:, list(exog.columns).index(t)] = 0.0
    fit_lp, cf_lp = level + E @ b, level + Ec @ b
    cf_se = np.sqrt(np.clip(lvar + np.einsum("ij,jk,ik->i", Ec, V, Ec), 0, None))
    lo, hi = cf_lp - 1.96 * cf_se, cf_lp + 1.96 * cf_se
    obs_raw = series[outcome].to_numpy(dtype=float)
    if log:
        f = np.exp
        fitted, cf, lo, hi = f(fit_lp), f(cf_lp), f(lo), f(hi)
        if spec.family != "gaussian":
            mult = spec.rate_per if spec.offset else 1.0
            fitted, cf, lo, hi = (v * mult for v in (fitted, cf, lo, hi))
            observed = obs_raw / np.exp(logexp) if spec.offset else obs_raw
        else:
            observed = np.exp(np.log(np.where(obs_raw > 0, obs_raw, np.nan)) - (logexp if spec.offset else 0))
    else:
        fitted, cf, observed = fit_lp, cf_lp, (obs_raw / np.exp(logexp) if spec.offset else obs_raw)
    table = pd.DataFrame(
        {
            "period": series["period"].to_numpy(),
            "t": series["t"].to_numpy(),
            "observed": observed,
            "fitted": np.where(d.fit_mask, fitted, np.nan),
            "counterfactual": cf,
            "cf_low": lo,
            "cf_high": hi,
            "in_fit": d.fit_mask,
        }
    )
    ppy = periods_per_year(series["period"])
    resid = np.asarray(res.standardized_forecasts_error)[0]
    burn = 1 if spec.structural_trend == "local_level" else 2
    resid = resid[burn:][np.isfinite(resid[burn:])]
    h = ljung_box_lags(len(resid), ppy, spec.seasonality not in (None, "none"))
    diags = [ljung_box(resid, h, "the standardised one-step forecast errors")]
    warns = list(notes)
    if spec.family != "gaussian":
        warns.append("The structural model treats the log rate as Gaussian; it is a robustness check for the count model.")
    trend = by.get("time")
    trend_y = None
    if trend is not None:
        trend_y = trend.scaled("time_per_year", ppy)
    per = {k: str(series.loc[series["t"] >= v, "period"].iloc[0]) for k, v in interventions.items()}
    sigma = {k: float(v) for k, v in zip(names, params, strict=True) if k.startswith("sigma2")}
    spec_text = (
        f"structural time-series model ({spec.structural_trend.replace('_', ' ')}, irregular), Kalman filter ML; "
        + ("log rate; " if spec.family != "gaussian" else ("log outcome; " if spec.transform == "log" else ""))
        + f"intervention at {', '.join(per.values())}; variances "
        + ", ".join(f"{k.split('.')[1]} {v:.3g}" for k, v in sigma.items())
    )
    return ItsResult(
        id=spec.id,
        method="its",
        indicator=indicator.id,
        n_obs=n,
        effect=effect,
        scale=scale,
        ratio=effect.exp() if log else None,
        coefficients=tuple(coefs),
        warnings=tuple(warns),
        family=spec.family,
        link="log" if log else "identity",
        errors="state space",
        estimator="structural",
        specification=spec_text,
        se_type="inverse numerical Hessian of the Kalman-filter likelihood",
        ci_type="normal (Wald, z = 1.96)",
        dispersion=sigma.get("sigma2.irregular"),
        n_pre=int((d.t[d.fit_mask] < interventions[first]).sum()),
        n_post=int((d.t[d.fit_mask] >= d.starts[first]).sum()),
        n_excluded=int((~d.fit_mask).sum()),
        df_resid=None,
        aic=float(res.aic),
        log_likelihood=float(res.llf),
        periods_per_year=ppy,
        trend=trend_y,
        trend_ratio_per_year=float(np.exp(trend_y.estimate)) if (trend_y is not None and log) else None,
        trend_ratio_per_year_ci=trend_y.exp() if (trend_y is not None and log) else None,
        rate_per=spec.rate_per if spec.offset else None,
        interventions=per,
        diagnostics=tuple(diags),
        baseline=series_baseline(spec, table, min(interventions.values()), ppy),
        series=table,
        residuals=pd.DataFrame({"residual": resid}),
        residual_acf=residual_acf(resid, h),
    )
