r"""Interrupted time series (ITS): segmented regression of one series around an intervention.

:func:`fit_its` fits the analysis to the series of :func:`~preveval.methods.its.series.build_its_series`
and returns an :class:`~preveval.results.its.ItsResult` (with ``estimator: structural`` it
hands over to :mod:`~preveval.methods.its.structural`).

Estimand
--------
The change in the outcome's level (``level_change``, :math:`\delta`) and trend
(``slope_change``, :math:`\gamma`) at the first active period of an intervention relative
to the extrapolated pre-intervention trend, adjusted for seasonality and covariates; with a
log link :math:`e^\delta` is the rate ratio at the interruption.

.. math::

    g(E[Y_t]) = \beta_0 + \beta_1\,\mathrm{time}_t + \delta\,1(t\ge t_0)
               + \gamma\,(t-t_0)\,1(t \ge t_0) + s(t) + z_t^\top\theta\;[+\log E_t]

References
----------
Lopez Bernal J, Cummins S, Gasparrini A (2017). Interrupted time series regression for the
evaluation of public health interventions: a tutorial. *Int J Epidemiol* 46(1):348–355,
and its correction. Wagner AK, Soumerai SB, Zhang F, Ross-Degnan D (2002). Segmented
regression analysis of interrupted time series studies in medication use research. *J Clin
Pharm Ther* 27(4):299–309.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from preveval.data.periods import periods_per_year
from preveval.methods.its.corefit import CoreFit
from preveval.methods.its.design import ItsDesign, build_design
from preveval.methods.its.diagnostics import diagnose
from preveval.methods.its.fit import fit_core
from preveval.methods.its.hac import contrast_critical_values
from preveval.methods.its.prevented import prevented_events
from preveval.methods.its.sensitivity import sensitivity_table
from preveval.methods.its.series import series_baseline
from preveval.methods.its.structural import fit_its_structural
from preveval.results.base import Estimate, Scale, quantile
from preveval.results.its import ItsResult
from preveval.spec.models import Indicator, ItsAnalysis, Seasonality

__all__ = ["BAND_NODES", "fit_its"]


def _estimates(core: CoreFit, terms: tuple[str, ...], n: int) -> tuple[Estimate, ...]:
    """Wald estimates; under fixed-b HAC each term gets its own critical value and p-value."""
    se = np.sqrt(np.clip(np.diag(core.cov), 0, None))
    if len(core.crit_values) == len(terms) and len(core.p_values) == len(terms):
        critical = core.hac_settings["critical"] if core.hac_settings else "standard"
        how = critical if critical in ("fixed_b", "kiefer_vogelsang") else ("wald_t" if core.use_t else "wald_normal")
        dft = core.df_resid if how == "wald_t" else None
        return tuple(
            Estimate(tm, float(b), float(s), float(b - c * s), float(b + c * s), float(p), n, how, dft)
            for tm, b, s, c, p in zip(terms, core.params, se, core.crit_values, core.p_values, strict=True)
        )
    df = core.df_resid if core.use_t else None
    return tuple(Estimate.wald(tm, float(b), float(s), df=df, n=n) for tm, b, s in zip(terms, core.params, se, strict=True))


def _quantile(core: CoreFit) -> float:
    return quantile(0.975, core.df_resid if core.use_t else None)


#: Periods at which the counterfactual band's fixed-b critical values are simulated; in
#: between they are interpolated linearly (they vary smoothly with the distance from the
#: pre-period), which keeps a two-year daily series fast.
BAND_NODES = 49


def _band_critical_values(core: CoreFit, Xc: np.ndarray) -> np.ndarray | None:
    n = Xc.shape[0]
    if n <= BAND_NODES:
        return contrast_critical_values(core, Xc)
    nodes = np.unique(np.linspace(0, n - 1, BAND_NODES).round().astype(int))
    c = contrast_critical_values(core, Xc[nodes])
    return None if c is None else np.interp(np.arange(n), nodes, c)


def _series_table(design: ItsDesign, core: CoreFit, series: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Observed, fitted and counterfactual (with its 95% band) for the treated rows."""
    tr = design.treated
    X, Xc = design.X[tr], design.counterfactual_X()[tr]
    b, V = core.params, core.cov
    # Pointwise band. Under errors: hac each period's counterfactual is a linear combination
    # with its own fixed-b critical value (wider than the intervention terms' far from the
    # pre-period); otherwise the coefficients' t or normal quantile.
    q_hac = _band_critical_values(core, Xc) if core.hac_settings is not None else None
    q = _quantile(core) if q_hac is None else q_hac
    eta, eta_c = X @ b, Xc @ b
    se_c = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", Xc, V, Xc), 0, None))
    lo, hi = eta_c - q * se_c, eta_c + q * se_c
    y = design.y[tr]
    if design.link == "log":
        fitted, cf, lo, hi = np.exp(eta), np.exp(eta_c), np.exp(lo), np.exp(hi)
        observed = np.exp(y) if design.transform == "log" else y
        if design.exposure is not None and design.rate_per is not None:
            # counts: the linear predictor without the offset is a log rate per exposure
            fitted, cf, lo, hi = (v * design.rate_per for v in (fitted, cf, lo, hi))
            observed = observed / design.exposure[tr] * design.rate_per
    else:
        fitted, cf, observed = eta, eta_c, y
    mask = design.fit_mask[tr]
    out = pd.DataFrame(
        {
            "period": series.sort_values("t")["period"].to_numpy(),
            "t": design.t[tr],
            "observed": observed,
            "fitted": np.where(mask, fitted, np.nan),
            "counterfactual": cf,
            "cf_low": lo,
            "cf_high": hi,
            "in_fit": mask,
        }
    )
    if design.group.min() == 0:
        cmp_ = ~tr
        yc = design.y[cmp_]
        etac = design.X[cmp_] @ b
        if design.link == "log":
            yc = np.exp(yc) if design.transform == "log" else yc
            fc = np.exp(etac)
            if design.exposure is not None and design.rate_per is not None:
                yc = yc / design.exposure[cmp_] * design.rate_per
                fc = fc * design.rate_per
        else:
            fc = etac
        out["comparison_observed"] = yc
        out["comparison_fitted"] = np.where(mask, fc, np.nan)
    return out


