r"""Count outcomes in a staggered roll-out: Wooldridge's (2023) extended TWFE Poisson.

With cohorts :math:`g` (first treated period), :math:`D_{ig} = 1\{G_i = g\}` and
:math:`f_{st} = 1\{t = s\}`, the conditional mean is (Wooldridge 2023, eq. 6.3, "ETWFE"
with an exponential mean)

.. math::

    E[y_{it} \mid \cdot] = \exp\Big(o_{it} + \alpha_i + \lambda_t
    + \sum_g \sum_{s \ge g} \tau_{gs} D_{ig} f_{st}\Big),

fitted by Poisson pseudo-maximum likelihood (:func:`preveval.inference.ppml.fit_fepois`),
with unit effects :math:`\alpha_i` or, as the paper's pooled version, cohort effects
:math:`\sum_g \beta_g D_{ig}` (in a balanced panel the two give the same :math:`\hat\tau`,
Wooldridge 2023, Section 6), period effects, an optional log-exposure offset :math:`o_{it}`
(e.g. log population, so that effects are on rates), never-treated units as the comparison,
cluster-robust (CR1) covariance by unit. Under parallel trends in the ratio scale
(Assumption PT-exponential), :math:`\exp(\tau_{gs}) = E[y_s(g)\mid g]/E[y_s(\infty)\mid g]`,
the rate ratio of cohort :math:`g` at :math:`s`.

Aggregation. Because each cell dummy's score is zero, the fitted treated counts equal the
observed ones, :math:`O_c`, so the expected counts without the initiative are
:math:`\hat E_c = O_c e^{-\hat\tau_c}`. The overall rate ratio over the treated cells is

.. math::

    \widehat{RR} = \frac{\sum_c O_c}{\sum_c O_c e^{-\hat\tau_c}}, \qquad
    \frac{\partial \log\widehat{RR}}{\partial \tau_c} = \frac{\hat E_c}{\sum_{c'} \hat E_{c'}},

so :math:`\log\widehat{RR}` has the delta-method variance :math:`w'\hat V_\tau w` with
:math:`w_c = \hat E_c/\sum \hat E` (conditional on the observed counts); prevented events
:math:`\sum_c (\hat E_c - O_c)` and the ATT on the count scale per treated unit-period
likewise.

Reference: Wooldridge JM (2023). Simple approaches to nonlinear difference-in-differences
with panel data. *The Econometrics Journal* 26(3): C31-C66.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from preveval.errors import EstimationError
from preveval.inference.fe_structure import fe_codes
from preveval.inference.ppml import fit_fepois
from preveval.results.base import Estimate, Prevented, quantile
from preveval.results.staggered import PoissonCell, PoissonStaggeredResult

__all__ = ["poisson_staggered"]


def poisson_staggered(y: np.ndarray, unit: np.ndarray, time: np.ndarray, first_treated: np.ndarray, *,
                      offset: np.ndarray | None = None, fixed_effects: str = "unit",
                      periods_per_year: float | None = None,
                      covariates: np.ndarray | None = None, covariate_names: tuple[str, ...] = (),
                      label: Callable[[float], str] = lambda o: str(int(o))) -> PoissonStaggeredResult:
    r"""Extended TWFE Poisson ATT(g, t) on the ratio scale, the overall rate ratio and prevented events.

    Parameters
    ----------
    y : ndarray
        Counts (non-negative).
    unit, time : ndarray
        Unit codes and period ordinals.
    first_treated : ndarray
        First treated period of each row's unit (NaN or beyond the last period: never treated).
    offset : ndarray, optional
        Log exposure (e.g. log population).
    fixed_effects : {"unit", "cohort"}
        Unit and period effects, or cohort and period effects (the pooled Poisson of the paper).
    periods_per_year : float, optional
        For prevented events per year.
    covariates : ndarray (rows x k), optional
        Time-varying covariates entering the exponent additively,
        :math:`\exp(\cdots + x_{it}'\gamma)` (e.g. a rival initiative's 0/1 column): the cell
        effects are then net of them, and :math:`e^{\gamma}` is each covariate's own rate ratio.
    covariate_names : tuple of str
        Their names (terms of ``covariates`` in the result).

    Returns
    -------
    PoissonStaggeredResult
    """
    y = np.asarray(y, dtype=float)
    if np.any(y < 0) or not np.all(np.isfinite(y)):
        raise EstimationError("a Poisson model needs non-negative counts")
    time = np.asarray(time, dtype=np.int64)
    G = np.asarray(first_treated, dtype=float).copy()
    G[np.isnan(G) | (G > time.max())] = 0.0
    early = (G > 0) & (G <= time.min())
    if early.any():  # treated throughout: no untreated period to compare with
        keep = ~early
        y, time, G, unit = y[keep], time[keep], G[keep], np.asarray(unit)[keep]
        offset = None if offset is None else np.asarray(offset)[keep]
        covariates = None if covariates is None else np.asarray(covariates)[keep]
    if not (G == 0).any():
        raise EstimationError("the extended TWFE Poisson needs never-treated units as the comparison")
    post = (G > 0) & (time >= G)
    if not post.any():
        raise EstimationError("no treated unit-period")
    cells = sorted({(int(g), int(t)) for g, t in zip(G[post], time[post], strict=True)})
    col = {c: j for j, c in enumerate(cells)}
    X = np.zeros((len(y), len(cells)))
    idx = np.flatnonzero(post)
    X[idx, [col[(int(G[i]), int(time[i]))] for i in idx]] = 1.0
    names = [f"tau::{label(g)}:{label(t)}" for g, t in cells]
    cov_names = list(covariate_names)
    if covariates is not None and cov_names:
        X = np.column_stack([X, np.asarray(covariates, dtype=float).reshape(len(y), -1)])
    ucode = fe_codes(pd.Series(unit))
    if fixed_effects == "unit":
        fe = [ucode, fe_codes(pd.Series(time))]
    elif fixed_effects == "cohort":
        fe = [fe_codes(pd.Series(G)), fe_codes(pd.Series(time))]
    else:
        raise EstimationError(f"fixed_effects must be 'unit' or 'cohort' (got {fixed_effects!r})")
    fit = fit_fepois(y, X, [*names, *cov_names], fe, clusters=ucode, vcov="CR1", protect=tuple(names),
                     offset=offset)
    if not set(names) <= set(fit.names) or not fit.converged:
        missing = sorted(set(names) - set(fit.names))
        raise EstimationError("the cohort x period effects are not identified"
                              + (f" ({', '.join(missing)}: no events in the cell?)" if missing else
                                 " (the Poisson iterations did not converge)"))
    kept = [fit.names.index(n) for n in names]
    cov_est = tuple(Estimate.wald(nm, float(fit.coef[j]), float(np.sqrt(fit.cov.vcov[j, j])), n=fit.n_obs)
                    for j, nm in enumerate(fit.names) if nm in cov_names)
    tau, V = fit.coef[kept], fit.cov.vcov[np.ix_(kept, kept)]
    Xk = X[fit.keep][:, :len(names)]
    obs = Xk.T @ y[fit.keep]
    if np.any(obs <= 0):
        raise EstimationError("a treated cohort x period cell has no events: its rate ratio is not finite")
    E0 = obs * np.exp(-tau)
    w = E0 / E0.sum()
    log_rr = float(np.log(obs.sum() / E0.sum()))
    se_log = float(np.sqrt(w @ V @ w))
    effect = Estimate.wald("log_rate_ratio", log_rr, se_log, n=fit.n_obs)
    n_treated = Xk.sum(axis=0)
    prevented_total = float(E0.sum() - obs.sum())
    grad_prev = -E0  # d(sum E0 - sum obs)/d tau
    se_prev = float(np.sqrt(grad_prev @ V @ grad_prev))
    nt = float(n_treated.sum())
    att = Estimate.wald("att_count", -prevented_total / nt, se_prev / nt, n=int(nt))
    z = quantile(0.975)
    # years from the first treated period to the end of the data
    years = len(np.unique(time[post])) / periods_per_year if periods_per_year else float("nan")
    per = (lambda v: v / years) if periods_per_year else (lambda v: float("nan"))
    lo, hi = prevented_total - z * se_prev, prevented_total + z * se_prev
    prevented = Prevented(prevented_total, lo, hi, per(prevented_total), per(lo), per(hi), years,
                          float(E0.sum()), float(obs.sum()),
                          "delta method over the cohort x period effects (normal, observed counts fixed)", 0, 0)
    se = np.sqrt(np.diag(V))
    out = tuple(PoissonCell(g, t, label(g), label(t), Estimate.wald(nm, float(b), float(s), n=int(k)),
                            Estimate.wald(nm, float(b), float(s)).exp(), int(k))
                for (g, t), nm, b, s, k in zip(cells, names, tau, se, n_treated, strict=True))
    return PoissonStaggeredResult(
        effect=effect, ratio=effect.exp(), att_count=att, cells=out, expected_untreated=float(E0.sum()),
        observed=float(obs.sum()), prevented=prevented, fixed_effects=fixed_effects, n_obs=fit.n_obs,
        n_clusters=int(fit.cov.n_clusters or 0), covariates=cov_est,
        dropped=tuple(c for c in cov_names if c not in fit.names),
    )
