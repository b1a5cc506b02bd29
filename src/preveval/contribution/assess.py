"""Contribution analysis of a whole evaluation: spec + analysis results -> ContributionResult.

Resolves every evidence item (deriving those with ``from_analysis`` from their analysis'
verdict, :mod:`.evidence`), counts items that repeat one another once
(:mod:`.dependence`), traces the contribution claim (:mod:`.tracing`), assembles Mayne's
steps (:mod:`.mayne`), states the verdict outcome by outcome and rates the evidence
(:mod:`.rating`). Pure: reads no files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preveval.contribution.dependence import count_dependent
from preveval.contribution.economics import EconomicsResult, assess_economics
from preveval.contribution.evidence import (
    ALPHA,
    FALLBACK_P_IF_TRUE,
    evidence_from_analysis,
    item_plausible_effect,
)
from preveval.contribution.mayne import LinkAssessment, MayneSteps, RivalAssessment, mayne_steps
from preveval.contribution.rating import EvidenceRating, rate_evidence
from preveval.contribution.tracing import (
    CONFIDENCE_SCALE,
    DEFAULT_THRESHOLDS,
    TracedItem,
    TracingResult,
    TypeThresholds,
    format_probability,
    trace_contribution,
)
from preveval.results.base import to_plain
from preveval.spec.models import Contribution, EvaluationSpec, EvidenceItem


@dataclass(frozen=True)
class EvidenceRecord:
    """One evidence item as weighed: values used, where they came from, posterior after it."""

    id: str
    description: str
    type: str
    observed: bool | None
    p_if_true: float
    p_if_false: float
    likelihood_ratio: float | None
    posterior: float
    links: tuple[str, ...]
    rival: str | None
    from_analysis: str | None
    observed_source: str
    p_if_true_source: str
    p_if_false_source: str
    power: float | None = None
    plausible_effect: float | None = None
    note: str = ""
    #: What was seen: supported / contradicted / inconclusive (analyses), found / not found.
    result: str | None = None
    #: False when the item repeats another (same indicator or depends_on): not multiplied in.
    counted: bool = True
    counted_with: str | None = None
    interval_method: str | None = None


@dataclass(frozen=True)
class OutcomeVerdict:
    """What the evidence says about one outcome measured by an indicator."""

    indicator: str
    label: str
    verdict: str
    evidence: str
    analysis: str | None
    power: float | None
    plausible_effect: float | None
    reason: str


@dataclass(frozen=True)
class ContributionResult:
    """Contribution analysis: tracing, Mayne's steps, evidence rating (results.json ``contribution``)."""

    claim: str
    prior: float
    posterior: float
    label: str
    sentence: str
    bayes_factor: float | None
    evidence: tuple[EvidenceRecord, ...]
    rival_explanations: tuple[RivalAssessment, ...]
    links: tuple[LinkAssessment, ...]
    steps: MayneSteps
    tracing: TracingResult
    rating: EvidenceRating
    warnings: tuple[str, ...] = ()
    outcomes: tuple[OutcomeVerdict, ...] = ()
    #: the plan.json whose simulated power gave p_if_true (``contribution.plan``), if any
    plan: dict[str, Any] | None = None

    def link_status(self) -> dict[str, str]:
        """``{element id: supported | contradicted | untested}``."""
        return {lk.id: lk.status for lk in self.links}

    def to_dict(self) -> dict[str, Any]:
        """The ``contribution`` object of results.json (plain JSON; infinities become null)."""
        t = self.tracing
        return to_plain(
            {
                "claim": self.claim,
                "question": self.steps.question,
                "prior": self.prior,
                "posterior": self.posterior,
                "label": self.label,
                "sentence": self.sentence,
                "bayes_factor": self.bayes_factor,
                "evidence": list(self.evidence),
                "rival_explanations": list(self.rival_explanations),
                "links": list(self.links),
                "prior_sensitivity": list(t.prior_sensitivity),
                "steps": {
                    "question": self.steps.question,
                    "theory_of_change": list(self.steps.theory_of_change),
                    "assumptions": list(self.steps.assumptions),
                    "risks": list(self.steps.risks),
                    "story": self.steps.story,
                    "further_evidence": list(self.steps.further_evidence),
                },
                "outcomes": list(self.outcomes),
                "rating": {"sms": self.rating.sms, "emmie": list(self.rating.emmie)},
                "method": {
                    "updating": ("Bayes' rule item by item; items conditionally independent given the claim; "
                                 "items from analyses of the same indicator, or declared depends_on, counted "
                                 "once (the primary or strongest design speaks for them)"),
                    "analysis_evidence": ("verdict of the 95% interval shown: supported (excludes no effect, "
                                          "desired direction), contradicted (excludes the plausible effect) or "
                                          "inconclusive; likelihoods of that verdict under the test's own interval"),
                    "thresholds": t.thresholds,
                    "confidence_scale": [{"from": lo, "label": lab} for lo, lab in CONFIDENCE_SCALE],
                },
                **({"plan": self.plan} if self.plan is not None else {}),
                "warnings": list(self.warnings),
            }
        )


