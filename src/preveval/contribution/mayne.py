"""Contribution analysis in Mayne's steps, as a structured result.

Mayne, J. (2001) "Addressing attribution through contribution analysis: using performance
measures sensibly", *Canadian Journal of Program Evaluation* 16(1): 1-24; Mayne, J. (2008)
"Contribution analysis: an approach to exploring cause and effect", ILAC Brief 16.

preveval reports six steps: (1) the cause-effect question; (2) the theory of change with
its assumptions and risks; (3) the evidence on each link; (4) rival explanations;
(5) the contribution story; (6) further evidence that would strengthen it. Mayne's own
steps 4-6 ("assemble and assess the contribution story and challenges to it", "seek out
additional evidence", "revise and strengthen the story") are covered by (4)-(6) here.

**Link status.** Each logic-model element (``LogicModel.elements()`` ids) is a link: the
step that produces it. Evidence items that name it in ``links``, do not speak to a rival
(``rival`` unset) and are counted (not repeating another item) decide it: an analysis
item by its verdict (*supported*, *contradicted* or *inconclusive*: the data cannot tell),
an item stated by the user by its likelihood ratio (above 1 supports, below 1
contradicts, 1 cannot tell). Where items support and contradict the same link, the product
of their likelihood ratios decides (above 1 supported, below 1 contradicted); only
inconclusive items leave it *inconclusive*; no usable item leaves it *untested*.

**Rival status.** The user's ``status`` wins. Otherwise items with ``rival: <id>`` (or
whose id is listed in the rival's ``evidence_for`` / ``evidence_against``) are combined:
a likelihood ratio for the claim of at least 10 ("strong" on Jeffreys' scale; Kass &
Raftery 1995, *JASA* 90: 773-795) with no item favouring the rival rules it out; a ratio
above 1 rules it out partly; otherwise it is not ruled out. With only free-text
evidence, evidence against and none for gives *partly* (text alone cannot rule out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from preveval.contribution.tracing import (
    EVIDENCE_TYPE_NAMES,
    TracedItem,
    TracingResult,
    format_probability,
    item_likelihoods,
    ratio_of,
)
from preveval.spec.models import LogicModel, RivalExplanation

LinkStatus = Literal["supported", "contradicted", "inconclusive", "untested"]
RivalStatus = Literal["ruled_out", "partly", "not_ruled_out"]

#: Combined likelihood ratio against a rival at which it is ruled out.
RULE_OUT_RATIO = 10.0

RIVAL_STATUS_WORDS: dict[str, str] = {
    "ruled_out": "ruled out",
    "partly": "partly ruled out",
    "not_ruled_out": "not ruled out",
}

STAGE_NAMES: dict[str, str] = {
    "inputs": "Inputs",
    "activities": "Activities",
    "outputs": "Outputs",
    "outcomes.short": "Short-term outcomes",
    "outcomes.medium": "Medium-term outcomes",
    "outcomes.long": "Long-term outcomes",
    "impact": "Impact",
    "assumptions": "Assumptions",
    "risks": "Risks",
}

#: Stages on the causal chain (links here get suggestions when untested).
CHAIN_STAGES = ("activities", "outputs", "outcomes.short", "outcomes.medium", "outcomes.long", "impact")


@dataclass(frozen=True)
class ElementSummary:
    """A logic-model element as reported in step 2."""

    stage: str
    id: str
    text: str
    partners: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkAssessment:
    """Step 3: the evidence on one link of the theory of change."""

    id: str
    stage: str
    text: str
    status: LinkStatus
    evidence: tuple[str, ...]
    likelihood_ratio: float | None
    rivals: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()


@dataclass(frozen=True)
class RivalAssessment:
    """Step 4: a rival explanation, the evidence for and against it, and its status."""

    id: str
    description: str
    status: RivalStatus
    status_source: Literal["user", "evidence", "text", "none"]
    evidence_for: tuple[str, ...]
    evidence_against: tuple[str, ...]
    items: tuple[str, ...]
    likelihood_ratio: float | None
    links: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class MayneSteps:
    """Contribution analysis in six steps."""

    question: str
    theory_of_change: tuple[ElementSummary, ...]
    assumptions: tuple[str, ...]
    risks: tuple[str, ...]
    links: tuple[LinkAssessment, ...]
    rivals: tuple[RivalAssessment, ...]
    story: str
    further_evidence: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def link_status(self) -> dict[str, LinkStatus]:
        """``{element id: status}`` for the logic-model diagram."""
        return {lk.id: lk.status for lk in self.links}


def _item_lr(it: TracedItem, *, counted_only: bool = True) -> float | None:
    lk = item_likelihoods(it if counted_only or it.counted else replace(it, counted=True))
    if lk is None:
        return None
    lr = ratio_of(*lk)
    return None if math.isnan(lr) else lr


def item_status(it: TracedItem) -> LinkStatus | None:
    """What one counted item says about its links (None when it says nothing)."""
    lr = _item_lr(it)
    if lr is None:
        return None
    if it.outcome in ("supported", "contradicted", "inconclusive"):
        return it.outcome  # type: ignore[return-value]
    if lr == 1.0:
        return "inconclusive"
    return "supported" if lr > 1.0 else "contradicted"


def _link_status(statuses: Sequence[LinkStatus], lr: float | None) -> LinkStatus:
    kinds = set(statuses)
    if "supported" in kinds and "contradicted" in kinds:
        if lr is None or lr == 1.0:
            return "inconclusive"
        return "supported" if lr > 1.0 else "contradicted"
    for k in ("supported", "contradicted", "inconclusive"):
        if k in kinds:
            return k  # type: ignore[return-value]
    return "untested"


def _combine(lrs: Sequence[float]) -> float | None:
    """Product of likelihood ratios (``None`` for none or for an infinite-times-zero clash)."""
    if not lrs:
        return None
    if math.inf in lrs and 0.0 in lrs:
        return None
    out = 1.0
    for v in lrs:
        out *= v
    return out


def assess_links(
    logic_model: LogicModel, items: Sequence[TracedItem], rivals: Sequence[RivalExplanation] = ()
) -> tuple[LinkAssessment, ...]:
    """Status of every logic-model element from the evidence items that link it.

    ``rivals`` (and items with ``rival`` set) that name an element in ``links`` are listed
    as rivals competing with that link; they do not change its status.
    """
    rivals_by_link: dict[str, list[str]] = {}
    for r in rivals:
        for ln in r.links:
            rivals_by_link.setdefault(ln, []).append(r.id)
    for it in items:
        if it.rival is not None:
            for ln in it.links:
                rivals_by_link.setdefault(ln, []).append(it.rival)
    out = []
    for stage, el in logic_model.elements():
        linked = [it for it in items if el.id in it.links and it.rival is None]
        lrs = [v for v in (_item_lr(it) for it in linked) if v is not None]
        lr = _combine(lrs)
        status = _link_status([st for st in (item_status(it) for it in linked) if st is not None], lr)
        out.append(
            LinkAssessment(
                id=el.id, stage=stage, text=el.text, status=status,
                evidence=tuple(it.id for it in linked), likelihood_ratio=lr,
                rivals=tuple(dict.fromkeys(rivals_by_link.get(el.id, ()))), partners=el.partners,
            )
        )
    return tuple(out)


def unknown_links(logic_model: LogicModel, items: Sequence[TracedItem],
                  rivals: Sequence[RivalExplanation] = ()) -> list[str]:
    """Warnings for ``links`` that name no logic-model element."""
    ids = {el.id for _, el in logic_model.elements()}
    out = []
    for kind, rid, links in [("evidence", it.id, it.links) for it in items] + [
        ("rival explanation", r.id, r.links) for r in rivals
    ]:
        for ln in links:
            if ln not in ids:
                out.append(f"{kind} '{rid}' links '{ln}', which is not a logic-model element id")
    return out


def _describe(it: TracedItem) -> str:
    return f"{it.id}: {it.description}" if it.description else it.id


def assess_rival(rival: RivalExplanation, items: Sequence[TracedItem]) -> RivalAssessment:
    """Evidence for and against one rival explanation, and its status."""
    named = set(rival.evidence_for) | set(rival.evidence_against)
    related = [it for it in items if it.rival == rival.id or it.id in named]
    text_for = tuple(s for s in rival.evidence_for if s not in {it.id for it in related})
    text_against = tuple(s for s in rival.evidence_against if s not in {it.id for it in related})
    favour_rival: list[TracedItem] = []
    against_rival: list[TracedItem] = []
    lrs: list[float] = []
    for it in related:
        lr = _item_lr(it, counted_only=False)
        if lr is None or lr == 1.0:
            continue
        lrs.append(lr)
        (against_rival if lr > 1.0 else favour_rival).append(it)
    lr_all = _combine(lrs)
    status: RivalStatus
    if rival.status is not None:
        status, source = rival.status, "user"
        reason = "status given in the evaluation file"
    elif lrs:
        source = "evidence"
        if lr_all is not None and lr_all >= RULE_OUT_RATIO and not favour_rival:
            status = "ruled_out"
            reason = (f"the evidence is at least {RULE_OUT_RATIO:g} times as likely if the initiative, "
                      "not this rival, explains the change")
        elif lr_all is not None and lr_all > 1.0:
            status = "partly"
            reason = "the evidence leans against this rival but not strongly enough to rule it out"
        else:
            status = "not_ruled_out"
            reason = "the evidence does not count against this rival"
    elif text_against and not text_for:
        status, source = "partly", "text"
        reason = "there is written evidence against it but no item with probabilities to rule it out"
    else:
        status, source = "not_ruled_out", "none" if not (text_for or text_against) else "text"
        reason = "no evidence yet rules it out"
    return RivalAssessment(
        id=rival.id,
        description=rival.description,
        status=status,
        status_source=source,  # type: ignore[arg-type]
        evidence_for=text_for + tuple(_describe(it) for it in favour_rival),
        evidence_against=text_against + tuple(_describe(it) for it in against_rival),
        items=tuple(it.id for it in related),
        likelihood_ratio=lr_all,
        links=rival.links,
        reason=reason,
    )


def assess_rivals(rivals: Sequence[RivalExplanation], items: Sequence[TracedItem]) -> tuple[RivalAssessment, ...]:
    """Step 4 for every rival explanation."""
    return tuple(assess_rival(r, items) for r in rivals)


def _quote_list(xs: Sequence[str]) -> str:
    xs = [f"'{x}'" for x in xs]
    if len(xs) <= 1:
        return "".join(xs)
    return ", ".join(xs[:-1]) + " and " + xs[-1]


def _lower_first(s: str) -> str:
    if len(s) > 1 and s[1].isupper():  # an acronym: keep it
        return s
    return s[:1].lower() + s[1:]


def _weight(step: object) -> float:
    """How far an item moves the odds: |log likelihood ratio| (inf for certainties)."""
    lr = getattr(step, "likelihood_ratio", None)
    if lr is None:
        return -1.0
    if lr in (0.0, math.inf):
        return math.inf
    return abs(math.log(lr))


def contribution_story(
    claim: str,
    links: Sequence[LinkAssessment],
    rivals: Sequence[RivalAssessment],
    tracing: TracingResult,
) -> str:
    """Step 5: the contribution story in plain English."""
    parts: list[str] = []
    chain = [lk for lk in links if lk.stage in CHAIN_STAGES]
    acts = [lk.text for lk in chain if lk.stage == "activities"]
    ends = [lk.text for lk in chain if lk.stage == "impact"] or [
        lk.text for lk in chain if lk.stage.startswith("outcomes")
    ][-1:]
    if acts and ends:
        parts.append(
            f"The theory of change runs from {_quote_list(acts)} through outputs and outcomes to "
            f"{_quote_list(ends)}."
        )
    if chain:
        n = {k: sum(lk.status == k for lk in chain) for k in ("supported", "contradicted", "inconclusive", "untested")}
        bits = [f"{n['supported']} {'is' if n['supported'] == 1 else 'are'} supported by evidence",
                f"{n['contradicted']} contradicted"]
        if n["inconclusive"]:
            bits.append(f"{n['inconclusive']} where the data cannot tell")
        parts.append(f"Of its {len(chain)} links, " + ", ".join(bits) + f" and {n['untested']} untested.")
        sup = [lk.text for lk in chain if lk.status == "supported" and lk.stage.startswith(("outcomes", "impact"))]
        con = [lk.text for lk in chain if lk.status == "contradicted"]
        inc = [lk.text for lk in chain if lk.status == "inconclusive"]
        if sup:
            parts.append(f"The evidence supports {_quote_list(sup)}.")
        if con:
            parts.append(f"It contradicts {_quote_list(con)}.")
        if inc:
            parts.append(f"For {_quote_list(inc)} the data cannot tell: the analyses could not detect an effect "
                         "of the plausible size.")
    used = [s for s in tracing.steps if s.observed is not None and s.counted]
    repeats = [s for s in tracing.steps if s.observed is not None and not s.counted]
    if used:
        tally: dict[str, int] = {}
        for st in used:
            key = st.result or ("found" if st.observed else "not found")
            tally[key] = tally.get(key, 0) + 1
        words = {"found": "found", "not found": "looked for and not found", "supported": "supporting an effect",
                 "contradicted": "ruling out an effect of the plausible size", "inconclusive": "inconclusive"}
        detail = ", ".join(f"{v} {words[k]}" for k, v in tally.items())
        parts.append(
            f"{len(used)} item{'s' if len(used) != 1 else ''} of evidence {'were' if len(used) != 1 else 'was'} "
            f"weighed ({detail})"
            + (f"; {len(repeats)} more repeat{'s' if len(repeats) == 1 else ''} evidence already counted and "
               f"{'was' if len(repeats) == 1 else 'were'} not multiplied in" if repeats else "") + "."
        )
        strongest = max(used, key=_weight)
        what = strongest.description or strongest.id
        parts.append(
            f"The most telling was \"{what.rstrip('.')}\" ({EVIDENCE_TYPE_NAMES[strongest.type]}, "
            f"{strongest.result or ('found' if strongest.observed else 'not found')})."
        )
    else:
        parts.append("No evidence with known results was weighed, so confidence stays at the prior.")
    parts.append(
        f"Starting from a prior of {tracing.prior:.2f}, the evidence makes it {tracing.label} "
        f"(posterior {format_probability(tracing.posterior)}) that {_lower_first(claim.rstrip('.'))}."
    )
    if rivals:
        by = {k: [r.description for r in rivals if r.status == k] for k in RIVAL_STATUS_WORDS}
        bits = [f"{len(v)} {RIVAL_STATUS_WORDS[k]}" for k, v in by.items() if v]
        parts.append(f"Of {len(rivals)} rival explanation{'s' if len(rivals) != 1 else ''}, " + ", ".join(bits) + ".")
        if by["not_ruled_out"]:
            parts.append(f"Still open: {_quote_list(by['not_ruled_out'])}.")
    return " ".join(parts)


def suggest_further_evidence(
    user: Sequence[str],
    links: Sequence[LinkAssessment],
    rivals: Sequence[RivalAssessment],
    tracing: TracingResult,
) -> tuple[str, ...]:
    """Step 6: the user's list, then automatic suggestions."""
    out = list(user)
    for lk in links:
        if lk.stage in CHAIN_STAGES and lk.status == "untested":
            out.append(f"Gather evidence on the link to '{lk.text}' ({lk.id}): no evidence item tests it.")
        elif lk.status == "contradicted":
            out.append(f"Find out why the evidence contradicts '{lk.text}' ({lk.id}).")
        elif lk.status == "inconclusive":
            out.append(f"Firm up the evidence on '{lk.text}' ({lk.id}): the data cannot tell an effect of the "
                       "plausible size from none. More comparison areas, a longer follow-up or pooling with "
                       "other areas running the initiative would give the analysis more power.")
    for lk in links:
        if lk.stage == "assumptions" and lk.status == "untested":
            out.append(f"Check the assumption '{lk.text}' ({lk.id}).")
    for r in rivals:
        if r.status != "ruled_out":
            out.append(
                f"Seek evidence that would rule out the rival explanation '{r.description}' "
                f"({RIVAL_STATUS_WORDS[r.status]}): ideally a smoking gun, something unlikely to be "
                "seen if the rival explained the change."
            )
    for s in tracing.steps:
        if s.observed is None:
            out.append(f"Establish whether '{s.id}' was observed; it was left out of the updating.")
        elif s.type == "straw_in_the_wind":
            out.append(
                f"'{s.id}' is only a straw in the wind (p_if_true {s.p_if_true:.2f}, p_if_false "
                f"{s.p_if_false:.2f}); complement it with evidence that is more certain if the claim "
                "is true (a hoop test) or rarer if it is false (a smoking gun)."
            )
    used = [s for s in tracing.steps if s.observed is not None]
    if used and not any(s.type in ("smoking_gun", "doubly_decisive") and s.observed for s in used):
        out.append("No smoking-gun evidence was found: look for evidence that would rarely be seen "
                   "unless the initiative made the difference.")
    return tuple(dict.fromkeys(out))


