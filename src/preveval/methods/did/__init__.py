"""Difference-in-differences: areas that ran the initiative against areas that did not.

Public entry points: :func:`fit_did` (two-by-two, two-way fixed effects or PPML, event
study, staggered Callaway & Sant'Anna, Sun & Abraham or extended TWFE Poisson) returning
:class:`~preveval.results.did.DidResult`; :func:`did_staggered_detail` (aggregations, uniform
band, estimators side by side, Goodman-Bacon decomposition, Rambachan & Roth sensitivity);
:func:`did_robustness` (placebo dates and outcomes, leave-one-unit-out, group trends) and
:func:`did_prevented` (events prevented in the treated units). The modules inside are the
family's own:

==================================  ==================================================================
core                                row selection, the OLS / PPML core, Wald and bootstrap inference
twfe                                the two-by-two and two-way fixed-effects designs
event_study                         leads and lags, the pre-trend test
staggered                           Callaway & Sant'Anna group-time effects
covariates                          covariate-adjusted cells (doubly robust, outcome regression)
fit                                 :func:`fit_did`: the design an analysis names
robustness                          placebo dates and outcomes, leave-one-unit-out, trends
prevented                           events prevented from the ATT
cells                               Callaway & Sant'Anna ATT(g, t) and influence functions
aggregate                           dynamic, group and calendar aggregations; the uniform band
multiplier                          the seeded multiplier bootstrap
sun_abraham                         Sun & Abraham interaction-weighted event study
bacon                               Goodman-Bacon decomposition of two-way fixed effects
honest*                             Rambachan & Roth sensitivity to violations of parallel trends
poisson_staggered, staggered_count  Wooldridge's extended TWFE Poisson for counts
staggered_detail                    what a staggered analysis adds: aggregations, comparisons, sensitivity
==================================  ==================================================================
"""

from preveval.methods.did.fit import fit_did
from preveval.methods.did.prevented import did_prevented
from preveval.methods.did.robustness import did_robustness
from preveval.methods.did.staggered_detail import did_staggered_detail
from preveval.results.did import DidResult

__all__ = ["DidResult", "did_prevented", "did_robustness", "did_staggered_detail", "fit_did"]
