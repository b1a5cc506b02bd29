"""Report section of a synthetic-control analysis (``method: synthetic_control``).

Headline in plain English (the weighted mix of areas named with its weights), what the
placebo p-value means and why it has a floor, the treated-against-synthetic figure, the gap
figure with the placebo gaps, the donor weights (table and bar figure), the predictor
balance table, the synthetic DiD / SC / DiD comparison, the placebo in time and
leave-one-donor-out checks, and every technical detail. Never fits a model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from preveval.pack.section import FigureItem, Section, TableItem
from preveval.pack.style import (
    LIGHT_GREY,
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
    num,
    pct,
    verdict_tail,
)
from preveval.results.base import coefficient_table
from preveval.results.synth import NOISE_MARGIN, SynthResult
from preveval.spec.models import Indicator, SynthAnalysis

__all__ = ["headline", "plot_gaps", "plot_synthetic", "plot_weights", "synth_section"]

TITLES = {"abadie": "Synthetic control", "sdid": "Synthetic difference-in-differences"}


def _who(result: SynthResult) -> str:
    return result.treated[0] if result.n_treated == 1 else f"the {result.n_treated} areas that ran it"


def _mix(result: SynthResult) -> str:
    what = "a weighted mix of similar areas" if result.estimator == "abadie" else (
        "a weighted mix of similar areas and of the periods before the start")
    return f"{what} ({result.weights_text()})"


def _floor_sentence(result: SynthResult) -> str:
    if result.min_p_value is None or result.p_value is None:
        return ""
    n = result.n_donors + 1
    if result.min_p_value > 0.05:
        top = (f"{_who(result)}'s gap was the most unusual of all {n} areas (p = {fmt_p(result.p_value)}, the smallest "
               "possible), but" if result.p_value <= result.min_p_value + 1e-12 else
               f"The placebo p-value is {fmt_p(result.p_value)}, and")
        return (f" {top} with only {result.n_donors} comparison areas no p-value can be below 1/{n} = "
                f"{result.min_p_value:.2g}: the data cannot show an effect at the 5% level, so we cannot tell "
                "whether the initiative made a difference.")
    return ""


def _relative(result: SynthResult) -> str:
    """`` (about 28% below the synthetic comparison)``: the gap as a share of the counterfactual."""
    s = result.series
    if s is None:
        return ""
    synth = float(s.loc[s["post"], "synthetic"].mean())
    if not math.isfinite(synth) or synth <= 0:
        return ""
    share = result.effect.estimate / synth
    return f" (about {pct(share)} {'below' if share < 0 else 'above'} the synthetic comparison)"


def headline(result: SynthResult, indicator: Indicator, spec: SynthAnalysis | None = None,
             verdict: object = None) -> str:
    """One sentence for the board: the weighted mix, the gap with its unit, its certainty, the yardstick."""
    e = result.effect
    label = lower_first(indicator.label)
    unit = difference_unit(result, indicator)
    change, lim, clear = change_phrase(e, "difference", unit)
    base = baseline_phrase(result.baseline, indicator)
    base = f", from {base}" if base else ""
    start = (f"Compared with {_mix(result)}, {label} in {_who(result)} were {change} than expected after the "
             f"start{_relative(result)}")
    if lim is None:
        return start + base + "." + (_floor_sentence(result) or
                                     " There is no 95% interval, so we cannot tell whether the initiative made a "
                                     "difference.")
    if clear:
        good = desired_direction(e, indicator.desired)
        tail = "" if good else " — the opposite of what the initiative intends"
        return f"{start} ({lim}){tail}{base}." + (verdict_tail(verdict, "difference", unit) if not good else "")
    return (f"{start}, but this is uncertain ({lim}){base}."
            + (verdict_tail(verdict, "difference", unit) or " We cannot tell whether the initiative made a difference."))


def _paragraphs(result: SynthResult, indicator: Indicator, spec: SynthAnalysis) -> list[str]:
    who = _who(result)
    unit = difference_unit(result, indicator)
    out = [
        f"This analysis builds a synthetic comparison for {who}: a weighted average of the {result.n_donors} areas "
        "that did not run the initiative (the donors), with weights chosen so that it tracks "
        f"{lower_first(indicator.label)} in {who} as closely as possible before the start "
        f"({result.n_pre} periods). After the start ({result.n_post} periods), the gap between {who} and its "
        "synthetic comparison estimates the effect."
        + (" Synthetic difference-in-differences also weights the periods before the start and allows a constant "
           "difference in level between the two, as a difference-in-differences does." if spec.estimator == "sdid"
           else ""),
    ]
    if result.rmspe_pre is not None:
        noise = result.pre_noise
        vs = ""
        if noise is not None and math.isfinite(noise) and noise > 0:
            vs = (f", {'about the size of' if result.rmspe_pre <= NOISE_MARGIN * noise else 'more than'} the "
                  f"period-to-period noise of {who}'s own series ({num(noise)})")
        out.append(f"Before the start the synthetic comparison missed {who} by {num(result.rmspe_pre)} {unit} on "
                   f"average (root mean squared error){vs}; after the start the gap averaged "
                   f"{_signed(result.effect.estimate)} {unit}.")
    if result.p_value is not None and result.min_p_value is not None:
        out.append(f"To judge whether chance could explain the gap, the same method was applied to each donor as if "
                   f"it had run the initiative (placebo tests). The p-value is the share of all {result.n_donors + 1} "
                   f"areas whose gap after the start, relative to how well they were fitted before, is at least as "
                   f"large as {who}'s: {fmt_p(result.p_value)}. It cannot be smaller than 1/{result.n_donors + 1} = "
                   f"{result.min_p_value:.2g}, however large the effect.")
    e = result.effect
    if e.interval_method == "placebo_test_inversion" and e.ci_low is not None:
        out.append("The 95% interval holds every constant effect that the placebo test would not reject (Firpo & "
                   "Possebom 2018); it assumes the initiative could as well have run in any of the areas.")
    elif e.interval_method in ("sdid_placebo_se", "sdid_jackknife_se") and e.std_error is not None:
        how = (f"{spec.reps} re-fits in which a donor plays the treated area (seed {spec.seed})"
               if e.interval_method == "sdid_placebo_se" else "re-fits leaving out one area at a time (jackknife)")
        out.append(f"The 95% interval is the estimate plus or minus 1.96 standard errors ({num(e.std_error)} {unit}), "
                   f"estimated from {how}.")
    pit = result.placebo_in_time
    diag = next((d for d in result.diagnostics if d.name == "placebo_in_time"), None)
    if pit is not None and diag is not None:
        verdict = {"pass": "no more unusual than the donors' placebos, as it should be",
                   "fail": "as unusual as a real effect would be: a warning sign",
                   "inconclusive": "not testable at the 5% level with so few donors"}.get(diag.status, "")
        out.append(f"Placebo in time: pretending the initiative started in {pit.fake_start}, fitted on the periods "
                   f"before that, gives an average gap of {'+' if pit.mean_gap > 0 else '-'}{num(pit.mean_gap)} {unit} "
                   f"up to the real start (placebo p-value {fmt_p(pit.p_value)}): {verdict}.")
    if result.leave_one_out:
        vals = [x.estimate for x in result.leave_one_out]
        spread = (f"from {_signed(min(vals))} to {_signed(max(vals))}" if num(min(vals)) != num(max(vals))
                  or (min(vals) < 0) != (max(vals) < 0) else f"{_signed(min(vals))} each time")
        out.append(f"Leaving out each donor with weight in turn gives estimates {spread} {unit} (all donors: "
                   f"{_signed(e.estimate)}).")
    p = result.prevented
    if p is not None:
        n = indicator.unit_label or "events"
        what = f"about {num(p.total)} fewer {n}" if p.total >= 0 else f"about {num(-p.total)} more {n}"
        iv = (f"95% interval {p.ci_low:,.0f} to {p.ci_high:,.0f}"
              + (f"; negative numbers mean more {n}" if p.ci_low < 0 else "")
              if math.isfinite(p.ci_low) and math.isfinite(p.ci_high) else "no 95% interval")
        out.append(f"Over the {p.years:.1f} years after the start that is {what} than the synthetic comparison "
                   f"implies ({iv}), out of {p.observed:,.0f} observed.")
    return out


def _signed(x: float) -> str:
    return f"{'+' if x > 0 else '-' if x < 0 else ''}{num(x)}"


def _details(result: SynthResult, spec: SynthAnalysis) -> list[str]:
    e = result.effect
    d = [f"Model: {result.description}",
         f"Treated: {', '.join(result.treated)}; donors ({result.n_donors}): {', '.join(result.donors)}",
         f"Headline inference: {e.interval_method}; placebo-in-space p-value {fmt_p(result.p_value)} (floor "
         f"{result.min_p_value:.3g})" if result.min_p_value is not None else f"Headline inference: {e.interval_method}",
         f"Pre-period RMSPE {result.rmspe_pre:.4g}; post-period RMSPE {result.rmspe_post:.4g}"
         + (f"; ratio {result.rmspe_ratio:.4g}" if result.rmspe_ratio is not None else "")]
    if result.v_method:
        d.append(f"Predictor importance V: {result.v_method}"
                 + (" (the outcome in every fit period; the nested problem solved exactly)"
                    if result.v_method == "outcome_path" else ""))
    if result.attained_level is not None and result.effect.ci_low is not None:
        d.append(f"Placebo-test interval: level asked {result.interval_level:.0%}, level the permutation grid "
                 f"guarantees {result.attained_level:.1%}")
    for diag in result.diagnostics:
        d.append(f"Diagnostic {diag.name}: {diag.status} ({diag.reason})")
    if result.prevented is not None:
        d.append(f"Prevented events: {result.prevented.interval}")
    return d


def _x(series: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.PeriodIndex(series["period"]).to_timestamp()


def _numbers(values: pd.Series) -> np.ndarray:
    """Values as numbers; cells suppressed by disclosure control (text) become gaps in a line."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _start_line(ax: Any, series: pd.DataFrame) -> None:
    x = _x(series)
    first = int(np.argmax(series["post"].to_numpy()))
    ax.axvline(x[first], color=ROLE["start"], ls=":", lw=1, label="start of the initiative")