def mayne_steps(
    claim: str,
    logic_model: LogicModel,
    items: Sequence[TracedItem],
    tracing: TracingResult,
    *,
    rivals: Sequence[RivalExplanation] = (),
    question: str | None = None,
    further_evidence: Sequence[str] = (),
) -> MayneSteps:
    """Assemble the six steps from the logic model, the evidence and the tracing result."""
    q = question or f"Did the initiative make a difference? The claim examined: {claim.rstrip('.')}."
    elements = logic_model.elements()
    toc = tuple(
        ElementSummary(stage, el.id, el.text, el.partners)
        for stage, el in elements
        if stage not in ("assumptions", "risks")
    )
    links = assess_links(logic_model, items, rivals)
    rv = assess_rivals(rivals, items)
    warnings = unknown_links(logic_model, items, rivals)
    return MayneSteps(
        question=q,
        theory_of_change=toc,
        assumptions=tuple(el.text for st, el in elements if st == "assumptions"),
        risks=tuple(el.text for st, el in elements if st == "risks"),
        links=links,
        rivals=rv,
        story=contribution_story(claim, links, rv, tracing),
        further_evidence=suggest_further_evidence(further_evidence, links, rv, tracing),
        warnings=tuple(warnings),
    )


__all__ = [
    "ElementSummary",
    "LinkAssessment",
    "MayneSteps",
    "RivalAssessment",
    "assess_links",
    "assess_rival",
    "assess_rivals",
    "contribution_story",
    "mayne_steps",
    "suggest_further_evidence",
]
