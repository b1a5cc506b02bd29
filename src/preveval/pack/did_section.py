"""Report section of a difference-in-differences analysis.

Headline and explanation in plain English, the parallel-trends and event-study figures,
robustness checks (placebo dates, placebo outcomes, leave-one-unit-out) and every
technical detail (design, fixed effects, standard errors, bootstrap, pre-trend test).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from preveval.data.design_checks import FEW_TREATED
from preveval.pack.section import FigureItem, Section, TableItem
from preveval.pack.staggered_section import staggered_subsections
from preveval.pack.style import (
    GREY,
    ROLE,
    WIDTH,
    axis_unit,
    below_legend,
    new_axes,
    styled,
    with_unit,
)
from preveval.pack.wording import (
    baseline_phrase,
    change_phrase,
    desired_direction,
    difference_unit,
    fmt_p,
    lower_first,
    verdict_tail,
)
from preveval.results.base import coefficient_table
from preveval.results.did import DidResult
from preveval.spec.models import DidAnalysis, Indicator

DESIGNS = {
    "two_by_two": "a two-by-two difference-in-differences (treated vs comparison group, before vs after)",
    "twfe": "a two-way fixed-effects difference-in-differences (unit and period fixed effects)",
    "event_study": "an event study (effects by period relative to the start, unit and period fixed effects)",
    "staggered": "a staggered-adoption difference-in-differences (Callaway & Sant'Anna group-time effects)",
}
STAGGERED_ESTIMATORS = {
    "sun_abraham": "a staggered-adoption difference-in-differences (Sun & Abraham interaction-weighted event study)",
    "poisson": "a staggered-adoption difference-in-differences for counts (Wooldridge's extended two-way "
               "fixed-effects Poisson: a rate ratio for each opening wave and period)",
}


DESIGN_TITLES = {
    "two_by_two": "Difference-in-differences (two-by-two)",
    "twfe": "Difference-in-differences (two-way fixed effects)",
    "event_study": "Event study",
    "staggered": "Staggered difference-in-differences",
}


def headline(result: DidResult, indicator: Indicator, spec: DidAnalysis | None = None, verdict: object = None) -> str:
    """One sentence for the board: size, direction, certainty, the yardstick and what the data can tell."""
    e = result.effect
    label = lower_first(indicator.label)
    unit = "" if result.scale == "log" else difference_unit(result, indicator)
    change, lim, clear = change_phrase(e, result.scale, unit)
    if result.randomization is not None and result.randomization.at_search_limit:
        lim = ("95% CI reaching the limits searched, rate ratios of 1/1000 and 1000: no effect size could be "
               "ruled out")
    where = "Where the initiative ran"
    base = baseline_phrase(result.baseline, indicator)
    base = f", from {base}" if base else ""
    if lim is None:
        return f"{where}, the change in {label} could not be estimated with a confidence interval."
    if clear:
        good = desired_direction(e, indicator.desired)
        tail = "" if good else " — the opposite of what the initiative intends"
        return (f"{where}, {label} were {change} ({lim}) than the comparison areas' experience "
                f"predicts{tail}{base}.{verdict_tail(verdict, result.scale, unit) if not good else ''}")
    return (f"{where}, {label} were {change} than the comparison areas' experience predicts, but this is "
            f"uncertain ({lim}){base}." + (verdict_tail(verdict, result.scale, unit)
                                           or " We cannot tell whether the initiative made a difference."))


def _paragraphs(result: DidResult, indicator: Indicator) -> list[str]:
    design = DESIGNS.get(result.design, result.design)
    if result.design == "staggered":
        key = "poisson" if result.family == "poisson" else ("sun_abraham" if result.sun_abraham is not None and any(
            e.headline and e.estimator == "sun_abraham" for e in result.estimators) else "")
        design = STAGGERED_ESTIMATORS.get(key, design)
    out = [
        f"This analysis is {design}. It compares how "
        f"{lower_first(indicator.label)} changed in the places (or groups) where the initiative ran with how "
        "they changed, over the same time, where it did not. The comparison stands in for what would have "
        "happened without the initiative, so the key assumption is that both would have followed parallel "
        "paths without it.",
    ]
    if result.n_units:
        out.append(f"It used {result.n_obs:,} observations of {result.n_units} units over {result.n_periods} "
                   f"periods; {result.n_treated_units} units were treated at some point.")
    pt = result.pretrend_test
    if pt is not None and pt.p_value is not None:
        if pt.p_value < 0.05:
            out.append(f"Before the start, treated and comparison areas were already moving differently "
                       f"(joint test of the leads, p = {fmt_p(pt.p_value)}). The parallel-paths assumption is doubtful, "
                       "so treat the estimate with caution.")
        else:
            out.append(f"Before the start, the test that treated and comparison areas moved in parallel found no "
                       f"evidence against it (joint test of the leads, p = {fmt_p(pt.p_value)}). This supports, but "
                       "cannot prove, the assumption.")
    if result.bootstrap is not None:
        b = result.bootstrap
        few = result.n_treated_clusters is not None and result.n_treated_clusters < FEW_TREATED
        out.append(f"With {result.n_clusters} clusters, the p-value ({fmt_p(b.p_value)}) and the 95% interval come "
                   f"from a wild cluster {'score ' if result.family == 'poisson' else ''}bootstrap ({b.reps:,} "
                   f"draws, {b.weights_type} weights), which keeps its size with few clusters"
                   + (f" but not with only {result.n_treated_clusters} treated: see the warning." if few else "."))
    if result.randomization is not None:
        ri = result.randomization
        how = "every" if ri.enumerated else f"{ri.n_assignments - 1:,} random"
        out.append(f"The p-value ({fmt_p(ri.p_value)}) and the 95% interval come from randomization inference: the "
                   f"treatment of the {ri.n_treated_units} treated area(s) was given to other areas in {how} "
                   f"possible way(s) ({ri.n_assignments:,} assignments with the real one), and the real estimate "
                   f"compared with the estimates those give. The p-value cannot be smaller than "
                   f"{ri.min_p_value:.2g}" + (" so no 5% result is possible here." if ri.min_p_value > 0.05 else "."))
    prevented = getattr(result, "prevented", None)
    if prevented is not None:
        n = indicator.unit_label or "events"
        if prevented.total >= 0:
            what = f"about {prevented.total:,.0f} fewer {n}"
        else:
            what = f"about {-prevented.total:,.0f} more {n}"
        def side(v: float) -> str:
            return f"{abs(v):,.0f} {'fewer' if v >= 0 else 'more'}"

        out.append(f"In the treated units over {prevented.years:.1f} years that is {what} than expected without the "
                   f"initiative (95% interval from {side(prevented.ci_low)} to {side(prevented.ci_high)} {n}), out of "
                   f"{prevented.observed:,.0f} {n} observed.")
    if result.rate_ratio is not None and result.rate_ratio.ci_low is not None:
        r = result.rate_ratio
        out.append(f"As a rate ratio: {r.estimate:.3f} (95% CI {r.ci_low:.3f} to {r.ci_high:.3f}).")
    return out


def _details(result: DidResult, spec: DidAnalysis) -> list[str]:
    d = [f"Model: {result.description}" if result.description else f"Design: {result.design}",
         f"Family: {result.family}; effect scale: {result.scale}",
         f"Inference: {result.inference}; standard errors: {result.se_type}"
         + (f" with {result.n_clusters} clusters" if result.n_clusters else "")
         + (f"; t degrees of freedom {result.df_resid:g}" if result.df_resid else "; normal quantiles"),
         f"Observations: {result.n_obs:,}" + (f"; treated observations: {result.n_treated_obs:,}" if result.n_treated_obs else "")]
    if result.staggered:
        d.append(f"Treatment timing is staggered; comparison group: {result.control or 'not-yet and never treated'}")
    pt = result.pretrend_test
    if pt is not None:
        d.append(f"Pre-trend test: {pt.reason}")
    b = result.bootstrap
    if b is not None:
        d.append(f"Wild cluster restricted bootstrap: {b.reps:,} replications, {b.weights_type} weights, seed "
                 f"{spec.seed}; t = {b.t_stat:.4g}, p = {fmt_p(b.p_value)}, CI by test inversion "
                 f"[{b.ci_low:.4g}, {b.ci_high:.4g}]")
    return d


def _effect_unit(result: DidResult, indicator: Indicator, spec: DidAnalysis | None) -> str:
    """The unit of an effect on the axis: the log rate ratio, or the difference's own unit."""
    if result.scale == "log":
        return "log rate ratio; 0 = no change"
    unit = difference_unit(result, indicator)
    if not unit and spec is not None and spec.offset is not None:
        unit = axis_unit(indicator, spec.rate_per, spec.offset, _period(result))
    return unit or indicator.unit_label or "difference in the outcome"