def _default_claim(spec: EvaluationSpec) -> str:
    lm = spec.logic_model
    target = None
    for stage, el in lm.elements():
        if stage == "impact":
            target = el.text
    if target is None:
        longs = [el.text for stage, el in lm.elements() if stage.startswith("outcomes")]
        target = longs[-1] if longs else "its intended outcomes"
    return f"{spec.initiative.name} contributed to {target[:1].lower() + target[1:]}"


#: Below this many simulations a plan's power is too rough to weigh evidence by without a
#: warning: at 200 its Monte Carlo standard error is at most 3.5 percentage points.
FEW_SIMULATIONS = 200


def few_simulations_warning(item_id: str, power: float, n: int) -> str:
    r"""The warning for an item whose ``p_if_true`` comes from a plan of fewer than
    :data:`FEW_SIMULATIONS` simulations, with the Monte Carlo standard error of that power,
    :math:`\sqrt{p(1-p)/n}` (at least :math:`0.5/n`, so that a power of 0 or 1 is not given as exact)."""
    mcse = math.sqrt(max(power * (1.0 - power), 0.25 / n) / n)
    return (f"evidence '{item_id}': p_if_true is the plan's simulated power, {power:.0%}, from only {n} "
            f"simulations, give or take about {max(1, round(100 * mcse))} percentage points (one Monte Carlo "
            f"standard error); run preveval plan with --simulations {FEW_SIMULATIONS} or more (the default is 500) before relying on it")


def _resolve(
    item: EvidenceItem, spec: EvaluationSpec, results: Mapping[str, Any], plan: Any = None
) -> tuple[TracedItem, dict[str, Any], list[str]]:
    """The values used for one item, their sources, and warnings."""
    if item.from_analysis is None:
        assert item.observed is not None and item.p_if_true is not None and item.p_if_false is not None
        ti = TracedItem(item.id, item.observed, item.p_if_true, item.p_if_false,
                        item.description or "", item.links, item.rival, None)
        return ti, {"observed_source": "user", "p_if_true_source": "user", "p_if_false_source": "user"}, []
    aid = item.from_analysis
    analysis = next((a for a in spec.analyses if a.id == aid), None)
    result = results.get(aid)
    ind = None
    ind_id = analysis.indicator if analysis is not None else getattr(result, "indicator", None)
    if ind_id is not None:
        ind = next((i for i in spec.indicators if i.id == ind_id), None)
    links = item.links or ((ind.outcome,) if ind is not None and ind.outcome else ())
    name = analysis.title(ind.label if ind else "the indicator") if analysis is not None else "the analysis"
    desc = item.description or (f"{name[:1].upper() + name[1:]} finds a {ind.desired if ind else 'change'} "
                                "with a 95% interval excluding no change")
    if result is None:
        warn = f"evidence '{item.id}': analysis '{aid}' has no result"
        obs = item.observed
        if obs is None:
            warn += "; the item is not used"
        ti = TracedItem(item.id, obs, item.p_if_true if item.p_if_true is not None else FALLBACK_P_IF_TRUE,
                        item.p_if_false if item.p_if_false is not None else ALPHA / 2,
                        desc, links, item.rival, aid, "analysis result not available")
        src: dict[str, Any] = {"observed_source": "user" if obs is not None else "unknown",
               "p_if_true_source": "user" if item.p_if_true is not None else "fallback",
               "p_if_false_source": "user" if item.p_if_false is not None else "test_size"}
        return ti, src, [warn]
    desired = ind.desired if ind is not None else "decrease"
    analysis_plausible = getattr(analysis, "plausible_effect", None)
    planned, plan_warnings = None, []
    if plan is not None and analysis is not None and item.p_if_true is None:
        plausible, _ = item_plausible_effect(item, result, desired, analysis_plausible)
        if plausible is not None:
            planned, why = plan.power_for(analysis, analysis.indicator, float(plausible), result.scale)
            if why is not None:
                plan_warnings.append(f"evidence '{item.id}': p_if_true is the analytic power of the reported "
                                     f"interval, not the plan's simulated power, because {why}")
            elif planned is not None and planned.n_simulations < FEW_SIMULATIONS:
                plan_warnings.append(few_simulations_warning(item.id, planned.power, planned.n_simulations))
    d = evidence_from_analysis(item, result, desired, analysis_plausible=analysis_plausible, planned=planned)
    ti = TracedItem(item.id, d.observed, d.p_if_true, d.p_if_false, desc, links, item.rival, aid, d.reason,
                    d.outcome, d.likelihoods)
    src = {"observed_source": d.observed_source, "p_if_true_source": d.p_if_true_source,
           "p_if_false_source": d.p_if_false_source, "power": d.power,
           "plausible_effect": d.plausible_effect, "interval_method": d.interval_method}
    return ti, src, [*plan_warnings, *d.warnings]