def _describe(spec: ItsAnalysis, design: ItsDesign, core: CoreFit, season: Seasonality | None, periods: dict[str, str]) -> str:
    fam = {
        "gaussian": "linear regression (OLS)" if spec.errors != "ar" else f"linear regression with AR({spec.ar_order}) errors (exact ML)",
        "poisson": "Poisson GLM, log link",
        "quasipoisson": "quasi-Poisson GLM, log link",
        "negative_binomial": "negative binomial (NB2) GLM, log link",
    }[spec.family]
    parts = [fam]
    if spec.family == "gaussian" and spec.transform == "log":
        parts.append("log-transformed outcome")
    if spec.offset:
        parts.append(f"offset log({spec.offset})" if spec.family != "gaussian" else f"outcome per {spec.rate_per:,.0f} of {spec.offset}")
    parts.append("linear trend in time")
    what = {"level": "level change", "slope": "slope change", "level_and_slope": "level and slope change"}[spec.impact]
    when = ", ".join(f"{k} {v}" if k else v for k, v in periods.items())
    parts.append(f"{what} at {when}")
    if spec.lag:
        parts.append(f"effect lagged {spec.lag} period(s)")
    if spec.phase_in:
        parts.append(f"{spec.phase_in} phase-in period(s) left out")
    if season is None:
        parts.append("no seasonality")
    elif season.type == "fourier":
        parts.append(f"Fourier seasonality ({season.harmonics} harmonic(s) of period {season.period:g})")
    else:
        parts.append(f"seasonal dummies (period {int(season.period)})")
    if spec.covariates:
        parts.append("covariates " + ", ".join(spec.covariates))
    if spec.comparison is not None:
        parts.append("controlled ITS against " + (f"units {', '.join(spec.comparison.units)}" if spec.comparison.units else f"control outcome '{spec.comparison.column}'"))
    parts.append(f"SEs: {core.se_type}")
    return "; ".join(parts)