def _period(result: DidResult) -> str:
    b = result.baseline
    return b.period if b is not None else "period"


@styled
def plot_event_study(result: DidResult, indicator: Indicator, spec: DidAnalysis | None = None,
                     ax: Any = None) -> Figure | None:
    """Event-study coefficients with 95% intervals; the reference period is marked.

    ``ax``: draw into this Axes (its figure is returned) instead of a new figure.
    """
    tab = result.event_study_table()
    if tab.empty:
        return None
    fig, ax = new_axes(ax, (WIDTH, 3.8))
    x = tab["rel_time"].to_numpy()
    est = tab["estimate"].to_numpy(dtype=float)
    lo = tab["ci_low"].to_numpy(dtype=float)
    hi = tab["ci_high"].to_numpy(dtype=float)
    ref = tab["reference"].to_numpy(dtype=bool)
    pre = (x < 0) & ~ref
    post = (x >= 0) & ~ref
    for mask, colour, marker, name in ((pre, ROLE["before"], "s", "before the start"),
                                       (post, ROLE["after"], "o", "after the start")):
        ax.errorbar(x[mask], est[mask], yerr=[est[mask] - lo[mask], hi[mask] - est[mask]], fmt=marker,
                    color=colour, capsize=3, label=name)
    if ref.any():
        ax.plot(x[ref], est[ref], "o", mfc="white", color=ROLE["reference"], label="reference period (-1), fixed at 0")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axhline(0, color=ROLE["zero"], lw=0.8)
    ax.axvline(-0.5, color=ROLE["counterfactual"], ls="--", lw=1)
    width = spec.event_bin if spec is not None else 1
    period = _period(result)
    unit = f"{period.capitalize()}s" if width == 1 else f"Bins of {width} {period}s"
    ax.set_xlabel(f"{unit} relative to the start of the initiative (binned at the ends)")
    ax.set_ylabel(with_unit("Effect", _effect_unit(result, indicator, spec), 40))
    ax.set_title(f"Event study: {indicator.label[:60]}", loc="left")
    ax.legend(frameon=False)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


