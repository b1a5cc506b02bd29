r"""A staggered roll-out of a count indicator: the extended TWFE Poisson as the analysis' headline.

``design: staggered`` with ``family: poisson`` fits Wooldridge's (2023) extended two-way
fixed-effects Poisson (:func:`preveval.methods.did.poisson_staggered.poisson_staggered`):
one rate ratio for every cohort and period after its start, against never-treated units,
with an optional log-exposure offset and time-varying covariates (for example a rival
initiative's 0/1 column, whose own rate ratio is reported). The headline ``att`` is the
log of the overall rate ratio over the treated cells,
:math:`\log(\sum_c O_c / \sum_c O_c e^{-\hat\tau_c})`, and the events prevented are
:math:`\sum_c \hat E_c - O_c`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from preveval.data.design_checks import few_treated_warning
from preveval.data.periods import periods_per_year
from preveval.errors import EstimationError
from preveval.methods.did.core import Prepared, baseline_of, period_ordinals
from preveval.methods.did.poisson_staggered import poisson_staggered
from preveval.results.did import DidResult, PretrendTest
from preveval.spec.models import DidAnalysis

__all__ = ["fit_staggered_count"]


def fit_staggered_count(spec: DidAnalysis, p: Prepared) -> DidResult:
    r"""Wooldridge (2023) extended TWFE Poisson for a staggered roll-out (``family: poisson``).

    .. math::

        E[y_{it}] = \exp\Big(o_{it} + \alpha_i + \lambda_t + x_{it}'\gamma
        + \sum_g \sum_{s \ge g} \tau_{gs} 1\{G_i = g\} 1\{t = s\}\Big)

    (Wooldridge 2023, eq. 6.3 with an exponential mean), PPML with unit and period fixed
    effects, CR1 standard errors clustered by unit, 95% Wald intervals (normal). Effect on
    the log scale (``ratio``: the overall rate ratio over the treated cells); covariates'
    own rate ratios are coefficients named by their column.
    """
    assert spec.first_treated is not None
    if p.unit is None:
        raise EstimationError("a staggered design needs a unit column (data.unit)")
    first = period_ordinals(p.frame[spec.first_treated])
    ppy = periods_per_year(p.frame["period"]) if "period" in p.frame.columns else None
    covs = p.covariates if p.covariate_names else None
    res = poisson_staggered(p.y, p.unit, p.time, first, offset=p.offset, periods_per_year=ppy,
                            covariates=covs, covariate_names=p.covariate_names, label=p.label)
    for c in res.dropped:
        p.warnings.append(f"covariate '{c}' is collinear with the fixed effects and the cohort x period effects "
                          "and was left out")
    effect = replace(res.effect, term="att")
    ratio = effect.exp()
    coefs = (*tuple(c.log_ratio for c in res.cells), *res.covariates)
    g = np.where(np.isfinite(first) & (first <= p.time.max()), first, 0.0)
    units_treated = np.unique(p.unit[(g > 0) & (g > p.time.min())])
    n_treated = int(units_treated.size)
    w = few_treated_warning(n_treated, spec.inference)
    if w:
        p.warnings.append(w)
    pre_rows = (g > 0) & (p.time < np.where(g > 0, g, np.inf))
    adj = (f", adjusting for {', '.join(c for c in p.covariate_names if c not in res.dropped)} (each with its own "
           "rate ratio)" if len(res.covariates) else "")
    desc = ("Staggered difference-in-differences for counts (Wooldridge 2023, extended two-way fixed-effects "
            "Poisson): a rate ratio for every cohort and period after its start against never-treated units, "
            f"unit and period fixed effects{', log exposure offset' if p.offset is not None else ''}{adj}; "
            "the headline is the overall rate ratio over the treated cells (observed events over the events "
            "expected without the initiative), with a delta-method 95% interval from standard errors clustered "
            "by unit (normal quantiles).")
    pretrend = PretrendTest("pretrend_leads_zero", "not_applicable",
                            "the extended TWFE Poisson uses every pre-treatment period as its reference; see the "
                            "event study or the Callaway & Sant'Anna analysis for a pre-trend test")
    return DidResult(
        id=spec.id, method="did", indicator=spec.indicator, n_obs=res.n_obs, effect=effect, scale="log",
        ratio=ratio, coefficients=coefs, warnings=tuple(dict.fromkeys(p.warnings)), design="staggered",
        family="poisson", inference=spec.inference, se_type="CR1", df_resid=None, n_clusters=res.n_clusters,
        n_units=int(np.unique(p.unit).size), n_periods=int(np.unique(p.time).size), n_treated_units=n_treated,
        n_treated_clusters=n_treated, n_treated_obs=int(sum(c.n_treated for c in res.cells)),
        staggered=len({c.group for c in res.cells}) > 1, control="never_treated", rate_ratio=ratio,
        pretrend_test=pretrend, description=desc, baseline=baseline_of(spec, p, pre_rows),
        prevented=res.prevented, poisson_cells=res.cells,
    )
