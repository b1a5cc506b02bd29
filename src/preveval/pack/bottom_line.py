"""The report's first paragraph: the bottom line for a partnership board.

What was done; the primary analysis and why it is primary; its effect in plain words with
units and a baseline; the events prevented and the cost per prevented event from that same
analysis; the contribution verdict; and what would make the answer firmer. Built from the
result records only; every number carries its unit and period, and the verdict of the
primary analysis decides the wording ("the data cannot tell" for an inconclusive one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preveval.contribution.economics import format_money, singular
from preveval.pack.wording import lower_first

if TYPE_CHECKING:
    from preveval.results.evaluation import EvaluationResult

__all__ = ["bottom_line"]


def _what_was_done(result: EvaluationResult) -> str:
    ini = result.spec.initiative
    partners = [p.name for p in ini.partners]
    who = (f", run by {', '.join(partners[:-1])} and {partners[-1]}" if len(partners) > 1
           else (f", run by {partners[0]}" if partners else ""))
    when = f" from {ini.start}" if ini.start else ""
    where = f" in {ini.area}" if ini.area else ""
    target = f" for {lower_first(ini.target_group)}" if ini.target_group else ""
    return f"{ini.name} is a {ini.prevention_level} prevention initiative{target}{who}{where}{when}."


def _prevented(result: EvaluationResult, analysis_id: str, unit_label: str) -> str:
    p = getattr(result.analyses[analysis_id], "prevented", None)
    if p is None:
        return ""
    noun = unit_label or "events"
    verb = "fewer" if p.total >= 0 else "more"
    text = (f"That is about {abs(p.total):,.0f} {verb} {noun} than expected over {p.years:.3g} years "
            f"(95% interval {p.ci_low:,.0f} to {p.ci_high:,.0f} fewer"
            f"{'; negative numbers mean more' if p.ci_low < 0 else ''})")
    eco = result.economics
    if eco is not None and eco.analysis == analysis_id and eco.cost_per_prevented is not None \
            and eco.cost_per_prevented.estimate is not None:
        cpe = eco.cost_per_prevented
        text += f", at about {format_money(cpe.estimate, eco.currency)} per {singular(eco.unit_label)} prevented"
        if p.ci_low <= 0:
            text += " (but with no reduction inside the interval, value for money is not established)"
    return text + "."


def _firmer(result: EvaluationResult, primary: Any) -> str:
    """What would make the answer firmer, from the primary verdict and the open rivals."""
    r = result.analyses[primary.analysis]
    bits: list[str] = []
    treated = getattr(r, "n_treated_clusters", None)
    if primary.verdict == "inconclusive":
        more = ("more comparison areas, a longer follow-up after the start, or pooling with other areas that "
                "run the initiative")
        if treated is not None and treated < 6:
            more = ("more areas running the initiative, or a synthetic control built from the areas that do not "
                    "(one treated area)" if treated == 1 else "more areas running the initiative")
        bits.append(f"The answer would be firmer with {more}: with these data an effect of the plausible size "
                    f"would be detected only {primary.power:.0%} of the time.")
    elif primary.verdict == "contradicted":
        bits.append("The data rule out an effect as large as hoped: check that the initiative reached the people "
                    "it was meant for, and whether a smaller effect would still be worth its cost.")
    c = result.contribution
    if c is not None:
        open_rivals = [rv.description for rv in c.rival_explanations if rv.status == "not_ruled_out"]
        if open_rivals:
            others = f", and {len(open_rivals) - 1} other rival explanation(s)," if len(open_rivals) > 1 else ""
            bits.append(f"Evidence ruling out the rival explanation \"{open_rivals[0].rstrip('.')}\"{others} would "
                        "also make it firmer.")
    return " ".join(bits)


def bottom_line(result: EvaluationResult, headlines: dict[str, str]) -> str:
    """The board-level paragraph (``headlines``: each analysis section's headline by analysis id)."""
    primary = result.primary
    parts = [_what_was_done(result)]
    if primary is not None:
        spec = result.spec
        a = next(x for x in spec.analyses if x.id == primary.analysis)
        ind = spec.indicator(a.indicator)
        parts.append(f"The main answer comes from {a.title(ind.label)}, chosen as {primary.why}.")
        if headlines.get(a.id):
            parts.append(headlines[a.id])
        prevented = _prevented(result, a.id, ind.unit_label or "")
        if prevented:
            parts.append(prevented)
    if result.contribution is not None:
        parts.append(result.contribution.sentence)
    if primary is not None:
        firmer = _firmer(result, primary)
        if firmer:
            parts.append(firmer)
    return " ".join(parts)
