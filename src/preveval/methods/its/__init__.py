"""Interrupted time series: one series (or a treated and a comparison series) around an intervention.

Public entry points: :func:`build_its_series` (the series from checked data), :func:`fit_its`
(segmented regression, or the structural time-series model) returning
:class:`~preveval.results.its.ItsResult`, and :func:`simulate_its` (a seeded simulator with
known effects). The modules inside are the family's own:

==============  ===============================================================
series          the series: unit selection and aggregation, comparison series
design          the design matrix from validated columns
corefit         :class:`CoreFit`, what a fitting back-end returns
fit             back-ends: OLS, GLM (Poisson, quasi-Poisson), negative binomial, HAC, AR
hac             fixed-b critical values and p-values under ``errors: hac``
diagnostics     residual autocorrelation, overdispersion, points per side, outliers
prevented       prevented events by seeded simulation
sensitivity     alternative specifications, placebo interruptions
structural      structural time-series estimator (UnobservedComponents)
model           :func:`fit_its`: the whole analysis
simulate        the seeded simulator and coverage studies
==============  ===============================================================
"""

from preveval.methods.its.design import build_design
from preveval.methods.its.fit import fit_core
from preveval.methods.its.model import fit_its
from preveval.methods.its.series import build_its_series
from preveval.methods.its.simulate import coverage_study, prevented_coverage_study, simulate_its
from preveval.results.base import Prevented
from preveval.results.its import ItsResult

__all__ = [
    "ItsResult",
    "Prevented",
    "build_design",
    "build_its_series",
    "coverage_study",
    "fit_core",
    "fit_its",
    "prevented_coverage_study",
    "simulate_its",
]
