r"""The two-by-two and two-way fixed-effects difference-in-differences designs.

* ``two_by_two``: :math:`y_i = a + b G_i + c P_i + \tau G_i P_i + x_i'\gamma + e_i`,
  :math:`\tau` = ATT (Card & Krueger 1994; Angrist & Pischke 2009, eq. 5.2.3);
* ``twfe``: :math:`y_{it} = \alpha_i + \lambda_t + \tau D_{it} + x_{it}'\gamma + e_{it}`
  (``D`` 0/1 or a dose); with ``family: poisson`` PPML, :math:`E[y] = \exp(\cdot)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.inference.fe_structure import fe_codes
from preveval.methods.did import core
from preveval.methods.did.core import Prepared
from preveval.results.did import DidResult
from preveval.spec.models import DidAnalysis

__all__ = ["fit_twfe_design", "fit_two_by_two_design"]


def fit_two_by_two_design(spec: DidAnalysis, p: Prepared) -> DidResult:
    assert spec.group is not None and spec.post is not None
    g = pd.to_numeric(p.frame[spec.group]).to_numpy(dtype=np.float64)
    post = pd.to_numeric(p.frame[spec.post]).to_numpy(dtype=np.float64)
    if not ((g > 0) & (post > 0)).any():
        raise EstimationError("no treated observations: no row has group = 1 and post = 1")
    X = np.column_stack([np.ones_like(g), g, post, g * post, p.covariates])
    names = ["(intercept)", spec.group, spec.post, "att", *p.covariate_names]
    fit = core.fit_core(spec, p, X, names, [], ("att", spec.group, spec.post))
    coefs = core.coefficients(fit)
    effect, extra = core.declared_inference(spec, fit, "att", coefs[fit.index("att")], p,
                                            core.RawDesign(X, tuple(names), ()))
    coefs = tuple(effect if c.term == "att" else c for c in coefs)
    link = "log E[y]" if spec.family == "poisson" else "y"
    desc = (
        f"Two-by-two difference-in-differences: {link} = a + b*{spec.group} + c*{spec.post} "
        f"+ att*{spec.group}*{spec.post}{' + covariates' if p.covariate_names else ''}; "
        f"{core.se_text(fit, spec)}."
    )
    return core.assemble(spec, p, fit, effect, coefs, desc, g * post > 0,
                         baseline=core.baseline_of(spec, p, (g > 0) & (post == 0)), **extra)


def fit_twfe_design(spec: DidAnalysis, p: Prepared) -> DidResult:
    assert spec.treatment is not None
    if p.unit is None:
        raise EstimationError("a two-way fixed-effects design needs a unit column (data.unit)")
    d = pd.to_numeric(p.frame[spec.treatment]).to_numpy(dtype=np.float64)
    if not (d != 0).any():
        raise EstimationError(f"no treated observations: '{spec.treatment}' is 0 everywhere")
    X = np.column_stack([d, p.covariates])
    names = ["att", *p.covariate_names]
    fe = [p.unit, fe_codes(p.time), *p.extra_fe]
    fit = core.fit_core(spec, p, X, names, fe, ("att",))
    first = core.first_treatment(p.unit, p.time, d != 0)
    cohorts = np.unique(first[~np.isnan(first)])
    staggered = cohorts.shape[0] > 1
    if staggered:
        p.warnings.append(core.STAGGERED_WARNING)
    coefs = core.coefficients(fit)
    effect, extra = core.declared_inference(spec, fit, "att", coefs[fit.index("att")], p,
                                            core.RawDesign(X, tuple(names), tuple(fe)), treatment=d)
    coefs = tuple(effect if c.term == "att" else c for c in coefs)
    dose = not np.isin(d, (0.0, 1.0)).all()
    link = "log E[y_it]" if spec.family == "poisson" else "y_it"
    desc = (
        f"Two-way fixed effects: {link} = unit_i + period_t"
        f"{''.join(' + ' + c for c in spec.fixed_effects)} + att*{spec.treatment}_it"
        f"{' + covariates' if p.covariate_names else ''}"
        f"{' (dose: att is the effect of one unit of treatment)' if dose else ''}; "
        f"{core.se_text(fit, spec)}."
    )
    start = first[p.unit]
    pre = np.isfinite(start) & (p.time < np.nan_to_num(start, nan=np.inf))
    return core.assemble(spec, p, fit, effect, coefs, desc, d != 0, staggered=staggered,
                         baseline=core.baseline_of(spec, p, pre), **extra)