@styled
def plot_trends(trends: pd.DataFrame, indicator: Indicator, start: int | None, rate_per: float | None = None,
                ax: Any = None, *, exposure: str | None = None, period: str = "period") -> Figure:
    """Mean outcome per period, treated vs comparison group.

    Cells suppressed by disclosure control (text instead of a number) are left out of the
    lines and marked under the axis.
    """
    fig, ax = new_axes(ax, (WIDTH, 3.8))
    t = trends["t"].to_numpy()
    labels = trends["period"].astype(str).to_numpy() if "period" in trends.columns else t.astype(str)
    window = 12 if len(t) >= 48 else 1
    hidden = np.zeros(len(t), dtype=bool)
    for col, colour, style_, name in (("mean_treated", ROLE["treated"], "-", "Treated units (ever)"),
                                      ("mean_comparison", ROLE["comparison"], "--", "Comparison units")):
        if col in trends.columns:
            raw = trends[col]
            y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            hidden = hidden | raw.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            if window > 1:
                ax.plot(t, y, color=colour, lw=0.6, alpha=0.35, ls=style_)
                smooth = pd.Series(y).rolling(window, center=True, min_periods=window).mean().to_numpy()
                ax.plot(t, smooth, color=colour, lw=2, ls=style_, label=f"{name}, {window}-period moving average")
            else:
                ax.plot(t, y, color=colour, lw=1.6, ls=style_, marker="o", ms=3, label=name)
    if hidden.any():
        ax.plot(t[hidden], np.zeros(int(hidden.sum())), "|", color=GREY, ms=8, clip_on=False,
                transform=ax.get_xaxis_transform(), label="suppressed (small count)")
    if start is not None:
        ax.axvline(start - 0.5, color=ROLE["counterfactual"], ls=":", lw=1, label="first start")
    step = max(1, len(t) // 8)
    ax.set_xticks(t[::step], labels[::step], rotation=0)
    ax.set_xlabel(period.capitalize())
    unit = axis_unit(indicator, rate_per, exposure, period, per_area=rate_per is None)
    what = "Rate" if rate_per else "Mean per unit"
    ax.set_ylabel(with_unit(what, unit, 45))
    ax.set_title(f"{indicator.label[:70]}:\ntreated and comparison units over time", loc="left")
    below_legend(ax)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


def did_section(result: DidResult, indicator: Indicator, spec: DidAnalysis, verdict: object = None) -> Section:
    """The report section of one DiD analysis (``verdict``: its verdict against the plausible effect)."""
    title = DESIGN_TITLES[spec.design] + (" of counts (Poisson)" if spec.design == "staggered"
                                          and spec.family == "poisson" else "")
    sec = Section(id=f"analysis-{spec.id}", title=f"{title}: {indicator.label}")
    sec.headline = headline(result, indicator, spec, verdict)
    sec.paragraphs = _paragraphs(result, indicator)
    sec.warnings = list(result.warnings)
    sec.details = _details(result, spec)
    coefs = result.coefficient_frame()
    sec.tables.append(TableItem(f"{spec.id}-coefficients", "Coefficients of the model (interval_method says how "
                                "each interval was obtained; the headline row uses the analysis' inference)", coefs,
                                show=len(coefs) <= 30))
    if result.inference_comparison:
        cmp_ = coefficient_table(result.inference_comparison)
        sec.tables.append(TableItem(f"{spec.id}-inference-comparison", "For comparison only: the same effect under "
                                    "another inference (not used in the headline, evidence or economics)", cmp_))
    es = result.event_study_table()
    if not es.empty:
        sec.tables.append(TableItem(f"{spec.id}-event-study", "Event-study estimates by period relative to the start", es))
        fig = plot_event_study(result, indicator, spec)
        if fig is not None:
            period = _period(result)
            sec.figures.append(FigureItem(
                f"{spec.id}-event-study", f"Effects by {period} relative to the start "
                f"({_effect_unit(result, indicator, spec)}), with 95% intervals. Before the start they should be "
                "near zero.", fig,
                alt=f"Chart of the estimated effect on {lower_first(indicator.label)} in each {period} before and "
                    f"after the start, with 95% intervals. {sec.headline}"))
    gt = result.group_time_table()
    if not gt.empty:
        gt = gt.drop(columns=["group", "time"]).rename(columns={"group_label": "first treated", "time_label": "period"})
        gt = gt[["first treated", "period", *[c for c in gt.columns if c not in ("first treated", "period")]]]
        sec.tables.append(TableItem(f"{spec.id}-group-time", "Group-time average treatment effects", gt, show=False))
    sec.subsections.extend(staggered_subsections(result, indicator, spec))
    rob = getattr(result, "robustness", None)
    if rob is not None:
        sub = Section(id=f"{spec.id}-robustness", title="Robustness checks")
        sub.paragraphs = list(rob.reading) or ["No robustness re-fit was possible for this design."]
        sub.paragraphs.append("Re-fits use cluster-robust standard errors (not the bootstrap or the randomization test of the headline) "
                              "to keep the run short.")
        table = rob.table()
        if not table.empty:
            sub.tables.append(TableItem(f"{spec.id}-robustness", "Placebo dates, placebo outcomes and "
                                        "leave-one-unit-out re-fits", table, show=len(table) <= 12))
        if rob.trends is not None and not rob.trends.empty:
            rate_per = spec.rate_per if spec.offset else None
            period = _period(result)
            unit = axis_unit(indicator, rate_per, spec.offset, period, per_area=rate_per is None)
            what = "Rate" if spec.offset else "Mean outcome per unit"
            sub.figures.append(FigureItem(
                f"{spec.id}-trends", f"{what} ({unit}) in treated and comparison units; before the first start "
                "the lines should move in parallel.",
                plot_trends(rob.trends, indicator, rob.first_start, rate_per, exposure=spec.offset, period=period),
                alt=f"Line chart of {what.lower()} of {lower_first(indicator.label)} ({unit}) in the treated and "
                    f"the comparison units by {period}, with the first start marked."))
            sub.tables.append(TableItem(f"{spec.id}-trends", f"{what} by group and period ({unit})", rob.trends,
                                        show=False))
        sec.subsections.append(sub)
    return sec
