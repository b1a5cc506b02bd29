"""Report section of an interrupted time series analysis.

Turns an :class:`~preveval.results.its.ItsResult` into a :class:`Section`: a plain-English
headline for a partnership board, explanation, technical details, warnings, tables and
figures (drawn with :class:`matplotlib.figure.Figure`, no pyplot state, Agg canvas). Never
fits a model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from preveval.pack.section import FigureItem, Section, TableItem
from preveval.pack.style import (
    GREY,
    ROLE,
    SIZE,
    WIDTH,
    axis_unit,
    below_legend,
    new_axes,
    styled,
    with_unit,
)
from preveval.pack.wording import baseline_phrase, difference_unit, per_phrase, verdict_tail
from preveval.pack.wording import lower_first as _lower
from preveval.pack.wording import num as _num
from preveval.pack.wording import pct as _pct
from preveval.results.base import Estimate
from preveval.results.its import ItsResult
from preveval.spec.models import Indicator, ItsAnalysis

__all__ = ["its_section", "plot_its", "plot_residual_acf"]

_UNIT = {12.0: "month", 4.0: "quarter", 1.0: "year", 365.25: "day", 52.1775: "week"}


def _what(result: ItsResult, spec: ItsAnalysis) -> str:
    when = ", ".join(f"{k} ({v})" if k else v for k, v in result.interventions.items())
    return f"the initiative started in {when}" if len(result.interventions) == 1 else f"the interventions started ({when})"


def headline(result: ItsResult, indicator: Indicator, spec: ItsAnalysis, verdict: object = None) -> str:
    """One plain-English sentence: the size, direction and certainty of the headline effect.

    With ``verdict`` (its verdict against the plausible effect) an uncertain result also says
    how often an effect of the plausible size would be detected with these data.
    """
    e: Estimate = result.effect
    label = _lower(indicator.label)
    slope = e.term.endswith("slope_change")
    unit = _UNIT.get(result.periods_per_year, "period")
    cits = spec.comparison is not None
    if slope:
        ref = "relative to the change in the comparison series" if cits else "relative to the earlier trend"
    else:
        ref = "than the comparison series and the earlier trends predict" if cits else "than the earlier trend predicts"
    start = f"After {_what(result, spec)}, "
    if e.ci_low is None or e.ci_high is None:
        return start + f"the change in {label} could not be estimated with a confidence interval."
    down = e.estimate < 0
    desired = (down and indicator.desired == "decrease") or (not down and indicator.desired == "increase")
    per_unit = f" per {unit}" if slope else ""
    if result.scale == "log":
        lo, hi = sorted((math.exp(e.ci_low) - 1, math.exp(e.ci_high) - 1))
        size = _pct(math.exp(e.estimate) - 1)

        def one(v: float) -> str:
            return f"{_pct(v)} {'lower' if v < 0 else 'higher'}"

        ci = f"95% CI {_pct(min(abs(lo), abs(hi)))} to {_pct(max(abs(lo), abs(hi)))}"
        span = f"{one(lo)} to {one(hi)}"
    else:
        per = per_phrase(result.rate_per, spec.offset, indicator.exposure_label)
        units = f" {indicator.unit_label}" if indicator.unit_label else ""
        count = indicator.kind == "count"
        size = f"{_num(e.estimate)}{units}{' ' + per if per else ''}" + ("" if slope or not count else f" a {unit}")

        def one(v: float) -> str:
            return f"{_num(v)} {'lower' if v < 0 else 'higher'}"

        ci = f"95% CI {_num(min(abs(e.ci_low), abs(e.ci_high)))} to {_num(max(abs(e.ci_low), abs(e.ci_high)))}"
        span = f"{one(e.ci_low)} to {one(e.ci_high)}"
    if slope:
        change = f"{label} {'fell' if down else 'rose'} by about a further {size}{per_unit}"
    else:
        change = f"{label} were about {size} {'lower' if down else 'higher'}"
    base = baseline_phrase(result.baseline, indicator)
    base = f" (from {base})" if base else ""
    vunit = "" if result.scale == "log" else difference_unit(result, indicator)
    if e.excludes_zero():
        s = start + f"{change} ({ci}) {ref}{base}"
        s += "; this is the direction the initiative aims for." if desired else (
            "; this is the opposite of what the initiative aims for." + verdict_tail(verdict, result.scale, vunit))
        return s
    tail = verdict_tail(verdict, result.scale, vunit) or " We cannot tell whether the initiative made a difference."
    return (start + f"{change} {ref}{base}, but this is uncertain: the data fit anything from {span}{per_unit} "
            f"(95% CI).{tail}")


def _paragraphs(result: ItsResult, indicator: Indicator, spec: ItsAnalysis) -> list[str]:
    out = [
        "An interrupted time series compares what happened after the initiative started with what the trend "
        f"before it predicts would have happened anyway. The model used {result.n_obs} periods "
        f"({result.n_pre} before and {result.n_post} after the start"
        + (f"; {result.n_excluded} phase-in periods left out" if result.n_excluded else "")
        + ")."
    ]
    tci = result.trend_ratio_per_year_ci
    if result.trend_ratio_per_year is not None and tci is not None and tci.ci_low is not None and tci.ci_high is not None:
        r, lo, hi = result.trend_ratio_per_year, tci.ci_low, tci.ci_high

        def signed(v: float) -> str:
            return f"{'a rise' if v > 0 else 'a fall'} of {_pct(v)}"

        out.append(
            f"Before the initiative, {_lower(indicator.label)} were {'rising' if r > 1 else 'falling'} by about "
            f"{_pct(r - 1)} a year (95% CI from {signed(lo - 1)} to {signed(hi - 1)} a year)."
        )
    elif result.trend is not None:
        unit = axis_unit(indicator, result.rate_per, spec.offset, _UNIT.get(result.periods_per_year, "period"))
        out.append(f"Before the initiative the underlying trend was {result.trend.estimate:+.3g} {unit} per year.")
    p = result.prevented
    if p is not None:
        what = "interval for the expected number" if p.interval == "mean" else "interval allowing for chance variation in the counts"

        noun = indicator.unit_label or "events"

        def events(v: float) -> str:
            return f"{abs(v):,.0f} {'fewer' if v >= 0 else 'more'}"

        text = (
            f"Over the {p.years:.1f} years after the start there were about {events(p.total)} {noun} than expected "
            f"without the initiative, about {events(p.per_year)} a year (95% {what}: from {events(p.ci_low)} "
            f"to {events(p.ci_high)})."
        )
        if p.ci_low < 0 < p.ci_high:
            text += " The interval includes no change, so this difference could be chance."
        out.append(text)
    if result.placebo_share is not None:
        out.append(
            f"Placebo check: re-fitting with a false start date at every feasible earlier period, {result.placebo_share:.0%} "
            "of the placebo effects were as large as the real one (a small share supports a real change)."
        )
    return out


def _details(result: ItsResult, spec: ItsAnalysis) -> list[str]:
    d = [
        f"Model: {result.specification}.",
        f"Estimator: {result.estimator}; family: {result.family}; link: {result.link}; errors: {result.errors}.",
        f"Offset: {'log(' + spec.offset + ')' if spec.offset and result.family != 'gaussian' else (spec.offset + ' (outcome as a rate per ' + f'{spec.rate_per:,.0f})' if spec.offset else 'none')}.",
        f"Standard errors: {result.se_type}. Confidence intervals: 95% Wald, {result.ci_type}.",
        f"Observations in the fit: {result.n_obs}; residual df: {result.df_resid:g}." if result.df_resid is not None else f"Observations: {result.n_obs}.",
    ]
    if result.dispersion is not None:
        name = {"gaussian": "residual variance", "quasipoisson": "dispersion (Pearson chi-square / df)"}.get(result.family, "scale")
        d.append(f"Scale: {name} = {result.dispersion:.4g}.")
    if result.nb_alpha is not None:
        theta = f"theta = {1 / result.nb_alpha:.4g}" if result.nb_alpha > 0 else "the Poisson boundary"
        d.append(f"Negative binomial dispersion alpha (ML, profile likelihood) = {result.nb_alpha:.4g} ({theta}).")
    if result.ar_params:
        d.append("AR coefficients: " + ", ".join(f"{x:.3f}" for x in result.ar_params) + ".")
    if result.aic is not None:
        d.append(f"AIC: {result.aic:.2f}.")
    p = result.prevented
    if p is not None:
        how = ("coefficient draws from N(β̂, V̂)" if p.critical_value is None else
               f"coefficient draws from N(β̂, V̂) scaled to the critical value {p.critical_value:.3f} "
               + ("of the expected number's own fixed-b reference distribution"
                  if result.errors == "hac" else "of the coefficients' t distribution"))
        d.append(f"Prevented events: {p.reps} seeded simulations (seed {p.seed}); {how}; "
                 f"interval: {'expected number only' if p.interval == 'mean' else 'prediction (includes the counts’ own variation)'}; "
                 "2.5% and 97.5% percentiles.")
    if result.errors == "hac":
        d.append("Counterfactual band: pointwise 95%, each period with the fixed-b critical value of its "
                 "own prediction (simulated at up to 49 periods, interpolated in between).")
    for g in result.diagnostics:
        d.append(f"Diagnostic {g.name}: {g.status} — {g.reason}.")
    return d


def _as_period(text: str, freq: object) -> pd.Period:
    """A period written as text (weeks print as 'start/end') in the series' frequency."""
    return pd.Period(str(text).split("/")[0], freq=freq)  # type: ignore[arg-type]