def resolve_evidence(
    contribution: Contribution, spec: EvaluationSpec, results: Mapping[str, Any], plan: Any = None
) -> tuple[list[TracedItem], list[dict[str, Any]], list[str]]:
    """Every evidence item with the values used for updating, their sources and warnings.

    ``plan``: the :class:`~preveval.plan.link.PlanLink` of ``contribution.plan``, whose
    simulated power becomes ``p_if_true`` of the items from planned analyses.
    """
    items, sources, warnings = [], [], []
    for it in contribution.evidence:
        ti, src, w = _resolve(it, spec, results, plan)
        items.append(ti)
        sources.append(src)
        warnings.extend(w)
    return items, sources, warnings


def plain_sentence(label: str, posterior: float, claim: str) -> str:
    """``The evidence makes it very likely (posterior 0.93) that ...``."""
    c = claim.rstrip(".")
    c = c if len(c) > 1 and c[1].isupper() else c[:1].lower() + c[1:]
    return f"The evidence makes it {label} (posterior {format_probability(posterior)}) that {c}."



def assess_contribution(
    spec: EvaluationSpec,
    results: Mapping[str, Any],
    *,
    thresholds: TypeThresholds = DEFAULT_THRESHOLDS,
    economics: EconomicsResult | None = None,
    plan: Any = None,
) -> ContributionResult:
    """Contribution analysis of an evaluation.

    Parameters
    ----------
    spec
        The evaluation. Without a ``contribution`` block a default claim ("<initiative>
        contributed to <impact>") with no evidence is assessed and a warning says so.
    results
        Analysis results keyed by analysis id (``None`` values for failed analyses are
        skipped).
    thresholds
        Evidence-type thresholds.
    economics
        An already computed economics result for the EMMIE summary (computed here when
        omitted).
    plan
        The plan.json named by ``contribution.plan`` (:class:`~preveval.plan.link.PlanLink`):
        items from planned analyses take ``p_if_true`` from its simulated power.
    """
    results = {k: v for k, v in results.items() if v is not None}
    warnings: list[str] = []
    contribution = spec.contribution
    if contribution is None:
        contribution = Contribution(claim=_default_claim(spec))
        warnings.append("The evaluation file has no 'contribution' block: the default claim is shown "
                        "with no evidence, so confidence stays at the prior of 0.5.")
    items, sources, w = resolve_evidence(contribution, spec, results, plan)
    warnings.extend(w)
    items = count_dependent(items, spec, results, {it.id: src.get("power") for it, src in zip(items, sources, strict=True)})
    tracing = trace_contribution(contribution.prior, items, thresholds=thresholds)
    warnings.extend(tracing.warnings)
    steps = mayne_steps(
        contribution.claim, spec.logic_model, items, tracing,
        rivals=contribution.rival_explanations, question=contribution.question,
        further_evidence=contribution.further_evidence,
    )
    warnings.extend(steps.warnings)
    by_size = [s.id for s, src in zip(tracing.steps, sources, strict=True)
               if src["p_if_false_source"] == "test_size" and s.observed is not None]
    open_rivals = [r.id for r in steps.rivals if r.status != "ruled_out"]
    if by_size and open_rivals:
        warnings.append(
            f"Evidence {', '.join(repr(i) for i in by_size)} uses the test's size (0.025) as p_if_false, "
            "which assumes only chance could produce the result; rival explanations "
            f"{', '.join(repr(r) for r in open_rivals)} are not ruled out and could produce it too, so "
            "the posterior is likely overstated. Give p_if_false for these items (for example 0.1 to 0.3) "
            "to reflect the rivals."
        )
    records = tuple(
        EvidenceRecord(
            id=s.id, description=s.description, type=s.type, observed=s.observed,
            p_if_true=s.p_if_true, p_if_false=s.p_if_false, likelihood_ratio=s.likelihood_ratio,
            posterior=s.posterior, links=s.links, rival=s.rival, from_analysis=s.from_analysis,
            observed_source=src["observed_source"], p_if_true_source=src["p_if_true_source"],
            p_if_false_source=src["p_if_false_source"], power=src.get("power"),
            plausible_effect=src.get("plausible_effect"), note=s.note, result=s.result, counted=s.counted,
            counted_with=it.counted_with, interval_method=src.get("interval_method"),
        )
        for s, src, it in zip(tracing.steps, sources, items, strict=True)
    )
    outcomes = outcome_verdicts(spec, records)
    eco = economics if economics is not None else assess_economics(spec, results, plan)
    rating = rate_evidence(spec, results, links=steps.links, economics=eco)
    return ContributionResult(
        claim=contribution.claim,
        prior=tracing.prior,
        posterior=tracing.posterior,
        label=tracing.label,
        sentence=plain_sentence(tracing.label, tracing.posterior, contribution.claim)
        + outcome_sentence(outcomes),
        bayes_factor=tracing.bayes_factor,
        evidence=records,
        rival_explanations=steps.rivals,
        links=steps.links,
        steps=steps,
        tracing=tracing,
        rating=rating,
        warnings=tuple(dict.fromkeys(warnings)),
        outcomes=outcomes,
        plan=None if plan is None else plan.to_dict(),
    )