def _unit(result: SynthResult, indicator: Indicator) -> str:
    b = result.baseline
    return axis_unit(indicator, result.rate_per, b.exposure if b is not None else None,
                     b.period if b is not None else None)


@styled
def plot_synthetic(result: SynthResult, indicator: Indicator, ax: Any = None) -> Figure:
    """The treated unit and its synthetic comparison over time, with the start marked."""
    s = result.series
    fig, ax = new_axes(ax)
    x = _x(s)
    ax.plot(x, _numbers(s["treated"]), color=ROLE["treated"], lw=1.6, label=_who(result)[:40])
    ax.plot(x, s["synthetic"], color=ROLE["counterfactual"], lw=1.4, ls="--", label="synthetic comparison")
    _start_line(ax, s)
    ax.set_ylabel(with_unit(indicator.label, _unit(result, indicator), 45))
    ax.set_xlabel("Period")
    ax.set_title(f"{indicator.label[:60]}: {_who(result)[:30]} and its synthetic comparison", loc="left")
    below_legend(ax)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


@styled
def plot_gaps(result: SynthResult, indicator: Indicator, ax: Any = None) -> Figure:
    """The treated unit's gap (observed minus synthetic) and every donor's placebo gap."""
    s = result.series
    fig, ax = new_axes(ax)
    x = _x(s)
    gaps = result.placebo_gaps
    if gaps is not None:
        for i, col in enumerate(gaps.columns[2:]):
            ax.plot(x, _numbers(gaps[col]), color=LIGHT_GREY, lw=0.8,
                    label="placebo gaps (each donor as if treated)" if i == 0 else None)
    ax.plot(x, _numbers(s["gap"]), color=ROLE["treated"], lw=2, label=f"{_who(result)[:40]}")
    ax.axhline(0, color=ROLE["zero"], lw=0.8)
    _start_line(ax, s)
    ax.set_ylabel(with_unit("Observed minus synthetic", _unit(result, indicator), 45))
    ax.set_xlabel("Period")
    ax.set_title(f"{indicator.label[:60]}: gap to the synthetic comparison", loc="left")
    below_legend(ax)
    ax.grid(alpha=0.6)
    fig.tight_layout()
    return fig