def y_unit(result: ItsResult, indicator: Indicator, spec: ItsAnalysis) -> str:
    """The unit of the series' values: ``conveyances per 100 mental-health incidents a month``."""
    period = _UNIT.get(result.periods_per_year, "period")
    return axis_unit(indicator, result.rate_per, spec.offset, period)


@styled
def plot_its(result: ItsResult, indicator: Indicator, spec: ItsAnalysis, ax: Any = None) -> Figure:
    """Observed points, fitted line, counterfactual with its 95% band, intervention lines.

    ``ax``: draw into this Axes (its figure is returned) instead of a new figure.
    """
    s: pd.DataFrame = result.series
    x = pd.PeriodIndex(s["period"]).to_timestamp()
    fig, ax = new_axes(ax, (WIDTH, 3.9))
    freq = pd.PeriodIndex(s["period"]).freq
    starts = {k: _as_period(v, freq) for k, v in result.interventions.items()}
    first = min(starts.values())
    post = (pd.PeriodIndex(s["period"]) >= first)
    observed = pd.to_numeric(s["observed"], errors="coerce")
    hidden = s["observed"].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool).copy()  # suppressed for publication
    ax.scatter(x, observed, s=12, color=ROLE["observed"], label="Observed", zorder=3)
    if "comparison_observed" in s:
        hidden |= s["comparison_observed"].map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        ax.scatter(x, pd.to_numeric(s["comparison_observed"], errors="coerce"), s=12, marker="x",
                   color=ROLE["comparison"], label="Comparison observed", zorder=2)
        for i, seg in enumerate((~post, post)):
            ax.plot(x[seg], s["comparison_fitted"][seg], color=ROLE["comparison"], lw=1, ls="-.",
                    label="Comparison fitted" if i == 0 else None)
    if hidden.any():
        ax.plot(x[hidden], np.zeros(int(hidden.sum())), "|", color=GREY, ms=8, clip_on=False,
                transform=ax.get_xaxis_transform(), label="suppressed (small count)")
    for i, seg in enumerate((~post, post)):
        ax.plot(x[seg], s["fitted"][seg], color=ROLE["fitted"], lw=2, label="Fitted" if i == 0 else None)
    ax.plot(x[post], s["counterfactual"][post], color=ROLE["counterfactual"], lw=1.6, ls="--",
            label="Without the initiative (counterfactual)")
    ax.fill_between(x[post], s["cf_low"][post], s["cf_high"][post], color=ROLE["counterfactual"], alpha=0.15, lw=0,
                    label="95% CI of the counterfactual")
    for k, p0 in starts.items():
        ax.axvline(p0.to_timestamp(), color=ROLE["start"], ls=":", lw=1)  # type: ignore[arg-type]
        ax.annotate(k or "start", (p0.to_timestamp(), 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=SIZE["legend"])
    ax.set_ylabel(with_unit(indicator.label, y_unit(result, indicator, spec), 55))
    ax.set_xlabel(_UNIT.get(result.periods_per_year, "period").capitalize())
    ax.set_title(f"{indicator.label}: before and after the initiative", loc="left")
    below_legend(ax)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


@styled
def plot_residual_acf(result: ItsResult, ax: Any = None) -> Figure | None:
    """Bar chart of the residual autocorrelations with the ±1.96/√n band."""
    a = result.residual_acf
    if a is None or len(a) == 0:
        return None
    fig, ax = new_axes(ax, (WIDTH, 2.9))
    ax.vlines(a["lag"], 0, a["acf"], color=ROLE["fitted"], lw=3)
    ax.axhline(0, color=ROLE["zero"], lw=0.8)
    ax.axhline(float(a["upper"].iloc[0]), color=GREY, ls="--", lw=1)
    ax.axhline(float(a["lower"].iloc[0]), color=GREY, ls="--", lw=1)
    ax.set_xlabel(f"Lag ({_UNIT.get(result.periods_per_year, 'period')}s)")
    ax.set_ylabel("Autocorrelation of residuals\n(correlation, -1 to 1)")
    ax.set_title("Residual autocorrelation (dashed: 95% band for no autocorrelation)", loc="left")
    fig.tight_layout()
    return fig


def its_section(result: ItsResult, indicator: Indicator, spec: ItsAnalysis, verdict: object = None) -> Section:
    """Build the report section of an ITS analysis.

    Parameters
    ----------
    result : ItsResult
    indicator : Indicator
    spec : ItsAnalysis

    Returns
    -------
    Section
        Headline, paragraphs, details, warnings, the coefficient table, the series table
        (not shown), the sensitivity table (when computed) and the figures.
    """
    design = spec.design_name()
    sec = Section(id=result.id, title=f"{design[:1].upper() + design[1:]}: {indicator.label}")
    sec.headline = headline(result, indicator, spec, verdict)
    sec.paragraphs = _paragraphs(result, indicator, spec)
    sec.details = _details(result, spec)
    sec.warnings = list(result.warnings)
    coef = result.coefficient_frame()
    if result.scale == "log":
        coef["ratio"] = np.exp(coef["estimate"])
        coef["ratio_ci_low"] = np.exp(coef["ci_low"])
        coef["ratio_ci_high"] = np.exp(coef["ci_high"])
    sec.tables.append(TableItem(f"{result.id}-coefficients", f"Coefficients of the ITS model ({'log scale; ratio = exp' if result.scale == 'log' else 'outcome scale'})", coef))
    if result.sensitivity is not None and len(result.sensitivity):
        sens = result.sensitivity
        placebo = "analysis" in sens.columns and bool((sens["analysis"] == "placebo").any())
        specs = sens[sens["analysis"] != "placebo"].reset_index(drop=True) if placebo else sens
        # one table: the report shows the specifications, the CSV holds every placebo date too
        caption = ("Headline effect under alternative specifications"
                   + (" (the CSV adds one row per placebo start date)" if placebo else ""))
        sec.tables.append(TableItem(f"{result.id}-sensitivity", caption, sens, show=len(specs) > 0,
                                    shown=specs if placebo else None))
    sec.tables.append(TableItem(f"{result.id}-series", "Observed, fitted and counterfactual values per period "
                                f"({y_unit(result, indicator, spec)})", result.series, show=False))
    unit = y_unit(result, indicator, spec)
    sec.figures.append(
        FigureItem(
            f"{result.id}-its",
            f"{indicator.label} ({unit}): observed (points), fitted (line) and expected without the initiative "
            "(dashed, with 95% band).",
            plot_its(result, indicator, spec),
            alt=f"Chart of {_lower(indicator.label)} ({unit}) by {_UNIT.get(result.periods_per_year, 'period')} "
                f"from {result.series['period'].iloc[0]} to {result.series['period'].iloc[-1]}, with the fitted "
                f"trend and the counterfactual after the start. {sec.headline}",
        )
    )
    acf_fig = plot_residual_acf(result)
    if acf_fig is not None:
        sec.figures.append(FigureItem(f"{result.id}-residual-acf", "Autocorrelation of the model's residuals by lag "
                                      "(correlation between residuals that many periods apart).", acf_fig,
                                      alt="Bar chart of the autocorrelation of the model's residuals at lags 1 to "
                                          f"{len(result.residual_acf)}, with the 95% band expected without "
                                          "autocorrelation."))
    return sec
