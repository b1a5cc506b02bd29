"""Report section of a difference-in-differences analysis.

Headline and explanation in plain English, the parallel-trends and event-study figures,
robustness checks (placebo dates, placebo outcomes, leave-one-unit-out) and every
technical detail (design, fixed effects, standard errors, bootstrap, pre-trend test).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from preveval.data.design_checks import FEW_TREATED
from preveval.pack.section import FigureItem, Section, TableItem
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
    out = [
        f"This analysis is {DESIGNS.get(result.design, result.design)}. It compares how "
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
                       f"(joint test of the leads, p = {pt.p_value:.3g}). The parallel-paths assumption is doubtful, "
                       "so treat the estimate with caution.")
        else:
            out.append(f"Before the start, the test that treated and comparison areas moved in parallel found no "
                       f"evidence against it (joint test of the leads, p = {pt.p_value:.3g}). This supports, but "
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
        out.append(f"In the treated units over {prevented.years:.1f} years that is {what} than expected without the "
                   f"initiative (95% interval {prevented.ci_low:,.0f} to {prevented.ci_high:,.0f}; negative numbers "
                   f"mean more {n}), out of {prevented.observed:,.0f} observed.")
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
                 f"{spec.seed}; t = {b.t_stat:.4g}, p = {b.p_value:.4g}, CI by test inversion "
                 f"[{b.ci_low:.4g}, {b.ci_high:.4g}]")
    return d


def _canvas(fig: Figure) -> Figure:
    FigureCanvasAgg(fig)
    return fig


def plot_event_study(result: DidResult, indicator: Indicator, spec: DidAnalysis | None = None) -> Figure | None:
    """Event-study coefficients with 95% intervals; the reference period is marked."""
    tab = result.event_study_table()
    if tab.empty:
        return None
    fig = _canvas(Figure(figsize=(8, 4.2)))
    ax = fig.add_subplot()
    x = tab["rel_time"].to_numpy()
    est = tab["estimate"].to_numpy(dtype=float)
    lo = tab["ci_low"].to_numpy(dtype=float)
    hi = tab["ci_high"].to_numpy(dtype=float)
    ref = tab["reference"].to_numpy(dtype=bool)
    pre = (x < 0) & ~ref
    post = (x >= 0) & ~ref
    for mask, colour, name in ((pre, "#7b8794", "before the start"), (post, "#2f80ed", "after the start")):
        ax.errorbar(x[mask], est[mask], yerr=[est[mask] - lo[mask], hi[mask] - est[mask]], fmt="o",
                    color=colour, capsize=3, label=name)
    if ref.any():
        ax.plot(x[ref], est[ref], "o", mfc="white", color="#1d2b36", label="reference period (-1), fixed at 0")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="#d64545", ls="--", lw=1)
    scale = "log rate ratio" if result.scale == "log" else indicator.unit_label or "difference"
    if spec is not None and spec.offset is not None and spec.family == "gaussian":
        scale = f"rate per {spec.rate_per:,.0f}"
    width = spec.event_bin if spec is not None else 1
    unit = "Periods" if width == 1 else f"Bins of {width} periods"
    ax.set_xlabel(f"{unit} relative to the start of the initiative (binned at the ends)")
    ax.set_ylabel(f"Effect ({scale})")
    ax.set_title(f"Event study: {indicator.label[:60]}")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_trends(trends: pd.DataFrame, indicator: Indicator, start: int | None, rate_per: float | None = None) -> Figure:
    """Mean outcome per period, treated vs comparison group."""
    fig = _canvas(Figure(figsize=(8, 4.2)))
    ax = fig.add_subplot()
    t = trends["t"].to_numpy()
    labels = trends["period"].astype(str).to_numpy() if "period" in trends.columns else t.astype(str)
    window = 12 if len(t) >= 48 else 1
    for col, colour, name in (("mean_treated", "#2f80ed", "Treated units (ever)"),
                              ("mean_comparison", "#7b8794", "Comparison units")):
        if col in trends.columns:
            y = trends[col].to_numpy(dtype=float)
            if window > 1:
                ax.plot(t, y, color=colour, lw=0.6, alpha=0.35)
                smooth = pd.Series(y).rolling(window, center=True, min_periods=window).mean().to_numpy()
                ax.plot(t, smooth, color=colour, lw=2, label=f"{name}, {window}-period moving average")
            else:
                ax.plot(t, y, color=colour, lw=1.6, marker="o", ms=3, label=name)
    if start is not None:
        ax.axvline(start - 0.5, color="#d64545", ls="--", lw=1, label="first start")
    step = max(1, len(t) // 8)
    ax.set_xticks(t[::step], labels[::step], rotation=0, fontsize=8)
    ax.set_xlabel("Period")
    ax.set_ylabel(f"Rate per {rate_per:,.0f}" if rate_per else f"Mean per unit ({indicator.unit_label or 'value'})")
    ax.set_title(f"{indicator.label[:70]}:\ntreated and comparison units over time")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def did_section(result: DidResult, indicator: Indicator, spec: DidAnalysis, verdict: object = None) -> Section:
    """The report section of one DiD analysis (``verdict``: its verdict against the plausible effect)."""
    sec = Section(id=f"analysis-{spec.id}", title=f"{DESIGN_TITLES[spec.design]}: {indicator.label}")
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
            sec.figures.append(FigureItem(f"{spec.id}-event-study", "Effects by period relative to the start, "
                                          "with 95% intervals. Before the start they should be near zero.", fig))
    gt = result.group_time_table()
    if not gt.empty:
        gt = gt.drop(columns=["group", "time"]).rename(columns={"group_label": "first treated", "time_label": "period"})
        gt = gt[["first treated", "period", *[c for c in gt.columns if c not in ("first treated", "period")]]]
        sec.tables.append(TableItem(f"{spec.id}-group-time", "Group-time average treatment effects", gt, show=False))
    rob = getattr(result, "robustness", None)
    if rob is not None:
        sub = Section(id=f"{spec.id}-robustness", title="Robustness checks")
        sub.paragraphs = list(rob.reading) or ["No robustness re-fit was possible for this design."]
        sub.paragraphs.append("Re-fits use cluster-robust standard errors (not the bootstrap) to keep the run short.")
        table = rob.table()
        if not table.empty:
            sub.tables.append(TableItem(f"{spec.id}-robustness", "Placebo dates, placebo outcomes and "
                                        "leave-one-unit-out re-fits", table, show=len(table) <= 12))
        if rob.trends is not None and not rob.trends.empty:
            what = "Rate" if spec.offset else "Mean outcome per unit"
            sub.figures.append(FigureItem(f"{spec.id}-trends", f"{what} in treated and comparison "
                                          "units; before the first start the lines should move in parallel.",
                                          plot_trends(rob.trends, indicator, rob.first_start,
                                                      spec.rate_per if spec.offset else None)))
            sub.tables.append(TableItem(f"{spec.id}-trends", "Mean outcome by group and period", rob.trends, show=False))
        sec.subsections.append(sub)
    return sec
