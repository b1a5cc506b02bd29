"""Contribution analysis, evidence rating and economics.

Public entry points: :func:`assess_contribution` and :func:`assess_economics`; the pieces
(:func:`trace_contribution`, :func:`evidence_from_analysis`, :func:`mayne_steps`,
:func:`rate_design`, :func:`evaluate_economics`) are usable on their own.
"""

from preveval.contribution.assess import (
    ContributionResult,
    EvidenceRecord,
    assess_contribution,
    plain_sentence,
    resolve_evidence,
)
from preveval.contribution.economics import (
    EconomicsResult,
    Interval,
    PartnerCost,
    PreventedEvents,
    assess_economics,
    cost_by_partner,
    evaluate_economics,
    format_money,
)
from preveval.contribution.evidence import (
    DerivedEvidence,
    detection_power,
    effect_observed,
    evidence_from_analysis,
)
from preveval.contribution.mayne import (
    LinkAssessment,
    MayneSteps,
    RivalAssessment,
    assess_links,
    assess_rivals,
    mayne_steps,
)
from preveval.contribution.primary import PrimaryAnalysis, select_primary
from preveval.contribution.rating import (
    EmmieDimension,
    EvidenceRating,
    SmsRating,
    emmie_summary,
    rate_design,
    rate_evidence,
    sms_level,
)
from preveval.contribution.tracing import (
    CONFIDENCE_SCALE,
    DEFAULT_THRESHOLDS,
    TracedItem,
    TracingResult,
    TypeThresholds,
    classify_evidence,
    confidence_label,
    format_probability,
    likelihood_ratio,
    prior_sensitivity,
    trace_contribution,
    update,
)

__all__ = [
    "CONFIDENCE_SCALE",
    "DEFAULT_THRESHOLDS",
    "ContributionResult",
    "DerivedEvidence",
    "EconomicsResult",
    "EmmieDimension",
    "EvidenceRating",
    "EvidenceRecord",
    "Interval",
    "LinkAssessment",
    "PrimaryAnalysis",
    "MayneSteps",
    "PartnerCost",
    "PreventedEvents",
    "RivalAssessment",
    "SmsRating",
    "TracedItem",
    "TracingResult",
    "TypeThresholds",
    "assess_contribution",
    "assess_economics",
    "assess_links",
    "assess_rivals",
    "classify_evidence",
    "confidence_label",
    "cost_by_partner",
    "detection_power",
    "effect_observed",
    "emmie_summary",
    "evaluate_economics",
    "evidence_from_analysis",
    "format_money",
    "likelihood_ratio",
    "mayne_steps",
    "format_probability",
    "plain_sentence",
    "prior_sensitivity",
    "rate_design",
    "rate_evidence",
    "resolve_evidence",
    "select_primary",
    "sms_level",
    "trace_contribution",
    "update",
]