def outcome_verdicts(spec: EvaluationSpec, records: tuple[EvidenceRecord, ...]) -> tuple[OutcomeVerdict, ...]:
    """The verdict on each indicator with analysis evidence, from the item counted for it."""
    analyses = {a.id: a for a in spec.analyses}
    out = []
    for ind in spec.indicators:
        mine = [r for r in records if r.from_analysis in analyses and analyses[r.from_analysis].indicator == ind.id
                and r.result in ("supported", "contradicted", "inconclusive")]
        counted = [r for r in mine if r.counted] or mine
        if not counted:
            continue
        r = counted[0]
        a = analyses[r.from_analysis or ""]
        what = {"supported": "the evidence supports an effect",
                "contradicted": "the data rule out an effect as large as the plausible one",
                "inconclusive": "the data cannot tell"}[r.result or "inconclusive"]
        power = "" if r.power is None else f" (power {r.power:.0%} to detect the plausible effect)"
        out.append(OutcomeVerdict(ind.id, ind.label, r.result or "inconclusive", r.id, a.id, r.power,
                                  r.plausible_effect, f"{a.title(ind.label)}: {what}{power}"))
    return tuple(out)


def _names(labels: list[str]) -> str:
    low = [lab[:1].lower() + lab[1:] if lab[:2] != lab[:2].upper() else lab for lab in labels]
    return low[0] if len(low) == 1 else ", ".join(low[:-1]) + " and " + low[-1]


def outcome_sentence(outcomes: tuple[OutcomeVerdict, ...]) -> str:
    """`` Outcome by outcome, the analyses support ...; they cannot tell for ...`` (empty if all agree)."""
    by = {k: [o.label for o in outcomes if o.verdict == k] for k in ("supported", "contradicted", "inconclusive")}
    if not (by["contradicted"] or by["inconclusive"]):
        return ""
    if len(outcomes) == 1:
        o = outcomes[0]
        power = "" if o.power is None else f" (the analysis had {o.power:.0%} power to detect the plausible effect)"
        if o.verdict == "inconclusive":
            return f" The data cannot tell whether there was an effect on {_names([o.label])}{power}."
        return f" The data rule out an effect on {_names([o.label])} as large as expected."
    parts = []
    if by["supported"]:
        parts.append(f"support an effect on {_names(by['supported'])}")
    if by["contradicted"]:
        parts.append(f"rule out an effect as large as expected on {_names(by['contradicted'])}")
    if by["inconclusive"]:
        parts.append(f"cannot tell whether there was an effect on {_names(by['inconclusive'])}")
    text = "; they ".join(parts)
    return (" Outcome by outcome, the analyses " + text + ". The posterior is for the claim as a whole, "
            "so it rests on the outcomes with evidence.")
