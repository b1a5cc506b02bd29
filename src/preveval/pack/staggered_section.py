"""The staggered roll-out parts of a difference-in-differences section.

For ``design: staggered`` the DiD section gains: the effects by time since the start with
pointwise intervals and the simultaneous (uniform) band; the effects by opening wave and by
calendar period; two-way fixed effects, Callaway & Sant'Anna and Sun & Abraham side by side
with a plain explanation of why they differ and the Goodman-Bacon decomposition behind it;
the Rambachan & Roth sensitivity analysis with its breakdown value in words; and, for counts
(the extended TWFE Poisson), the rate ratio of every opening wave and period and each
covariate's own effect. Builders draw and word; they never fit.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from preveval.pack.section import FigureItem, Section, TableItem
from preveval.pack.style import OKABE_ITO, ROLE, WIDTH, new_axes, styled, with_unit
from preveval.pack.wording import difference_unit, lower_first, num, pct
from preveval.results.did import DidResult
from preveval.results.staggered import StaggeredSensitivity
from preveval.spec.models import DidAnalysis, Indicator

__all__ = ["plot_bacon", "plot_dynamic_effects", "plot_sensitivity", "staggered_subsections"]

BACON_TYPES = {
    "treated_vs_never": ("a starting group against never-treated areas", OKABE_ITO["blue"], "o"),
    "treated_vs_always": ("a starting group against areas treated throughout", OKABE_ITO["sky_blue"], "D"),
    "earlier_vs_later": ("earlier starters against later starters, before these start", OKABE_ITO["bluish_green"], "s"),
    "later_vs_earlier": ("later starters against areas already treated", OKABE_ITO["vermillion"], "^"),
}
ESTIMATOR_NAMES = {"twfe": "two-way fixed effects", "callaway_santanna": "Callaway & Sant'Anna",
                   "sun_abraham": "Sun & Abraham"}


def _period(result: DidResult) -> str:
    return result.baseline.period if result.baseline is not None else "period"


def _unit(result: DidResult, indicator: Indicator) -> str:
    return difference_unit(result, indicator) or indicator.unit_label or "units of the outcome"


def _signed(value: float, unit: str) -> str:
    return f"{num(value)} {unit} {'lower' if value < 0 else 'higher'}"


# ------------------------------------------------------------------------------ figures

@styled
def plot_dynamic_effects(result: DidResult, indicator: Indicator, ax: Any = None) -> Figure | None:
    """Effects by time since the start: pointwise 95% intervals and the simultaneous 95% band."""
    agg = (result.aggregations or {}).get("dynamic")
    if agg is None or not agg.rows:
        return None
    fig, ax = new_axes(ax, (WIDTH, 3.8))
    tab = agg.table()
    x = tab["key"].to_numpy(dtype=float)
    est = tab["estimate"].to_numpy(dtype=float)
    ok = tab["std_error"].notna().to_numpy()
    if agg.band == "uniform":
        ax.vlines(x[ok], tab["band_low"].to_numpy(dtype=float)[ok], tab["band_high"].to_numpy(dtype=float)[ok],
                  color=ROLE["band"], lw=7, label=f"simultaneous 95% band (all {int(ok.sum())} at once)")
    for mask, colour, marker, name in ((x < 0, ROLE["before"], "s", "before the start"),
                                       (x >= 0, ROLE["after"], "o", "after the start")):
        m = mask & ok
        lo = tab["ci_low"].to_numpy(dtype=float)[m]
        hi = tab["ci_high"].to_numpy(dtype=float)[m]
        ax.errorbar(x[m], est[m], yerr=[est[m] - lo, hi - est[m]], fmt=marker, color=colour, capsize=2, ms=4,
                    lw=1, label=f"{name}, pointwise 95% interval")
    if (~ok).any():
        ax.plot(x[~ok], est[~ok], "o", mfc="white", color=ROLE["reference"], label="reference, fixed at 0")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axhline(0, color=ROLE["zero"], lw=0.8)
    ax.axvline(-0.5, color=ROLE["counterfactual"], ls="--", lw=1)
    ax.set_xlabel(f"{_period(result).capitalize()}s since the start (0 = the first {_period(result)})")
    ax.set_ylabel(with_unit("Effect", _unit(result, indicator), 40))
    ax.set_title(with_unit(f"Effect by time since the start: {indicator.label}", "", 70), loc="left")
    ax.legend(frameon=False, fontsize=7)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


@styled
def plot_bacon(result: DidResult, indicator: Indicator, ax: Any = None) -> Figure | None:
    """Every two-by-two comparison behind two-way fixed effects: its estimate against its weight."""
    if not result.bacon:
        return None
    fig, ax = new_axes(ax, (WIDTH, 3.8))
    for kind, (name, colour, marker) in BACON_TYPES.items():
        rows = [c for c in result.bacon if c.type == kind]
        if rows:
            ax.scatter([c.weight for c in rows], [c.estimate for c in rows], color=colour, marker=marker, s=28,
                       label=f"{name} ({sum(c.weight for c in rows):.0%} of the weight)")
    twfe = next((e.effect.estimate for e in result.estimators if e.estimator == "twfe"), None)
    if twfe is not None:
        ax.axhline(twfe, color=ROLE["observed"], ls="--", lw=1, label="two-way fixed effects (their weighted average)")
    ax.axhline(0, color=ROLE["zero"], lw=0.6)
    ax.set_xlabel("Weight in the two-way fixed-effects estimate (share, sums to 1)")
    ax.set_ylabel(with_unit("Two-by-two estimate", _unit(result, indicator), 40))
    ax.set_title("Goodman-Bacon decomposition of the two-way fixed-effects estimate", loc="left")
    ax.legend(frameon=False, fontsize=7)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


def _intervals(ax: Any, rows: Any, original: tuple[float, float], estimate: float, breakdown: float | None,
               xlabel: str, title: str, unit: str) -> None:
    ms = [r.m for r in rows]
    step = (max(ms) - min(ms)) / max(len(ms) - 1, 1) or 1.0
    x0 = min(ms) - 0.8 * step
    ax.vlines([x0], [original[0]], [original[1]], color=ROLE["observed"], lw=2, label="usual 95% interval")
    ax.plot([x0], [estimate], "o", color=ROLE["observed"])
    ok = [r for r in rows if math.isfinite(r.ci_low) and math.isfinite(r.ci_high)]
    ax.vlines([r.m for r in ok], [r.ci_low for r in ok], [r.ci_high for r in ok], color=ROLE["fitted"], lw=2,
              label="robust 95% interval")
    if breakdown is not None:
        ax.axvline(breakdown, color=ROLE["counterfactual"], ls=":", lw=1, label=f"breakdown value {breakdown:.3g}")
    ax.axhline(0, color=ROLE["zero"], lw=0.8)
    ax.set_xticks([x0, *ms], ["usual", *(f"{m:.2g}" for m in ms)])
    ax.set_xlabel(with_unit(xlabel, "", 34))
    ax.set_ylabel(with_unit("Average effect", unit, 30))
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=6.5, loc="upper left")
    ax.grid(alpha=0.6)


@styled
def plot_sensitivity(result: DidResult, indicator: Indicator, ax: Any = None) -> Figure | None:
    """Robust intervals over the relative-magnitudes and smoothness grids, the usual interval beside them.

    ``ax``: draw the relative-magnitudes panel alone into this Axes (its figure is returned).
    """
    s = result.sensitivity
    if s is None:
        return None
    if ax is not None:
        _intervals(ax, s.relative_magnitude.rows, s.original, s.estimate, s.breakdown,
                   "Mbar: times the largest drift before the start", "Relative magnitudes", _unit(result, indicator))
        return ax.figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(WIDTH, 4.0))
    FigureCanvasAgg(fig)
    panels = 2 if s.smoothness is not None else 1
    unit = _unit(result, indicator)
    a1 = fig.add_subplot(1, panels, 1)
    _intervals(a1, s.relative_magnitude.rows, s.original, s.estimate, s.breakdown,
               "Mbar: times the largest drift before the start", "Relative magnitudes", unit)
    if s.smoothness is not None:
        a2 = fig.add_subplot(1, panels, 2)
        _intervals(a2, s.smoothness.rows, s.original, s.estimate, s.breakdown_smoothness,
                   f"M: change of slope a {_period(result)}, in the effect's units", "Smoothness", unit)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ words

def _dynamic_words(result: DidResult, indicator: Indicator) -> list[str]:
    agg = (result.aggregations or {}).get("dynamic")
    if agg is None or not agg.rows:
        return []
    unit, period = _unit(result, indicator), _period(result)
    post = [r for r in agg.rows if r.key >= 0 and r.std_error is not None]
    out = []
    if post:
        first, last = post[0], post[-1]
        waves = "one opening wave" if last.n_cells == 1 else f"{last.n_cells} opening waves"
        out.append(f"In the first {period} after the start the estimated effect was {_signed(first.estimate, unit)} "
                   f"than without the initiative; {last.key} {period}s after the start (the latest shown, from "
                   f"{waves}) it was {_signed(last.estimate, unit)} (effects by {period} since the start, "
                   "Callaway & Sant'Anna).")
    if agg.band == "uniform" and agg.bootstrap is not None:
        b = agg.bootstrap
        clear = [r for r in post if r.band_low is not None and r.band_high is not None and (r.band_low > 0 or r.band_high < 0)]
        out.append(f"The grey band is a simultaneous 95% band: with 95% confidence it covers all {len(agg.rows)} "
                   f"effects at once, so it is wider than the intervals of single {period}s (multiplier bootstrap "
                   f"clustered by area, {b.reps:,} draws, seed {b.seed}, critical value {agg.critical_value:.2f} "
                   "instead of 1.96).")
        out.append(f"Judged by that band, {len(clear)} of the {len(post)} effects after the start are clearly "
                   "different from zero." if post else "")
    elif agg.bootstrap is not None and agg.bootstrap.pointwise_fallback:
        out.append("The simultaneous band came out narrower than pointwise intervals, so pointwise ones are shown.")
    return [x for x in out if x]


def _comparison_words(result: DidResult, indicator: Indicator) -> list[str]:
    rows = {e.estimator: e for e in result.estimators}
    if "twfe" not in rows or "callaway_santanna" not in rows:
        return []
    unit = _unit(result, indicator)
    bits = ", ".join(f"{ESTIMATOR_NAMES[k]} {_signed(rows[k].effect.estimate, unit)}"
                     for k in ("twfe", "callaway_santanna", "sun_abraham") if k in rows)
    out = [f"Three ways of averaging the same data give: {bits} than without the initiative."]
    bad = sum(c.weight for c in (result.bacon or ()) if c.type == "later_vs_earlier")
    tw, cs = rows["twfe"].effect, rows["callaway_santanna"].effect
    se = cs.std_error or 0.0
    close = abs(tw.estimate - cs.estimate) <= 0.25 * se
    why = ("Two-way fixed effects is one regression coefficient. It averages every comparison of an earlier- and a "
           "later-starting group, including comparisons where areas that already have the initiative stand in "
           f"as the 'control' for areas starting later ({bad:.0%} of its weight here, Goodman-Bacon 2021). When "
           "the effect changes with time since the start, the 'control' areas in those comparisons are still "
           "changing because of the initiative itself, which pulls the coefficient away from the average "
           "effect. Callaway & Sant'Anna and Sun & Abraham compare each starting group only with areas that have "
           "not started, so they avoid this; they differ from each other only in how they weigh the starting "
           "groups and periods.")
    out.append(why)
    if result.bacon:
        out.append("Here two-way fixed effects and Callaway & Sant'Anna agree closely (within a quarter of a "
                   "standard error)." if close else
                   f"Here two-way fixed effects differs from Callaway & Sant'Anna by "
                   f"{num(tw.estimate - cs.estimate)} {unit}; the headline uses the estimate that avoids "
                   "already-treated comparisons.")
    return out


def breakdown_sentence(s: StaggeredSensitivity, result: DidResult, indicator: Indicator) -> str:
    """The Rambachan & Roth breakdown value in plain words (one inference)."""
    period, unit = _period(result), _unit(result, indicator)
    n = max(e for e in s.event_times) + 1
    target = f"the average effect over the first {n} {period}s after the start ({_signed(s.estimate, unit)})"
    lo, hi = s.original
    if s.breakdown is None:
        return (f"Even if trends had been exactly parallel, {target} is not clearly different from zero (95% CI "
                f"{lo:.3g} to {hi:.3g} {unit}), so we cannot tell whether it would survive any departure from "
                "parallel trends.")
    went = "fell" if s.estimate < 0 else "rose"
    label = lower_first(indicator.label)
    if s.breakdown_capped:
        return (f"The conclusion that {label} {went} ({target}) holds even if departures from parallel trends after "
                f"the start were {s.upper:g} times the largest one seen from one {period} to the next before it.")
    return (f"The conclusion that {label} {went} ({target}) holds unless departures from parallel trends after the "
            f"start are more than {s.breakdown:.2g} times the largest one seen from one {period} to the next before "
            "it (Rambachan & Roth's breakdown value).")


def _sensitivity_table(s: StaggeredSensitivity) -> pd.DataFrame:
    rows = [{"restriction": "none (parallel trends)", "parameter": None, "ci_low": s.original[0],
             "ci_high": s.original[1], "method": "normal"}]
    for h in (s.relative_magnitude, s.smoothness):
        if h is not None:
            rows += [{"restriction": h.restriction, "parameter": r.m, "ci_low": r.ci_low, "ci_high": r.ci_high,
                      "method": r.method} for r in h.rows]
    return pd.DataFrame(rows, columns=["restriction", "parameter", "ci_low", "ci_high", "method"])


def _covariate_words(result: DidResult, indicator: Indicator) -> list[str]:
    cells = {f"tau::{c.group_label}:{c.time_label}" for c in result.poisson_cells}
    out = []
    label = lower_first(indicator.label)
    for c in result.coefficients:
        if c.term in cells or c.ci_low is None or c.ci_high is None:
            continue
        rr, lo, hi = math.exp(c.estimate), math.exp(c.ci_low), math.exp(c.ci_high)
        word = "lower" if rr < 1 else "higher"
        clear = c.excludes_zero()
        out.append(f"Allowing for '{c.term}' (its own effect, estimated alongside the initiative's): where and when "
                   f"'{c.term}' was 1, {label} were about {pct(rr - 1)} {word} (rate ratio {rr:.3f}, 95% CI "
                   f"{lo:.3f} to {hi:.3f})" + ("." if clear else ", but this is uncertain."))
    return out


# ------------------------------------------------------------------------------ section parts

def _table(name: str, caption: str, frame: pd.DataFrame, show: bool = True) -> TableItem:
    return TableItem(name, caption, frame, show=show and len(frame) <= 40)


def staggered_subsections(result: DidResult, indicator: Indicator, spec: DidAnalysis) -> list[Section]:
    """The parts a staggered analysis adds to its DiD section (empty for other designs)."""
    if spec.design != "staggered":
        return []
    out: list[Section] = []
    unit, period = _unit(result, indicator), _period(result)
    if result.poisson_cells:
        sub = Section(id=f"{spec.id}-cells", title="Effects by opening wave and period (rate ratios)")
        sub.paragraphs = [*_covariate_words(result, indicator),
                          "Each opening wave's rate ratio in each period after its start is estimated against "
                          "areas that never ran the initiative; the headline combines them as observed over "
                          "expected events."]
        cells = pd.DataFrame([{"first treated": c.group_label, "period": c.time_label, "rate_ratio": c.rate_ratio.estimate,
                               "ci_low": c.rate_ratio.ci_low, "ci_high": c.rate_ratio.ci_high,
                               "log_ratio": c.log_ratio.estimate, "std_error": c.log_ratio.std_error,
                               "n_treated": c.n_treated} for c in result.poisson_cells])
        sub.tables.append(_table(f"{spec.id}-cohort-period", "Rate ratio of every opening wave and period", cells,
                                 show=False))
        out.append(sub)
    aggs = result.aggregations or {}
    if aggs:
        sub = Section(id=f"{spec.id}-aggregations", title=f"Effects by time since the start, by wave and by {period}")
        sub.paragraphs = _dynamic_words(result, indicator)
        fig = plot_dynamic_effects(result, indicator)
        if fig is not None:
            sub.figures.append(FigureItem(
                f"{spec.id}-dynamic", f"Effect ({unit}) by {period}s since the start, with pointwise 95% intervals "
                "and the simultaneous 95% band. Before the start the effects should be near zero.", fig,
                alt=f"Chart of the effect on {lower_first(indicator.label)} by {period}s since the start. "
                    + " ".join(_dynamic_words(result, indicator)[:1])))
        names = {"dynamic": f"by {period}s since the start (event time)", "group": "by opening wave (first treated)",
                 "calendar": f"by calendar {period}"}
        for kind, agg in aggs.items():
            tab = agg.table().rename(columns={"key": "ordinal"})
            o = agg.overall
            sub.tables.append(_table(f"{spec.id}-{kind}", f"Effects {names[kind]} ({unit}); summary "
                                     f"{o.estimate:.4g} (95% CI {o.ci_low:.4g} to {o.ci_high:.4g})"
                                     if o.ci_low is not None else f"Effects {names[kind]} ({unit})", tab,
                                     show=kind == "dynamic"))
        out.append(sub)
    if result.estimators:
        sub = Section(id=f"{spec.id}-estimators", title="Two-way fixed effects, Callaway & Sant'Anna and Sun & Abraham")
        sub.paragraphs = _comparison_words(result, indicator)
        est = pd.DataFrame([{"estimator": e.label, "estimate": e.effect.estimate, "std_error": e.effect.std_error,
                             "ci_low": e.effect.ci_low, "ci_high": e.effect.ci_high, "p_value": e.effect.p_value,
                             "interval_method": e.effect.interval_method, "headline": e.headline,
                             "what it averages": e.weighting} for e in result.estimators])
        sub.tables.append(_table(f"{spec.id}-estimators", f"The average effect by three estimators ({unit})", est))
        fig = plot_bacon(result, indicator)
        if fig is not None:
            sub.figures.append(FigureItem(
                f"{spec.id}-bacon", f"Every two-by-two comparison behind two-way fixed effects: its estimate ({unit}) "
                "against its weight, by type of comparison.", fig,
                alt="Scatter chart of the Goodman-Bacon decomposition: each comparison's estimate against its "
                    "weight, coloured by type."))
            bac = pd.DataFrame([{"type": c.type, "treated": c.treated, "control": c.control, "estimate": c.estimate,
                                 "weight": c.weight} for c in result.bacon or ()])
            summ = (bac.assign(weighted=bac["weight"] * bac["estimate"]).groupby("type", sort=True)
                    [["weight", "weighted"]].sum().reset_index())
            summ["average_estimate"] = summ["weighted"] / summ["weight"]
            sub.tables.append(_table(f"{spec.id}-bacon-summary", "Weight and average estimate by type of comparison",
                                     summ.drop(columns="weighted")))
            sub.tables.append(_table(f"{spec.id}-bacon", "Every two-by-two comparison (Goodman-Bacon 2021)", bac,
                                     show=False))
        if result.sun_abraham is not None:
            sub.tables.append(_table(f"{spec.id}-sun-abraham", "Sun & Abraham interaction-weighted effects by "
                                     f"{period} relative to the start ({unit})", result.sun_abraham.table(), show=False))
        out.append(sub)
    s = result.sensitivity
    if s is not None:
        sub = Section(id=f"{spec.id}-sensitivity", title="How sure? Sensitivity to departures from parallel trends")
        sub.headline = breakdown_sentence(s, result, indicator)
        sub.paragraphs = [
            "Every difference-in-differences estimate assumes that, without the initiative, the areas that ran it "
            "would have followed the comparison areas' path. The robust intervals below drop that assumption and "
            f"allow the paths to drift apart after the start, by up to Mbar times the largest drift between "
            f"consecutive {period}s seen before the start (relative magnitudes), or with a trend whose slope may "
            f"bend by up to M per {period} (smoothness).",
        ]
        if s.breakdown_smoothness is not None:
            sub.paragraphs.append(f"Under the smoothness bound the interval excludes zero for M up to "
                                  f"{s.breakdown_smoothness:.3g} {unit} per {period} on the grid.")
        fig = plot_sensitivity(result, indicator)
        if fig is not None:
            sub.figures.append(FigureItem(f"{spec.id}-sensitivity", f"Robust 95% intervals of {s.target} ({unit}) "
                                          "as the allowed departure from parallel trends grows.", fig,
                                          alt=f"Chart of robust intervals against the size of the allowed departure. "
                                              f"{sub.headline}"))
        sub.tables.append(_table(f"{spec.id}-sensitivity", f"Robust 95% intervals of {s.target} ({unit})",
                                 _sensitivity_table(s)))
        es = pd.DataFrame(list(s.event_study), columns=["event_time", "estimate", "std_error"])
        sub.tables.append(_table(f"{spec.id}-sensitivity-event-study", "The event study the bounds read (universal "
                                 "base period, reference -1 left out)", es, show=False))
        sub.details = [f"Rambachan & Roth (2023): relative magnitudes by the conditional least-favourable hybrid "
                       f"test (Andrews, Roth & Pakes), smoothness by the optimal fixed-length interval; target "
                       f"{s.target}; {s.n_pre} pre-period effects; breakdown by bisection to {s.tolerance:g}."]
        out.append(sub)
    if result.staggered_notes:
        note = Section(id=f"{spec.id}-staggered-notes", title="Left out")
        note.paragraphs = [n[:1].upper() + n[1:] + "." for n in result.staggered_notes]
        out.append(note)
    return out
