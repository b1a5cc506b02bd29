"""Report sections for contribution analysis, evidence rating and economics.

Turns :class:`~preveval.contribution.ContributionResult`,
:class:`~preveval.contribution.EvidenceRating` and
:class:`~preveval.contribution.EconomicsResult` into :class:`Section` objects with
plain-English headlines, tables and figures (Agg canvas, no pyplot state). Never computes
evidence or fits models: it only reads the results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from preveval.contribution.assess import ContributionResult
from preveval.contribution.economics import EconomicsResult, format_money, singular
from preveval.contribution.mayne import RIVAL_STATUS_WORDS, STAGE_NAMES
from preveval.contribution.rating import EvidenceRating, rate_evidence
from preveval.contribution.tracing import (
    CONFIDENCE_SCALE,
    EVIDENCE_TYPE_NAMES,
    TracingResult,
    format_probability,
)
from preveval.pack.logic_diagram import plot_logic_model
from preveval.pack.section import FigureItem, Section, TableItem
from preveval.pack.style import EVIDENCE, ROLE, styled

__all__ = [
    "contribution_section",
    "contribution_sections",
    "economics_section",
    "plot_posterior_path",
    "plot_prior_sensitivity",
    "rating_section",
]

TYPE_MARKERS = {k: marker for k, (_, marker) in EVIDENCE.items()}
TYPE_COLOURS = {k: colour for k, (colour, _) in EVIDENCE.items()}


# ------------------------------------------------------------------------------- figures


def _bands(ax: Any, horizontal: bool = True) -> None:
    """Light shading of the confidence-word bands with their words at the right."""
    edges = [lo for lo, _ in CONFIDENCE_SCALE][::-1] + [1.0]
    labels = [lab for _, lab in CONFIDENCE_SCALE][::-1]
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        if i % 2:
            ax.axhspan(lo, hi, color="#f2f2f2", zorder=0, linewidth=0)
        if hi - lo >= 0.09:
            ax.text(1.01, (lo + hi) / 2, labels[i], transform=ax.get_yaxis_transform(), fontsize=7,
                    va="center", ha="left", color="#555555")


@styled
def plot_posterior_path(tracing: TracingResult) -> Figure:
    """Confidence in the claim after each evidence item (prior first)."""
    steps = tracing.steps
    n = len(steps)
    fig = Figure(figsize=(max(6.0, 1.0 + 0.7 * (n + 1)), 4.3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.3, 0.68, 0.62))
    ys = [tracing.prior] + [s.posterior for s in steps]
    xs = np.arange(n + 1)
    ax.plot(xs, ys, color="#404040", linewidth=1.2, zorder=2)
    ax.scatter([0], [tracing.prior], marker="o", s=40, color="white", edgecolor="#404040", zorder=3,
               clip_on=False)
    for i, s in enumerate(steps, start=1):
        col = TYPE_COLOURS[s.type]
        ax.scatter([i], [s.posterior], marker=TYPE_MARKERS[s.type], s=55, zorder=3, clip_on=False,
                   facecolor=col if s.observed else "white", edgecolor=col, linewidth=1.5)
    _bands(ax)
    ax.set_ylim(0, 1)
    ax.set_xlim(-0.4, n + 0.4)
    ax.set_xticks(xs)
    ax.set_xticklabels(["prior"] + [s.id for s in steps], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("P(claim is true)\n(probability, 0 to 1)")
    ax.set_xlabel("Evidence items, in the order listed")
    ax.set_title("Confidence in the claim after each item of evidence", fontsize=10)
    kinds = [k for k in TYPE_MARKERS if any(s.type == k for s in steps)]
    if kinds:
        handles = [Line2D([], [], marker=TYPE_MARKERS[k], linestyle="", markersize=7,
                          markerfacecolor=TYPE_COLOURS[k], markeredgecolor=TYPE_COLOURS[k],
                          label=EVIDENCE_TYPE_NAMES[k]) for k in kinds]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7.5, frameon=False,
                   title="filled = found, hollow = looked for and not found", title_fontsize=7.5,
                   bbox_to_anchor=(0.5, 0.0))
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    return fig


@styled
def plot_prior_sensitivity(tracing: TracingResult) -> Figure:
    """Final posterior against the prior, with the no-evidence diagonal."""
    fig = Figure(figsize=(6.0, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.14, 0.66, 0.76))
    pr = [s.prior for s in tracing.prior_sensitivity]
    po = [s.posterior for s in tracing.prior_sensitivity]
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="no evidence")
    ax.plot(pr, po, color=ROLE["posterior"], marker="o", linewidth=1.5, label="after all evidence")
    ax.scatter([tracing.prior], [tracing.posterior], s=90, facecolor="none", edgecolor=ROLE["prior"],
               linewidth=1.8, zorder=4, label="prior used")
    _bands(ax)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Prior P(claim is true) (probability, 0 to 1)")
    ax.set_ylabel("Posterior P(claim is true)\n(probability, 0 to 1)")
    ax.set_title("How much the conclusion depends on the prior", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(color="#dddddd", linewidth=0.5)
    return fig


# ------------------------------------------------------------------------------ sections


def _links_table(result: ContributionResult) -> pd.DataFrame:
    return pd.DataFrame(
        [{"stage": STAGE_NAMES.get(lk.stage, lk.stage), "id": lk.id, "element": lk.text,
          "status": lk.status, "evidence": ", ".join(lk.evidence), "likelihood_ratio": lk.likelihood_ratio}
         for lk in result.links],
        columns=["stage", "id", "element", "status", "evidence", "likelihood_ratio"],
    )


def _rivals_table(result: ContributionResult, effects: dict[str, tuple[list[str], str]] | None = None) -> pd.DataFrame:
    effects = effects or {}
    cols = ["id", "rival explanation", "status", "evidence for", "evidence against", "basis"]
    if effects:
        cols.append("its own estimated effect")
    return pd.DataFrame(
        [{"id": r.id, "rival explanation": r.description, "status": RIVAL_STATUS_WORDS[r.status],
          "evidence for": "; ".join(r.evidence_for), "evidence against": "; ".join(r.evidence_against),
          "basis": r.reason, "its own estimated effect": effects.get(r.id, ([], ""))[1]}
         for r in result.rival_explanations],
        columns=cols,
    )


def _method_details(result: ContributionResult) -> list[str]:
    t = result.tracing
    th = t.thresholds
    scale = "; ".join(f"{lab} from {lo:g}" for lo, lab in CONFIDENCE_SCALE)
    plan = []
    if result.plan is not None:
        used = [e.id for e in result.evidence if e.p_if_true_source == "simulation"]
        plan = [f"p_if_true of {', '.join(repr(i) for i in used) if used else 'no item'} is instead the simulated "
                f"power of the declared analysis from the plan {result.plan['file']} ({result.plan['n_simulations']} "
                f"simulations, seed {result.plan['seed']}, sha256 {result.plan['sha256'][:12]}): the share of "
                "simulations, under the data's own noise and with the analysis' own inference, that detect the "
                "plausible effect."]
    return [
        "Contribution tracing (Befani & Stedman-Bryce 2017, Evaluation 23(1)): each item's "
        "sensitivity P(E | claim) and type I error P(E | not claim) update confidence by Bayes' rule, "
        "P(H | E) = P(H)·L_T / (P(H)·L_T + (1 − P(H))·L_F), with (L_T, L_F) = (p_if_true, p_if_false) "
        "if found and (1 − p_if_true, 1 − p_if_false) if not.",
        "Items are assumed conditionally independent given the claim, so the order does not matter "
        f"and the combined Bayes factor is the product of the items' ratios ({_bf(result.bayes_factor)}). "
        "Items that are not independent are counted once: analyses of the same indicator, and items declared "
        "depends_on another, are represented by one item (the primary analysis, else the strongest design, "
        "else the most powerful test); the others are listed as corroboration and not multiplied in.",
        f"Evidence types: high sensitivity means p_if_true ≥ {th.high_sensitivity:g}; low type I error "
        f"means p_if_false ≤ {th.low_type_i_error:g}. Doubly decisive = both; hoop = high sensitivity "
        "only; smoking gun = low type I error only; straw in the wind = neither.",
        "Items derived from an analysis take the verdict of the 95% interval the report shows (whatever its "
        "inference): supported when it excludes no effect in the desired direction, contradicted when it "
        "excludes the plausible effect, inconclusive otherwise. By default p_if_true is the power of that test "
        "to support the plausible effect and p_if_false its size in one direction (0.025); the likelihoods "
        "of the verdict reached come from a normal model of the test with the interval's own width, so an "
        "inconclusive verdict leaves the posterior nearly where it was.",
        *plan,
        f"Confidence words (adapted from the IPCC likelihood scale, Mastrandrea et al. 2010): {scale}.",
    ]


def _bf(bf: float | None) -> str:
    if bf is None:
        return "undefined"
    if bf == float("inf"):
        return "infinite"
    return f"{bf:.3g}"


def contribution_section(result: ContributionResult, spec: Any = None, *, diagram: bool = True,
                         rival_effects: dict[str, tuple[list[str], str]] | None = None) -> Section:
    """Contribution analysis in Mayne's six steps, with the tracing table and figures.

    With ``spec`` and ``diagram``, step 2 carries the logic-model diagram coloured by the
    evidence (the full report shows it in its logic-model section instead).
    """
    st = result.steps
    sec = Section(id="contribution", title="Contribution analysis")
    sec.headline = result.sentence
    sec.paragraphs.append(st.story)
    sec.warnings = list(result.warnings)
    sec.details = _method_details(result)

    s1 = Section(id="contribution-question", title="Step 1: the cause-effect question")
    s1.paragraphs.append(st.question)

    s2 = Section(id="contribution-theory", title="Step 2: the theory of change, assumptions and risks")
    by_stage: dict[str, list[str]] = {}
    for el in st.theory_of_change:
        by_stage.setdefault(el.stage, []).append(el.text)
    s2.bullets = [f"{STAGE_NAMES.get(k, k)}: {'; '.join(v)}" for k, v in by_stage.items()]
    s2.bullets += [f"Assumption: {a}" for a in st.assumptions] + [f"Risk: {r}" for r in st.risks]
    if spec is not None and not diagram:
        s2.paragraphs.append("The logic-model diagram in the report is coloured by the evidence on each "
                             "link: green supported, red contradicted, grey the data cannot tell, "
                             "pale untested.")
    if spec is not None and diagram:
        fig = plot_logic_model(spec.logic_model, spec.initiative.partners, result.rival_explanations,
                               result.link_status())
        s2.figures.append(FigureItem(
            "contribution-logic-model",
            "Logic model coloured by the evidence on each link (green supported, red contradicted, "
            "grey the data cannot tell, pale untested), with rival explanations "
            "at the side.",
            fig, alt=_diagram_alt(result)))

    s3 = Section(id="contribution-links", title="Step 3: evidence on each link")
    counts = {k: sum(lk.status == k for lk in result.links)
              for k in ("supported", "contradicted", "inconclusive", "untested")}
    s3.paragraphs.append(f"Across all {len(result.links)} elements of the logic model, assumptions and risks "
                         f"included: {counts['supported']} supported by evidence, {counts['contradicted']} "
                         f"contradicted, {counts['inconclusive']} where "
                         f"the data cannot tell and {counts['untested']} untested.")
    s3.tables.append(TableItem("contribution-links", "Evidence on each link of the theory of change",
                               _links_table(result)))

    s4 = Section(id="contribution-rivals", title="Step 4: rival explanations")
    if result.rival_explanations:
        s4.bullets = [f"{r.description}: {RIVAL_STATUS_WORDS[r.status]} ({r.reason})."
                      for r in result.rival_explanations]
        for r in result.rival_explanations:  # was it the initiative or the rival? (pack/rival_effects.py)
            s4.paragraphs += (rival_effects or {}).get(r.id, ([], ""))[0]
        s4.tables.append(TableItem("contribution-rivals", "Rival explanations", _rivals_table(result, rival_effects)))
    else:
        s4.paragraphs.append("No rival explanations were recorded. Every change has other possible causes; "
                             "naming them makes the contribution claim testable.")

    s5 = Section(id="contribution-story", title="Step 5: the contribution story")
    s5.headline = result.sentence
    s5.paragraphs.append(st.story)
    t = result.tracing
    s5.tables.append(TableItem("contribution-tracing", "Contribution tracing: the posterior after each item",
                               t.table(), digits=3))
    s5.tables.append(TableItem("contribution-prior-sensitivity",
                               "Final posterior for other priors", t.sensitivity_table(), digits=3))
    lo, hi = t.prior_sensitivity[0], t.prior_sensitivity[-1]
    s5.paragraphs.append(
        f"Had the prior been {lo.prior:g} the posterior would be {format_probability(lo.posterior)} "
        f"({lo.label}); with a prior of {hi.prior:g} it would be {format_probability(hi.posterior)} ({hi.label})."
    )
    s5.figures.append(FigureItem(
        "contribution-posterior", "Confidence in the claim after each item of evidence.",
        plot_posterior_path(t),
        alt="Posterior after each item: " + ", ".join(f"{s.id} {s.posterior:.2f}" for s in t.steps)))
    s5.figures.append(FigureItem(
        "contribution-prior-sensitivity", "Final posterior for priors from 0.1 to 0.9.",
        plot_prior_sensitivity(t),
        alt="Final posterior by prior: " + ", ".join(f"{s.prior:g}: {s.posterior:.2f}"
                                                     for s in t.prior_sensitivity)))

    s6 = Section(id="contribution-further", title="Step 6: further evidence that would strengthen the story")
    s6.bullets = list(st.further_evidence) or ["Nothing further suggested."]
    sec.subsections = [s1, s2, s3, s4, s5, s6]
    return sec


def _diagram_alt(result: ContributionResult) -> str:
    parts = [f"{lk.text}: {lk.status}" for lk in result.links]
    parts += [f"rival {r.description}: {RIVAL_STATUS_WORDS[r.status]}" for r in result.rival_explanations]
    return "Logic model. " + "; ".join(parts)


def rating_section(rating: EvidenceRating) -> Section:
    """Maryland Scientific Methods Scale level and the EMMIE summary."""
    sms = rating.sms
    sec = Section(id="evidence-rating", title="Strength of the evidence")
    if sms.level is not None:
        sec.headline = (f"The strongest design run reaches level {sms.level} of 5 on the Maryland "
                        f"Scientific Methods Scale: {sms.description[0].lower()}{sms.description[1:]}.")
    else:
        sec.headline = "The designs run could not be placed on the Maryland Scientific Methods Scale."
    sec.paragraphs.append(sms.reason)
    sec.warnings = list(sms.cautions)
    gaps = [d for d in rating.emmie if d.status != "covered"]
    if gaps:
        sec.paragraphs.append("EMMIE (Johnson, Tilley & Bowers 2015): the pack is thinnest on "
                              + ", ".join(f"{d.dimension.lower()} ({d.missing or d.status})" for d in gaps) + ".")
    sec.tables.append(TableItem(
        "evidence-rating-sms", "Maryland Scientific Methods Scale level of each analysis",
        pd.DataFrame([{"analysis": a.analysis, "method": a.method, "level": a.level, "reason": a.reason}
                      for a in sms.analyses], columns=["analysis", "method", "level", "reason"])))
    sec.tables.append(TableItem("evidence-rating-emmie", "EMMIE: what the pack holds and what is missing",
                                rating.emmie_table()))
    sec.details = [
        "SMS levels (Sherman et al. 1997; Farrington et al. 2002): 1 correlation at one time; 2 before and "
        "after without a comparison (an ITS without a comparison series); 3 before and after with a "
        "comparable control (DiD, controlled ITS); 4 as-if random assignment (RDD, IV); 5 randomised. "
        "DiD stays at 3 even with a passed pre-trend test (What Works Centre for Local Economic Growth "
        "scoring guide).",
    ]
    return sec


def economics_section(eco: EconomicsResult) -> Section:
    """Costs by partner, cost per prevented event, benefit-cost ratio, break-even."""
    sec = Section(id="economics", title="Costs and value for money")
    cpe = eco.cost_per_prevented
    if cpe is not None and cpe.estimate is not None:
        sec.headline = (f"About {format_money(cpe.estimate, eco.currency)} per {singular(eco.unit_label)} "
                        "prevented")
        if eco.bcr is not None and eco.bcr.estimate is not None:
            ci = (f" (95% CI {eco.bcr.ci_low:,.1f} to {eco.bcr.ci_high:,.1f})"
                  if eco.bcr.ci_low is not None and eco.bcr.ci_high is not None else "")
            sec.headline += f", a benefit-cost ratio of {eco.bcr.estimate:.1f}{ci}"
        disc = f", discounted at {100 * eco.discount_rate:g}% a year" if eco.discount_rate > 0 else ""
        sec.headline += f" ({eco.price_year} prices{disc})."
        p = eco.prevented
        if p is not None and p.ci_low is not None and p.ci_low <= 0:
            sec.headline = (sec.headline.rstrip(".") + "; but the 95% interval for prevented "
                            f"{eco.unit_label} includes no reduction at all, so value for money is "
                            "not established.")
    else:
        sec.headline = eco.summary.split(". ")[0].rstrip(".") + "."
    sec.paragraphs.append(eco.summary)
    sec.warnings = list(eco.notes)
    sec.tables.append(TableItem("economics-costs", f"Costs by partner ({eco.price_base})", eco.cost_table(), digits=0))
    sec.tables.append(TableItem("economics-summary", f"Value for money with 95% intervals ({eco.price_base})",
                                eco.summary_table(), digits=2))
    sec.details = [
        f"Prices: {eco.price_base}. Costs per year are multiplied by the evaluated period "
        f"({'unknown' if eco.years is None else f'{eco.years:.3g} years'}); one-off costs are added once, "
        "in the first year.",
        "Benefit = prevented events × unit value; benefit-cost ratio = benefit / total cost; "
        "cost per prevented event = total cost / prevented events; intervals substitute the 95% limits "
        "of prevented events. Break-even = total cost / unit value.",
    ]
    if eco.discount_rate > 0:
        f = eco.discount_factor
        sec.details.append(
            f"Discounting: amounts in year t of the period (t = 0 for the first year) count "
            f"(1 + {eco.discount_rate:g})^-t of their value, as in HM Treasury's Green Book. Yearly "
            "costs and prevented events are taken to be spread evenly over the period, so both are "
            "multiplied by the average discount factor"
            + (f" {f:.4f}" if f is not None else "")
            + "; events are discounted in the cost per prevented event too, so it equals the unit "
            "value at break-even. Set economics.discount_rate: 0 for undiscounted sums."
        )
    if eco.unit_value is not None:
        sec.details.append(f"Unit value {format_money(eco.unit_value, eco.currency)} per event: "
                           + "; ".join(eco.unit_value_sources))
    if eco.analysis:
        sec.details.append(f"Prevented events from the analysis with id {eco.analysis} (see its section).")
    return sec


def contribution_sections(result: Any) -> list[Section]:
    """Contribution, evidence rating and economics sections of an ``EvaluationResult``."""
    out: list[Section] = []
    spec = result.spec
    contribution: ContributionResult | None = result.contribution
    if contribution is not None:
        from preveval.pack.rival_effects import rival_effects

        out.append(contribution_section(contribution, spec, diagram=False, rival_effects=rival_effects(result)))
        rating = contribution.rating
    else:
        rating = rate_evidence(spec, result.analyses, economics=result.economics)
    out.append(rating_section(rating))
    if result.economics is not None:
        out.append(economics_section(result.economics))
    return out