@styled
def plot_weights(result: SynthResult, ax: Any = None) -> Figure:
    """Donor weights as horizontal bars, largest first."""
    items = sorted(result.weights.items(), key=lambda kv: (-kv[1], kv[0]))
    fig, ax = new_axes(ax, (WIDTH, max(2.0, 0.28 * len(items) + 1.2)))
    names = [k[:40] for k, _ in items][::-1]
    ax.barh(names, [v for _, v in items][::-1], color=ROLE["treated"])
    ax.set_xlim(0, 1)
    ax.set_xlabel("Weight in the synthetic comparison (share, 0 to 1)")
    ax.set_title("Donor weights", loc="left")
    ax.grid(alpha=0.6, axis="x")
    fig.tight_layout()
    return fig


def _placebo_table(result: SynthResult) -> pd.DataFrame:
    gaps = result.placebo_gaps
    post = result.series["post"].to_numpy()
    rows = []
    for col in gaps.columns[1:]:
        g = _numbers(gaps[col])
        pre, aft = float(np.sqrt(np.mean(g[~post] ** 2))), float(np.sqrt(np.mean(g[post] ** 2)))
        rows.append({"unit": col, "treated": col in result.treated, "rmspe_pre": pre, "rmspe_post": aft,
                     "ratio": aft / pre if pre > 0 else None, "mean_post_gap": float(g[post].mean())})
    return pd.DataFrame(rows).sort_values("ratio", ascending=False, kind="stable")


