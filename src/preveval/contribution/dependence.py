"""Dependent evidence: items that repeat one another are counted once.

Bayes' rule may multiply the likelihood ratios of evidence items only when they are
conditionally independent given the claim. Two analyses of the same indicator (a
difference-in-differences and an event study of the same counts, say) look at the same
data and are far from independent; nor is an item the user declares ``depends_on`` another
(a timing check read off the same series). preveval's rule:

1. Items are grouped: analysis-derived items whose analyses measure the same indicator,
   and items joined by ``depends_on`` (transitively).
2. In each group one item speaks for the group: the analysis declared ``primary: true``,
   else the strongest design (Maryland Scientific Methods Scale level), else the most
   powerful test (the highest power to detect the plausible effect), else the first listed.
   Items from analyses come before items stated by the user. The choice rests on the
   design, never on which result looks best.
3. The others are listed, with their own verdicts, as corroboration: they are not
   multiplied into the posterior (``counted`` false) and each names the item it repeats.

This is conservative: when analyses of one indicator agree, counting one loses a little;
when they do not, counting all would overstate the evidence far more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from preveval.contribution.rating import sms_level
from preveval.contribution.tracing import TracedItem
from preveval.spec.models import EvaluationSpec

__all__ = ["count_dependent"]


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def count_dependent(items: Sequence[TracedItem], spec: EvaluationSpec, results: Mapping[str, Any],
                    powers: Mapping[str, float | None]) -> list[TracedItem]:
    """The items with ``counted`` and ``counted_with`` set by the rule of the module docstring."""
    ids = [it.id for it in items]
    parent = {i: i for i in ids}

    def join(a: str, b: str) -> None:
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[rb] = ra

    analyses = {a.id: a for a in spec.analyses}
    by_indicator: dict[str, str] = {}
    for it in items:
        a = analyses.get(it.from_analysis or "")
        if a is not None:
            first = by_indicator.setdefault(a.indicator, it.id)
            join(first, it.id)
    declared = {e.id: e.depends_on for e in (spec.contribution.evidence if spec.contribution else ())}
    for it in items:
        for other in declared.get(it.id, ()):
            if other in parent:
                join(other, it.id)
    groups: dict[str, list[TracedItem]] = {}
    for it in items:
        groups.setdefault(_find(parent, it.id), []).append(it)

    def rank(it: TracedItem) -> tuple[int, int, int, float, int]:
        a = analyses.get(it.from_analysis or "")
        usable = it.observed is not None
        if a is None:
            return (int(usable), 0, 0, 0.0, -ids.index(it.id))
        level = sms_level(results.get(a.id), a).level if results.get(a.id) is not None else None
        power = powers.get(it.id)
        return (int(usable), 1, int(a.primary) * 10 + (level or 0), -1.0 if power is None else power,
                -ids.index(it.id))

    chosen: dict[str, str] = {}
    for root, members in groups.items():
        if len(members) > 1:
            chosen[root] = max(members, key=rank).id
    out = []
    for it in items:
        root = _find(parent, it.id)
        rep = chosen.get(root)
        if rep is None or rep == it.id:
            out.append(it)
        else:
            out.append(replace(it, counted=False, counted_with=rep))
    return out
