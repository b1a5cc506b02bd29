"""Helpers for contribution tests: a small road-safety evaluation and fake results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preveval.results import AnalysisResult, Estimate
from preveval.spec.models import EvaluationSpec

SPEC: dict[str, Any] = {
    "schema_version": 1,
    "initiative": {
        "id": "road-safety-day",
        "name": "Pre-driver road safety day",
        "target_group": "Pre-drivers aged 14-17",
        "partners": [
            {"name": "Police Scotland", "role": "lead"},
            {"name": "Scottish Fire and Rescue Service", "role": "delivery"},
        ],
    },
    "logic_model": {
        "inputs": ["Road policing officers"],
        "activities": [{"id": "sessions", "text": "Supervised driving sessions", "partners": ["Police Scotland"]}],
        "outputs": [{"id": "attend", "text": "Pupils attending a day"}],
        "outcomes": {
            "short": [{"id": "aware", "text": "Better hazard awareness"}],
            "medium": ["Safer driving in the first years of driving"],
            "long": [{"id": "ksi", "text": "Fewer young drivers killed or seriously injured"}],
        },
        "impact": "Fewer road deaths among 17-25 year olds",
        "assumptions": ["Pupils attend before they start driving"],
    },
    "indicators": [
        {"id": "ksi_young", "label": "Drivers aged 17-25 killed or seriously injured", "column": "ksi",
         "outcome": "ksi", "unit_label": "serious casualties"},
    ],
    "data": {"path": "data.csv", "time": "month", "frequency": "month"},
    "analyses": [
        {"id": "its-ksi", "method": "its", "indicator": "ksi_young", "intervention": "2016-04"},
        {"id": "did-ksi", "method": "did", "indicator": "ksi_young", "treatment": "active"},
    ],
    "contribution": {
        "claim": "The road safety day contributed to fewer young drivers killed or seriously injured",
        "prior": 0.5,
        "rival_explanations": [
            {"id": "road-engineering", "description": "Council road alterations at black spots"},
        ],
        "evidence": [
            {"id": "did-effect", "from_analysis": "did-ksi", "p_if_true": 0.8, "p_if_false": 0.3},
            {"id": "pupils-recall", "description": "Pupils recall the day's messages a year later",
             "observed": True, "p_if_true": 0.9, "p_if_false": 0.5, "links": ["aware"]},
        ],
    },
    "economics": {
        "currency": "GBP",
        "price_year": 2023,
        "discount_rate": 0,
        "costs": [
            {"item": "Officer time", "partner": "Police Scotland", "amount": 20000},
            {"item": "Airfield", "partner": "Scottish Fire and Rescue Service", "amount": 5000, "in_kind": True},
            {"item": "Set-up", "partner": "Scottish Fire and Rescue Service", "amount": 10000, "per": "total"},
        ],
        "unit_values": [{"indicator": "ksi_young", "value": 250000, "source": "DfT 2023"}],
    },
}


@dataclass(frozen=True)
class ItsLike(AnalysisResult):
    """An AnalysisResult with the attributes ITS/DiD may add later."""

    prevented: Any = None
    comparison: Any = None
    design: Any = None
    diagnostics: tuple = ()
    n_units: Any = None


def make_spec(**changes: Any) -> EvaluationSpec:
    import copy

    d = copy.deepcopy(SPEC)
    for k, v in changes.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return EvaluationSpec.model_validate(d)


def result(aid: str, method: str, estimate: float, se: float, scale: str = "log", **kw: Any) -> ItsLike:
    return ItsLike(aid, method, "ksi_young", 120, Estimate.wald("effect", estimate, se), scale, None, (), **kw)




def default_results() -> dict[str, ItsLike]:
    """A non-significant DiD (CI -2.57 to 0.57) and a significant ITS with prevented events."""
    return {
        "did-ksi": result("did-ksi", "did", -1.0, 0.8, "difference", design="twfe"),
        "its-ksi": result("its-ksi", "its", -0.12, 0.03, "log",
                          prevented={"total": 12.0, "ci_low": 4.0, "ci_high": 20.0, "years": 4}),
    }
