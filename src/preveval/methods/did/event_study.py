r"""The event-study difference-in-differences design (dynamic two-way fixed effects).

Event study (dynamic two-way fixed effects, Autor 2003; Freyaldenhoven et al. 2021):

.. math::

    y_{it} = \alpha_i + \lambda_t + \sum_{k \ne -1} \beta_k \, 1\{t - E_i = k\}
             + x_{it}'\gamma + e_{it},

with :math:`E_i` the first treated period of unit :math:`i` (never-treated units have all
indicators zero), reference period :math:`k=-1`, and, when ``bin_endpoints``, the
endpoints binned: :math:`k \le -L` into :math:`-L` and :math:`k \ge M` into :math:`M`
(Schmidheiny & Siegloch 2023). Without binning every observed relative period has its own
indicator and the table shows the window :math:`[-L, M]`.

Headline ATT: :math:`\hat\tau = \sum_{k \ge 0} \omega_k \hat\beta_k` with
:math:`\omega_k = n_k / \sum_{j\ge0} n_j`, :math:`n_k` the treated observations at relative
period :math:`k`; its standard error by the delta method,
:math:`\mathrm{se}(\hat\tau) = \sqrt{\omega' \hat V \omega}` (exact: the map is linear).

Pre-trend test: the joint Wald test that every lead (:math:`k \le -2`) is zero, in F form
:math:`F = W/q` with denominator degrees of freedom :math:`G-1` for cluster-robust (and
:math:`N-K` for classical/HC1) covariances, as ``fixest::wald``; chi-squared for Poisson.

The staggered (Callaway & Sant'Anna 2021) design is in :mod:`preveval.methods.did.staggered`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.inference.covariance import wald_test
from preveval.inference.fe_structure import fe_codes
from preveval.methods.did.core import (
    STAGGERED_WARNING,
    Prepared,
    RawDesign,
    assemble,
    baseline_of,
    coefficients,
    declared_inference,
    df_for,
    fit_core,
    period_ordinals,
    se_text,
)
from preveval.results.base import Estimate, Status
from preveval.results.did import DidResult, EventTimeEstimate, PretrendTest
from preveval.spec.models import DidAnalysis

__all__ = ["event_time", "fit_event_study_design"]


def event_time(
    time: np.ndarray, first_treated: np.ndarray, leads: int, lags: int, bin_endpoints: bool, width: int = 1
) -> np.ndarray:
    r"""Relative time :math:`\lfloor (t - E_i) / w \rfloor` in bins of ``width`` periods.

    Binned at ``-leads`` and ``lags`` (counted in bins) if asked; NaN if never treated. With
    monthly data and ``width`` 12, bin ``-1`` is the year before the start, a steadier
    reference than a single month.
    """
    rel = np.floor((time.astype(np.float64) - first_treated) / width)
    if bin_endpoints:
        rel = np.clip(rel, -leads, lags)
    return rel


def _reparametrize(X: np.ndarray, w: np.ndarray, j0: int) -> np.ndarray:
    """Design whose coefficient ``j0`` is ``w @ beta`` (``T beta = theta``, ``X T^-1``)."""
    T = np.eye(X.shape[1])
    T[j0, :] = w
    return X @ np.linalg.inv(T)


def fit_event_study_design(spec: DidAnalysis, p: Prepared) -> DidResult:
    """Fit the event-study design (see the module docstring)."""
    assert spec.first_treated is not None
    if p.unit is None:
        raise EstimationError("an event study needs a unit column (data.unit)")
    first = period_ordinals(p.frame[spec.first_treated])
    treated_unit = ~np.isnan(first)
    if not treated_unit.any():
        raise EstimationError(f"no treated units: '{spec.first_treated}' is empty for every row")
    rel = event_time(p.time, first, spec.leads, spec.lags, spec.bin_endpoints, spec.event_bin)
    ks = sorted(int(k) for k in pd.unique(rel[treated_unit]) if k != -1)
    if not ks:
        raise EstimationError("no relative periods other than the reference period -1 are observed")
    names = [f"rel_time::{k}" for k in ks]
    D = np.column_stack([(rel == k).astype(np.float64) for k in ks])
    X = np.column_stack([D, p.covariates])
    fe = [p.unit, fe_codes(p.time), *p.extra_fe]
    try:
        fit = fit_core(spec, p, X, [*names, *p.covariate_names], fe, tuple(names))
    except EstimationError as exc:
        raise EstimationError(
            f"{exc}. Event-study coefficients are not identified: with no never-treated units "
            "use bin_endpoints: true or fewer leads/lags"
        ) from exc
    cohorts = pd.unique(first[treated_unit])
    staggered = cohorts.shape[0] > 1
    if staggered:
        p.warnings.append(
            STAGGERED_WARNING.replace("the two-way fixed-effects estimate is", "each event-study coefficient is")
            + "; leads and lags can also be contaminated by other periods' effects (Sun & Abraham 2021)"
        )
    keep = fit.keep
    relk = rel[keep]
    counts = {k: int(np.sum(relk == k)) for k in ks}
    n_ref = int(np.sum(relk == -1))
    coefs = coefficients(fit)
    by_name = {c.term: c for c in coefs}
    lo, hi = spec.leads, spec.lags
    table = [
        EventTimeEstimate(-1, 0.0, None, None, None, None, n_ref, reference=True)
    ]
    for k, name in zip(ks, names, strict=True):
        if not (-lo <= k <= hi):
            continue
        c = by_name[name]
        binned = spec.bin_endpoints and k in (-lo, hi)
        table.append(
            EventTimeEstimate(k, c.estimate, c.std_error, c.ci_low, c.ci_high, c.p_value, counts[k], binned)
        )
    table.sort(key=lambda e: e.rel_time)

    beta, V = fit.coef, fit.cov.vcov
    post = [j for j, k in enumerate(ks) if k >= 0]
    if not post or sum(counts[ks[j]] for j in post) == 0:
        raise EstimationError("no treated observations at or after the first treated period")
    w = np.zeros(len(fit.names))
    for j in post:
        w[j] = counts[ks[j]]
    w /= w.sum()
    att = float(w @ beta)
    se = float(np.sqrt(w @ V @ w))
    df = df_for(fit)
    effect = Estimate.wald("att", att, se, df=df, n=fit.n_obs)
    extra: dict[str, Any] = {}
    if spec.inference == "wild_bootstrap":
        j0 = next(j for j in post if w[j] > 0)
        Xr = _reparametrize(fit.X, w, j0)
        shim_names = tuple("att" if j == j0 else n for j, n in enumerate(fit.names))
        shim = replace(fit, X=Xr, names=shim_names)
        raw_names = [*names, *p.covariate_names]
        raw = RawDesign(_reparametrize(X[:, [raw_names.index(n) for n in fit.names]], w, j0), shim_names, tuple(fe))
        effect, extra = declared_inference(spec, shim, "att", effect, p, raw)

    leads = [j for j, k in enumerate(ks) if k <= -2]
    if leads:
        R = np.zeros((len(leads), len(fit.names)))
        for r, j in enumerate(leads):
            R[r, j] = 1.0
        wt = wald_test(beta, V, R, df_denom=df)
        p_value, how = wt.p_value, ""
        if spec.inference == "wild_bootstrap" and fit.family != "poisson" and fit.clusters is not None:
            from preveval.inference.wild_wald import wild_cluster_wald_test

            try:
                wb = wild_cluster_wald_test(fit.X, fit.y, fit.clusters, R, reps=spec.reps,
                                            weights_type=spec.weights_type, seed=spec.seed, weights=fit.weights)
                p_value = wb.p_value
                how = f"; p-value from the wild cluster restricted bootstrap ({wb.reps} draws, {wb.weights_type} weights)"
            except EstimationError as exc:
                how = f"; bootstrap test not possible ({exc}), F p-value shown"
        elif fit.clusters is not None and fit.cov.n_clusters is not None and fit.cov.n_clusters < 50:
            how = (f"; with {fit.cov.n_clusters} clusters this F test tends to reject too often (about 10% at the "
                   "5% level with 20 to 40 clusters in our simulations): inference: wild_bootstrap gives a "
                   "bootstrap test")
        status: Status = "pass" if p_value >= 0.05 else "fail"
        pretrend = PretrendTest(
            "pretrend_leads_zero", status,
            f"joint Wald test that the {len(leads)} lead coefficients are zero "
            f"({wt.distribution}({wt.df_num}{'' if wt.df_denom is None else f', {wt.df_denom:g}'}) = "
            f"{wt.statistic:.3f}, p = {p_value:.3g}{how})",
            wt.statistic, p_value, wt.distribution, wt.df_num, wt.df_denom,
            tuple(ks[j] for j in leads),
        )
    else:
        pretrend = PretrendTest(
            "pretrend_leads_zero", "not_applicable",
            "no lead other than the reference period -1 is estimated (leads: 1)",
        )
    link = "log E[y_it]" if spec.family == "poisson" else "y_it"
    desc = (
        f"Event study: {link} = unit_i + period_t + sum_k beta_k 1[t - {spec.first_treated}_i = k]"
        f"{' + covariates' if p.covariate_names else ''}, k from -{lo} to {hi} "
        f"({'endpoints binned' if spec.bin_endpoints else 'every relative period estimated'}), "
        "reference k = -1; att = treated-observation-weighted mean of beta_k for k >= 0 "
        f"(delta-method standard error); {se_text(fit, spec)}."
    )
    return assemble(
        spec, p, fit, effect, coefs, desc, treated_unit, staggered=staggered,
        pretrend_test=pretrend, event_study=tuple(table),
        n_treated_obs=int(sum(counts[ks[j]] for j in post)),
        baseline=baseline_of(spec, p, treated_unit & (p.time < np.nan_to_num(first, nan=np.inf))), **extra,
    )
