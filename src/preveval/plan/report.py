"""plan.html and plan.md: the plan as report sections (the pack's renderer draws them).

One section per analysis: a headline with one inference (the power at the plausible
effect, or the minimum detectable effect when no plausible effect is known), the curves
against the effect's size and against more post-period data, what to do when the design
is underpowered, and the simulation details; then the design advisor. Every effect is
stated with its unit and period.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from preveval.pack.section import FigureItem, Section, TableItem
from preveval.pack.style import ROLE, axis_unit, below_legend, new_axes, period_word, styled
from preveval.pack.wording import num, per_phrase
from preveval.plan.run import AnalysisPlan, PlanResult

__all__ = ["build_plan_sections", "effect_phrase"]


def _pct(x: float) -> str:
    v = 100 * x
    return f"{v:.0f}%" if abs(v) >= 9.5 else f"{v:.1f}%".replace(".0%", "%")


def effect_phrase(p: AnalysisPlan, m: float | None, spec: Any) -> str:
    """``a 20% reduction`` (log scale) or ``a reduction of 1.2 casualties per 100,000 ... a month``.

    An ITS slope change is a change in the trend: ``a 2% reduction a month in the trend``.
    """
    if m is None:
        return "no effect of any size tried"
    word = "reduction" if p.direction == "decrease" else "increase"
    a = next(x for x in spec.analyses if x.id == p.id)
    trend = f" a {period_word(p.periods_per_year)} in the trend" if getattr(a, "impact", None) == "slope" else ""
    if p.scale == "log":
        return f"a {_pct(abs(1 - math.exp(m)))} {word}{trend}"
    ind = spec.indicator(p.indicator)
    offset = getattr(a, "offset", None)
    per = per_phrase(getattr(a, "rate_per", None), offset, ind.exposure_label) if offset else ""
    unit = ind.unit_label or ("events" if ind.kind == "count" else "")
    what = " ".join(x for x in (num(abs(m)), unit, per) if x)
    if not unit and not per:
        what += f" (in the units of '{ind.label}')"
    counted = ind.kind == "count" or offset
    return f"a {word} of {what}" + (f" a {period_word(p.periods_per_year)}" if counted else "") + trend


def _size(p: AnalysisPlan, m: float) -> str:
    """The bare size of an effect: ``12%`` on the log scale, ``2.24`` otherwise."""
    return _pct(abs(1 - math.exp(m))) if p.scale == "log" else num(abs(m))


def _when(p: AnalysisPlan) -> str:
    word = period_word(p.periods_per_year)
    if p.observed_last_period is not None:
        return (f"with data from {p.first_period} to {p.observed_last_period} and a post period from "
                f"{p.start_period} to {p.last_period} ({p.n_post} {word}s) simulated from the {word}s before it")
    return (f"with data from {p.first_period} to {p.last_period} ({p.n_pre} {word}s before the start in "
            f"{p.start_period} and {p.n_post} from it)")


def _headline(p: AnalysisPlan, spec: Any) -> str:
    title = p.title[:1].upper() + p.title[1:]
    if p.p_value_floor is not None and p.p_value_floor > 0.05:
        return (f"{title} cannot detect any effect at the 5% level: with its donors the placebo test's smallest "
                f"p-value is {p.p_value_floor:.2f}.")
    if p.power is not None and p.plausible_effect is not None:
        eff = effect_phrase(p, p.plausible_effect, spec)
        if p.power >= 0.8:
            return f"{title} can detect {eff} with {p.power:.0%} power at the 5% level, {_when(p)}."
        return (f"{title} cannot tell {eff} from chance: it would detect it only {p.power:.0%} of the time "
                f"(80% is the usual aim), {_when(p)}.")
    if p.mde is None:
        return f"{title} does not reach 80% power for any effect size simulated, {_when(p)}."
    return (f"The smallest effect {p.title} detects with 80% power is {effect_phrase(p, p.mde, spec)}, "
            f"{_when(p)}.")


def _advice(p: AnalysisPlan, spec: Any) -> list[str]:
    lc = p.length_curve
    out = []
    if p.mde is not None:
        lo, hi = p.mde_mc_interval or (None, None)
        rng = (f" (Monte Carlo range {_size(p, lo)} to {_size(p, hi)})") if lo is not None and hi is not None else ""
        out.append(f"The minimum detectable effect at 80% power is {effect_phrase(p, p.mde, spec)}{rng}, "
                   f"from {p.n_simulations} simulations.")
    if lc.get("mde") and len(lc["mde"]) > 1:
        base = lc["mde"][0]
        for k, (yrs, last, m) in enumerate(zip(lc["extra_years"], lc["last_period"], lc["mde"], strict=True)):
            if k == 0 or m is None or base is None:
                continue
            out.append(f"With {yrs:g} more year{'s' if yrs != 1 else ''} of data (to {last}) the minimum detectable "
                       f"effect would be {effect_phrase(p, m, spec)}, against {effect_phrase(p, base, spec)} now.")
    if p.power is not None and p.power < 0.8 and p.plausible_effect is not None:
        ideas = []
        waits = [(last, pw) for last, pw in zip(lc.get("last_period", []), lc.get("power", []), strict=False)
                 if pw is not None and pw >= 0.8]
        if waits:
            ideas.append(f"waiting until {waits[0][0]} (power {waits[0][1]:.0%} then)")
        ideas.append("adding comparison areas" if p.method != "its" else "adding a comparison series (areas or an "
                     "outcome the initiative does not touch)")
        ideas.append("pooling with other areas that run the initiative (preveval hub)")
        out.append("To detect " + effect_phrase(p, p.plausible_effect, spec) + ", consider " + "; ".join(ideas) + ".")
        if not waits and lc.get("power") and len(lc["power"]) > 1 and lc["power"][-1] is not None:
            out.append(f"Waiting alone would not be enough: with data to {lc['last_period'][-1]} the power would "
                       f"be {lc['power'][-1]:.0%}.")
    return out


@styled
def plot_power_curve(p: AnalysisPlan, spec: Any, ax: Any = None) -> Any:
    """Power against the effect's size, with the 80% line and the plausible effect."""
    fig, ax = new_axes(ax)
    pc = p.power_curve
    if p.scale == "log":
        x = [100 * abs(1 - float(r or 1.0)) for r in pc["ratio"]]
        xlab = f"Effect: % {'reduction' if p.direction == 'decrease' else 'increase'}"
        plaus = None if p.plausible_ratio is None else 100 * abs(1 - p.plausible_ratio)
    else:
        x = [abs(float(e or 0.0)) for e in pc["effect"]]
        ind = spec.indicator(p.indicator)
        a = next(a for a in spec.analyses if a.id == p.id)
        xlab = f"Effect ({axis_unit(ind, getattr(a, 'rate_per', None) if getattr(a, 'offset', None) else None, getattr(a, 'offset', None), period_word(p.periods_per_year))})"
        plaus = None if p.plausible_effect is None else abs(p.plausible_effect)
    ax.plot(x, [100 * float(v or 0.0) for v in pc["power"]], color=ROLE["fitted"], lw=2, label="power (simulated)")
    ax.axhline(80, color=ROLE["reference"], lw=0.8, ls="--", label="80% power")
    if plaus is not None:
        ax.axvline(plaus, color=ROLE["counterfactual"], lw=1, ls=":", label="plausible effect")
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlab)
    ax.set_ylabel("Power (% of simulations detecting it)")
    below_legend(ax)
    return fig


