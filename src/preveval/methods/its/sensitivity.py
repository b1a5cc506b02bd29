r"""Robustness of an ITS headline: alternative specifications and placebo interruptions.

**Alternative specifications.** The headline term is re-estimated with one choice changed
at a time: seasonality (off, on as 2 Fourier harmonics of the year, dummies), family (the
other count families; a log-transformed outcome for gaussian), error model (ols, hac, ar),
phase-in (0, 1 and 3 periods), impact (level and slope added) and the structural
time-series estimator. A specification that cannot be fitted appears with the reason.

**Placebo interruptions** (in-time placebos; Linden 2015, *Stata J* 15(2):480–500; Lopez
Bernal, Cummins & Gasparrini 2018, *Int J Epidemiol* 47(6):2082–2093). Using only the periods before
the first intervention, the same model is fitted with a false start at every period that
leaves at least ``MIN_SIDE`` periods on each side. The **placebo share** is the proportion of
placebo headline estimates at least as large in absolute value as the real one — an
empirical p-value: a small share supports a real change.

**Pre-period trend break.** From the same placebo fits, the joint Wald test of the placebo
intervention terms; a warning when the smallest p-value is below 0.05 after a Bonferroni
correction for the number of placebo dates (conservative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from preveval.errors import PrevevalError
from preveval.methods.its.design import build_design, default_seasonality
from preveval.methods.its.dist import chi2_sf, f_sf
from preveval.methods.its.fit import fit_core
from preveval.methods.its.structural import fit_its_structural
from preveval.results.base import Diagnostic, quantile, two_sided_p
from preveval.results.its import ItsResult
from preveval.spec.models import Indicator, ItsAnalysis, Seasonality

__all__ = ["MIN_SIDE", "fit_headline", "placebo_fits", "sensitivity_table"]

MIN_SIDE = 8


def fit_headline(spec: ItsAnalysis, series: pd.DataFrame, *, outcome: str, interventions: dict[str, int]) -> dict:
    """Fit ``spec`` and return the headline term's estimate, CI, p-value and scale (a dict)."""
    if spec.estimator == "structural":
        ind = Indicator(id=spec.indicator, label=spec.indicator, column=outcome)
        r = fit_its_structural(spec, series, outcome=outcome, interventions=interventions, indicator=ind)
        e = r.effect
        return {"term": e.term, "estimate": e.estimate, "std_error": e.std_error, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value, "scale": r.scale}
    d = build_design(spec, series, outcome=outcome, interventions=interventions)
    m = d.fit_mask
    core = fit_core(
        spec.family, spec.errors, d.y[m], d.X[m], None if d.offset is None else d.offset[m], d.terms,
        hac_lag=spec.hac_lag, hac_prewhite=spec.hac_prewhite, hac_bandwidth=spec.hac_bandwidth,
        hac_critical=spec.hac_critical, ar_order=spec.ar_order, blocks=int(d.group.max() - d.group.min()) + 1,
    )
    first = next(iter(interventions))
    pre = f"{first}." if first else ""
    term = f"{pre}slope_change" if spec.impact == "slope" else f"{pre}level_change"
    i = d.index(term)
    b, se = float(core.params[i]), float(np.sqrt(core.cov[i, i]))
    df = core.df_resid if core.use_t else None
    q = quantile(0.975, df)
    # joint Wald test of all intervention terms of the treated series
    idx = [d.index(t) for t in d.effect_terms]
    V = core.cov[np.ix_(idx, idx)]
    bb = core.params[idx]
    w = float(bb @ np.linalg.solve(V, bb))
    p_joint = f_sf(w / len(idx), len(idx), core.df_resid) if core.use_t else float(chi2_sf(w, len(idx)))
    return {
        "term": term,
        "estimate": b,
        "std_error": se,
        "ci_low": b - q * se,
        "ci_high": b + q * se,
        "p_value": two_sided_p(b / se, df) if se > 0 else None,
        "p_joint": p_joint,
        "scale": "log" if d.link == "log" else "difference",
    }


