"""Frozen, plain result records: what the design families write and everything else reads.

Contribution analysis, evidence rating and the pack depend on these records only, never on
an estimator module. Shared records live in :mod:`preveval.results.base`; each design family
has its own module (:mod:`~preveval.results.its`, :mod:`~preveval.results.did`,
:mod:`~preveval.results.synth`); the whole
run is :class:`~preveval.results.evaluation.EvaluationResult`.
"""

from preveval.results.base import (
    AnalysisResult,
    Baseline,
    Diagnostic,
    Estimate,
    Prevented,
    Ratio,
    Scale,
    Status,
    coefficient_table,
    not_json,
    quantile,
    to_plain,
    two_sided_p,
)
from preveval.results.did import (
    BootstrapSummary,
    DidResult,
    DidRobustness,
    EventTimeEstimate,
    GroupTimeEstimate,
    PretrendTest,
    RobustnessRow,
)
from preveval.results.evaluation import EvaluationResult, InputSummary
from preveval.results.its import ItsResult
from preveval.results.synth import LeaveOneDonorOut, PlaceboInTimeSummary, SynthResult

__all__ = [
    "AnalysisResult",
    "Baseline",
    "BootstrapSummary",
    "Diagnostic",
    "DidResult",
    "DidRobustness",
    "Estimate",
    "EvaluationResult",
    "EventTimeEstimate",
    "GroupTimeEstimate",
    "InputSummary",
    "ItsResult",
    "LeaveOneDonorOut",
    "PlaceboInTimeSummary",
    "PretrendTest",
    "Prevented",
    "Ratio",
    "RobustnessRow",
    "Scale",
    "Status",
    "SynthResult",
    "coefficient_table",
    "not_json",
    "quantile",
    "to_plain",
    "two_sided_p",
]