def synth_section(result: SynthResult, indicator: Indicator, spec: SynthAnalysis, verdict: object = None) -> Section:
    """The report section of one synthetic-control analysis."""
    sec = Section(id=f"analysis-{spec.id}", title=f"{TITLES[spec.estimator]}: {indicator.label}")
    sec.headline = headline(result, indicator, spec, verdict)
    sec.paragraphs = _paragraphs(result, indicator, spec)
    sec.warnings = list(result.warnings)
    sec.details = _details(result, spec)
    sec.figures.append(FigureItem(f"{spec.id}-synthetic", f"{indicator.label} in {_who(result)} and in its synthetic "
                                  "comparison; before the start the lines should be close.",
                                  plot_synthetic(result, indicator)))
    if result.placebo_gaps is not None:
        sec.figures.append(FigureItem(f"{spec.id}-gaps", "The gap between each area and its synthetic comparison: "
                                      f"{_who(result)} in blue, each donor treated as a placebo in grey. A real effect "
                                      "shows as a blue line that leaves the grey band after the start.",
                                      plot_gaps(result, indicator)))
    sec.figures.append(FigureItem(f"{spec.id}-weights", "Weights of the donor areas in the synthetic comparison",
                                  plot_weights(result)))
    weights = pd.DataFrame({"donor": list(result.weights), "weight": list(result.weights.values())})
    sec.tables.append(TableItem(f"{spec.id}-weights", "Donor weights (they sum to one)", weights,
                                show=len(weights) <= 30))
    if result.balance is not None:
        bal = result.balance.copy()
        if result.v:
            bal["importance_v"] = [result.v.get(p) for p in bal["predictor"]]
        sec.tables.append(TableItem(f"{spec.id}-balance", f"Predictor balance: {_who(result)}, its synthetic "
                                    "comparison and the average donor (importance_v: the weight V of each "
                                    "predictor)", bal, show=len(bal) <= 20))
    if result.comparison_estimates:
        sec.tables.append(TableItem(f"{spec.id}-estimators", "Synthetic difference-in-differences beside the "
                                    "synthetic control and the difference-in-differences estimates of the same panel "
                                    "(Arkhangelsky et al. 2021, Table 1 layout)",
                                    coefficient_table(result.comparison_estimates)))
    coefs = result.coefficient_frame()
    sec.tables.append(TableItem(f"{spec.id}-coefficients", "The headline effect (att, with the analysis' inference) "
                                "and the gap in each period after the start", coefs, show=len(coefs) <= 30))
    if result.inference_comparison:
        sec.tables.append(TableItem(f"{spec.id}-inference-comparison", "For comparison only: the same effect under "
                                    "another inference (not used in the headline, evidence or economics)",
                                    coefficient_table(result.inference_comparison)))
    if result.placebo_gaps is not None:
        sec.tables.append(TableItem(f"{spec.id}-placebos", "Placebo tests: each area's fit before the start, its gap "
                                    "after, and their ratio (the p-value ranks the treated area's ratio)",
                                    _placebo_table(result), show=len(result.donors) <= 30))
    if result.leave_one_out:
        sec.tables.append(TableItem(f"{spec.id}-leave-one-out", "The effect without each donor that had weight",
                                    pd.DataFrame([{"donor left out": x.donor, "estimate": x.estimate}
                                                  for x in result.leave_one_out])))
    sec.tables.append(TableItem(f"{spec.id}-series", "Observed, synthetic and gap in every period", result.series,
                                show=False))
    if result.time_weights:
        tw = pd.DataFrame({"period": list(result.time_weights), "weight": list(result.time_weights.values())})
        sec.tables.append(TableItem(f"{spec.id}-time-weights", "Time weights of the synthetic DiD (pre-periods)", tw,
                                    show=False))
    return sec
