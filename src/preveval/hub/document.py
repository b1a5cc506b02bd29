"""The hub's JSON documents: one per initiative, as ``preveval hub query --json`` prints it.

::

    {"initiative": {"id": ..., "name": ...},
     "packs": [{"pack", "area", "prevention_level", "evidence_rating": {"sms_level", "description"},
                "primary_analysis", "headline": {...effect...}, "analyses": [...], "provenance": {...}}],
     "pooled": [Synthesis.to_dict(), ...],
     "mismatches": [{"indicator", "pack", "analysis_id", "reason", "differences"}]}

Plain JSON (numbers, strings, lists, null); nothing in it depends on where the hub is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from preveval.hub.records import AnalysisRecord, PackRecord
from preveval.hub.synthesis import Synthesis
from preveval.pooling._plain import plain, record_dict

__all__ = ["analysis_dict", "initiative_documents"]


def analysis_dict(a: AnalysisRecord) -> dict[str, Any]:
    """One analysis' headline effect and how it pools."""
    d = record_dict(a, skip=("indicator",))
    d["indicator"] = a.indicator.id
    d["pool_std_error"] = d.pop("pool_se")
    return d


def _pack(p: PackRecord) -> dict[str, Any]:
    h = p.headline
    return {
        "pack": p.key,
        "initiative": p.initiative_id,
        "area": p.area,
        "prevention_level": p.prevention_level,
        "evidence_rating": {"sms_level": p.sms_level, "description": p.sms_description},
        "primary_analysis": p.primary_analysis,
        "headline": None if h is None else analysis_dict(h),
        "analyses": [analysis_dict(a) for a in p.analyses],
        "provenance": {"preveval_version": p.preveval_version, "evaluation_sha256": p.evaluation_sha256,
                       "data_sha256": p.data_sha256, "results_sha256": p.results_sha256},
    }


def initiative_documents(packs: Sequence[PackRecord], syntheses: Sequence[Synthesis]) -> dict[str, dict[str, Any]]:
    """``{initiative id: document}`` for every initiative of the hub."""
    docs: dict[str, dict[str, Any]] = {}
    for p in sorted(packs, key=lambda r: r.key):
        doc = docs.setdefault(p.initiative_id, {"initiative": {"id": p.initiative_id, "name": p.initiative_name},
                                                "packs": [], "pooled": [], "mismatches": []})
        doc["packs"].append(_pack(p))
    for s in syntheses:
        doc = docs[s.initiative_id]
        doc["pooled"].append(s.to_dict())
        doc["mismatches"] += [{"indicator": s.indicator.id, **record_dict(e)} for e in s.mismatches]
    return {k: plain(v) for k, v in docs.items()}