def fit_its(
    spec: ItsAnalysis,
    series: pd.DataFrame,
    *,
    outcome: str,
    interventions: dict[str, int],
    indicator: Indicator,
) -> ItsResult:
    r"""Fit an interrupted time series regression.

    Estimand: the level change :math:`\delta` (or slope change :math:`\gamma` with
    ``impact: slope``) of the first intervention listed, relative to the extrapolated
    pre-intervention trend (see the module docstring for the equation; Lopez Bernal et al.
    2017, eq. 1–2).

    Parameters
    ----------
    spec : ItsAnalysis
    series : DataFrame
        From :func:`~preveval.methods.its.series.build_its_series`; not modified.
    outcome : str
        The outcome column.
    interventions : dict
        Intervention id (``""`` for a single ``intervention:``) to the ordinal ``t0`` of its
        first active period, in the order of the specification.
    indicator : Indicator
        The indicator (label, kind, desired direction).

    Returns
    -------
    ItsResult

    Raises
    ------
    DataError
        An intervention outside the data or values the family cannot use.
    EstimationError
        The model cannot be fitted (rank-deficient design, too few periods).
    """
    if spec.estimator == "structural":
        return fit_its_structural(spec, series, outcome=outcome, interventions=interventions, indicator=indicator)
    series = series.sort_values("t").reset_index(drop=True)
    design = build_design(spec, series, outcome=outcome, interventions=interventions)
    m = design.fit_mask
    off = None if design.offset is None else design.offset[m]
    core = fit_core(spec.family, spec.errors, design.y[m], design.X[m], off, design.terms, hac_lag=spec.hac_lag, hac_prewhite=spec.hac_prewhite, hac_bandwidth=spec.hac_bandwidth, hac_critical=spec.hac_critical, ar_order=spec.ar_order, blocks=int(design.group.max() - design.group.min()) + 1)
    coefs = _estimates(core, design.terms, int(m.sum()))
    by_term = {e.term: e for e in coefs}
    first = next(iter(interventions))
    pre = f"{first}." if first else ""
    head = f"{pre}slope_change" if spec.impact == "slope" else f"{pre}level_change"
    effect = by_term[head]
    scale: Scale = "log" if design.link == "log" else "difference"
    ppy = periods_per_year(series["period"])
    trend = by_term["time"]
    trend_y = trend.scaled("time_per_year", ppy)
    per = {k: str(series.loc[series["t"] >= v, "period"].iloc[0]) for k, v in interventions.items()}
    season = spec.seasonality if isinstance(spec.seasonality, Seasonality) else None
    table = _series_table(design, core, series, outcome)
    tr = design.treated & m
    t_tr = design.t[tr]
    n_pre = int((t_tr < interventions[first]).sum())
    n_post = int((t_tr >= design.starts[first]).sum())
    diags, warns, resid_table, acf_table = diagnose(spec, design, core, table, ppy=ppy)
    warns = [*core.notes, *warns]
    result = ItsResult(
        id=spec.id,
        method="its",
        indicator=indicator.id,
        n_obs=int(m.sum()),
        effect=effect,
        scale=scale,
        ratio=effect.exp() if scale == "log" else None,
        coefficients=coefs,
        warnings=tuple(warns),
        family=spec.family,
        link=design.link,
        errors=spec.errors,
        estimator="segmented",
        specification=_describe(spec, design, core, season, per),
        se_type=core.se_type,
        ci_type=core.ci_label or (f"t ({core.df_resid:g} df)" if core.use_t else "normal (Wald, z = 1.96)"),
        dispersion=core.dispersion,
        nb_alpha=core.alpha,
        hac_lag=core.hac_lag,
        ar_params=core.ar_params,
        n_pre=n_pre,
        n_post=n_post,
        n_excluded=int((~design.fit_mask[design.treated]).sum()),
        df_resid=core.residual_df if core.residual_df is not None else core.df_resid,
        aic=core.aic,
        deviance=core.deviance,
        pearson_chi2=core.pearson_chi2,
        log_likelihood=core.llf,
        periods_per_year=ppy,
        trend=trend_y,
        trend_ratio_per_year=float(np.exp(trend_y.estimate)) if scale == "log" else None,
        trend_ratio_per_year_ci=trend_y.exp() if scale == "log" else None,
        rate_per=design.rate_per,
        interventions=per,
        diagnostics=tuple(diags),
        baseline=series_baseline(spec, table, min(interventions.values()), ppy),
        series=table,
        residuals=resid_table,
        residual_acf=acf_table,
        vcov=pd.DataFrame(np.asarray(core.cov, dtype=float), index=list(design.terms), columns=list(design.terms)),
    )
    return _extras(spec, series, outcome, interventions, indicator, design, core, result)


def _extras(
    spec: ItsAnalysis,
    series: pd.DataFrame,
    outcome: str,
    interventions: dict[str, int],
    indicator: Indicator,
    design: ItsDesign,
    core: CoreFit,
    result: ItsResult,
) -> ItsResult:
    """Add prevented events (count indicators) and the sensitivity table."""
    updates: dict[str, Any] = {}
    warns = list(result.warnings)
    if indicator.kind == "count":
        updates["prevented"] = prevented_events(spec, design, core, ppy=result.periods_per_year)
    if spec.sensitivity:
        table, share, swarn, pretrend = sensitivity_table(
            spec, series, outcome=outcome, interventions=interventions, indicator=indicator, result=result
        )
        updates["sensitivity"] = table
        updates["placebo_share"] = share
        if pretrend is not None:
            updates["diagnostics"] = (*result.diagnostics, pretrend)
        warns += swarn
    updates["warnings"] = tuple(dict.fromkeys(warns))
    return replace(result, **updates)