@styled
def plot_length_curve(p: AnalysisPlan, spec: Any, ax: Any = None) -> Any:
    """The minimum detectable effect against the end of the data."""
    fig, ax = new_axes(ax)
    lc = p.length_curve
    pairs = [(last, m) for last, m in zip(lc["last_period"], lc["mde"], strict=True) if m is not None]
    if p.scale == "log":
        ys = [100 * abs(1 - math.exp(m)) for _, m in pairs]
        ylab = f"Minimum detectable % {'reduction' if p.direction == 'decrease' else 'increase'}"
    else:
        ys = [abs(m) for _, m in pairs]
        ylab = "Minimum detectable effect"
    if not pairs:
        ax.text(0.5, 0.5, "No effect of the sizes tried is detected in 80% of simulations,\n"
                "with the data's own post period or with more years of data", transform=ax.transAxes,
                ha="center", va="center", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(ylab)
        return fig
    ax.plot(range(len(pairs)), ys, marker="o", color=ROLE["fitted"], lw=2, label="at 80% power")
    ax.set_xticks(range(len(pairs)), [f"data to {last}" for last, _ in pairs])
    ax.set_xlim(-0.5, len(pairs) - 0.5)
    ax.set_ylim(0, max(ys) * 1.15 if ys else 1)
    ax.set_ylabel(ylab)
    below_legend(ax)
    return fig


def _analysis_section(p: AnalysisPlan, spec: Any) -> Section:
    if p.status != "planned":
        return Section(id=f"plan-{p.id}", title=f"{p.title[:1].upper()}{p.title[1:]} ({p.id})",
                       headline=f"This analysis was not planned: {p.reason}.")
    sec = Section(id=f"plan-{p.id}", title=f"{p.title[:1].upper()}{p.title[1:]} ({p.id})",
                  headline=_headline(p, spec), paragraphs=_advice(p, spec))
    if p.false_detection is not None and p.n_simulations:
        expect = 0.025 + 2 * math.sqrt(0.025 * 0.975 / p.n_simulations)
        if p.false_detection > expect:
            sec.warnings.append(
                f"With no effect at all, the analysis reported a significant {p.direction} in "
                f"{p.false_detection:.0%} of the simulations (2.5% expected): its inference is too liberal for "
                "data like these, so the power shown is overstated.")
    if p.shocks == "shared" and p.shock_ratio is not None:
        sec.paragraphs.append(
            f"In the years before the start, the areas running the initiative moved together: the gap between "
            f"them and the comparison areas varied {p.shock_ratio:.1f} times as much as independent areas would "
            "make it vary. The simulations keep these shared shocks (every area draws the same past year), which "
            "makes the estimate noisier than counting areas suggests.")
    elif p.shocks == "independent" and p.shock_ratio is not None:
        sec.details.append(
            f"Shared shocks: the gap between the treated and comparison areas varied {p.shock_ratio:.2f} times as "
            "much as independent areas imply, within chance (or too few pre-period years to tell), so each area "
            "draws its own past years.")
    if p.plausible_source and p.plausible_effect is not None:
        sec.bullets.append(f"Plausible effect: {effect_phrase(p, p.plausible_effect, spec)} ({p.plausible_source}).")
    sec.figures.append(FigureItem(f"plan-power-{p.id}", f"Power of {p.title} against the size of the effect, "
                                  f"{_when(p)}.", plot_power_curve(p, spec),
                                  alt=f"Power rises with the effect's size; 80% power at {effect_phrase(p, p.mde, spec)}."))
    if len(p.length_curve.get("mde", [])) > 1:
        sec.figures.append(FigureItem(f"plan-length-{p.id}", "The minimum detectable effect at 80% power as more "
                                      "post-period data come in.", plot_length_curve(p, spec),
                                      alt="The minimum detectable effect for each end of the data."))
    curve = pd.DataFrame({"effect": p.power_curve["effect"], "power": p.power_curve["power"]})
    if p.scale == "log":
        curve.insert(1, "ratio", p.power_curve["ratio"])
    sec.tables.append(TableItem(f"plan-power-{p.id}", "Power against the effect (on the effect's scale).", curve,
                                show=False))
    sec.tables.append(TableItem(f"plan-length-{p.id}", "The design with more post-period data.",
                                pd.DataFrame(p.length_curve), digits=3))
    sec.details += [
        f"Simulation: {p.simulation}.",
        f"Inference: {p.inference}, as declared; a simulation detects the effect when the analysis' own two-sided "
        f"p-value is below 0.05 with the estimate in the expected direction.",
        f"{p.n_simulations} simulations (seed {p.seed}); {p.n_failed} could not be fitted and count as not detecting.",
        f"Scale of the effect: {p.scale}; false detections with no effect: {p.false_detection:.1%}.",
    ]
    return sec


def _advisor_section(advice: Any) -> Section:
    s = advice.shape
    sec = Section(id="plan-advisor", title="Which designs do the data allow?",
                  headline=f"Recommended design: {next(o.name for o in advice.options if o.design == advice.recommended)}"
                  f" ({advice.reason}).")
    sec.paragraphs.append(
        f"The data hold {s.n_units} area(s) from {s.first_period} to {s.last_period} ({s.n_periods} {s.frequency}s): "
        f"{s.n_treated} treated and {s.n_never} never treated, {s.n_pre} {s.frequency}s before the first start and "
        f"{s.n_post} from it; the indicator is a {s.kind}" + (f" with exposure '{s.exposure}'." if s.exposure else "."))
    for o in advice.options:
        sec.bullets.append(f"{'Permitted' if o.permitted else 'Not permitted'}: {o.name}: {o.why}"
                           + (f". It would need: {'; '.join(o.needs)}." if o.needs and not o.permitted else "."))
    lines = advice.yaml.rstrip("\n").split("\n")
    sec.tables.append(TableItem("plan-advice-yaml", "The suggested analyses: block (also in advice.yaml), to paste "
                                "into the evaluation file.", pd.DataFrame({"line": list(range(1, len(lines) + 1)),
                                                                           "YAML": lines})))
    return sec


def build_plan_sections(plan: PlanResult) -> list[Section]:
    """Every section of plan.html / plan.md in reading order."""
    spec = plan.spec
    planned = [p for p in plan.analyses.values() if p.status == "planned"]
    with_power = [p for p in planned if p.power is not None]
    able = [p for p in with_power if p.power is not None and p.power >= 0.8]
    head = (f"{len(able)} of the {len(with_power)} analyses with a plausible effect can detect it with 80% power at "
            "the 5% level." if len(with_power) > 1 else
            f"The one analysis with a plausible effect {'can' if able else 'cannot'} detect it with 80% power at the "
            "5% level." if with_power else
            "No analysis states a plausible effect: the minimum detectable effects below say what each can detect."
            if planned else "No analysis could be planned.")
    summary = Section(id="plan-summary", title="Is this measurable?", headline=head)
    for p in planned:
        summary.bullets.append(_headline(p, spec))
    summary.paragraphs.append(
        f"Each analysis was run on {plan.settings.n_simulations} data sets simulated from the data before the "
        "initiative started, with and without an effect, exactly as it is declared (same model and inference). "
        "Power is the share of simulations in which it finds the effect at the 5% level.")
    out = [summary, *(_analysis_section(p, spec) for p in plan.analyses.values())]
    if plan.advice is not None:
        out.append(_advisor_section(plan.advice))
    return out
