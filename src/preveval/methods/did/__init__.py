"""Difference-in-differences: areas that ran the initiative against areas that did not.

Public entry points: :func:`fit_did` (two-by-two, two-way fixed effects or PPML, event
study, staggered Callaway & Sant'Anna) returning :class:`~preveval.results.did.DidResult`;
:func:`did_robustness` (placebo dates and outcomes, leave-one-unit-out, group trends) and
:func:`did_prevented` (events prevented in the treated units). The modules inside are the
family's own:

============  ==================================================================
core          row selection, the OLS / PPML core, Wald and bootstrap inference
twfe          the two-by-two and two-way fixed-effects designs
event_study   leads and lags, the pre-trend test
staggered     Callaway & Sant'Anna group-time effects
covariates    covariate-adjusted cells (doubly robust, outcome regression)
fit           :func:`fit_did`: the design an analysis names
robustness    placebo dates and outcomes, leave-one-unit-out, trends
prevented     events prevented from the ATT
============  ==================================================================
"""

from preveval.methods.did.fit import fit_did
from preveval.methods.did.prevented import did_prevented
from preveval.methods.did.robustness import did_robustness
from preveval.results.did import DidResult

__all__ = ["DidResult", "did_prevented", "did_robustness", "fit_did"]
