"""Pool the packs of one initiative and indicator: which packs match, and the pooled estimate.

For every initiative and indicator that two or more packs report, each pack contributes one
analysis: its primary analysis when that is of the indicator, else its first analysis of it
(:meth:`~preveval.hub.records.PackRecord.analysis_for`). Packs pool only when their indicator
definitions are equal (:class:`~preveval.hub.records.IndicatorDef`: id, label, kind, desired
direction, effect scale and, for rates, rate_per and exposure). When they are not all equal,
the definition most packs share is pooled (ties: the one of the first pack in key order) and
every other pack is listed as a mismatch with the fields that differ. A pack whose
results.json is byte for byte that of another (a copied folder) is counted once.

The pooled estimate is a random-effects meta-analysis, REML with Wald (normal) intervals and
the prediction interval (:func:`preveval.pooling.pool`), of the effects on their own scale:
log ratios for log-link models (the result also gives ratios), differences otherwise.
Nothing here reads files or draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from preveval.hub.records import AnalysisRecord, IndicatorDef, PackRecord
from preveval.pooling import PoolResult, pool
from preveval.pooling._plain import plain, record_dict

__all__ = ["POOL_METHOD", "Excluded", "Member", "Synthesis", "synthesise"]

POOL_METHOD: Literal["REML"] = "REML"


@dataclass(frozen=True)
class Member:
    """One pack's analysis in a pooled estimate."""

    pack: str
    label: str
    analysis_id: str
    method: str | None
    design: str | None
    term: str | None
    estimate: float
    std_error: float
    se_source: str
    weight: float | None = None  # percent of the total random-effects weight


@dataclass(frozen=True)
class Excluded:
    """A pack left out of a pooled estimate, and why."""

    pack: str
    label: str
    analysis_id: str | None
    reason: str
    differences: tuple[str, ...] = ()


@dataclass(frozen=True)
class Synthesis:
    """An initiative and indicator reported by two or more packs."""

    initiative_id: str
    initiative_name: str
    indicator: IndicatorDef
    members: tuple[Member, ...]
    mismatches: tuple[Excluded, ...]
    not_pooled: tuple[Excluded, ...]
    pooled: PoolResult | None
    note: str | None = None

    @property
    def key(self) -> str:
        """``<initiative id>/<indicator id>``: the section's anchor."""
        return f"{self.initiative_id}/{self.indicator.id}"

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON form (hub query, database)."""
        doc: dict[str, Any] = {
            "initiative": self.initiative_id,
            "indicator": record_dict(self.indicator),
            "method": POOL_METHOD,
            "k": len(self.members),
            "pooled": None,
            "members": [record_dict(m) for m in self.members],
            "not_pooled": [record_dict(e) for e in self.not_pooled],
            "mismatches": [record_dict(e) for e in self.mismatches],
            "note": self.note,
        }
        if self.pooled is not None:
            p = self.pooled.to_dict()
            keep = ("k", "method", "scale", "measure", "estimate", "std_error", "ci_low", "ci_high", "p_value",
                    "pi_low", "pi_high", "tau2", "tau2_ci_low", "tau2_ci_high", "tau", "i2", "i2_ci_low",
                    "i2_ci_high", "q", "q_df", "q_p_value", "ratio", "ratio_ci_low", "ratio_ci_high",
                    "ratio_pi_low", "ratio_pi_high", "notes")
            doc["pooled"] = plain({k: p[k] for k in keep})
        return doc


def _measure(ind: IndicatorDef) -> str:
    if ind.scale == "log":
        return "rate ratio" if ind.kind in ("count", "rate") else "ratio"
    return "difference"


def _choose(candidates: list[tuple[PackRecord, AnalysisRecord]]) -> IndicatorDef:
    """The definition most packs share (ties: the first pack's)."""
    counts: dict[IndicatorDef, int] = {}
    for _, a in candidates:
        counts[a.indicator] = counts.get(a.indicator, 0) + 1
    best = max(counts.values())
    return next(a.indicator for _, a in candidates if counts[a.indicator] == best)


def _one(initiative: tuple[str, str], candidates: list[tuple[PackRecord, AnalysisRecord]]) -> Synthesis:
    ref = _choose(candidates)
    mismatches, not_pooled, ok = [], [], []
    seen: dict[str, str] = {}
    for p, a in candidates:
        first = seen.setdefault(p.results_sha256, p.key)
        if first != p.key:  # a copy of a pack already in the section: counting it twice would double its weight
            not_pooled.append(Excluded(p.key, p.short_label, a.analysis_id,
                                       f"its results.json is the same as that of {first} (a copy), counted once"))
        elif not ref.matches(a.indicator):
            mismatches.append(Excluded(p.key, p.short_label, a.analysis_id,
                                       "its indicator definition differs from the one pooled",
                                       tuple(ref.differences(a.indicator))))
        elif a.not_poolable is not None or a.estimate is None or a.pool_se is None or a.se_source is None:
            not_pooled.append(Excluded(p.key, p.short_label, a.analysis_id, a.not_poolable or "no standard error"))
        else:
            ok.append(Member(p.key, p.short_label, a.analysis_id, a.method, a.design, a.term, a.estimate,
                             a.pool_se, a.se_source))
    pooled, note = None, None
    if len(ok) >= 2:
        pooled = pool([m.estimate for m in ok], [m.std_error for m in ok], method=POOL_METHOD,
                      labels=[m.label for m in ok], scale="log" if ref.scale == "log" else "difference",
                      measure=_measure(ref))
        ok = [replace(m, weight=w) for m, w in zip(ok, pooled.weights, strict=True)]
    else:
        note = (f"{len(ok)} pack{'' if len(ok) == 1 else 's'} with a matching definition and a standard error: "
                "pooling needs two or more")
    return Synthesis(initiative_id=initiative[0], initiative_name=initiative[1], indicator=ref, members=tuple(ok),
                     mismatches=tuple(mismatches), not_pooled=tuple(not_pooled), pooled=pooled, note=note)


def synthesise(packs: Sequence[PackRecord]) -> list[Synthesis]:
    """A :class:`Synthesis` for every initiative and indicator that two or more packs report.

    ``packs`` in key order; sections come out by initiative id, then indicator id.
    """
    groups: dict[tuple[str, str], list[tuple[PackRecord, AnalysisRecord]]] = {}
    names: dict[str, str] = {}
    for p in sorted(packs, key=lambda r: r.key):
        names.setdefault(p.initiative_id, p.initiative_name)
        for ind in dict.fromkeys(a.indicator.id for a in p.analyses):
            a = p.analysis_for(ind)
            if a is not None:
                groups.setdefault((p.initiative_id, ind), []).append((p, a))
    return [_one((ini, names[ini]), c) for (ini, _), c in sorted(groups.items()) if len(c) >= 2]