def _alternatives(spec: ItsAnalysis, ppy: float, positive: bool) -> list[tuple[str, dict]]:
    alts: list[tuple[str, dict]] = []
    season = spec.seasonality if isinstance(spec.seasonality, Seasonality) else None
    if season is not None:
        alts.append(("no seasonality", {"seasonality": None}))
        if season.type == "fourier" and float(season.period).is_integer():
            alts.append((f"seasonal dummies (period {int(season.period)})", {"seasonality": Seasonality(type="dummies", period=season.period)}))
        elif season.type == "dummies":
            alts.append(("Fourier seasonality, 2 harmonics", {"seasonality": Seasonality(type="fourier", period=season.period, harmonics=min(2, int(season.period // 2)))}))
    else:
        ds = default_seasonality(ppy)
        if ds is not None:
            alts.append((f"Fourier seasonality ({ds.harmonics} harmonics of period {ds.period:g})", {"seasonality": ds}))
    if spec.family == "gaussian":
        if spec.transform == "none" and positive:
            alts.append(("log-transformed outcome", {"transform": "log"}))
        elif spec.transform == "log":
            alts.append(("untransformed outcome", {"transform": "none"}))
    else:
        for fam in ("poisson", "quasipoisson", "negative_binomial"):
            if fam != spec.family:
                alts.append((f"family {fam}", {"family": fam, "errors": "ols" if spec.errors == "ar" else spec.errors}))
    for err in ("ols", "hac", "ar"):
        if err != spec.errors and (err != "ar" or spec.family == "gaussian"):
            alts.append((f"errors {err}", {"errors": err}))
    if spec.phase_in == 0:
        alts += [("phase-in 1 period", {"phase_in": 1}), ("phase-in 3 periods", {"phase_in": 3})]
    else:
        alts.append(("no phase-in", {"phase_in": 0}))
    if spec.impact == "level":
        alts.append(("level and slope change", {"impact": "level_and_slope"}))
    if spec.structural_alternative():
        alts.append(("structural time-series model", {"estimator": "structural", "errors": "ols"}))
    return alts


def placebo_fits(spec: ItsAnalysis, series: pd.DataFrame, *, outcome: str, interventions: dict[str, int]) -> pd.DataFrame:
    """Placebo interruptions at every feasible date of the pre-period (see module docstring)."""
    t0 = min(interventions.values())
    pre = series.loc[series["t"] < t0].sort_values("t").reset_index(drop=True)
    rows = []
    pspec = spec.model_copy(update={"interventions": None, "intervention": "placebo", "phase_in": 0, "lag": 0, "estimator": "segmented"})
    for i in range(MIN_SIDE, len(pre) - MIN_SIDE + 1):
        tp = int(pre["t"].iloc[i])
        try:
            h = fit_headline(pspec, pre, outcome=outcome, interventions={"": tp})
        except (PrevevalError, np.linalg.LinAlgError, ValueError):
            continue
        rows.append({"placebo_start": str(pre["period"].iloc[i]), **h})
    return pd.DataFrame(rows)


def sensitivity_table(
    spec: ItsAnalysis,
    series: pd.DataFrame,
    *,
    outcome: str,
    interventions: dict[str, int],
    indicator: Indicator,
    result: ItsResult,
) -> tuple[pd.DataFrame, float | None, list[str], Diagnostic | None]:
    """Headline under alternative specifications, then placebo dates.

    Returns
    -------
    table : DataFrame
        ``analysis`` (main / alternative / placebo), ``specification``, ``term``,
        ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``scale``, ``ratio`` (exp of the
        estimate on the log scale), ``note``.
    placebo_share : float or None
        Share of placebo estimates with absolute value at least the real one's.
    warnings : list of str
    pretrend : Diagnostic or None
        The pre-period trend-break test (placebo interruptions, Bonferroni-corrected).
    """
    base = spec.model_copy(update={"sensitivity": False})
    e = result.effect
    rows = [{"analysis": "main", "specification": "as specified", "term": e.term, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value, "scale": result.scale, "note": ""}]
    y = series[outcome].to_numpy(dtype=float)
    for label, upd in _alternatives(spec, result.periods_per_year, bool((y > 0).all())):
        try:
            alt = base.model_copy(update=upd)
            ItsAnalysis.model_validate(alt.model_dump())
            h = fit_headline(alt, series, outcome=outcome, interventions=interventions)
            h.pop("p_joint", None)
            h.pop("std_error", None)
            rows.append({"analysis": "alternative", "specification": label, **h, "note": ""})
        except (PrevevalError, ValueError, np.linalg.LinAlgError) as exc:
            rows.append({"analysis": "alternative", "specification": label, "term": e.term, "note": f"not fitted: {str(exc).splitlines()[0][:160]}"})
    warns: list[str] = []
    share = None
    pretrend: Diagnostic | None = None
    plac = placebo_fits(base, series, outcome=outcome, interventions=interventions)
    if len(plac):
        share = float(np.mean(np.abs(plac["estimate"]) >= abs(e.estimate)))
        for _, r in plac.iterrows():
            rows.append({"analysis": "placebo", "specification": f"placebo start {r['placebo_start']}", "term": r["term"], "estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"], "scale": r["scale"], "note": ""})
        pmin = float(plac["p_joint"].min())
        p_adj = min(1.0, pmin * len(plac))
        scale = "log" if plac["scale"].iloc[0] == "log" else "additive"
        pretrend = Diagnostic(
            "pre_period_trend_break", "fail" if p_adj < 0.05 else "pass",
            f"placebo interruptions at {len(plac)} dates before the start, tested on the {scale} scale: smallest "
            f"joint p-value {pmin:.3g}, {p_adj:.3g} after a Bonferroni correction for the dates tried",
            statistic=None, p_value=p_adj)
        if pmin * len(plac) < 0.05:
            at = plac["placebo_start"].iloc[int(np.argmin(plac["p_joint"].to_numpy()))]
            warns.append(
                f"The period before the initiative already shows a break in the trend (around {at}; "
                f"p = {min(1.0, pmin * len(plac)):.3f} after allowing for {len(plac)} dates tried), so the earlier "
                "trend may be a poor guide to what would have happened; look for another change at that time."
            )
    table = pd.DataFrame(rows, columns=["analysis", "specification", "term", "estimate", "ci_low", "ci_high", "p_value", "scale", "note"])
    log = table["scale"] == "log"
    table["ratio"] = np.where(log, np.exp(table["estimate"].astype(float)), np.nan)
    return table, share, warns, pretrend
